import BlindmatchAudit
import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB

extension SQLiteLinkageStore {
    static func run(_ db: Database, id: String) throws -> RunRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).map(RunRecord.init(row:))
    }

    func run(id: String) async throws -> RunRecord? {
        try await database.read { db in try Self.run(db, id: id) }
    }

    func runs(_ page: PageRequest, project: String, status: RunStatus?) async throws -> Page<RunRecord> {
        var conditions: [(String, StatementArguments)] = [("project = ?", [project])]
        if let status { conditions.append(("status = ?", [status.rawValue])) }
        let filters = conditions
        return try await database.read { db in
            try Self.page(db, table: RunRecord.databaseTableName, page, where: filters, RunRecord.init(row:))
        }
    }

    func queueRun(project: ProjectRecord, requester: PartyRecord, upload named: String?, id: String, by actor: Acting)
        async throws -> (run: RunRecord, receipt: Receipt)
    {
        try await database.write { db in
            var uploads: [PartyRole: UploadRecord] = [:]
            var parties: [PartyRole: PartyRecord] = [:]
            for side in PartyRole.allCases {
                guard let party = project.party(role: side) else {
                    throw ServerError(.storage, "project \(project.id) has no \(side.rawValue) party")
                }
                parties[side] = party
            }
            // 422 for a named upload that is not the requester's own, before the 409s (the contract's order of
            // checks): the other side's upload is always its current one.
            if let named {
                guard let upload = try Self.upload(db, id: named), upload.project == project.id,
                    upload.party == requester.name
                else {
                    throw APIError.invalid(
                        "\(requester.role.rawValue)Upload is not an upload of yours: a party names only its own uploads, and the other side's is its current one"
                    )
                }
                uploads[requester.role] = upload
            }
            try Self.requireOpen(db, project: project.id)
            if let upload = uploads[requester.role], upload.withdrawnAt != nil {
                throw APIError.conflict(.uploadWithdrawn, "upload \(upload.id) was withdrawn: no run uses it")
            }
            for side in PartyRole.allCases where uploads[side] == nil {
                let name = parties[side]?.name ?? ""
                guard let upload = try Self.currentUpload(db, project: project.id, party: name) else {
                    throw APIError.conflict(
                        .uploadMissing, "the \(side.rawValue) party \(name) has no current upload")
                }
                uploads[side] = upload
            }
            guard let a = uploads[.watchlist], let b = uploads[.bulk] else {
                throw ServerError(.storage, "a run needs two uploads")
            }
            try UploadRecord.requireComparable(a, b)
            let now = AuditTime.now()
            let dayAgo = RunPolicy.windowStart(now: now)
            let recent =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM run WHERE project = ? AND queuedAt > ?",
                    arguments: [project.id, dayAgo]) ?? 0
            guard recent < project.runPolicy.runsPerDay else {
                throw APIError(
                    .tooManyRequests, .tooManyRuns,
                    "the project allows \(project.runPolicy.runsPerDay) runs requested in any 24 hours (runPolicy.runsPerDay)"
                )
            }
            // The requester's own approval is implied by its request.
            let waiting = project.runPolicy.approvers.contains { $0 != requester.role }
            var approvals: [Approval] = []
            if project.runPolicy.approvers.contains(requester.role) {
                approvals.append(Approval(party: requester.name, role: requester.role, approvedAt: now.text))
            }
            try db.execute(
                sql: """
                    INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings, vetoDefaulted, attempt,
                        stage, fraction, requestedBy, approvals, queuedAt, ordinal)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'queued', 0, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, project.id, waiting ? RunStatus.awaitingApproval.rawValue : RunStatus.queued.rawValue, a.id,
                    b.id, try project.matching.storedText, project.matching.vetoKeysDefaulted, actor.actor.text,
                    try ContractEncoder().canonicalText(approvals), now.text, try Self.nextOrdinal(db),
                ])
            let entry = try Self.append(
                db, actor: actor, action: .runQueued, project: project.id,
                details: [
                    "run": .string(id), "threshold": .string(project.matching.threshold),
                    "watchlistUpload": .string(a.id), "bulkUpload": .string(b.id),
                ])
            guard let run = try Self.run(db, id: id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return (run, try Self.receipt(db, for: entry))
        }
    }

    func approveRun(_ run: RunRecord, project: ProjectRecord, party: PartyRecord, by actor: Acting) async throws
        -> (run: RunRecord, receipt: Receipt)
    {
        try await database.write { db in
            try Self.requireOpen(db, project: project.id)
            guard let current = try Self.run(db, id: run.id), current.status == .awaitingApproval,
                !current.approvals.contains(where: { $0.role == party.role })
            else {
                throw APIError.conflict(
                    .runNotAwaitingApproval, "run \(run.id) is not awaiting this party's approval")
            }
            // A withdrawn upload has failed its runs already (withdrawUpload), so `current` uses none.
            let now = AuditTime.now().text
            let approvals = current.approvals + [Approval(party: party.name, role: party.role, approvedAt: now)]
            let complete = Set(project.runPolicy.approvers).isSubset(of: approvals.map(\.role))
            try db.execute(
                sql: "UPDATE run SET approvals = ?, status = ? WHERE id = ? AND status = 'awaitingApproval'",
                arguments: [
                    try ContractEncoder().canonicalText(approvals),
                    complete ? RunStatus.queued.rawValue : RunStatus.awaitingApproval.rawValue, run.id,
                ])
            let entry = try Self.append(
                db, actor: actor, action: .runApproved, project: project.id, details: ["run": .string(run.id)])
            guard let approved = try Self.run(db, id: run.id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return (approved, try Self.receipt(db, for: entry))
        }
    }

    /// Fails a run that has not finished with `code`, audited as `run.failed`, in the caller's transaction; whether
    /// it did.
    @discardableResult
    static func fail(_ db: Database, run: String, project: String, code: RunFailureCode, actor: Acting) throws -> Bool {
        let message =
            switch code {
            case .cancelled: "the run was cancelled by \(actor.actor.text)"
            case .uploadWithdrawn: "one of the run's uploads was withdrawn by its party"
            case .projectClosed: "the project was closed"
            default: code.rawValue
            }
        try db.execute(
            sql: """
                UPDATE run SET status = 'failed', failureCode = ?, failureMessage = ?, finishedAt = ?
                WHERE id = ? AND status IN ('awaitingApproval', 'queued', 'running')
                """, arguments: [code.rawValue, message, AuditTime.now().text, run])
        guard db.changesCount > 0 else { return false }
        try append(
            db, actor: actor, action: .runFailed, project: project,
            details: ["run": .string(run), "reason": .string(code.rawValue)])
        return true
    }

    func requeueInterruptedRuns() async throws {
        try await database.write { db in
            // Runs cut short by a stop or a crash start again from the beginning (Protocol/service.md, "Runs").
            try db.execute(
                sql: "UPDATE run SET status = 'queued', stage = 'queued', fraction = 0 WHERE status = 'running'")
        }
    }

    func claimNextRun(maximumAttempts: Int) async throws -> RunRecord? {
        try await database.write { db in
            for exhausted in try Row.fetchAll(
                db, sql: "SELECT id, project, attempt FROM run WHERE status = 'queued' AND attempt >= ?",
                arguments: [maximumAttempts])
            {
                let id: String = exhausted["id"]
                let attempts: Int = exhausted["attempt"]
                try db.execute(
                    sql: """
                        UPDATE run SET status = 'failed', failureCode = 'restartLimitReached', failureMessage = ?,
                            finishedAt = ? WHERE id = ?
                        """,
                    arguments: [
                        "the run was cut short \(attempts) times (the matcher stopped or crashed during it each time); it is not started again",
                        AuditTime.now().text, id,
                    ])
                try Self.append(
                    db, actor: .system, action: .runFailed, project: exhausted["project"],
                    details: ["run": .string(id), "reason": "restartLimitReached"])
            }
            // Projects take turns: the oldest queued run of the project served longest ago (or never), so that one
            // project's queue of runs does not hold every other project's behind it.
            guard
                let id = try String.fetchOne(
                    db,
                    sql: """
                        SELECT run.id FROM run JOIN project ON project.id = run.project
                        WHERE run.status = 'queued' AND project.status = 'open'
                        ORDER BY (SELECT COALESCE(MAX(served.turn), 0) FROM run AS served
                                  WHERE served.project = run.project),
                            run.ordinal
                        LIMIT 1
                        """)
            else { return nil }
            try db.execute(
                sql: """
                    UPDATE run SET status = 'running', attempt = attempt + 1, startedAt = ?, stage = 'exact',
                        fraction = 0, turn = (SELECT COALESCE(MAX(turn), 0) + 1 FROM run) WHERE id = ?
                    """, arguments: [AuditTime.now().text, id])
            guard let run = try Self.run(db, id: id) else { return nil }
            try Self.append(
                db, actor: .system, action: .runStarted, project: run.project, details: ["run": .string(id)])
            return run
        }
    }

    func cancelRun(_ run: RunRecord, by actor: Acting) async throws -> RunRecord {
        try await database.write { db in
            guard try Self.fail(db, run: run.id, project: run.project, code: .cancelled, actor: actor) else {
                throw APIError.conflict(
                    .runFinished,
                    "run \(run.id) has finished; only a run awaiting approval, queued or running is cancelled")
            }
            guard let cancelled = try Self.run(db, id: run.id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return cancelled
        }
    }

    func release(_ run: RunRecord) async throws {
        try await database.write { db in
            try db.execute(
                sql: """
                    UPDATE run SET status = 'queued', stage = 'queued', fraction = 0, attempt = attempt - 1,
                        turn = NULL WHERE id = ? AND status = 'running' AND attempt = ?
                    """, arguments: [run.id, run.attempt])
        }
    }

    func files(of run: RunRecord) async throws -> (watchlist: String, bulk: String)? {
        try await database.read { db in
            guard let a = try Self.upload(db, id: run.watchlistUpload), let b = try Self.upload(db, id: run.bulkUpload)
            else { return nil }
            return (a.sha256, b.sha256)
        }
    }

    @discardableResult
    func finish(_ run: RunRecord, outcome: RunOutcome) async throws -> Bool {
        // The rows first, in short transactions of their own (stageResults), then the run's status in one short
        // transaction: a large result set never holds the writer that other requests wait on.
        if case .succeeded(let results, let keys, _, _) = outcome {
            guard try await stageResults(of: run, results, matchKeys: keys) else { return false }
            try await countViews(of: run)
        }
        let published = try await database.write { db in
            let now = AuditTime.now().text
            switch outcome {
            case .succeeded(let results, _, let report, let summary):
                try db.execute(
                    sql: """
                        UPDATE run SET status = 'succeeded', stage = 'done', fraction = 1, summary = ?, finishedAt = ?,
                            comparisons = ?, fuzzySeconds = ?, report = ?
                        WHERE id = ? AND status = 'running' AND attempt = ?
                        """,
                    arguments: [
                        try ContractEncoder().canonicalText(summary.wire), now, report.comparisons, report.fuzzySeconds,
                        try report.quality.map(Self.storedReport), run.id, run.attempt,
                    ])
                guard db.changesCount > 0 else { return false }
                try Self.append(
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
                guard db.changesCount > 0 else { return false }
                try Self.append(
                    db, actor: .system, action: .runFailed, project: run.project,
                    details: ["run": .string(run.id), "reason": .string(code)])
            case .interrupted:
                return false
            }
            return true
        }
        if !published, case .succeeded = outcome { try await removeResults(of: run.id) }
        return published
    }

    /// A run's quality report as the store keeps it: the fitted model's `LinkageReport` or, for files without Bloom
    /// filters, the `UnfittedReport` that says what decided; JSON, members sorted.
    static func storedReport(_ report: RunQualityReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }

    func runReport(run: String) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT report FROM run WHERE id = ?", arguments: [run])
        }
    }
}
