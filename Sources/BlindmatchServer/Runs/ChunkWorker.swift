import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import Glibc
import Logging
import Synchronization

/// Computes chunks of the runs on the shared PostgreSQL store (``PostgresChunkQueue``): `blindmatch worker` runs its
/// loop, and a server's ``ChunkedRunExecutor`` computes its own run's chunks with it, so that a server with no workers
/// still runs everything.
///
/// For each chunk it claims, it reads the run's plan and opens the run's two token files from the shared token store
/// by their SHA-256 (checked once per file and process, as the executor checks them), computes the chunk's candidates
/// (``MatchEngine/candidates(_:_:plan:rowsA:rowsB:progress:)``) while a heartbeat renews its lease, and writes them
/// back. It stops a chunk whose run was stopped (cancelled, failed, past its time budget) or whose lease it lost, and
/// fails a chunk that goes past the run's comparison budget or its own memory budget. Its logs name runs, chunks and
/// counts, never a token or a secret.
public struct ChunkWorker: Sendable {
    /// What a worker may use, and how it holds its chunks.
    public struct Options: Sendable {
        public var threads: Int
        /// Bytes a chunk may take; chunks estimated above it are left to other workers.
        public var memoryLimit: Int
        /// How long a claim lasts without renewal; renewed every third of it.
        public var lease: Duration
        /// Claims of one chunk before the run fails (`restartLimitReached`).
        public var maximumAttempts = 3
        /// The wait between looks for work when there is none.
        public var idleWait: Duration = .seconds(1)

        /// Three quarters of the machine's physical memory, as a server's run budget.
        public static var defaultMemoryLimit: Int { RunBudget.defaultMemoryLimit }

        public init(threads: Int, memoryLimit: Int, lease: Duration) {
            self.threads = threads
            self.memoryLimit = memoryLimit
            self.lease = lease
        }
    }

    /// What became of a claimed chunk.
    enum Outcome: Equatable {
        /// Written back.
        case done
        /// No longer this worker's (its lease lapsed and another worker took it, or its run was stopped).
        case lost
        /// Failed, with the code the run fails with.
        case failed(String)
        /// Given back: the worker is stopping.
        case released
    }

    let queue: PostgresChunkQueue
    /// The shared token store's `tokens/` directory.
    let tokens: String
    /// This worker's name in `run_chunk.worker`: host, process and a random suffix.
    public let id: String
    let options: Options
    let logger: Logger
    let files = VerifiedFiles()

    /// A worker on `queue` reading token files from the data directory `store` (the one the servers share).
    public init(queue: PostgresChunkQueue, store: String, options: Options, logger: Logger, role: String = "worker") {
        self.queue = queue
        tokens = store + "/tokens"
        self.options = options
        self.logger = logger
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let suffix = Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        id =
            "\(role)-\(String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))-\(getpid())-\(suffix)"
    }

    /// Claims and computes chunks until the task is cancelled (SIGTERM, through the service lifecycle): a chunk in
    /// progress is then given back, so another worker takes it at once.
    public func run() async {
        logger.info("worker started", metadata: ["worker": "\(id)", "threads": "\(options.threads)"])
        while !Task.isCancelled {
            do {
                switch try await processOne() {
                case nil, .released, .failed:
                    // Nothing to do, or a chunk given back or failed: not at once again.
                    try? await Task.sleep(for: options.idleWait)
                case .done, .lost:
                    break
                }
            } catch {
                if Task.isCancelled { break }
                logger.error("worker: \(ServerError.logText(error))", metadata: ["worker": "\(id)"])
                try? await Task.sleep(for: options.idleWait)
            }
        }
        logger.info("worker stopped", metadata: ["worker": "\(id)"])
    }

    /// Claims one chunk (of run `preferred` first; only of it with `onlyPreferred`) and computes it; nil when there
    /// was none to claim. `runFlag`, when given, is the run's own flag (a server computing its run): its cancellation
    /// stops the chunk too.
    func processOne(
        preferred: String? = nil, onlyPreferred: Bool = false, runFlag: RunCancellation? = nil
    ) async throws -> Outcome? {
        guard
            let claim = try await queue.claim(
                worker: id, lease: options.lease, memoryLimit: options.memoryLimit,
                maximumAttempts: options.maximumAttempts, preferred: preferred, onlyPreferred: onlyPreferred)
        else { return nil }
        logger.info(
            "claimed a chunk",
            metadata: [
                "worker": "\(id)", "run": "\(claim.run)", "attempt": "\(claim.attempt)", "chunk": "\(claim.chunk)",
                "rowsA": "\(claim.rowsA)", "rowsB": "\(claim.rowsB)", "claims": "\(claim.attempts)",
            ])
        let clock = ContinuousClock.now
        let outcome = await compute(claim, runFlag: runFlag)
        logger.info(
            "chunk ended",
            metadata: [
                "worker": "\(id)", "run": "\(claim.run)", "chunk": "\(claim.chunk)", "outcome": "\(outcome)",
                "seconds": "\(MatchEngine.seconds(since: clock))",
            ])
        return outcome
    }

    private func compute(_ claim: PostgresChunkQueue.Claim, runFlag: RunCancellation?) async -> Outcome {
        let flag: RunCancellation
        let work: PostgresChunkQueue.RunWork
        do {
            guard let found = try await queue.work(run: claim.run, attempt: claim.attempt), found.isRunning else {
                return .lost
            }
            work = found
            let pairs = (options.memoryLimit - claim.fixedBytes) / MatchEngine.bytesPerPair
            flag = RunCancellation(comparisonLimit: max(0, work.comparisonsLeft), pairLimit: max(1, pairs))
        } catch {
            logger.error("worker: \(ServerError.logText(error))", metadata: ["worker": "\(id)"])
            await giveBack(claim)
            return .released
        }
        let state = ChunkState()
        let result: Result<ChunkCandidates, any Error> = await withTaskCancellationHandler {
            await withTaskGroup(of: Result<ChunkCandidates, any Error>?.self) { group in
                group.addTask {
                    await heartbeat(claim, flag: flag, runFlag: runFlag, state: state, secondsLeft: work.secondsLeft)
                    return nil
                }
                group.addTask {
                    do {
                        TestHooks.pause(at: .chunkClaimed)
                        let start = ContinuousClock.now
                        let chunk = try await candidates(claim, work: work, flag: flag)
                        state.computeSeconds.withLock { $0 = MatchEngine.seconds(since: start) }
                        return .success(chunk)
                    } catch {
                        return .failure(error)
                    }
                }
                var result: Result<ChunkCandidates, any Error> = .failure(CancellationError())
                for await finished in group {
                    if let finished {
                        result = finished
                        group.cancelAll()
                    }
                }
                return result
            }
        } onCancel: {
            state.stop(.stopping)
            flag.cancel()
        }
        switch result {
        case .success(let chunk):
            do {
                let bytes = try chunk.serialized()
                let written = try await queue.complete(
                    claim, worker: id, candidates: bytes, comparisons: chunk.comparisons)
                if written {
                    logger.info(
                        "wrote a chunk back",
                        metadata: [
                            "worker": "\(id)", "run": "\(claim.run)", "chunk": "\(claim.chunk)",
                            "exactPairs": "\(chunk.exact.count)", "fuzzyPairs": "\(chunk.fuzzy.count)",
                            "comparisons": "\(chunk.comparisons)", "bytes": "\(bytes.count)",
                            "computeSeconds": "\(state.computeSeconds.withLock { $0 })",
                        ])
                    return .done
                }
                logger.notice(
                    "a chunk was no longer this worker's when it was done; not written",
                    metadata: ["worker": "\(id)", "run": "\(claim.run)", "chunk": "\(claim.chunk)"])
                return .lost
            } catch {
                logger.error("worker: \(ServerError.logText(error))", metadata: ["worker": "\(id)"])
                await giveBack(claim)
                return .released
            }
        case .failure(let error):
            switch state.reason {
            case .stopping:
                await giveBack(claim)
                return .released
            case .lost:
                return .lost
            case nil:
                break
            }
            let (code, message) = Self.failure(error, flag: flag, runFlag: runFlag)
            if code == "cancelled" {
                // The run's own flag (a server's run that was stopped): the run ends, its chunks with it.
                await giveBack(claim)
                return .released
            }
            try? await Task { try await queue.fail(claim, worker: id, code: code, message: message) }.value
            return .failed(code)
        }
    }

    /// The chunk's candidates, on a thread of its own.
    private func candidates(
        _ claim: PostgresChunkQueue.Claim, work: PostgresChunkQueue.RunWork, flag: RunCancellation
    ) async throws -> ChunkCandidates {
        let files = self.files
        let tokens = self.tokens
        let threads = options.threads
        return try await offload {
            let plan = try MatchPlan(serialized: work.plan, source: "run_plan \(claim.run)/\(claim.attempt)")
            let a = try files.open(tokens: tokens, sha256: work.watchlistSha256)
            let b = try files.open(tokens: tokens, sha256: work.bulkSha256)
            var settings = MatchEngine.Settings(
                threshold: DiceThreshold(numerator: 1, denominator: 1), solver: .all, threads: threads)
            settings.cancellation = flag
            defer { Self.dropPages(of: b) }
            return try MatchEngine(settings: settings).candidates(
                a, b, plan: plan, rowsA: claim.rowsA, rowsB: claim.rowsB)
        }
    }

    /// Lets the kernel take back the pages of `file` that a chunk read (they stay in the page cache): a worker that
    /// computes chunk after chunk of one bulk file then holds one chunk's rows of it, not every row it ever read.
    static func dropPages(of file: TokenFile) {
        guard let base = file.bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: base) + page - 1) / page * page
        let end = (Int(bitPattern: base) + file.bytes.count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED)) }
    }

    /// Renews the lease every third of it while the chunk is computed; stops the chunk when the lease is lost, the
    /// run was stopped, or the run's time budget ran out.
    private func heartbeat(
        _ claim: PostgresChunkQueue.Claim, flag: RunCancellation, runFlag: RunCancellation?, state: ChunkState,
        secondsLeft: Double
    ) async {
        let start = ContinuousClock.now
        let period = options.lease / 3
        let tick = min(period, .milliseconds(200))
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            try? await Task.sleep(for: tick)
            if Task.isCancelled { return }
            if let runFlag, let reason = runFlag.reason { flag.cancel(reason) }
            if MatchEngine.seconds(since: start) > secondsLeft { flag.cancel(.timeLimit) }
            guard ContinuousClock.now - lastRenewal >= period else { continue }
            lastRenewal = .now
            do {
                if try await !queue.renew(claim, worker: id, lease: options.lease) {
                    logger.notice(
                        "lost a chunk (its run was stopped, or its lease lapsed and another worker took it)",
                        metadata: ["worker": "\(id)", "run": "\(claim.run)", "chunk": "\(claim.chunk)"])
                    state.stop(.lost)
                    flag.cancel()
                    return
                }
            } catch {
                // The database could not be reached: keep computing; the lease may still hold at the next try.
                logger.warning(
                    "worker: cannot renew a lease: \(ServerError.logText(error))", metadata: ["worker": "\(id)"])
            }
        }
    }

    /// Gives a chunk back, even from a cancelled task.
    private func giveBack(_ claim: PostgresChunkQueue.Claim) async {
        let queue = self.queue
        let id = self.id
        try? await Task { try await queue.release(claim, worker: id) }.value
    }

    /// The `RunFailure` code and message a chunk fails with.
    static func failure(_ error: any Error, flag: RunCancellation, runFlag: RunCancellation?) -> (String, String) {
        switch error {
        case let error as MatchingError:
            switch error.code {
            case .cancelled:
                if case .failed(let code, let message) = RunBudget.failure(for: flag.reason) {
                    return (code, message)
                }
                return ("cancelled", "the run was cancelled")
            case .invalidInput: return ("incompatibleUploads", error.reason)
            case .outOfMemory: return ("resourceExhausted", "a chunk needs more memory than its worker has")
            default: return ("internal", "the engine failed (\(error.code.rawValue))")
            }
        case let error as ChunkFileError:
            return (error.code, error.message)
        case let error as ProtocolError:
            return ("internal", "a stored token file cannot be read: \(error.code.rawValue)")
        default:
            return ("internal", "a chunk failed")
        }
    }
}

/// Why a chunk stopped before it was done, besides its budgets.
final class ChunkState: Sendable {
    enum Reason: UInt8 {
        case stopping = 1
        case lost
    }

    private let value = Atomic<UInt8>(0)
    /// Seconds the chunk's candidates took to compute (files opened and checked included).
    let computeSeconds = Mutex<Double>(0)

    func stop(_ reason: Reason) {
        _ = value.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
    }

    var reason: Reason? { Reason(rawValue: value.load(ordering: .relaxed)) }
}

/// A token file of the shared store that cannot be used: missing, or no longer with the SHA-256 it was stored under.
struct ChunkFileError: Error {
    let code: String
    let message: String
}

/// The token files a worker has opened and checked, by SHA-256: each is hashed once per process, then its pages are
/// dropped so that a chunk holds only the rows it reads.
final class VerifiedFiles: Sendable {
    private let files = Mutex<[(sha256: String, file: TokenFile)]>([])

    func insert(_ file: TokenFile, sha256: String) {
        files.withLock { files in
            files.removeAll { $0.sha256 == sha256 }
            files.append((sha256, file))
            if files.count > 4 { files.removeFirst() }
        }
    }

    func open(tokens: String, sha256: String) throws -> TokenFile {
        if let file = files.withLock({ $0.first { $0.sha256 == sha256 }?.file }) { return file }
        guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw ChunkFileError(code: "internal", message: "run_plan names a file by something other than a SHA-256")
        }
        let path = "\(tokens)/\(sha256.prefix(2))/\(sha256).bmt"
        guard FileManager.default.fileExists(atPath: path) else {
            throw ChunkFileError(code: "uploadMissing", message: "an upload of the run is missing from the token store")
        }
        // Hashed through read(2), not the mapping: a chunk then holds only the pages of the rows it reads.
        guard try Self.sha256(of: path) == sha256 else {
            throw ChunkFileError(
                code: "uploadCorrupted",
                message: "a stored token file no longer has the SHA-256 it was accepted with: upload it again")
        }
        let file = try TokenFile(contentsOf: path)
        insert(file, sha256: sha256)
        return file
    }

    /// The SHA-256 of the file at `path`, read 8 MiB at a time.
    static func sha256(of path: String) throws -> String {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ChunkFileError(
                code: "uploadMissing", message: "an upload of the run cannot be read from the token store")
        }
        defer { close(descriptor) }
        var hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 8 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw ChunkFileError(
                    code: "uploadMissing", message: "an upload of the run cannot be read from the token store")
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        // The pages read stay in the page cache, not in this process.
        return Hex.encode(hasher.finalize())
    }
}
