import BlindmatchMatching
import BlindmatchProtocol
import Logging

/// The run executor of a server on the shared PostgreSQL store (docs/scale.md, "Chunks"): it plans the run
/// (``MatchEngine/plan(_:_:)``), cuts it into chunks that fit a worker's memory (``ChunkGrid``), publishes them
/// (``PostgresChunkQueue``), computes them itself beside any `blindmatch worker` processes, waits until every chunk
/// is in, then merges and solves (``MatchEngine/finish(_:_:plan:chunks:)``) and returns the outcome, which the
/// scheduler publishes through the store as for any run. Results are those of ``EngineRunExecutor`` on the same files
/// and settings: the engine's phases give the same pairs however a run is cut.
struct ChunkedRunExecutor: RunExecutor {
    let queue: PostgresChunkQueue
    /// The server's own worker: it computes the run's chunks too.
    let worker: ChunkWorker
    let threads: Int
    let budget: RunBudget
    /// Bulk rows a chunk at most (``ChunkGrid``).
    var bulkRowsPerChunk = 250_000
    /// The wait between looks at the chunks while other workers hold them.
    var poll: Duration = .milliseconds(200)
    /// Whether this server computes chunks itself (false only to measure workers alone: `bench chunks`).
    var computesChunks = true
    let logger: Logger

    func execute(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) async -> RunOutcome {
        let clock = ContinuousClock.now
        let prepared: Prepared
        do {
            switch try await prepare(run, files: files, cancellation: cancellation) {
            case .ready(let ready): prepared = ready
            case .outcome(let outcome): return outcome
            }
        } catch {
            return Self.outcome(for: error, cancellation: cancellation)
        }
        do {
            try await queue.publish(
                run: run.id, attempt: run.attempt, plan: prepared.planBytes, watchlistSha256: files.watchlist.sha256,
                bulkSha256: files.bulk.sha256, cells: prepared.cells, timeLimit: budget.timeLimit,
                comparisonLimit: budget.comparisonLimit)
            let planned = ContinuousClock.now
            logger.info(
                "run split into chunks",
                metadata: [
                    "run": "\(run.id)", "attempt": "\(run.attempt)", "chunks": "\(prepared.cells.count)",
                    "planSeconds": "\(MatchEngine.seconds(since: clock))",
                ])
            progress(RunProgress(stage: .fuzzy, fraction: 0.05))
            var last = -1
            while true {
                if cancellation.isCancelled || Task.isCancelled {
                    await stop(run)
                    return RunBudget.failure(for: cancellation.reason)
                }
                let state = try await queue.progress(
                    run: run.id, attempt: run.attempt, maximumAttempts: worker.options.maximumAttempts)
                if let failure = state.failure {
                    await stop(run)
                    return .failed(code: failure.code, message: failure.message)
                }
                if state.done != last {
                    last = state.done
                    progress(
                        RunProgress(stage: .fuzzy, fraction: 0.05 + 0.85 * Double(state.done) / Double(state.total)))
                }
                if state.done == state.total { break }
                guard computesChunks else {
                    try? await Task.sleep(for: poll)
                    continue
                }
                switch try await worker.processOne(preferred: run.id, onlyPreferred: true, runFlag: cancellation) {
                case nil, .released: try? await Task.sleep(for: poll)
                case .done, .lost, .failed: break
                }
            }
            let computed = ContinuousClock.now
            let chunks = try await queue.candidates(run: run.id, attempt: run.attempt)
            let loaded = ContinuousClock.now
            let engine = prepared.engine
            let (a, b, plan) = (prepared.a, prepared.b, prepared.plan)
            let (results, report) = try await offload { try engine.finish(a, b, plan: plan, chunks: chunks) }
            try? await queue.end(run: run.id, attempt: run.attempt, finished: true)
            logger.info(
                "run computed in chunks",
                metadata: [
                    "run": "\(run.id)", "chunksSeconds": "\(Self.seconds(computed - planned))",
                    "loadSeconds": "\(Self.seconds(loaded - computed))",
                    "finishSeconds": "\(MatchEngine.seconds(since: loaded))",
                ])
            progress(RunProgress(stage: .writing, fraction: 0.95))
            return .succeeded(results, a, b, report: report, since: clock)
        } catch {
            await stop(run)
            if Task.isCancelled { return RunBudget.failure(for: cancellation.reason) }
            logger.error("a chunked run failed: \(ServerError.logText(error))", metadata: ["run": "\(run.id)"])
            return Self.outcome(for: error, cancellation: cancellation)
        }
    }

    /// A run ready to publish: its files, engine, plan and chunks.
    struct Prepared: Sendable {
        let a: TokenFile
        let b: TokenFile
        let engine: MatchEngine
        let plan: MatchPlan
        let planBytes: [UInt8]
        let cells: [ChunkGrid.Cell]
    }

    enum Preparation: Sendable {
        case ready(Prepared)
        case outcome(RunOutcome)
    }

    /// Opens and checks the files (as ``EngineRunExecutor`` does), plans the run and cuts it into chunks.
    private func prepare(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation
    ) async throws -> Preparation {
        let threads = self.threads
        let memoryLimit = budget.memoryLimit
        let bulkRowsPerChunk = self.bulkRowsPerChunk
        let verified = worker.files
        return try await offload {
            try cancellation.check()
            let a: TokenFile
            let b: TokenFile
            do {
                (a, b) = try EngineRunExecutor.openChecked(files)
            } catch let error as ChunkFileError {
                return .outcome(.failed(code: error.code, message: error.message))
            }
            var settings = try MatchEngine.Settings(named: run.settings, header: a.header, threads: threads)
            settings.cancellation = cancellation
            settings.fitsModel = true
            let engine = try MatchEngine(settings: settings)
            let plan = try engine.plan(a, b)
            let grid = try ChunkGrid(
                a, b, blocked: plan.blocked, memoryLimit: memoryLimit, bulkRowsPerChunk: bulkRowsPerChunk)
            // This server's own worker reads the same files: they were checked just now.
            verified.insert(a, sha256: files.watchlist.sha256)
            verified.insert(b, sha256: files.bulk.sha256)
            return .ready(
                Prepared(a: a, b: b, engine: engine, plan: plan, planBytes: try plan.serialized(), cells: grid.cells))
        }
    }

    /// Marks the run's chunks stopped, so workers give them up at their next renewal.
    private func stop(_ run: RunRecord) async {
        let queue = self.queue
        try? await Task { try await queue.end(run: run.id, attempt: run.attempt, finished: false) }.value
    }

    static func seconds(_ duration: Duration) -> Double { PostgresChunkQueue.seconds(duration) }

    static func outcome(for error: any Error, cancellation: RunCancellation) -> RunOutcome {
        switch error {
        case let error as MatchingError:
            switch error.code {
            case .invalidInput: return .failed(code: "incompatibleUploads", message: error.reason)
            case .cancelled: return RunBudget.failure(for: cancellation.reason)
            case .outOfMemory:
                return .failed(code: "resourceExhausted", message: "the run needs more memory than the matcher has")
            case .unknownVetoKey: return .failed(code: "vetoKeyUnknown", message: error.reason)
            default: return .failed(code: "internal", message: "the engine failed (\(error.code.rawValue))")
            }
        case let error as ProtocolError:
            return .failed(code: "internal", message: "a stored token file cannot be read: \(error.code.rawValue)")
        default:
            return .failed(code: "internal", message: "the run failed")
        }
    }
}

extension ChunkedRunExecutor {
    /// The executor of a server on PostgreSQL: the chunked one in place of the engine's (`executor` stays when it is
    /// another, a test's).
    static func replacing(
        _ executor: any RunExecutor, pool: PostgresPool, configuration: ServiceConfiguration, logger: Logger
    ) -> any RunExecutor {
        guard executor is EngineRunExecutor else { return executor }
        let queue = PostgresChunkQueue(pool: pool)
        let budget = RunBudget(configuration)
        let worker = ChunkWorker(
            queue: queue, store: configuration.dataDirectory,
            options: .init(threads: configuration.threads, memoryLimit: budget.memoryLimit, lease: .seconds(10)),
            logger: logger, role: "serve")
        var chunked = ChunkedRunExecutor(
            queue: queue, worker: worker, threads: configuration.threads, budget: budget, logger: logger)
        chunked.bulkRowsPerChunk = configuration.chunkBulkRows
        chunked.computesChunks = configuration.computesChunks
        return chunked
    }
}
