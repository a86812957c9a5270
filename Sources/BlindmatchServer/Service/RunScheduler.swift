import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB
import Synchronization

/// Runs queued matching runs one at a time, in the order they were queued.
///
/// A run's state lives in the store: it is claimed (`running`, `attempt` + 1, `run.started`), executed on a thread of
/// its own, and finished in one transaction that writes its results, marks it `succeeded` and appends
/// `run.succeeded`, so that no one ever sees a succeeded run with partial results. A run found `running` at start-up
/// was cut short and is queued again (``MatchingService/run(onListening:)``); the engine is deterministic, so the
/// next attempt reaches the same result.
actor RunScheduler {
    /// The run being executed (one at a time): its id, project, progress and the flag that stops it.
    private var current: (id: String, project: String, stage: String, fraction: Double, flag: RunCancellation)?
    private var waiter: CheckedContinuation<Void, Never>?
    private var pending = false
    private var stopped = false

    /// Progress of the run being executed, if it is this one.
    func progress(of run: RunRecord) -> (stage: String, fraction: Double)? {
        guard run.status == "running", let current, current.id == run.id else { return nil }
        return (current.stage, current.fraction)
    }

    func update(_ run: String, stage: String, fraction: Double) {
        guard current?.id == run else { return }
        current?.stage = stage
        current?.fraction = fraction
    }

    /// Something was queued.
    func wake() {
        pending = true
        waiter?.resume()
        waiter = nil
    }

    func stop() {
        stopped = true
        wake()
    }

    /// A closing project's running run: its results are dropped when it ends (the store already says `failed`).
    func cancel(project: String) {
        if let current, current.project == project { current.flag.cancel() }
    }

    private func sleep() async {
        if pending {
            pending = false
            return
        }
        await withCheckedContinuation { continuation in waiter = continuation }
        pending = false
    }

    func work(service: MatchingService) async {
        while !stopped && !Task.isCancelled {
            do {
                guard let run = try await claim(service) else {
                    await sleep()
                    continue
                }
                let cancellation = RunCancellation()
                current = (run.id, run.project, "exact", 0, cancellation)
                let outcome = await execute(run, service: service, cancellation: cancellation)
                current = nil
                try await finish(run, outcome: outcome, service: service)
            } catch {
                service.logger.error("run scheduling failed: \(ServerError.logText(error))")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Takes the oldest queued run and marks it running.
    private func claim(_ service: MatchingService) async throws -> RunRecord? {
        try await service.store.database.write { db -> RunRecord? in
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        SELECT run.id FROM run JOIN project ON project.id = run.project
                        WHERE run.status = 'queued' AND project.status = 'open' ORDER BY run.ordinal LIMIT 1
                        """)
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE run SET status = 'running', attempt = attempt + 1, startedAt = ?, stage = 'exact',
                        fraction = 0 WHERE id = ?
                    """, arguments: [AuditTime.now().text, id])
            guard let run = try RunRecord.fetch(db, id: id) else { return nil }
            try ServiceStore.append(
                db, actor: .system, action: .runStarted, project: run.project, details: ["run": .string(id)])
            return run
        }
    }

    enum Outcome: Sendable {
        case succeeded([MatchResult], [String], MatchEngine.Report, RunRecord.Summary)
        case failed(code: String, message: String)
    }

    private func execute(_ run: RunRecord, service: MatchingService, cancellation: RunCancellation) async -> Outcome {
        let paths: (String, String)
        do {
            paths = try await service.store.database.read { db in
                guard let a = try UploadRecord.fetch(db, id: run.watchlistUpload),
                    let b = try UploadRecord.fetch(db, id: run.bulkUpload)
                else { throw APIError.conflict("uploadMissing", "an upload of the run is missing") }
                return (service.files.path(for: a.sha256), service.files.path(for: b.sha256))
            }
        } catch {
            return .failed(code: "uploadMissing", message: "an upload of the run is missing")
        }
        let threads = service.options.threads
        let delay = ProcessInfo.processInfo.environment["BLINDMATCH_TEST_RUN_DELAY_SECONDS"].flatMap(Double.init)
        do {
            return try await offload { [self] in
                if let delay {
                    let end = ContinuousClock.now + .milliseconds(Int(delay * 1000))
                    while ContinuousClock.now < end && !cancellation.isCancelled { Thread.sleep(forTimeInterval: 0.05) }
                }
                let last = Mutex<(stage: String, fraction: Double)>(("", -1))
                return try Self.match(run, paths: paths, threads: threads, cancellation: cancellation) {
                    stage, fraction in
                    // The engine reports often; pass on a change of stage or of at least 1%.
                    let report = last.withLock { last in
                        guard stage != last.stage || fraction - last.fraction >= 0.01 else { return false }
                        last = (stage, fraction)
                        return true
                    }
                    if report { Task { await self.update(run.id, stage: stage, fraction: fraction) } }
                }
            }
        } catch let error as MatchingError {
            switch error.code {
            case .invalidInput: return .failed(code: "incompatibleUploads", message: error.reason)
            case .cancelled: return .failed(code: "projectClosed", message: "the project was closed")
            case .outOfMemory:
                return .failed(code: "resourceExhausted", message: "the run needs more memory than the matcher has")
            default: return .failed(code: "internal", message: "the engine failed (\(error.code.rawValue))")
            }
        } catch let error as RunFailure {
            return .failed(code: error.code, message: error.message)
        } catch let error as ProtocolError {
            return .failed(code: "internal", message: "a stored token file cannot be read: \(error.code.rawValue)")
        } catch {
            return .failed(code: "internal", message: "the run failed")
        }
    }

    struct RunFailure: Error {
        let code: String
        let message: String
    }

    /// The engine on the run's two token files, with the run's settings.
    static func match(
        _ run: RunRecord, paths: (String, String), threads: Int, cancellation: RunCancellation? = nil,
        progress: @escaping @Sendable (String, Double) -> Void
    ) throws -> Outcome {
        let clock = ContinuousClock.now
        // A project closed while the run waited: its files may be gone already.
        try cancellation?.check()
        let a = try TokenFile(contentsOf: paths.0)
        let b = try TokenFile(contentsOf: paths.1)
        do {
            try a.checkCompatible(with: b)
        } catch {
            throw RunFailure(code: "incompatibleUploads", message: "the two uploads cannot be compared (SPEC §6.7)")
        }
        var vetoKeys: [Int] = []
        for name in run.settings.vetoKeys {
            if let index = a.header.matchKeys.firstIndex(of: name) {
                vetoKeys.append(index)
            } else if !run.vetoDefaulted {
                throw RunFailure(code: "vetoKeyUnknown", message: "veto key \(name) is not a match key of the files")
            }
        }
        var settings = MatchEngine.Settings(
            threshold: try DiceThreshold(run.settings.threshold),
            reviewFrom: try run.settings.reviewFrom.map(DiceThreshold.init), solver: run.settings.solver,
            threads: max(1, threads), vetoKeys: vetoKeys)
        settings.useBlocking = run.settings.blocking
        settings.cancellation = cancellation
        progress("exact", 0)
        let (results, report) = try MatchEngine(settings: settings).run(a, b) { _, fraction in
            progress("fuzzy", 0.05 + 0.85 * fraction)
        }
        progress("writing", 0.95)
        let matches = results.filter { $0.status == .match }.count
        let summary = RunRecord.Summary(
            watchlistRecords: a.recordCount, bulkRecords: b.recordCount, matches: matches,
            possible: results.count - matches, comparisons: report.comparisons,
            seconds: MatchEngine.seconds(since: clock))
        return .succeeded(results, a.header.matchKeys, report, summary)
    }

    /// Publishes the outcome in one transaction, unless the run is no longer this attempt's (a closed project).
    private func finish(_ run: RunRecord, outcome: Outcome, service: MatchingService) async throws {
        try await service.store.database.write { db in
            let now = AuditTime.now().text
            switch outcome {
            case .succeeded(let results, let keys, let report, let summary):
                try db.execute(
                    sql: """
                        UPDATE run SET status = 'succeeded', stage = 'done', fraction = 1, summary = ?, finishedAt = ?,
                            comparisons = ?, fuzzySeconds = ? WHERE id = ? AND status = 'running' AND attempt = ?
                        """,
                    arguments: [
                        summary.json.canonicalText, now, report.comparisons, report.fuzzySeconds, run.id, run.attempt,
                    ])
                guard db.changesCount > 0 else { return }
                let insert = try db.makeStatement(
                    sql: "INSERT INTO result (run, rowA, rowB, rule, scoreMilli, status) VALUES (?, ?, ?, ?, ?, ?)")
                for result in results {
                    let rule: String
                    switch result.rule {
                    case .matchKey(let index): rule = keys[index]
                    case .bloom: rule = "bloom"
                    }
                    try insert.execute(arguments: [
                        run.id, Int(result.rowA), Int(result.rowB), rule, Int((result.score * 1000).rounded()),
                        result.status.rawValue,
                    ])
                }
                try ServiceStore.append(
                    db, actor: .system, action: .runSucceeded, project: run.project,
                    details: [
                        "run": .string(run.id), "pairs": .integer(results.count),
                        "possible": .integer(summary.possible),
                    ])
            case .failed(let code, let message):
                try db.execute(
                    sql: """
                        UPDATE run SET status = 'failed', failureCode = ?, failureMessage = ?, finishedAt = ?
                        WHERE id = ? AND status = 'running' AND attempt = ?
                        """, arguments: [code, message, now, run.id, run.attempt])
                guard db.changesCount > 0 else { return }
                try ServiceStore.append(
                    db, actor: .system, action: .runFailed, project: run.project,
                    details: ["run": .string(run.id), "reason": .string(code)])
            }
        }
        switch outcome {
        case .succeeded(_, _, _, let summary):
            service.logger.info(
                "run succeeded",
                metadata: [
                    "run": "\(run.id)", "pairs": "\(summary.matches + summary.possible)",
                    "seconds": "\(summary.seconds)",
                ])
        case .failed(let code, _):
            service.logger.notice("run failed", metadata: ["run": "\(run.id)", "code": "\(code)"])
        }
    }
}
