import BlindmatchAudit
import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    static func run(_ db: PostgresSession, id: String) async throws -> RunRecord? {
        try await db.row("SELECT * FROM run WHERE id = ?", [id]).map(RunRecord.init(row:))
    }

    func run(id: String) async throws -> RunRecord? {
        try await pool.session { db in try await Self.run(db, id: id) }
    }

    func runs(_ page: PageRequest, project: String, status: RunStatus?) async throws -> Page<RunRecord> {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = [("project = ?", [project])]
        if let status { conditions.append(("status = ?", [status.rawValue])) }
        let filters = conditions
        return try await pool.read { db in
            try await Self.page(db, table: "run", page, where: filters) { try RunRecord(row: $0) }
        }
    }

    func queueRun(project: ProjectRecord, requester: PartyRecord, upload named: String?, id: String, by actor: Acting)
        async throws -> (run: RunRecord, receipt: Receipt)
    {
        try await pool.write { db in
            var uploads: [PartyRole: UploadRecord] = [:]
            var parties: [PartyRole: PartyRecord] = [:]
            for side in PartyRole.allCases {
                guard let party = project.party(role: side) else {
                    throw ServerError(.storage, "project \(project.id) has no \(side.rawValue) party")
                }
                parties[side] = party
            }
            if let named {
                guard let upload = try await Self.upload(db, id: named), upload.project == project.id,
                    upload.party == requester.name
                else {
                    throw APIError.invalid(
                        "\(requester.role.rawValue)Upload is not an upload of yours: a party names only its own uploads, and the other side's is its current one"
                    )
                }
                uploads[requester.role] = upload
            }
            try await Self.requireOpen(db, project: project.id)
            if let upload = uploads[requester.role], upload.withdrawnAt != nil {
                throw APIError.conflict(.uploadWithdrawn, "upload \(upload.id) was withdrawn: no run uses it")
            }
            for side in PartyRole.allCases where uploads[side] == nil {
                let name = parties[side]?.name ?? ""
                guard let upload = try await Self.currentUpload(db, project: project.id, party: name) else {
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
                try await db.int(
                    "SELECT COUNT(*) FROM run WHERE project = ? AND queuedAt > ?", [project.id, dayAgo]) ?? 0
            guard recent < project.runPolicy.runsPerDay else {
                throw APIError(
                    .tooManyRequests, .tooManyRuns,
                    "the project allows \(project.runPolicy.runsPerDay) runs requested in any 24 hours (runPolicy.runsPerDay)"
                )
            }
            let waiting = project.runPolicy.approvers.contains { $0 != requester.role }
            var approvals: [Approval] = []
            if project.runPolicy.approvers.contains(requester.role) {
                approvals.append(Approval(party: requester.name, role: requester.role, approvedAt: now.text))
            }
            let ordinal = try await Self.nextOrdinal(db)
            try await db.execute(
                """
                INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings, vetoDefaulted, attempt,
                    stage, fraction, requestedBy, approvals, queuedAt, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, ?, 0, 'queued', 0, ?, ?, ?, ?)
                """,
                [
                    id, project.id, waiting ? RunStatus.awaitingApproval.rawValue : RunStatus.queued.rawValue, a.id,
                    b.id, try project.matching.storedText, project.matching.vetoKeysDefaulted, actor.actor.text,
                    try ContractEncoder().canonicalText(approvals), now.text, ordinal,
                ])
            let entry = try await Self.append(
                db, actor: actor, action: .runQueued, project: project.id,
                details: [
                    "run": .string(id), "threshold": .string(project.matching.threshold),
                    "watchlistUpload": .string(a.id), "bulkUpload": .string(b.id),
                ])
            guard let run = try await Self.run(db, id: id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            if !waiting { try await Self.notifyQueued(db) }
            return (run, try await Self.receipt(db, for: entry))
        }
    }

    func approveRun(_ run: RunRecord, project: ProjectRecord, party: PartyRecord, by actor: Acting) async throws
        -> (run: RunRecord, receipt: Receipt)
    {
        try await pool.write { db in
            try await Self.requireOpen(db, project: project.id)
            guard let current = try await Self.run(db, id: run.id), current.status == .awaitingApproval,
                !current.approvals.contains(where: { $0.role == party.role })
            else {
                throw APIError.conflict(
                    .runNotAwaitingApproval, "run \(run.id) is not awaiting this party's approval")
            }
            let now = AuditTime.now().text
            let approvals = current.approvals + [Approval(party: party.name, role: party.role, approvedAt: now)]
            let complete = Set(project.runPolicy.approvers).isSubset(of: approvals.map(\.role))
            try await db.execute(
                "UPDATE run SET approvals = ?, status = ? WHERE id = ? AND status = 'awaitingApproval'",
                [
                    try ContractEncoder().canonicalText(approvals),
                    complete ? RunStatus.queued.rawValue : RunStatus.awaitingApproval.rawValue, run.id,
                ])
            let entry = try await Self.append(
                db, actor: actor, action: .runApproved, project: project.id, details: ["run": .string(run.id)])
            guard let approved = try await Self.run(db, id: run.id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            if complete { try await Self.notifyQueued(db) }
            return (approved, try await Self.receipt(db, for: entry))
        }
    }

    /// Fails a run that has not finished with `code`, audited as `run.failed`, in the caller's transaction; whether
    /// it did.
    @discardableResult
    static func fail(_ db: PostgresSession, run: String, project: String, code: RunFailureCode, actor: Acting)
        async throws -> Bool
    {
        let message =
            switch code {
            case .cancelled: "the run was cancelled by \(actor.actor.text)"
            case .uploadWithdrawn: "one of the run's uploads was withdrawn by its party"
            case .projectClosed: "the project was closed"
            default: code.rawValue
            }
        let changed = try await db.changes(
            """
            UPDATE run SET status = 'failed', failureCode = ?, failureMessage = ?, finishedAt = ?
            WHERE id = ? AND status IN ('awaitingApproval', 'queued', 'running')
            """, [code.rawValue, message, AuditTime.now().text, run])
        guard changed > 0 else { return false }
        try await append(
            db, actor: actor, action: .runFailed, project: project,
            details: ["run": .string(run), "reason": .string(code.rawValue)])
        return true
    }

    /// Queues again the running runs whose server stopped renewing their lease (it stopped or crashed); a run that
    /// another live server is running keeps going. At start, and periodically (``RunScheduler``).
    func requeueInterruptedRuns() async throws {
        let requeued = try await pool.write { db in
            try await db.changes(
                """
                UPDATE run SET status = 'queued', stage = 'queued', fraction = 0, owner = NULL, leaseUntil = NULL
                WHERE status = 'running' AND (leaseUntil IS NULL OR leaseUntil < ?)
                """, [Self.epochSeconds()])
        }
        if requeued > 0 { try await pool.session { db in try await Self.notifyQueued(db) } }
    }

    func claimNextRun(maximumAttempts: Int) async throws -> RunRecord? {
        let owner = self.owner
        let lease = Self.epochSeconds() + leaseSeconds
        return try await pool.write { db in
            for exhausted in try await db.rows(
                "SELECT id, project, attempt FROM run WHERE status = 'queued' AND attempt >= ? ORDER BY ordinal",
                [maximumAttempts])
            {
                let id: String = exhausted["id"]
                let attempts: Int = exhausted["attempt"]
                try await db.execute(
                    """
                    UPDATE run SET status = 'failed', failureCode = 'restartLimitReached', failureMessage = ?,
                        finishedAt = ? WHERE id = ?
                    """,
                    [
                        "the run was cut short \(attempts) times (the matcher stopped or crashed during it each time); it is not started again",
                        AuditTime.now().text, id,
                    ])
                try await Self.append(
                    db, actor: .system, action: .runFailed, project: exhausted["project"],
                    details: ["run": .string(id), "reason": "restartLimitReached"])
            }
            // Projects take turns, as in SQLite. The audit lock serialises claims already; SKIP LOCKED keeps a claim
            // from waiting on a run row that another transaction holds for any other reason.
            guard
                let id = try await db.string(
                    """
                    SELECT run.id FROM run JOIN project ON project.id = run.project
                    WHERE run.status = 'queued' AND project.status = 'open'
                    ORDER BY (SELECT COALESCE(MAX(served.turn), 0) FROM run AS served
                              WHERE served.project = run.project),
                        run.ordinal
                    LIMIT 1 FOR UPDATE OF run SKIP LOCKED
                    """)
            else { return nil }
            try await db.execute(
                """
                UPDATE run SET status = 'running', attempt = attempt + 1, startedAt = ?, stage = 'exact',
                    fraction = 0, turn = (SELECT COALESCE(MAX(turn), 0) + 1 FROM run), owner = ?, leaseUntil = ?
                WHERE id = ?
                """, [AuditTime.now().text, owner, lease, id])
            guard let run = try await Self.run(db, id: id) else { return nil }
            try await Self.append(
                db, actor: .system, action: .runStarted, project: run.project, details: ["run": .string(id)])
            return run
        }
    }

    func cancelRun(_ run: RunRecord, by actor: Acting) async throws -> RunRecord {
        try await pool.write { db in
            guard try await Self.fail(db, run: run.id, project: run.project, code: .cancelled, actor: actor) else {
                throw APIError.conflict(
                    .runFinished,
                    "run \(run.id) has finished; only a run awaiting approval, queued or running is cancelled")
            }
            guard let cancelled = try await Self.run(db, id: run.id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return cancelled
        }
    }

    func release(_ run: RunRecord) async throws {
        try await pool.write { db in
            try await db.execute(
                """
                UPDATE run SET status = 'queued', stage = 'queued', fraction = 0, attempt = attempt - 1,
                    turn = NULL, owner = NULL, leaseUntil = NULL WHERE id = ? AND status = 'running' AND attempt = ?
                """, [run.id, run.attempt])
            try await Self.notifyQueued(db)
        }
    }

    /// Renews this server's lease on a run it is running (its id and attempt); false when the run is no longer
    /// this attempt's (cancelled or failed through another server, or requeued after a lapsed lease): the caller
    /// stops it.
    func renewLease(run: String, attempt: Int) async throws -> Bool {
        let owner = self.owner
        let lease = Self.epochSeconds() + leaseSeconds
        return try await pool.session { db in
            try await db.changes(
                "UPDATE run SET leaseUntil = ? WHERE id = ? AND status = 'running' AND attempt = ? AND owner = ?",
                [lease, run, attempt, owner]) > 0
        }
    }

    func files(of run: RunRecord) async throws -> (watchlist: String, bulk: String)? {
        try await pool.read { db in
            guard let a = try await Self.upload(db, id: run.watchlistUpload),
                let b = try await Self.upload(db, id: run.bulkUpload)
            else { return nil }
            return (a.sha256, b.sha256)
        }
    }

    @discardableResult
    func finish(_ run: RunRecord, outcome: RunOutcome) async throws -> Bool {
        if case .succeeded(let results, let keys, _, _) = outcome {
            guard try await stageResults(of: run, results, matchKeys: keys) else { return false }
            try await countViews(of: run)
        }
        let published = try await pool.write { db in
            let now = AuditTime.now().text
            switch outcome {
            case .succeeded(let results, _, let report, let summary):
                let changed = try await db.changes(
                    """
                    UPDATE run SET status = 'succeeded', stage = 'done', fraction = 1, summary = ?, finishedAt = ?,
                        comparisons = ?, fuzzySeconds = ?, report = ?, leaseUntil = NULL
                    WHERE id = ? AND status = 'running' AND attempt = ?
                    """,
                    [
                        try ContractEncoder().canonicalText(summary.wire), now, report.comparisons,
                        report.fuzzySeconds, try report.quality.map(SQLiteLinkageStore.storedReport), run.id,
                        run.attempt,
                    ])
                guard changed > 0 else { return false }
                try await Self.append(
                    db, actor: .system, action: .runSucceeded, project: run.project,
                    details: [
                        "run": .string(run.id), "pairs": .integer(results.count),
                        "possible": .integer(summary.possible),
                    ])
            case .failed(let code, let message):
                let changed = try await db.changes(
                    """
                    UPDATE run SET status = 'failed', failureCode = ?, failureMessage = ?, finishedAt = ?,
                        leaseUntil = NULL
                    WHERE id = ? AND status = 'running' AND attempt = ?
                    """, [code, message, now, run.id, run.attempt])
                guard changed > 0 else { return false }
                try await Self.append(
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

    func runReport(run: String) async throws -> String? {
        try await pool.session { db in try await db.string("SELECT report FROM run WHERE id = ?", [run]) }
    }

    /// Tells whoever listens (`LISTEN blindmatch_runs`) that a run is queued; sent when the transaction commits.
    /// The servers themselves do not listen yet: they look every 2 s (``PostgresCoordinator``).
    static func notifyQueued(_ db: PostgresSession) async throws {
        try await db.execute("SELECT pg_notify('blindmatch_runs', '')")
    }

    static func epochSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
