import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

extension SQLiteLinkageStore {
    static func project(_ db: Database, id: String) throws -> ProjectRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM project WHERE id = ?", arguments: [id]) else {
            return nil
        }
        return try project(db, row: row)
    }

    static func project(_ db: Database, row: Row) throws -> ProjectRecord {
        let parties = try Row.fetchAll(
            db, sql: "SELECT * FROM party WHERE project = ? ORDER BY role DESC", arguments: [row["id"] as String]
        ).map(PartyRecord.init(row:))
        return try ProjectRecord(row: row, parties: parties)
    }

    func project(id: String) async throws -> ProjectRecord? {
        try await database.read { db in try Self.project(db, id: id) }
    }

    func party(project: String, name: String) async throws -> PartyRecord? {
        try await database.read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM party WHERE project = ? AND name = ?"),
                arguments: [project, name]
            ).map(PartyRecord.init(row:))
        }
    }

    func projects(_ page: PageRequest, status: ProjectStatus?, only: String?) async throws -> Page<ProjectRecord> {
        var conditions: [(String, StatementArguments)] = []
        if let status { conditions.append(("status = ?", [status.rawValue])) }
        if let only { conditions.append(("id = ?", [only])) }
        let filters = conditions
        return try await database.read { db in
            try Self.page(db, table: ProjectRecord.databaseTableName, page, where: filters) {
                try Self.project(db, row: $0)
            }
        }
    }

    func createProject(_ request: ProjectRequest, id: String, by actor: Acting) async throws -> ProjectRecord {
        try await database.write { db in
            let sameKey = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM project WHERE keyId = ?", arguments: [request.keyId])
            if sameKey ?? 0 > 0 {
                throw APIError.conflict(
                    .keyIdInUse, "another project has this key id: each project needs its own secret (SPEC §1.3)")
            }
            let sameName = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM project WHERE name = ? AND status = 'open'", arguments: [request.name])
            if sameName ?? 0 > 0 { throw APIError.conflict(.nameTaken, "an open project has this name") }
            let now = AuditTime.now().text
            try db.execute(
                sql: """
                    INSERT INTO project (id, name, purpose, legalBasis, schemaFingerprint, layoutFilterBits,
                        layoutMatchKeys, layoutBlockingKeys, keyId, matching, vetoDefaulted, disclosure, runPolicy,
                        status, createdAt, ordinal)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
                    """,
                arguments: [
                    id, request.name, request.purpose, request.legalBasis, request.schemaFingerprint,
                    request.layout.filterBits, JSONValue.canonicalList(request.layout.matchKeys),
                    JSONValue.canonicalList(request.layout.blockingKeys), request.keyId,
                    try request.matching.storedText, request.matching.vetoKeysDefaulted,
                    try request.disclosure.storedText, try request.runPolicy.storedText, now,
                    try Self.nextOrdinal(db),
                ])
            try Self.append(
                db, actor: actor, action: .projectCreated, project: id,
                details: [
                    "name": .string(String(request.name.prefix(200))), "schema": .string(request.schemaFingerprint),
                    "runPolicy": .string(request.runPolicy.auditText),
                ])
            for party in request.parties {
                try db.execute(
                    sql: """
                        INSERT INTO party (project, name, role, publicKey, registeredAt, registeredBy, registeredByToken)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id, party.name, party.role.rawValue, Data(party.key.rawBytes), now, actor.actor.text,
                        actor.tokenID,
                    ])
                try Self.append(
                    db, actor: actor, action: .partyRegistered, project: id,
                    details: [
                        "party": .string(party.name), "role": .string(party.role.rawValue),
                        "key": .string(party.key.fingerprint),
                    ])
            }
            guard let project = try Self.project(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
    }

    func closeProject(id: String, reason: String, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> ProjectRecord
    {
        let closed = try await database.write { db in
            let now = AuditTime.now().text
            try db.execute(
                sql:
                    "UPDATE project SET status = 'closed', closedAt = ?, closeReason = ? WHERE id = ? AND status = 'open'",
                arguments: [now, reason, id])
            guard db.changesCount > 0 else { throw APIError.projectClosed(id) }
            try Self.append(
                db, actor: actor, action: .projectClosed, project: id, details: ["reason": .string(reason)])
            for run in try String.fetchAll(
                db, sql: "SELECT id FROM run WHERE project = ? AND status IN ('awaitingApproval', 'queued', 'running')",
                arguments: [id])
            {
                try Self.fail(db, run: run, project: id, code: .projectClosed, actor: Acting(actor: .system))
            }
            for token in try String.fetchAll(
                db, sql: "SELECT id FROM token WHERE project = ? AND revokedAt IS NULL", arguments: [id])
            {
                try Self.revoke(db, tokenID: token, actor: actor, project: id)
            }
            let orphans = try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT sha256 FROM upload WHERE project = ? AND sha256 NOT IN (
                        SELECT u.sha256 FROM upload u JOIN project p ON p.id = u.project
                        WHERE p.status = 'open' AND u.withdrawnAt IS NULL)
                    """, arguments: [id])
            // In the transaction, so that no upload of the same content to an open project slips in between.
            removeFiles(orphans)
            guard let project = try Self.project(db, id: id) else {
                throw ServerError(.storage, "a project just written cannot be read back")
            }
            return project
        }
        // Its results after the close, a chunk per transaction (a 1,000,000-row set would hold the writer for
        // seconds): nothing reads a closed project's results, and a crash meanwhile leaves the rest to the next start.
        try await removeResults(ofProject: id)
        return closed
    }

    func replacePartyKey(project: String, party name: String, key: PublicSigningKey, by actor: Acting)
        async throws -> PartyRecord
    {
        try await database.write { db in
            try Self.requireOpen(db, project: project)
            guard let existing = try Self.project(db, id: project), let party = existing.party(named: name) else {
                throw APIError.notFound("no party of that name in this project")
            }
            try db.execute(
                sql: """
                    UPDATE party SET publicKey = ?, registeredAt = ?, registeredBy = ?, registeredByToken = ?
                    WHERE project = ? AND name = ?
                    """,
                arguments: [
                    Data(key.rawBytes), AuditTime.now().text, actor.actor.text, actor.tokenID, project, name,
                ])
            try Self.append(
                db, actor: actor, action: .partyRegistered, project: project,
                details: [
                    "party": .string(name), "role": .string(party.role.rawValue), "key": .string(key.fingerprint),
                ])
            // The party's tokens were bound to the key it had: none survives a rotation (its holder activates a new
            // one with the new key), and the party sees the rotation in `/me` and the project.
            for token in try String.fetchAll(
                db, sql: "SELECT id FROM token WHERE project = ? AND party = ? AND revokedAt IS NULL",
                arguments: [project, name])
            {
                try Self.revoke(db, tokenID: token, actor: actor, project: project)
            }
            guard let updated = try Self.project(db, id: project)?.party(named: name) else {
                throw ServerError(.storage, "a party just written cannot be read back")
            }
            return updated
        }
    }
}
