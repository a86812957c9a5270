import BlindmatchAudit
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// Decides who may call a route, in the contract's order: 401 (no, malformed, unknown, expired or revoked token),
/// then 403 (a role the route does not allow; a party token outside its project or party; a party token its party
/// has not activated, outside `/me` and its activation), before the handler looks anything up. Refusals are audited with the route template: a 403 at once, a 401 with a presented token counted
/// and summarised at intervals (``RefusalTally``), so that a flood of bad tokens costs no write per request; a
/// request with no `Authorization` header at all is anonymous noise and is not audited.
struct AuthenticationMiddleware<Store: LinkageStore>: RouterMiddleware {
    typealias Context = ServiceRequestContext

    let store: Store
    let refusals: RefusalTally
    /// The roles of the route's `x-blindmatch-roles`.
    let roles: Set<Role>
    /// Whether a party token not activated yet may call the route (only `/me` and `/me/activate`).
    var allowsInactive = false

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route = context.route(request)
        let caller = try await authenticate(request, route: route)
        var context = context
        context.caller = caller
        do {
            try Self.authorize(
                caller, roles: roles, project: context.parameters.get("projectId"),
                party: context.parameters.get("party"), allowsInactive: allowsInactive)
            return try await next(request, context)
        } catch let error as APIError where error.kind == .forbidden {
            try await store.auditRefusal(actor: caller.actor, reason: error.code.rawValue, route: route)
            throw error
        }
    }

    /// 403 unless `caller` holds one of `roles` and, for a party token, `project` and `party` (the path's, when it
    /// names them) are its own. The web console asks the same question for the operation each page shows.
    static func authorize(
        _ caller: TokenRecord, roles: Set<Role>, project: String?, party: String?, allowsInactive: Bool = false
    ) throws {
        guard roles.contains(caller.role) else {
            throw APIError.forbidden(.forbiddenRole, "the \(caller.role.rawValue) role cannot do this")
        }
        if caller.role == .party {
            if let project, project != caller.project {
                throw APIError.forbidden(.forbiddenProject, "this token belongs to another project")
            }
            if let party, party != caller.party {
                throw APIError.forbidden(.forbiddenParty, "this token belongs to another party")
            }
            if caller.activatedAt == nil && !allowsInactive {
                throw APIError.forbidden(
                    .tokenNotActivated,
                    "this party token is not activated: its party signs its challenge with the party's registered key first (blindmatch token activate)"
                )
            }
        }
    }

    /// The token behind `Authorization: Bearer …`; a presented but invalid one is audited.
    private func authenticate(_ request: Request, route: String) async throws -> TokenRecord {
        guard let header = request.headers[.authorization] else { throw APIError.unauthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let hash = BearerToken.hash(String(parts[1])),
            let record = try await store.token(hash: hash)
        else {
            refusals.record(actor: .unauthenticated, route: route)
            throw APIError.unauthenticated
        }
        guard record.isValid(at: AuditTime.now().text) else {
            // A revoked or expired token: the requester is known (SPEC §10.2, access.refused).
            refusals.record(actor: record.actor, route: route)
            throw APIError.unauthenticated
        }
        return record
    }
}

/// Registers the contract's operations: each with its method, path template and the roles of its
/// `x-blindmatch-roles` (nil for anyone), behind the authentication middleware.
struct RouteRegistry<Store: LinkageStore> {
    typealias Handler = @Sendable (Request, ServiceRequestContext) async throws -> Response

    let router: Router<ServiceRequestContext>
    let store: Store
    let refusals: RefusalTally
    /// Every registered template, split into segments.
    private(set) var templates: [[String]] = []
    /// The roles of each operation, by `METHOD /template` (nil for anyone): what the console checks its pages against.
    private(set) var roles: [String: Set<Role>?] = [:]

    init(router: Router<ServiceRequestContext>, store: Store, refusals: RefusalTally) {
        self.router = router
        self.store = store
        self.refusals = refusals
    }

    /// `allowsInactive`: whether a party token not activated yet may call it.
    mutating func add(
        _ method: HTTPRequest.Method, _ template: String, roles: Set<Role>?, allowsInactive: Bool = false,
        _ handler: @escaping Handler
    ) {
        templates.append(template.split(separator: "/").map(String.init))
        self.roles["\(method.rawValue) \(template)"] = roles
        let path = RouterPath(template)
        if let roles {
            router.group()
                .add(
                    middleware: AuthenticationMiddleware(
                        store: store, refusals: refusals, roles: roles, allowsInactive: allowsInactive)
                )
                .on(path, method: method, use: handler)
        } else {
            router.on(path, method: method, use: handler)
        }
    }
}
