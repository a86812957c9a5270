import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// The web console (`/console`, Protocol/service.md "The console"): server-rendered pages for the operator, auditors
/// and parties over the same store and the same rules as the API.
///
/// Every page names the API operation whose data it shows (`shows:`), and is allowed to exactly the roles and party
/// scope of that operation, decided by ``AuthenticationMiddleware/authorize(_:roles:project:party:)`` on the roles
/// the API registered: the console cannot show a role anything the API would refuse it. A page that shows less
/// than a whole reply (a party's run summary) builds it with the API's own functions (`RunRecord.wire(for:)`).
/// Writes are POST forms with a CSRF token, behind a confirmation page; refusals are audited as the API's are.
struct ConsoleController<Store: LinkageStore>: Sendable {
    let store: Store
    let board: RunBoard
    let refusals: RefusalTally
    let files: TokenFileStore
    /// The roles of each API operation, by `METHOD /template`, as the API registered them.
    let operations: [String: Set<Role>?]
    let settings: ConsoleSettings
    /// Whether the published test keys may be registered (`serve --allow-test-keys`), as for the API.
    let allowTestKeys: Bool
    let pages: ConsolePages
    let dataDirectory: String
    /// The audit page's check of the stored log, kept between views.
    let auditCheck = ConsoleAuditCheck()

    /// A console page: the request, its context (with the session's token as the caller), the session, and the
    /// form of a POST.
    typealias Handler = @Sendable (Request, ServiceRequestContext, ConsoleViewer, ConsoleForm) async throws -> Response

    /// Every page that needs a session: its method and template, and the API operation whose roles and party scope
    /// it has (nil: any signed-in role). The console's role-matrix test walks this list.
    static var routes: [ConsoleRoute] {
        [
            ConsoleRoute(.post, "/console/sign-out", shows: nil),
            ConsoleRoute(.get, "/console/projects", shows: "GET /projects"),
            ConsoleRoute(.get, "/console/projects/{projectId}", shows: "GET /projects/{projectId}"),
            ConsoleRoute(.get, "/console/projects/{projectId}/uploads", shows: "GET /projects/{projectId}/uploads"),
            ConsoleRoute(.get, "/console/projects/{projectId}/runs", shows: "GET /projects/{projectId}/runs"),
            ConsoleRoute(
                .get, "/console/projects/{projectId}/runs/{runId}", shows: "GET /projects/{projectId}/runs/{runId}"),
            ConsoleRoute(
                .get, "/console/projects/{projectId}/runs/{runId}/progress",
                shows: "GET /projects/{projectId}/runs/{runId}"),
            ConsoleRoute(
                .get, "/console/projects/{projectId}/runs/{runId}/report",
                shows: "GET /projects/{projectId}/runs/{runId}/report"),
            ConsoleRoute(.get, "/console/projects/{projectId}/close", shows: "POST /projects/{projectId}/close"),
            ConsoleRoute(.post, "/console/projects/{projectId}/close", shows: "POST /projects/{projectId}/close"),
            ConsoleRoute(
                .get, "/console/projects/{projectId}/parties/{party}/key",
                shows: "PUT /projects/{projectId}/parties/{party}/public-key"),
            ConsoleRoute(
                .post, "/console/projects/{projectId}/parties/{party}/key",
                shows: "PUT /projects/{projectId}/parties/{party}/public-key"),
            ConsoleRoute(.get, "/console/audit", shows: "GET /audit/log"),
            ConsoleRoute(.post, "/console/audit/export", shows: "GET /audit/log"),
            ConsoleRoute(.get, "/console/tokens", shows: "GET /tokens"),
            ConsoleRoute(.post, "/console/tokens", shows: "POST /tokens"),
            ConsoleRoute(.get, "/console/tokens/{tokenId}/revoke", shows: "DELETE /tokens/{tokenId}"),
            ConsoleRoute(.post, "/console/tokens/{tokenId}/revoke", shows: "DELETE /tokens/{tokenId}"),
            ConsoleRoute(.get, "/console/service", shows: "GET /metrics"),
        ]
    }

    /// The handler of each of ``routes``.
    private func handler(of route: ConsoleRoute) -> Handler? {
        switch route.key {
        case "POST /console/sign-out": signOut
        case "GET /console/projects": projectList
        case "GET /console/projects/{projectId}": projectPage
        case "GET /console/projects/{projectId}/uploads": uploadList
        case "GET /console/projects/{projectId}/runs": runList
        case "GET /console/projects/{projectId}/runs/{runId}": runPage
        case "GET /console/projects/{projectId}/runs/{runId}/progress": runProgress
        case "GET /console/projects/{projectId}/runs/{runId}/report": reportPage
        case "GET /console/projects/{projectId}/close": closeForm
        case "POST /console/projects/{projectId}/close": closeProject
        case "GET /console/projects/{projectId}/parties/{party}/key": keyForm
        case "POST /console/projects/{projectId}/parties/{party}/key": replaceKey
        case "GET /console/audit": auditPage
        case "POST /console/audit/export": auditExport
        case "GET /console/tokens": tokenList
        case "POST /console/tokens": issueToken
        case "GET /console/tokens/{tokenId}/revoke": revokeForm
        case "POST /console/tokens/{tokenId}/revoke": revokeToken
        case "GET /console/service": servicePage
        default: nil
        }
    }

    /// Registers the console's routes: the three open ones (the entry and signing in) and ``routes``.
    func register(on router: Router<ServiceRequestContext>) {
        router.on("/console", method: .get) { _, _ in ConsolePages.redirect(to: "/console/projects") }
        router.on("/console/sign-in", method: .get) { request, _ in try await signInForm(request) }
        router.on("/console/sign-in", method: .post) { request, _ in try await signIn(request) }
        for route in Self.routes {
            if let handler = handler(of: route) {
                add(router, route.method, route.template, shows: route.shows, handler)
            }
        }
        // Any other console path is a page, not an API resource: a 404 page rather than the API's JSON refusal.
        router.on("/console/**", method: .get) { _, _ in
            errorPage(APIError.notFound("there is no such console page"), viewer: nil)
        }
    }

    /// Whether `viewer` may call the API operation `operation` (for links and sections of a page).
    func allows(_ operation: String, _ viewer: ConsoleViewer) -> Bool {
        guard let entry = operations[operation] else { return false }
        guard let roles = entry else { return true }
        return roles.contains(viewer.token.role)
    }

    /// Registers a page that needs a session, allowed as the API operation `shows` is (nil: any signed-in role).
    private func add(
        _ router: Router<ServiceRequestContext>, _ method: HTTPRequest.Method, _ template: String,
        shows operation: String?, _ handler: @escaping Handler
    ) {
        let route = "\(method.rawValue) \(template)"
        router.on(RouterPath(template), method: method) { request, context in
            var viewer: ConsoleViewer?
            do {
                guard let found = try await session(of: request) else {
                    if method == .get { return ConsolePages.redirect(to: "/console/sign-in") }
                    throw APIError.unauthenticated
                }
                viewer = found
                var context = context
                context.caller = found.token
                let form = method == .post ? try await ConsoleForm(request) : ConsoleForm()
                if method == .post, !found.checks(csrf: form["csrf"]) {
                    // Audited as a refusal whose reason says what failed (the contract has no error code for it).
                    try await store.auditRefusal(actor: found.token.actor, reason: "csrf", route: route)
                    throw APIError.forbidden(
                        .forbiddenRole, "the form's CSRF token is missing or not this session's; reload the page")
                }
                do {
                    if let operation {
                        try authorize(found.token, operation: operation, context: context)
                    }
                } catch let error as APIError where error.kind == .forbidden {
                    try await store.auditRefusal(actor: found.token.actor, reason: error.code.rawValue, route: route)
                    throw error
                }
                return try await handler(request, context, found, form)
            } catch {
                return errorPage(error, viewer: viewer)
            }
        }
    }

    /// The roles and scope of `operation`, as the API decides them (403 otherwise).
    private func authorize(_ token: TokenRecord, operation: String, context: ServiceRequestContext) throws {
        guard let entry = operations[operation] else {
            throw APIError.forbidden(.forbiddenRole, "no role may do this")
        }
        guard let roles = entry else { return }
        try AuthenticationMiddleware<Store>.authorize(
            token, roles: roles, project: context.parameters.get("projectId"), party: context.parameters.get("party"))
    }

    /// The session the request's cookie stands for, if it is open.
    private func session(of request: Request) async throws -> ConsoleViewer? {
        guard let secret = request.cookies[ConsoleViewer.cookieName]?.value, ConsoleViewer.isSecretShaped(secret)
        else { return nil }
        switch try await store.consoleSession(
            hash: ConsoleViewer.hash(secret), idleSeconds: settings.idleSeconds, now: AuditTime.now().secondsSince1970)
        {
        case .none, .ended: return nil
        case .open(let session, let token): return ConsoleViewer(session: session, token: token, secret: secret)
        }
    }
}

/// A console page that needs a session.
struct ConsoleRoute: Sendable {
    let method: HTTPRequest.Method
    let template: String
    /// The API operation (`METHOD /template`) whose roles and party scope the page has; nil for any signed-in role.
    let shows: String?

    init(_ method: HTTPRequest.Method, _ template: String, shows: String?) {
        self.method = method
        self.template = template
        self.shows = shows
    }

    var key: String { "\(method.rawValue) \(template)" }
}

/// What `serve` tells the console.
struct ConsoleSettings: Sendable {
    /// A session unused this long ends (`serve --console-idle-minutes`).
    var idleSeconds: Int
    /// Whether cookies carry `Secure`: the service speaks TLS, or a TLS terminator is in front.
    var secureCookies: Bool
}

/// A signed-in session: the token it acts as, and the secret of its cookie (from which its CSRF token derives).
struct ConsoleViewer: Sendable {
    static let cookieName = "bm_console"
    let session: ConsoleSessionRecord
    let token: TokenRecord
    let secret: String

    /// The form token of this session: SHA-256 of a label and the session's secret, so that it is bound to the
    /// session without being stored (whoever reads the store learns neither).
    var csrf: String { Self.csrf(for: secret) }

    static func csrf(for secret: String) -> String {
        Base64URL.encode(SHA256Hasher.hash(Array("blindmatch console csrf\n".utf8) + Array(secret.utf8)))
    }

    func checks(csrf presented: String?) -> Bool {
        guard let presented else { return false }
        return ConsoleViewer.constantTimeEqual(presented, csrf)
    }

    /// `name` or `name (party of p-…)`, as the header shows who is signed in.
    var who: String {
        switch token.role {
        case ._operator: token.name == "operator" ? "operator" : "operator \(token.name)"
        case .auditor: "auditor \(token.name)"
        case .party: "\(token.party ?? token.name) (party, \(token.project ?? "-"))"
        }
    }

    static func hash(_ secret: String) -> [UInt8] { SHA256Hasher.hash(Array(secret.utf8)) }

    /// 43 base64url characters: what ``makeSecret()`` makes.
    static func isSecretShaped(_ text: String) -> Bool {
        text.utf8.count == 43 && text.utf8.allSatisfy { Base64URL.alphabet.contains($0) }
    }

    static func makeSecret() throws -> String { Base64URL.encode(try SecureRandom.bytes(32)) }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
