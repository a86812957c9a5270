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

    func queueRun(project: ProjectRecord, uploads named: [PartyRole: String], id: String, by actor: Acting)
        async throws -> RunRecord
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
            // 422 for a named upload that is not that side's, before the 409s (the contract's order of checks).
            for (side, uploadID) in named {
                guard let upload = try Self.upload(db, id: uploadID), upload.project == project.id,
                    upload.party == parties[side]?.name
                else {
                    throw APIError.invalid(
                        "\(side.rawValue)Upload is not an upload of the \(side.rawValue) party \(parties[side]?.name ?? "")"
                    )
                }
                uploads[side] = upload
            }
            try Self.requireOpen(db, project: project.id)
            for side in PartyRole.allCases where uploads[side] == nil {
                let name = parties[side]?.name ?? ""
                guard let upload = try Self.currentUpload(db, project: project.id, party: name) else {
                    throw APIError.conflict(
                        .uploadMissing, "the \(side.rawValue) party \(name) has no accepted upload")
                }
                uploads[side] = upload
            }
            guard let a = uploads[.watchlist], let b = uploads[.bulk] else {
                throw ServerError(.storage, "a run needs two uploads")
            }
            guard a.layout == b.layout, a.schemaFingerprint == b.schemaFingerprint, a.keyId == b.keyId else {
                throw APIError(
                    .unprocessableContent, .incompatibleUploads,
                    "the two uploads cannot be compared (SPEC §6.7): schema, key id, filter length or keys differ")
            }
            try db.execute(
                sql: """
                    INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings, vetoDefaulted, attempt,
                        stage, fraction, requestedBy, queuedAt, ordinal)
                    VALUES (?, ?, 'queued', ?, ?, ?, ?, 0, 'queued', 0, ?, ?, ?)
                    """,
                arguments: [
                    id, project.id, a.id, b.id, try project.matching.storedText,
                    project.matching.vetoKeysDefaulted, actor.actor.text, AuditTime.now().text,
                    try Self.nextOrdinal(db),
                ])
            try Self.append(
                db, actor: actor, action: .runQueued, project: project.id,
                details: ["run": .string(id), "threshold": .string(project.matching.threshold)])
            guard let run = try Self.run(db, id: id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return run
        }
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
            let now = AuditTime.now().text
            try db.execute(
                sql: """
                    UPDATE run SET status = 'failed', failureCode = 'cancelled', failureMessage = ?, finishedAt = ?
                    WHERE id = ? AND status IN ('queued', 'running')
                    """, arguments: ["the run was cancelled by \(actor.actor.text)", now, run.id])
            guard db.changesCount > 0 else {
                throw APIError.conflict(
                    .runFinished, "run \(run.id) has finished; only a queued or running run is cancelled")
            }
            try Self.append(
                db, actor: actor, action: .runFailed, project: run.project,
                details: ["run": .string(run.id), "reason": "cancelled"])
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
                        try report.linkage.map(Self.storedReport), run.id, run.attempt,
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

    /// A run's quality report as the store keeps it: `LinkageReport`'s JSON, members sorted.
    static func storedReport(_ report: LinkageReport) throws -> String {
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
