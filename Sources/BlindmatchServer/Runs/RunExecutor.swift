import BlindmatchMatching
import BlindmatchProtocol
import Synchronization

/// Executes one run: the seam between the scheduler and the engine, so that tests can put a slow or failing
/// executor in its place.
protocol RunExecutor: Sendable {
    /// Matches the run's two token files with the run's settings, reporting progress; stops early when
    /// `cancellation` is cancelled. Never throws: a failure is an outcome.
    func execute(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) async -> RunOutcome
}

/// The two stored token files of a run: where they are, and the SHA-256 they were stored under.
struct RunFiles: Sendable {
    var watchlist: (path: String, sha256: String)
    var bulk: (path: String, sha256: String)
}

/// The matching engine, on a thread of its own.
struct EngineRunExecutor: RunExecutor {
    /// Threads the engine uses for a run.
    let threads: Int
    /// Bytes a run may take (``RunBudget/memoryLimit``).
    var memoryLimit = Int.max

    func execute(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) async -> RunOutcome {
        let threads = self.threads
        let memoryLimit = self.memoryLimit
        do {
            return try await offload {
                let last = Mutex<RunProgress>(RunProgress(stage: .queued, fraction: -1))
                return try Self.match(
                    run, files: files, threads: threads, memoryLimit: memoryLimit, cancellation: cancellation
                ) { now in
                    // The engine reports often; pass on a change of stage or of at least 1%.
                    let report = last.withLock { last in
                        guard now.stage != last.stage || now.fraction - last.fraction >= 0.01 else { return false }
                        last = now
                        return true
                    }
                    if report { progress(now) }
                }
            }
        } catch let error as MatchingError {
            switch error.code {
            case .invalidInput: return .failed(code: "incompatibleUploads", message: error.reason)
            case .cancelled: return RunBudget.failure(for: cancellation.reason)
            case .outOfMemory:
                return .failed(code: "resourceExhausted", message: "the run needs more memory than the matcher has")
            case .unknownVetoKey: return .failed(code: "vetoKeyUnknown", message: error.reason)
            default: return .failed(code: "internal", message: "the engine failed (\(error.code.rawValue))")
            }
        } catch let error as ProtocolError {
            return .failed(code: "internal", message: "a stored token file cannot be read: \(error.code.rawValue)")
        } catch {
            return .failed(code: "internal", message: "the run failed")
        }
    }

    /// The run's two token files, read again as they are now: a stored file that changed since it was accepted (a disk
    /// fault, someone with access to the data directory) is not matched (`uploadCorrupted`), nor are two files that
    /// cannot be compared (`incompatibleUploads`).
    static func openChecked(_ files: RunFiles) throws -> (TokenFile, TokenFile) {
        let a = try TokenFile(contentsOf: files.watchlist.path)
        let b = try TokenFile(contentsOf: files.bulk.path)
        for (file, sha256) in [(a, files.watchlist.sha256), (b, files.bulk.sha256)] {
            var hasher = SHA256Hasher()
            hasher.update(file.bytes)
            guard Hex.encode(hasher.finalize()) == sha256 else {
                throw ChunkFileError(
                    code: "uploadCorrupted",
                    message: "a stored token file no longer has the SHA-256 it was accepted with: upload it again")
            }
        }
        do {
            try a.checkCompatible(with: b)
        } catch {
            throw ChunkFileError(
                code: "incompatibleUploads", message: "the two uploads cannot be compared (SPEC §6.7)")
        }
        return (a, b)
    }

    /// The engine on the run's two token files, with the run's settings.
    static func match(
        _ run: RunRecord, files: RunFiles, threads: Int, memoryLimit: Int = .max, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) throws -> RunOutcome {
        let clock = ContinuousClock.now
        // A project closed while the run waited: its files may be gone already.
        try cancellation.check()
        let a: TokenFile
        let b: TokenFile
        do {
            (a, b) = try openChecked(files)
        } catch let error as ChunkFileError {
            return .failed(code: error.code, message: error.message)
        }
        var settings = try MatchEngine.Settings(named: run.settings, header: a.header, threads: threads)
        settings.cancellation = cancellation
        // Refused before it starts when what it holds whatever it finds does not fit; otherwise its pairs are held to
        // what the budget leaves.
        let estimate = MatchEngine.memoryEstimate(a, b, settings: settings)
        let pairs = estimate.pairs(within: memoryLimit)
        guard pairs > 0 else {
            return .failed(
                code: "resourceExhausted",
                message:
                    "the run would need about \(estimate.fixedBytes >> 20) MiB before finding any pair, more than its memory budget of \(memoryLimit >> 20) MiB (serve --run-memory-limit)"
            )
        }
        cancellation.limitPairs(to: pairs)
        // The decision model estimates the run's quality without ground truth (the report of GET …/report), and
        // chooses the threshold when the project's is `auto` (the default).
        settings.fitsModel = true
        progress(RunProgress(stage: .exact, fraction: 0))
        let (results, report) = try MatchEngine(settings: settings).run(a, b) { _, fraction in
            progress(RunProgress(stage: .fuzzy, fraction: 0.05 + 0.85 * fraction))
        }
        progress(RunProgress(stage: .writing, fraction: 0.95))
        return .succeeded(results, a, b, report: report, since: clock)
    }
}

extension RunOutcome {
    /// A run that succeeded with `results` on the token files `a` and `b`, its summary counted from them (every
    /// executor reports the same figures).
    static func succeeded(
        _ results: [MatchResult], _ a: TokenFile, _ b: TokenFile, report: MatchEngine.Report,
        since clock: ContinuousClock.Instant
    ) -> RunOutcome {
        let matches = results.filter { $0.status == .match }.count
        let summary = RunSummary(
            watchlistRecords: a.recordCount, bulkRecords: b.recordCount, matches: matches,
            possible: results.count - matches, comparisons: report.comparisons,
            seconds: MatchEngine.seconds(since: clock))
        return .succeeded(results: results, matchKeys: a.header.matchKeys, report: report, summary: summary)
    }
}
