import BlindmatchAudit
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
        let draft = try TokenDraft(try await request.requiredJSONBody())
        let (secret, record) = try await store.issueToken(draft, by: try context.token.actor)
        return JSONResponse.make(
            .object([("token", .string(secret)), ("info", record.json)]), status: .created,
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
        return Listing.response("tokens", tokens, \.json)
    }

    /// `GET /tokens/{tokenId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let id = context.parameter("tokenId")
        guard let record = try await store.token(id: id) else {
            throw APIError.notFound("no token \(Identifier.printable(id))")
        }
        return JSONResponse.make(record.json)
    }

    /// `DELETE /tokens/{tokenId}`.
    @Sendable func revoke(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let id = context.parameter("tokenId")
        guard let record = try await store.revokeToken(id: id, by: try context.token.actor) else {
            throw APIError.notFound("no token \(Identifier.printable(id))")
        }
        return JSONResponse.make(record.json)
    }
}

extension TokenDraft {
    /// A `TokenRequest` body, checked member by member.
    init(_ body: JSONValue) throws {
        let reader = try ObjectReader(body)
        try reader.only(["role", "name", "project", "party", "expiresAt"])
        guard let role = Role(rawValue: try reader.requiredString("role")) else {
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
        self.init(role: role, name: name ?? party ?? "", project: project, party: party, expiresAt: expiresAt)
    }
}
