import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    static func project(_ db: PostgresSession, id: String) async throws -> ProjectRecord? {
        guard let row = try await db.row("SELECT * FROM project WHERE id = ?", [id]) else { return nil }
        return try await project(db, row: row)
    }

    static func project(_ db: PostgresSession, row: Row) async throws -> ProjectRecord {
        let parties = try await db.rows(
            "SELECT * FROM party WHERE project = ? ORDER BY role DESC", [row["id"] as String]
        ).map(PartyRecord.init(row:))
        return try ProjectRecord(row: row, parties: parties)
    }

    func project(id: String) async throws -> ProjectRecord? {
        try await pool.read { db in try await Self.project(db, id: id) }
    }

    func party(project: String, name: String) async throws -> PartyRecord? {
        try await pool.session { db in
            try await db.row("SELECT * FROM party WHERE project = ? AND name = ?", [project, name])
                .map(PartyRecord.init(row:))
        }
    }

    func projects(_ page: PageRequest, status: ProjectStatus?, only: String?) async throws -> Page<ProjectRecord> {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = []
        if let status { conditions.append(("status = ?", [status.rawValue])) }
        if let only { conditions.append(("id = ?", [only])) }
        let filters = conditions
        return try await pool.read { db in
            try await Self.page(db, table: "project", page, where: filters) { try await Self.project(db, row: $0) }
        }
    }

    func createProject(_ request: ProjectRequest, id: String, by actor: Acting) async throws -> ProjectRecord {
        try await pool.write { db in
            let sameKey = try await db.int("SELECT COUNT(*) FROM project WHERE keyId = ?", [request.keyId])
            if sameKey ?? 0 > 0 {
                throw APIError.conflict(
                    .keyIdInUse, "another project has this key id: each project needs its own secret (SPEC §1.3)")
            }
            let sameName = try await db.int(
                "SELECT COUNT(*) FROM project WHERE name = ? AND status = 'open'", [request.name])
            if sameName ?? 0 > 0 { throw APIError.conflict(.nameTaken, "an open project has this name") }
            let now = AuditTime.now().text
            let ordinal = try await Self.nextOrdinal(db)
            try await db.execute(
                """
                INSERT INTO project (id, name, purpose, legalBasis, schemaFingerprint, layoutFilterBits,
                    layoutMatchKeys, layoutBlockingKeys, keyId, matching, vetoDefaulted, disclosure, runPolicy,
                    status, createdAt, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
                """,
                [
                    id, request.name, request.purpose, request.legalBasis, request.schemaFingerprint,
                    request.layout.filterBits, JSONValue.canonicalList(request.layout.matchKeys),
                    JSONValue.canonicalList(request.layout.blockingKeys), request.keyId,
                    try request.matching.storedText, request.matching.vetoKeysDefaulted,
                    try request.disclosure.storedText, try request.runPolicy.storedText, now, ordinal,
                ])
            try await Self.append(
                db, actor: actor, action: .projectCreated, project: id,
                details: [
                    "name": .string(String(request.name.prefix(200))), "schema": .string(request.schemaFingerprint),
                    "runPolicy": .string(request.runPolicy.auditText),
                ])
            for party in request.parties {
                try await db.execute(
                    """
                    INSERT INTO party (project, name, role, publicKey, registeredAt, registeredBy, registeredByToken)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        id, party.name, party.role.rawValue, Data(party.key.rawBytes), now, actor.actor.text,
                        actor.tokenID,
                    ])
                try await Self.append(
                    db, actor: actor, action: .partyRegistered, project: id,
                    details: [
                        "party": .string(party.name), "role": .string(party.role.rawValue),
                        "key": .string(party.key.fingerprint),
                    ])
            }
            guard let project = try await Self.project(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
    }

    func closeProject(id: String, reason: String, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> ProjectRecord
    {
        let closed = try await pool.write { db in
            let now = AuditTime.now().text
            let changed = try await db.changes(
                "UPDATE project SET status = 'closed', closedAt = ?, closeReason = ? WHERE id = ? AND status = 'open'",
                [now, reason, id])
            guard changed > 0 else { throw APIError.projectClosed(id) }
            try await Self.append(
                db, actor: actor, action: .projectClosed, project: id, details: ["reason": .string(reason)])
            for run in try await db.strings(
                """
                SELECT id FROM run WHERE project = ? AND status IN ('awaitingApproval', 'queued', 'running')
                ORDER BY ordinal
                """, [id])
            {
                try await Self.fail(db, run: run, project: id, code: .projectClosed, actor: Acting(actor: .system))
            }
            for token in try await db.strings(
                "SELECT id FROM token WHERE project = ? AND revokedAt IS NULL ORDER BY ordinal", [id])
            {
                try await Self.revoke(db, tokenID: token, actor: actor, project: id)
            }
            let orphans = try await db.strings(
                """
                SELECT DISTINCT sha256 FROM upload WHERE project = ? AND sha256 NOT IN (
                    SELECT u.sha256 FROM upload u JOIN project p ON p.id = u.project
                    WHERE p.status = 'open' AND u.withdrawnAt IS NULL)
                """, [id])
            removeFiles(orphans)
            guard let project = try await Self.project(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
        try await removeResults(ofProject: id)
        return closed
    }

    func replacePartyKey(project: String, party name: String, key: PublicSigningKey, by actor: Acting)
        async throws -> PartyRecord
    {
        try await pool.write { db in
            try await Self.requireOpen(db, project: project)
            guard let existing = try await Self.project(db, id: project), let party = existing.party(named: name)
            else {
                throw APIError.notFound("no party of that name in this project")
            }
            try await db.execute(
                """
                UPDATE party SET publicKey = ?, registeredAt = ?, registeredBy = ?, registeredByToken = ?
                WHERE project = ? AND name = ?
                """,
                [Data(key.rawBytes), AuditTime.now().text, actor.actor.text, actor.tokenID, project, name])
            try await Self.append(
                db, actor: actor, action: .partyRegistered, project: project,
                details: [
                    "party": .string(name), "role": .string(party.role.rawValue), "key": .string(key.fingerprint),
                ])
            for token in try await db.strings(
                "SELECT id FROM token WHERE project = ? AND party = ? AND revokedAt IS NULL ORDER BY ordinal",
                [project, name])
            {
                try await Self.revoke(db, tokenID: token, actor: actor, project: project)
            }
            guard let updated = try await Self.project(db, id: project)?.party(named: name) else {
                throw ServerError(.storage, "a party just written cannot be read back")
            }
            return updated
        }
    }
}
