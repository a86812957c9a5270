import BlindmatchAudit
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// Signing in and out, and the frame every page shares.
extension ConsoleController {
    /// The cookie that carries the sign-in form's CSRF token (double submit): a session does not exist yet.
    static var signInCookie: String { "bm_console_signin" }

    /// `GET /console/sign-in`.
    @Sendable func signInForm(_ request: Request) async throws -> Response {
        let message: String? =
            switch request.query("ended") {
            case "signedOut": "You signed out."
            case "expired": "Your session ended. Sign in again."
            default: nil
            }
        return try signInPage(message: message, status: .ok)
    }

    private func signInPage(message: String?, status: HTTPResponse.Status) throws -> Response {
        let formToken = try ConsoleViewer.makeSecret()
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, formToken)))
        var values: [String: Any] = ["csrf": formToken, "idleMinutes": settings.idleSeconds / 60]
        if let message { values["message"] = message }
        return pages.render(
            "signIn", values, frame: ["title": "Sign in", "signedIn": false], status: status, headers: headers)
    }

    /// `POST /console/sign-in`: a bearer token (or a one-time ticket) in the form becomes a session. A token that is
    /// not valid is refused as the API refuses it: counted and audited as `access.refused` by ``RefusalTally``.
    @Sendable func signIn(_ request: Request) async throws -> Response {
        let route = "POST /console/sign-in"
        let form: ConsoleForm
        do { form = try await ConsoleForm(request) } catch { return errorPage(error, viewer: nil) }
        guard let expected = request.cookies[Self.signInCookie]?.value, let presented = form["csrf"],
            ConsoleViewer.constantTimeEqual(expected, presented)
        else {
            return try signInPage(
                message: "The form had expired or came from elsewhere. Paste the token again.", status: .forbidden)
        }
        let text = form.text("token") ?? ""
        let now = AuditTime.now()
        var signedIn: (token: TokenRecord, ticket: String?)?
        if let hash = BearerToken.hash(text) {
            if let record = try await store.token(hash: hash) {
                if record.isValid(at: now.text) {
                    signedIn = (record, nil)
                } else {
                    refusals.record(actor: record.actor, route: route)
                }
            } else if let redeemed = try await store.redeemConsoleTicket(hash: hash, now: now.text) {
                signedIn = (redeemed.token, redeemed.ticket)
            } else {
                refusals.record(actor: .unauthenticated, route: route)
            }
        } else if !text.isEmpty {
            refusals.record(actor: .unauthenticated, route: route)
        }
        guard let signedIn else {
            return try signInPage(
                message: "That token is not valid: unknown, revoked, expired or already used.", status: .unauthorized)
        }
        // A party token reads nothing until its party has bound it to its key (service.md, "Party tokens are bound
        // to the party's key"), in the console as in the API.
        if signedIn.token.role == .party && signedIn.token.activatedAt == nil {
            return try signInPage(
                message:
                    "That party token is not activated yet: activate it first with `blindmatch token activate --signing-key`.",
                status: .forbidden)
        }
        let secret = try ConsoleViewer.makeSecret()
        try await store.openConsoleSession(
            NewConsoleSession(
                id: try Identifier.make("s"), hash: ConsoleViewer.hash(secret), token: signedIn.token,
                ticket: signedIn.ticket, now: now.secondsSince1970, idleSeconds: settings.idleSeconds))
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: cookie(ConsoleViewer.cookieName, secret)))
        headers.append(HTTPField(name: .setCookie, value: cookie(Self.signInCookie, "", expire: true)))
        return ConsolePages.redirect(to: "/console/projects", headers: headers)
    }

    /// `POST /console/sign-out`.
    @Sendable func signOut(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        try await store.closeConsoleSession(
            id: viewer.session.id, by: viewer.token.acting, project: viewer.token.project)
        var headers = HTTPFields()
        headers.append(HTTPField(name: .setCookie, value: cookie(ConsoleViewer.cookieName, "", expire: true)))
        return ConsolePages.redirect(to: "/console/sign-in?ended=signedOut", headers: headers)
    }

    /// `name=value; Path=/console; HttpOnly; SameSite=Strict` (and `Secure` under TLS); no lifetime, so that the
    /// browser forgets it when it closes; `expire` removes it.
    func cookie(_ name: String, _ value: String, expire: Bool = false) -> String {
        var text = "\(name)=\(value); Path=/console; HttpOnly; SameSite=Strict"
        if settings.secureCookies { text += "; Secure" }
        if expire { text += "; Max-Age=0" }
        return text
    }

    /// A page inside the frame: the navigation `viewer` may follow, who is signed in and the sign-out form.
    func page(
        _ template: String, title: String, _ values: [String: Any], viewer: ConsoleViewer, current: String,
        status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) -> Response {
        var values = values
        values["csrf"] = viewer.csrf
        return pages.render(
            template, values, frame: frame(title: title, viewer: viewer, current: current), status: status,
            headers: headers)
    }

    func frame(title: String, viewer: ConsoleViewer?, current: String) -> [String: Any] {
        guard let viewer else { return ["title": title, "signedIn": false] }
        let links: [(String, String, String?)] = [
            ("/console/projects", "Projects", "GET /projects"), ("/console/audit", "Audit log", "GET /audit/log"),
            ("/console/tokens", "Tokens", "GET /tokens"), ("/console/service", "Health and metrics", "GET /metrics"),
        ]
        let nav: [[String: Any]] = links.filter { $0.2.map { allows($0, viewer) } ?? true }.map {
            ["href": $0.0, "label": $0.1, "current": $0.0 == current]
        }
        return ["title": title, "signedIn": true, "who": viewer.who, "csrf": viewer.csrf, "nav": nav]
    }

    /// A refusal or failure as a page with its status; an unexpected error tells nothing more than the API's 500.
    func errorPage(_ error: any Error, viewer: ConsoleViewer?) -> Response {
        let refusal = error as? APIError ?? APIError.internal("the console could not show this page")
        if refusal.kind == .unauthorized && viewer == nil {
            return pages.render(
                "error",
                [
                    "heading": "Signed out", "message": "Sign in first: this console session is not open.",
                    "status": 401, "code": refusal.code.rawValue,
                ], frame: frame(title: "Signed out", viewer: nil, current: ""), status: .unauthorized)
        }
        let heading =
            switch refusal.kind {
            case .forbidden: "Not allowed"
            case .notFound: "Not found"
            case .conflict: "Not now"
            default: "Refused"
            }
        var values: [String: Any] = [
            "heading": heading, "message": refusal.message, "status": Int(refusal.status.code),
            "code": refusal.code.rawValue,
        ]
        values["csrf"] = viewer?.csrf ?? ""
        return pages.render(
            "error", values, frame: frame(title: heading, viewer: viewer, current: ""), status: refusal.status)
    }
}
