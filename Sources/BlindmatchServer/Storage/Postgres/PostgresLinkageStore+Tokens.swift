import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    static func token(_ db: PostgresSession, id: String) async throws -> TokenRecord? {
        try await db.row("SELECT * FROM token WHERE id = ?", [id]).map(TokenRecord.init(row:))
    }

    func token(hash: [UInt8]) async throws -> TokenRecord? {
        try await pool.session { db in
            try await db.row("SELECT * FROM token WHERE hash = ?", [Data(hash)]).map(TokenRecord.init(row:))
        }
    }

    func token(id: String) async throws -> TokenRecord? {
        try await pool.session { db in try await Self.token(db, id: id) }
    }

    func tokens(_ page: PageRequest, project: String?, includeRevoked: Bool) async throws -> Page<TokenRecord> {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = []
        if let project { conditions.append(("project = ?", [project])) }
        if !includeRevoked { conditions.append(("revokedAt IS NULL", [])) }
        let filters = conditions
        return try await pool.read { db in
            try await Self.page(db, table: "token", page, where: filters) { try TokenRecord(row: $0) }
        }
    }

    func issueToken(_ draft: TokenDraft, by actor: Acting) async throws -> (secret: String, record: TokenRecord) {
        try await pool.write { db in
            if let project = draft.project, let party = draft.party {
                guard let record = try await Self.project(db, id: project) else {
                    throw APIError.invalid("no project \(project)")
                }
                guard record.party(named: party) != nil else {
                    throw APIError.conflict(.partyNotRegistered, "project \(project) has no party \(party)")
                }
                guard record.isOpen else { throw APIError.projectClosed(project) }
            }
            let issued = try await Self.insertToken(db, draft)
            let id = issued.record.id
            var details: AuditDetails = ["role": .string(draft.role.rawValue), "tokenId": .string(id)]
            if let party = draft.party {
                details = ["party": .string(party), "role": .string(draft.role.rawValue), "tokenId": .string(id)]
            } else if draft.role == .auditor {
                details = [
                    "auditor": .string(draft.name), "role": .string(draft.role.rawValue), "tokenId": .string(id),
                ]
            }
            try await Self.append(db, actor: actor, action: .tokenIssued, project: draft.project, details: details)
            return issued
        }
    }

    func issueFirstOperatorToken() async throws -> String? {
        try await pool.write { db in
            guard try await db.int("SELECT COUNT(*) FROM token WHERE role = ?", [Role.operator.rawValue]) == 0 else {
                return nil
            }
            let issued = try await Self.insertToken(
                db, TokenDraft(role: .operator, name: "operator", project: nil, party: nil, expiresAt: nil))
            try await Self.append(
                db, actor: .system, action: .tokenIssued, project: nil,
                details: ["role": "operator", "tokenId": .string(issued.record.id)])
            return issued.secret
        }
    }

    func revokeToken(id: String, by actor: Acting) async throws -> TokenRecord? {
        try await pool.write { db in
            guard let record = try await Self.token(db, id: id) else { return nil }
            guard record.revokedAt == nil else { return record }
            if record.role == .operator {
                let others =
                    try await db.int(
                        """
                        SELECT COUNT(*) FROM token WHERE role = 'operator' AND revokedAt IS NULL AND id != ?
                            AND (expiresAt IS NULL OR expiresAt > ?)
                        """, [id, AuditTime.now().text]) ?? 0
                guard others > 0 else {
                    throw APIError.conflict(.lastOperatorToken, "revoking it would leave no valid operator token")
                }
            }
            try await Self.revoke(db, tokenID: id, actor: actor, project: record.project)
            return try await Self.token(db, id: id)
        }
    }

    static func insertToken(_ db: PostgresSession, _ draft: TokenDraft) async throws -> (
        secret: String, record: TokenRecord
    ) {
        let secret = try BearerToken.make()
        let now = AuditTime.now().text
        let isParty = draft.role == .party
        let record = TokenRecord(
            id: try Identifier.make("t"), hash: Data(BearerToken.hash(secret) ?? []), role: draft.role,
            name: draft.name, project: draft.project, party: draft.party, issuedAt: now,
            expiresAt: draft.expiresAt, revokedAt: nil, ordinal: try await nextOrdinal(db),
            activatedAt: isParty ? nil : now, challenge: isParty ? Hex.encode(try SecureRandom.bytes(32)) : nil)
        try await db.execute(
            """
            INSERT INTO token (id, hash, role, name, project, party, issuedAt, expiresAt, revokedAt, ordinal,
                activatedAt, challenge)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                record.id, record.hash, record.role.rawValue, record.name, record.project, record.party,
                record.issuedAt, record.expiresAt, record.revokedAt, record.ordinal, record.activatedAt,
                record.challenge,
            ])
        return (secret, record)
    }

    func activateToken(_ token: TokenRecord, signature: [UInt8], by actor: Acting) async throws -> TokenRecord {
        try await pool.write { db in
            guard let current = try await Self.token(db, id: token.id), current.isValid(at: AuditTime.now().text)
            else { throw APIError.unauthenticated }
            guard current.activatedAt == nil, let challenge = current.challenge, let projectID = current.project,
                let partyName = current.party
            else {
                throw APIError.conflict(.tokenActive, "this token is active already, or needs no activation")
            }
            try await Self.requireOpen(db, project: projectID)
            guard let party = try await Self.project(db, id: projectID)?.party(named: partyName) else {
                throw APIError.conflict(.partyNotRegistered, "the token's party is not registered in its project")
            }
            let key = party.publicKey
            let message = TokenActivation.message(
                token: current.id, project: projectID, party: partyName, key: key.fingerprint, challenge: challenge)
            guard key.isValidSignature(signature, for: message) else {
                throw APIError(
                    .unprocessableContent, .activationRefused,
                    "the signature is not the party's registered key's (\(key.fingerprint.prefix(16))…) over this token's activation message"
                )
            }
            try await db.execute(
                "UPDATE token SET activatedAt = ? WHERE id = ? AND activatedAt IS NULL",
                [AuditTime.now().text, current.id])
            try await Self.append(
                db, actor: actor, action: .tokenActivated, project: projectID,
                details: ["tokenId": .string(current.id), "key": .string(key.fingerprint)])
            guard let activated = try await Self.token(db, id: current.id) else {
                throw ServerError(.storage, "a token just written cannot be read back")
            }
            return activated
        }
    }

    static func revoke(_ db: PostgresSession, tokenID: String, actor: Acting, project: String?) async throws {
        let changed = try await db.changes(
            "UPDATE token SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL", [AuditTime.now().text, tokenID])
        if changed > 0 {
            try await append(
                db, actor: actor, action: .tokenRevoked, project: project, details: ["tokenId": .string(tokenID)])
        }
    }
}
