import AsyncHTTPClient
import BlindmatchProtocol
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import BlindmatchServer

/// The web console (`/console`) through the service built in this process: every console route walked by every kind
/// of caller against the roles the contract gives the API operation it shows, nothing outside a party's grant on its
/// pages, CSRF, the session cookie's attributes, idle expiry, one-time tickets, and an auditor who can write nothing.
@Suite(.serialized, .awaitsServerStops)
struct ConsoleTests {
    /// A service with the test project (both uploads, one succeeded run, one refused upload), a second project
    /// whose party token is the outsider, and each caller's bearer token.
    struct Setting {
        let data: AgencyData
        let server: InProcessServer
        let project: ServiceProject
        let run: String
        let tokens: [Caller: String]

        func token(_ caller: Caller) throws -> String {
            guard let token = tokens[caller] else { throw ServiceTestError("no token for \(caller)") }
            return token
        }
    }

    enum Caller: String, CaseIterable {
        case none, `operator`, auditor, watchlist, bulk, outsider
    }

    static func setUp(idleSeconds: Int = 900) async throws -> Setting {
        let data = try AgencyData()
        let server = try await InProcessServer(
            dataDirectory: data.path + "/server", operatorTokenFile: data.path + "/operator.token",
            executor: EngineRunExecutor(threads: 2)
        ) { $0.consoleIdleTimeout = .seconds(idleSeconds) }
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        let outsider = try await ServiceProject.outsider(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let refused = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/parties/agency-a/uploads", token: project.watchlistToken,
            body: Array("not a token file".utf8), contentType: "application/vnd.blindmatch.tokens")
        #expect(refused.status == 400 || refused.status == 422)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: operatorToken)
        #expect(finished["status"]?.stringValue == "succeeded")
        return Setting(
            data: data, server: server, project: project, run: run,
            tokens: [
                .operator: operatorToken, .auditor: project.auditorToken, .watchlist: project.watchlistToken,
                .bulk: project.bulkToken, .outsider: outsider,
            ])
    }

    /// Callers the contract allows for `operation` (its `x-blindmatch-roles`, and a party token of this project).
    static func allowed(_ operation: String) -> Set<Caller> {
        let parts = operation.split(separator: " ", maxSplits: 1).map(String.init)
        let roles = Set(Contract.roles(parts[0], parts[1]))
        var callers: Set<Caller> = []
        if roles.contains("operator") { callers.insert(.operator) }
        if roles.contains("auditor") { callers.insert(.auditor) }
        if roles.contains("party") {
            callers.formUnion([.watchlist, .bulk])
            if !parts[1].contains("{projectId}") { callers.insert(.outsider) }
        }
        return callers
    }

    @Test func everyConsoleRouteAllowsExactlyWhatTheAPIAllowsEachRole() async throws {
        let setting = try await Self.setUp()
        defer { setting.server.stopSoon() }
        let (p, r) = (setting.project.id, setting.run)
        let spare = try #require(
            try await HTTP.request(
                .POST, setting.server.baseURL + "/tokens", token: setting.tokens[.operator],
                body: HTTP.json(.object([("role", "auditor"), ("name", "spare")]))
            ).json?["info"]?["id"]?.stringValue)
        var sessions: [Caller: ConsoleClient] = [:]
        for caller in Caller.allCases {
            guard let token = setting.tokens[caller] else { continue }
            sessions[caller] = try await ConsoleClient.signIn(setting.server, token: token)
        }
        // The API's replies that the console's party pages must not exceed.
        var apiRuns: [Caller: JSONValue] = [:]
        for caller in [Caller.watchlist, .bulk] {
            apiRuns[caller] = try await HTTP.request(
                .GET, "\(setting.server.baseURL)/projects/\(p)/runs/\(r)", token: setting.tokens[caller]
            ).json
        }
        let secrets = setting.tokens.values

        // Each route with a concrete path and, for a POST, a form that the handler refuses after authorisation (so
        // that walking changes nothing): no confirmation, an unknown role.
        // The API operation each shows is the test's own reading of the contract, not the console's table.
        let walks: [(route: String, path: String, shows: String, form: [(String, String)])] = [
            ("GET /console/projects", "/console/projects", "GET /projects", []),
            ("GET /console/projects/{projectId}", "/console/projects/\(p)", "GET /projects/{projectId}", []),
            (
                "GET /console/projects/{projectId}/uploads", "/console/projects/\(p)/uploads",
                "GET /projects/{projectId}/uploads", []
            ),
            (
                "GET /console/projects/{projectId}/runs", "/console/projects/\(p)/runs",
                "GET /projects/{projectId}/runs", []
            ),
            (
                "GET /console/projects/{projectId}/runs/{runId}", "/console/projects/\(p)/runs/\(r)",
                "GET /projects/{projectId}/runs/{runId}", []
            ),
            (
                "GET /console/projects/{projectId}/runs/{runId}/progress",
                "/console/projects/\(p)/runs/\(r)/progress", "GET /projects/{projectId}/runs/{runId}", []
            ),
            (
                "GET /console/projects/{projectId}/runs/{runId}/report", "/console/projects/\(p)/runs/\(r)/report",
                "GET /projects/{projectId}/runs/{runId}/report", []
            ),
            (
                "GET /console/projects/{projectId}/close", "/console/projects/\(p)/close",
                "POST /projects/{projectId}/close", []
            ),
            (
                "POST /console/projects/{projectId}/close", "/console/projects/\(p)/close",
                "POST /projects/{projectId}/close", [("reason", "walk")]
            ),
            (
                "GET /console/projects/{projectId}/parties/{party}/key", "/console/projects/\(p)/parties/agency-a/key",
                "PUT /projects/{projectId}/parties/{party}/public-key", []
            ),
            (
                "POST /console/projects/{projectId}/parties/{party}/key", "/console/projects/\(p)/parties/agency-a/key",
                "PUT /projects/{projectId}/parties/{party}/public-key", [("pem", "not a key")]
            ),
            ("GET /console/audit", "/console/audit", "GET /audit/log", []),
            ("POST /console/audit/export", "/console/audit/export", "GET /audit/log", []),
            ("GET /console/tokens", "/console/tokens", "GET /tokens", []),
            ("POST /console/tokens", "/console/tokens", "POST /tokens", [("role", "nobody")]),
            (
                "GET /console/tokens/{tokenId}/revoke", "/console/tokens/\(spare)/revoke",
                "DELETE /tokens/{tokenId}", []
            ),
            (
                "POST /console/tokens/{tokenId}/revoke", "/console/tokens/\(spare)/revoke",
                "DELETE /tokens/{tokenId}", []
            ),
            ("GET /console/service", "/console/service", "GET /metrics", []),
        ]
        var walked: Set<String> = []
        for route in ConsoleController<SQLiteLinkageStore>.routes where route.template != "/console/sign-out" {
            let walk = try #require(walks.first { $0.route == route.key }, "\(route.key) is not walked")
            let allowed = Self.allowed(walk.shows)
            for caller in Caller.allCases {
                let session = sessions[caller]
                let reply: HTTPReply
                if route.method == .get {
                    reply = try await ConsoleClient.get(setting.server, walk.path, session: session)
                } else {
                    reply = try await ConsoleClient.post(
                        setting.server, walk.path, session: session,
                        form: walk.form + [("csrf", session?.csrf ?? "")])
                }
                let label = "\(caller.rawValue) \(route.key): \(reply.status)"
                if caller == .none {
                    if route.method == .get {
                        #expect(reply.status == 303, "\(label)")
                        #expect(reply.headers["Location"].first == "/console/sign-in", "\(label)")
                    } else {
                        #expect(reply.status == 401, "\(label)")
                    }
                } else if allowed.contains(caller) {
                    #expect(![401, 403, 303].contains(reply.status), "\(label) \(reply.text.prefix(300))")
                } else {
                    #expect(reply.status == 403, "\(label)")
                }
                for secret in secrets { #expect(!reply.text.contains(secret), "\(label) shows a bearer token") }
                #expect(reply.headers["Cache-Control"].first?.contains("no-store") == true, "\(label)")
                if reply.headers["Content-Type"].first?.hasPrefix("text/html") == true {
                    #expect(reply.headers["Content-Security-Policy"].first?.contains("default-src 'none'") == true)
                }
                try Self.expectWithinGrant(reply, caller: caller, template: route.template, setting, apiRuns[caller])
                walked.insert(route.key)
            }
        }
        #expect(walked.count == ConsoleController<SQLiteLinkageStore>.routes.count - 1)
        #expect(walked == Set(walks.map(\.route)), "every walk is a registered route")
        // Nothing was written by the walk: the project is open and the spare token valid.
        let project = try await HTTP.request(
            .GET, "\(setting.server.baseURL)/projects/\(p)", token: setting.tokens[.operator])
        #expect(project.json?["status"]?.stringValue == "open")
        let token = try await HTTP.request(
            .GET, "\(setting.server.baseURL)/tokens/\(spare)", token: setting.tokens[.operator])
        #expect(token.json?["revokedAt"] == .null)
        // The refusals are audited with the console's route template, as the API's are.
        let log = try await HTTP.request(
            .GET, setting.server.baseURL + "/audit/log", token: setting.tokens[.auditor]
        ).text
        #expect(log.contains(#""request":"GET /console/projects/{projectId}/runs/{runId}/report""#))
        #expect(log.contains(#""request":"POST /console/tokens""#))
        // Signing out ends the session, for every role.
        for caller in Caller.allCases {
            guard let session = sessions[caller] else { continue }
            let out = try await ConsoleClient.post(
                setting.server, "/console/sign-out", session: session, form: [("csrf", session.csrf)])
            #expect(out.status == 303 && out.headers["Location"].first == "/console/sign-in?ended=signedOut")
            let after = try await ConsoleClient.get(setting.server, "/console/projects", session: session)
            #expect(after.status == 303, "\(caller) after signing out")
        }
    }

    /// What a party's console pages show is no more than its API replies: its own project, its own uploads, and
    /// the run counts its grant names ("withheld" where the API's reply has null).
    static func expectWithinGrant(
        _ reply: HTTPReply, caller: Caller, template: String, _ setting: Setting, _ apiRun: JSONValue?
    ) throws {
        let page = reply.text
        // The run page states the threshold; what decided and the estimates only for those who read the report.
        if template == "/console/projects/{projectId}/runs/{runId}", reply.status == 200 {
            #expect(page.contains("<dt>Threshold</dt><dd>Dice 0.85</dd>"), "\(caller) run page")
            let readsReport = [.operator, .auditor].contains(caller)
            #expect(
                page.contains("<dt>Decided by</dt><dd>the fixed rule at the given Dice 0.850</dd>") == readsReport,
                "\(caller) run page")
            #expect(page.contains("Estimated precision / recall / F1") == readsReport, "\(caller) run page")
        }
        guard [.watchlist, .bulk].contains(caller), reply.status == 200 else { return }
        #expect(!page.contains("another project"), "\(caller) \(template) shows the other project")
        #expect(!page.contains("Refused uploads"), "\(caller) \(template) shows refusals")
        if template == "/console/projects/{projectId}/uploads" {
            let other = caller == .watchlist ? "council-b" : "agency-a"
            #expect(!page.contains("<td>\(other)</td>"), "\(caller) sees the other party's uploads")
        }
        guard template == "/console/projects/{projectId}/runs/{runId}", let summary = apiRun?["summary"] else { return }
        for (label, member) in [
            ("Watch-list records", "watchlistRecords"), ("Bulk records", "bulkRecords"), ("Matches", "matches"),
            ("Possible matches (for review)", "possible"), ("Filter comparisons", "comparisons"),
        ] {
            let shown = "<dt>\(label)</dt><dd>"
            if summary[member] == .null || summary[member] == nil {
                #expect(page.contains(shown + "withheld</dd>"), "\(caller) \(label) must be withheld")
            } else {
                #expect(!page.contains(shown + "withheld</dd>"), "\(caller) \(label) is granted")
            }
        }
    }

    @Test func formsNeedTheSessionsCSRFTokenAndTheCookieIsLockedDown() async throws {
        let setting = try await Self.setUp()
        defer { setting.server.stopSoon() }
        let operatorToken = try setting.token(.operator)
        // The sign-in form's own token (double submit): without it, or with another, no session.
        let (formCookie, formToken) = try await ConsoleClient.signInForm(setting.server)
        #expect(formCookie.contains("HttpOnly") && formCookie.contains("SameSite=Strict"))
        let forged = try await ConsoleClient.rawPost(
            setting.server, "/console/sign-in", cookie: nil, form: [("csrf", formToken), ("token", operatorToken)])
        #expect(forged.status == 403)
        #expect(forged.headers["Set-Cookie"].allSatisfy { !$0.hasPrefix("bm_console=") })

        let reply = try await ConsoleClient.rawPost(
            setting.server, "/console/sign-in", cookie: formCookie.components(separatedBy: ";")[0],
            form: [("csrf", formToken), ("token", operatorToken)])
        #expect(reply.status == 303)
        let cookie = try #require(reply.headers["Set-Cookie"].first { $0.hasPrefix("bm_console=") })
        let attributes = Set(cookie.components(separatedBy: "; ").dropFirst())
        #expect(attributes == ["Path=/console", "HttpOnly", "SameSite=Strict"], "plain HTTP: no Secure")
        #expect(!cookie.contains("Max-Age") && !cookie.contains("Expires"), "a session cookie, forgotten on close")
        let session = try #require(try await ConsoleClient.session(from: reply, server: setting.server))
        // A form without the CSRF token, or with another session's, is refused and changes nothing.
        for csrf in ["", String(repeating: "A", count: 43)] {
            let issued = try await ConsoleClient.post(
                setting.server, "/console/tokens", session: session,
                form: [("csrf", csrf), ("role", "auditor"), ("name", "forged")])
            #expect(issued.status == 403 && issued.text.contains("CSRF"))
        }
        let tokens = try await HTTP.request(.GET, setting.server.baseURL + "/tokens", token: operatorToken)
        #expect(!tokens.text.contains("forged"))
        // A form body beyond 64 KiB is refused before it is read, with the contract's 413.
        let large = try await ConsoleClient.post(
            setting.server, "/console/tokens", session: session,
            form: [("csrf", session.csrf), ("name", String(repeating: "x", count: 70_000))])
        #expect(
            large.status == 413 && large.text.contains("payloadTooLarge"), "\(large.status) \(large.text.prefix(400))")
        // With it, the same form issues the token and shows its secret once.
        let issued = try await ConsoleClient.post(
            setting.server, "/console/tokens", session: session,
            form: [("csrf", session.csrf), ("role", "auditor"), ("name", "console-made")])
        #expect(issued.status == 201)
        let secret = try #require(issued.text.firstMatch(of: /value="(bm_[A-Za-z0-9_-]{43})"/)?.1)
        #expect(try await HTTP.request(.GET, setting.server.baseURL + "/me", token: String(secret)).status == 200)
        #expect(issued.headers["Cache-Control"].first == "no-store")
        let log = try await HTTP.request(.GET, setting.server.baseURL + "/audit/log", token: operatorToken).text
        #expect(!log.contains(session.cookie) && !log.contains(String(secret)))
        #expect(log.contains(#""action":"token.issued""#) && log.contains(#""session":"s-"#))
        #expect(log.contains(#""reason":"csrf","request":"POST /console/tokens""#), "CSRF refusals are audited")
    }

    @Test func theSecureAttributeComesWithTLS() async throws {
        let scratch = try Scratch()
        let server = try await InProcessServer(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token",
            executor: EngineRunExecutor(threads: 1)
        ) { $0.behindTLSProxy = true }
        defer { server.stopSoon() }
        let (formCookie, _) = try await ConsoleClient.signInForm(server)
        #expect(formCookie.hasSuffix("; Secure"))
        let session = try #require(try await ConsoleClient.signIn(server, token: try server.operatorToken))
        #expect(session.setCookie.contains("; Secure"))
    }

    @Test func theAuditPageSaysPlainlyWhetherTheChainHolds() async throws {
        let scratch = try Scratch()
        let server = try await InProcessServer(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token",
            executor: EngineRunExecutor(threads: 1))
        defer { server.stopSoon() }
        let session = try #require(try await ConsoleClient.signIn(server, token: try server.operatorToken))
        let holds = try await ConsoleClient.get(server, "/console/audit", session: session)
        #expect(holds.status == 200 && holds.text.contains("The chain holds."))
        // Entries appended since are checked on the next view.
        for name in ["one", "two", "three"] {
            _ = try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: try server.operatorToken,
                body: HTTP.json(.object([("role", "auditor"), ("name", .string(name))])))
        }
        let next = try await ConsoleClient.get(server, "/console/audit", session: session)
        #expect(next.text.contains("The chain holds.") && next.text.contains("auditor=three"))
        // A console path that is no page is a console page saying so, not the API's JSON.
        for path in ["/console/no-such-page", "/console/projects/p-0000000000000000/nothing/here"] {
            let missing = try await ConsoleClient.get(server, path, session: session)
            #expect(missing.status == 404, "\(path)")
            #expect(missing.headers["Content-Type"].first?.hasPrefix("text/html") == true, "\(path)")
            #expect(missing.text.contains("Not found"), "\(path)")
        }
        // An entry changed in the store behind the service's back: checked again from the first line, the page says
        // the chain does not hold, and where.
        try ServiceAuditChainTests.tamper(server.dataDirectory, seq: 1)
        let broken = try await ConsoleClient.get(server, "/console/audit?recheck=1", session: session)
        #expect(broken.status == 200 && broken.text.contains("The chain does NOT hold."))
        #expect(broken.text.contains("seq 1"), "the first failure names where")
    }

    @Test func anIdleSessionEndsAndABadTokenOpensNone() async throws {
        let setting = try await Self.setUp(idleSeconds: 2)
        defer { setting.server.stopSoon() }
        let session = try #require(
            try await ConsoleClient.signIn(setting.server, token: try setting.token(.auditor)))
        #expect(try await ConsoleClient.get(setting.server, "/console/projects", session: session).status == 200)
        try await Task.sleep(for: .seconds(3.5))
        let expired = try await ConsoleClient.get(setting.server, "/console/projects", session: session)
        #expect(expired.status == 303 && expired.headers["Location"].first == "/console/sign-in")
        #expect(try await ConsoleClient.signIn(setting.server, token: "bm_" + String(repeating: "A", count: 43)) == nil)
        let log = try await HTTP.request(.GET, setting.server.baseURL + "/audit/log", token: setting.tokens[.operator])
            .text
        #expect(log.contains(#""reason":"idle""#))
        #expect(log.contains(#""request":"POST /console/sign-in""#), "refused sign-ins are audited")
    }

    @Test func aOneTimeTicketSignsInOnceAndTheAuditorWritesNothing() async throws {
        let setting = try await Self.setUp()
        defer { setting.server.stopSoon() }
        let p = setting.project.id
        // A ticket (as `demo --console` prints): one sign-in, as the operator; the API does not take it.
        let store = try SQLiteLinkageStore(
            path: setting.server.dataDirectory + "/blindmatch.sqlite",
            checkpointKey: try DataDirectory.checkpointKey(in: setting.server.dataDirectory))
        let ticket = try #require(
            try await ConsoleTicket.make(
                for: try setting.token(.operator), lifetime: .seconds(60), in: store))
        #expect(try await HTTP.request(.GET, setting.server.baseURL + "/me", token: ticket).status == 401)
        let once = try #require(try await ConsoleClient.signIn(setting.server, token: ticket))
        #expect(try await ConsoleClient.get(setting.server, "/console/tokens", session: once).status == 200)
        #expect(try await ConsoleClient.signIn(setting.server, token: ticket) == nil, "a ticket serves once")

        // Every write the console has, posted by the auditor with a valid CSRF token: each 403, nothing changes.
        let auditor = try #require(
            try await ConsoleClient.signIn(setting.server, token: try setting.token(.auditor)))
        let spare = try #require(
            try await HTTP.request(
                .POST, setting.server.baseURL + "/tokens", token: setting.tokens[.operator],
                body: HTTP.json(.object([("role", "auditor"), ("name", "spare")]))
            ).json?["info"]?["id"]?.stringValue)
        let writes: [(String, [(String, String)])] = [
            ("/console/projects/\(p)/close", [("reason", "auditor"), ("confirm", "yes")]),
            ("/console/tokens", [("role", "auditor"), ("name", "auditor-made")]),
            ("/console/tokens/\(spare)/revoke", [("confirm", "yes")]),
            ("/console/projects/\(p)/parties/agency-a/key", [("pem", try setting.data.publicKeyPEM("agency-a"))]),
        ]
        for (path, form) in writes {
            let reply = try await ConsoleClient.post(
                setting.server, path, session: auditor, form: form + [("csrf", auditor.csrf)])
            #expect(reply.status == 403 && reply.text.contains("auditor role cannot do this"), "\(path)")
        }
        let project = try await HTTP.request(
            .GET, "\(setting.server.baseURL)/projects/\(p)", token: setting.tokens[.operator])
        #expect(project.json?["status"]?.stringValue == "open")
        let tokens = try await HTTP.request(.GET, setting.server.baseURL + "/tokens", token: setting.tokens[.operator])
        #expect(!tokens.text.contains("auditor-made") && tokens.text.contains(spare))
        // The operator's confirmed writes go through.
        // So does a confirmed key replacement, with the API's checks (the other party's key is refused).
        let key = try SigningKey.generate().publicKey
        let inUse = try await ConsoleClient.post(
            setting.server, "/console/projects/\(p)/parties/agency-a/key", session: once,
            form: [("csrf", once.csrf), ("pem", try setting.data.publicKeyPEM("council-b")), ("confirm", "yes")])
        #expect(inUse.status == 409 && inUse.text.contains("keyInUse"))
        let rotated = try await ConsoleClient.post(
            setting.server, "/console/projects/\(p)/parties/agency-a/key", session: once,
            form: [("csrf", once.csrf), ("pem", key.pem()), ("confirm", "yes")])
        #expect(rotated.status == 200 && rotated.text.contains(key.fingerprint))
        let closed = try await ConsoleClient.post(
            setting.server, "/console/projects/\(p)/close", session: once,
            form: [("csrf", once.csrf), ("reason", "done in the console"), ("confirm", "yes")])
        #expect(closed.status == 200 && closed.text.contains("is closed"))
        let after = try await HTTP.request(
            .GET, "\(setting.server.baseURL)/projects/\(p)", token: setting.tokens[.operator])
        #expect(after.json?["closeReason"]?.stringValue == "done in the console")
        #expect(after.text.contains(key.fingerprint))
        // A revoked token ends its sessions at once, and cannot open another.
        let fresh = try await ConsoleClient.signIn(setting.server, token: try setting.token(.auditor))
        let auditorSession = try #require(fresh)
        let auditorID = try #require(
            try await HTTP.request(.GET, setting.server.baseURL + "/me", token: setting.tokens[.auditor])
                .json?["tokenId"]?.stringValue)
        _ = try await HTTP.request(
            .DELETE, setting.server.baseURL + "/tokens/\(auditorID)", token: setting.tokens[.operator])
        #expect(try await ConsoleClient.get(setting.server, "/console/projects", session: auditorSession).status == 303)
        #expect(try await ConsoleClient.signIn(setting.server, token: try setting.token(.auditor)) == nil)
        let log = try await HTTP.request(.GET, setting.server.baseURL + "/audit/log", token: setting.tokens[.operator])
            .text
        #expect(log.contains(#""reason":"tokenInvalid""#) && log.contains(#""ticket":"c-"#))
    }
}

/// A browser's session, by plain HTTP: the session cookie and the CSRF token its pages carry.
struct ConsoleClient: Equatable {
    let cookie: String
    let csrf: String
    let setCookie: String

    /// Redirects are the console's answers under test: never followed.
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    static func send(
        _ method: HTTPMethod, _ url: String, cookie: String?, form: [(String, String)]? = nil
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let form {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            let body = form.map {
                "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&")
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return HTTPReply(
            status: Int(response.status.code), headers: response.headers, body: Array(body.readableBytesView))
    }

    static func get(_ server: some TestServer, _ path: String, session: ConsoleClient?) async throws -> HTTPReply {
        try await send(.GET, server.baseURL + path, cookie: session?.cookie)
    }

    static func post(_ server: some TestServer, _ path: String, session: ConsoleClient?, form: [(String, String)])
        async throws -> HTTPReply
    {
        try await send(.POST, server.baseURL + path, cookie: session?.cookie, form: form)
    }

    static func rawPost(_ server: some TestServer, _ path: String, cookie: String?, form: [(String, String)])
        async throws -> HTTPReply
    {
        try await send(.POST, server.baseURL + path, cookie: cookie, form: form)
    }

    /// The sign-in form's cookie (whole `Set-Cookie` value) and its CSRF token.
    static func signInForm(_ server: some TestServer) async throws -> (cookie: String, csrf: String) {
        let form = try await send(.GET, server.baseURL + "/console/sign-in", cookie: nil)
        guard let cookie = form.headers["Set-Cookie"].first(where: { $0.hasPrefix("bm_console_signin=") }),
            let csrf = form.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1
        else { throw ServiceTestError("no sign-in form") }
        return (cookie, String(csrf))
    }

    /// Signs in with `token`; nil when the console refuses it.
    static func signIn(_ server: some TestServer, token: String) async throws -> ConsoleClient? {
        let (cookie, csrf) = try await signInForm(server)
        let reply = try await send(
            .POST, server.baseURL + "/console/sign-in", cookie: cookie.components(separatedBy: ";")[0],
            form: [("csrf", csrf), ("token", token)])
        guard reply.status == 303 else { return nil }
        return try await session(from: reply, server: server)
    }

    /// The session a sign-in reply opened, with the CSRF token of its pages.
    static func session(from reply: HTTPReply, server: some TestServer) async throws -> ConsoleClient? {
        guard let setCookie = reply.headers["Set-Cookie"].first(where: { $0.hasPrefix("bm_console=") }) else {
            return nil
        }
        let cookie = setCookie.components(separatedBy: ";")[0]
        let page = try await send(.GET, server.baseURL + "/console/projects", cookie: cookie)
        guard let csrf = page.text.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1 else { return nil }
        return ConsoleClient(cookie: cookie, csrf: String(csrf), setCookie: setCookie)
    }

    static func == (lhs: ConsoleClient, rhs: ConsoleClient) -> Bool { lhs.cookie == rhs.cookie }
}
