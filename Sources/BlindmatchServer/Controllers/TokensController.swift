import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `tokens` tag: bearer tokens, issued and revoked by the operator.
struct TokensController<Store: LinkageStore>: Sendable {
    let store: Store

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.post, "/tokens", roles: [.operator], issue)
        routes.add(.get, "/tokens", roles: [.operator], list)
        routes.add(.get, "/tokens/{tokenId}", roles: [.operator], get)
        routes.add(.delete, "/tokens/{tokenId}", roles: [.operator], revoke)
    }

    /// `POST /tokens`: the token is shown once, in this reply.
    @Sendable func issue(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let draft = try TokenDraft(try await request.contractBody(Components.Schemas.TokenRequest.self))
        let (secret, record) = try await store.issueToken(draft, by: try context.token.acting)
        return try JSONResponse.make(
            Components.Schemas.IssuedToken(token: secret, info: record.wire), status: .created,
            headers: [.location: "/tokens/\(record.id)", .cacheControl: "no-store"])
    }

    /// `GET /tokens`.
    @Sendable func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let page = try request.page(listing: "tokens")
        let project = request.query("project")
        if let project, !Patterns.isID(project, kind: "p") {
            throw APIError.malformed("project must be a project id")
        }
        let includeRevoked: Bool
        switch request.query("includeRevoked") {
        case nil, "false": includeRevoked = false
        case "true": includeRevoked = true
        default: throw APIError.malformed("includeRevoked must be true or false")
        }
        let tokens = try await store.tokens(page, project: project, includeRevoked: includeRevoked)
        return try Listing.response("tokens", tokens) {
            Components.Schemas.TokenPage(items: $0.map(\.wire), nextCursor: $1)
        }
    }

    /// `GET /tokens/{tokenId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let id = context.parameter("tokenId")
        guard let record = try await store.token(id: id) else {
            throw APIError.notFound("no token \(Identifier.printable(id))")
        }
        return try JSONResponse.make(record.wire)
    }

    /// `DELETE /tokens/{tokenId}`.
    @Sendable func revoke(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let id = context.parameter("tokenId")
        guard let record = try await store.revokeToken(id: id, by: try context.token.acting) else {
            throw APIError.notFound("no token \(Identifier.printable(id))")
        }
        return try JSONResponse.make(record.wire)
    }
}

extension TokenDraft {
    /// A `TokenRequest` body: a party token (`project` and `party`) or a staff token (`name`), as the contract's two
    /// shapes say; then the patterns the generator does not check, and an expiry in the future.
    init(_ body: Components.Schemas.TokenRequest) throws {
        let expiresAt: String?
        switch body {
        case .PartyTokenRequest(let party):
            let project = try Rule.check(party.project, "project", must: "a project id") {
                Patterns.isID($0, kind: "p")
            }
            let name = try Rule.check(party.party, "party", must: "a party name", Patterns.isName)
            expiresAt = party.expiresAt
            self.init(role: .party, name: name, project: project, party: name, expiresAt: expiresAt)
        case .StaffTokenRequest(let staff):
            let name = try Rule.check(
                staff.name, "name", must: "a name ([A-Za-z0-9][A-Za-z0-9._-]{0,99})", Patterns.isName)
            expiresAt = staff.expiresAt
            self.init(
                role: staff.role == .auditor ? .auditor : ._operator, name: name, project: nil, party: nil,
                expiresAt: expiresAt)
        }
        if let expiresAt {
            _ = try Rule.check(expiresAt, "expiresAt", must: "a time YYYY-MM-DDThh:mm:ssZ", Patterns.isTimestamp)
            guard expiresAt > AuditTime.now().text else { throw APIError.invalid("expiresAt must be in the future") }
        }
    }
}
