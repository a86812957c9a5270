import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import Hummingbird

extension MatchingService {
    /// `POST /tokens`.
    func issueToken(_ call: Call) async throws -> Response {
        guard let body = try await call.jsonBody() else { throw APIError.malformed("a body is required") }
        let reader = try ObjectReader(body)
        try reader.only(["role", "name", "project", "party", "expiresAt"])
        guard let role = TokenRecord.Role(rawValue: try reader.requiredString("role")) else {
            throw APIError.malformed("role must be operator, auditor or party")
        }
        let name = try reader.string(
            "name", required: false, must: "a name ([A-Za-z0-9][A-Za-z0-9._-]{0,99})", Patterns.isName)
        let project = try reader.string(
            "project", required: false, must: "a project id", { Patterns.isID($0, kind: "p") })
        let party = try reader.string("party", required: false, must: "a party name", Patterns.isName)
        let expiresAt = try reader.string(
            "expiresAt", required: false, must: "a time YYYY-MM-DDThh:mm:ssZ", Patterns.isTimestamp)
        switch role {
        case .party:
            guard project != nil, party != nil, name == nil else {
                throw APIError.malformed("a party token needs project and party, and no name")
            }
        case .auditor, .operator:
            guard name != nil, project == nil, party == nil else {
                throw APIError.malformed("an \(role.rawValue) token needs a name, and no project or party")
            }
        }
        if let expiresAt, expiresAt <= AuditTime.now().text {
            throw APIError.invalid("expiresAt must be in the future")
        }
        let operatorActor = try call.token.actor
        let (token, record) = try await store.database.write { db -> (String, TokenRecord) in
            if let project, let party {
                guard let record = try ProjectRecord.fetch(db, id: project) else {
                    throw APIError.invalid("no project \(project)")
                }
                guard record.party(named: party) != nil else {
                    throw APIError.conflict("partyNotRegistered", "project \(project) has no party \(party)")
                }
                guard record.isOpen else { throw APIError.projectClosed(project) }
            }
            let issued = try Self.insertToken(
                db, role: role, name: name ?? party ?? "", project: project, party: party, expiresAt: expiresAt)
            var details: AuditDetails = ["role": .string(role.rawValue), "tokenId": .string(issued.1.id)]
            if let party {
                details = ["party": .string(party), "role": .string(role.rawValue), "tokenId": .string(issued.1.id)]
            } else if role == .auditor, let name {
                details = ["auditor": .string(name), "role": .string(role.rawValue), "tokenId": .string(issued.1.id)]
            }
            try ServiceStore.append(db, actor: operatorActor, action: .tokenIssued, project: project, details: details)
            return issued
        }
        return JSONResponse.make(
            .object([("token", .string(token)), ("info", record.json)]), status: .created,
            headers: [.location: "/tokens/\(record.id)", .cacheControl: "no-store"])
    }

    /// `GET /tokens`.
    func listTokens(_ call: Call) async throws -> Response {
        var listing = try Listing("tokens", table: "token", call: call)
        if let project = call.query("project") {
            guard Patterns.isID(project, kind: "p") else { throw APIError.malformed("project must be a project id") }
            listing.filter("project = ?", [project])
        }
        switch call.query("includeRevoked") {
        case nil, "false": listing.filter("revokedAt IS NULL")
        case "true": break
        default: throw APIError.malformed("includeRevoked must be true or false")
        }
        let query = listing
        let (items, total) = try await store.database.read { db in try query.items(db, TokenRecord.init(row:)) }
        return listing.response(items.map(\.json), total: total)
    }

    /// `GET /tokens/{tokenId}`.
    func getToken(_ call: Call) async throws -> Response {
        let id = call.parameter("tokenId")
        let record = try await store.database.read { db in
            try TokenRecord.fetch(db, id: id)
        }
        guard let record else { throw APIError.notFound("no token \(Self.printableID(id))") }
        return JSONResponse.make(record.json)
    }

    /// `DELETE /tokens/{tokenId}`.
    func revokeToken(_ call: Call) async throws -> Response {
        let id = call.parameter("tokenId")
        let actor = try call.token.actor
        let record = try await store.database.write { db -> TokenRecord? in
            guard let record = try TokenRecord.fetch(db, id: id) else { return nil }
            guard record.revokedAt == nil else { return record }
            if record.role == .operator {
                let others =
                    try Int.fetchOne(
                        db,
                        sql:
                            "SELECT COUNT(*) FROM token WHERE role = 'operator' AND revokedAt IS NULL AND id != ? AND (expiresAt IS NULL OR expiresAt > ?)",
                        arguments: [id, AuditTime.now().text]) ?? 0
                guard others > 0 else {
                    throw APIError.conflict("lastOperatorToken", "revoking it would leave no valid operator token")
                }
            }
            try Self.revoke(db, tokenID: id, actor: actor, project: record.project)
            return try TokenRecord.fetch(db, id: id)
        }
        guard let record else { throw APIError.notFound("no token \(Self.printableID(id))") }
        return JSONResponse.make(record.json)
    }

    static func revoke(_ db: Database, tokenID: String, actor: AuditActor, project: String?) throws {
        try db.execute(
            sql: "UPDATE token SET revokedAt = ? WHERE id = ? AND revokedAt IS NULL",
            arguments: [AuditTime.now().text, tokenID])
        if db.changesCount > 0 {
            try ServiceStore.append(
                db, actor: actor, action: .tokenRevoked, project: project, details: ["tokenId": .string(tokenID)])
        }
    }

    /// An id from a path, for a message: echoed only when it has an id's shape.
    static func printableID(_ id: String) -> String {
        let scalars = id.unicodeScalars
        return scalars.count <= 20
            && scalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
            ? id : "(that id)"
    }
}
