import AsyncHTTPClient
import BlindmatchProtocol
import Foundation
import Glibc
import NIOHTTP1
import Synchronization
import Testing

@testable import BlindmatchServer

/// The service built in this process (`buildApplication`) on a loopback port, driven over HTTP (the binary only for
/// the crash and restart test): who may do what, what is refused on arrival,
/// malformed requests, and a run that survives a crash. Every reply is also held to `Protocol/openapi.yaml`.
@Suite(.serialized, .awaitsServerStops)
struct ServiceAPITests {
    /// Checks a reply against the contract and returns it.
    @discardableResult
    static func conforming(_ reply: HTTPReply, _ method: String, _ template: String) -> HTTPReply {
        let issues = Contract.issues(reply, method, template)
        #expect(issues.isEmpty, "\(issues.joined(separator: "\n"))")
        return reply
    }

    /// The service built in this process (`buildApplication`), on a free loopback port, with the engine as its run
    /// executor. Only the tests of a crash and a restart, and the CLI's end-to-end flow, spawn the binary.
    static func startServer(_ scratch: Scratch) async throws -> InProcessServer {
        try await InProcessServer(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token",
            executor: EngineRunExecutor(threads: 2))
    }

    /// The `serve` binary, for the tests that need a process of its own (a crash, a restart).
    static func startProcess(_ scratch: Scratch) throws -> ServerProcess {
        let server = ServerProcess(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token")
        try server.start()
        return server
    }

    @Test func theContractIsLoaded() {
        #expect(Contract.operationCount == 26)
    }

    @Test func everyEndpointChecksTheCallersRoleAndScope() async throws {
        let data = try AgencyData()
        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        // A second project, to hold a party token from elsewhere.
        let outsider = try await ServiceProject.outsider(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        Self.conforming(queued, "POST", "/projects/{projectId}/runs")
        let run = try #require(queued.json?["id"]?.stringValue)
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: operatorToken)
        #expect(finished["status"]?.stringValue == "succeeded")
        let upload = try #require(
            try await HTTP.request(.GET, "\(server.baseURL)/projects/\(project.id)/uploads", token: operatorToken)
                .json?["items"]?.arrayValue?.first?["id"]?.stringValue)
        let spareToken = try #require(
            try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: operatorToken,
                body: HTTP.json(.object([("role", "auditor"), ("name", "spare")]))
            )
            .json?["info"]?["id"]?.stringValue)

        enum Caller: String, CaseIterable {
            case none, bogus, `operator`, auditor, watchlist, bulk, outsider
        }
        let tokens: [Caller: String] = [
            .bogus: "bm_" + String(repeating: "A", count: 43), .operator: operatorToken, .auditor: project.auditorToken,
            .watchlist: project.watchlistToken, .bulk: project.bulkToken, .outsider: outsider,
        ]
        struct Endpoint {
            let method: HTTPMethod
            let template: String
            let path: String
            /// The party whose resource this is, where a party may read only its own (an upload): the one scope
            /// rule that depends on the data rather than on the path.
            var owner: Caller? = nil
            /// Parties the project's run policy refuses here (403 `forbiddenParty`) although their role may call it:
            /// the tests' policy names no approver, and only the requester may cancel its run.
            var refusedByPolicy: Set<Caller> = []
            var body: [UInt8]? = nil
            var contentType: String? = "application/json"

            /// Callers allowed past authorisation, from the contract's `x-blindmatch-roles` and the party scope of
            /// `Protocol/openapi.yaml` (a party token of *this* project, and of *this* party where the path names
            /// one); every other caller must get 401 (none, bogus) or 403.
            var allowed: Set<Caller> {
                let roles = Set(Contract.roles(method.rawValue, template))
                var callers: Set<Caller> = []
                if roles.contains("operator") { callers.insert(.operator) }
                if roles.contains("auditor") { callers.insert(.auditor) }
                if roles.contains("party") {
                    for (caller, party) in [
                        (Caller.watchlist, "agency-a"), (.bulk, "council-b"), (.outsider, "agency-a"),
                    ] {
                        if caller == .outsider && template.contains("{projectId}") { continue }
                        if template.contains("{party}") && !path.hasSuffix("/" + party)
                            && !path.contains("/parties/\(party)/")
                        {
                            continue
                        }
                        if let owner, owner != caller { continue }
                        if refusedByPolicy.contains(caller) { continue }
                        callers.insert(caller)
                    }
                }
                return callers
            }
        }
        let p = project.id
        let invalidJSON = Array("{}".utf8)
        let endpoints: [Endpoint] = [
            Endpoint(method: .GET, template: "/metrics", path: "/metrics"),
            Endpoint(
                method: .GET, template: "/me", path: "/me"),
            Endpoint(method: .POST, template: "/me/activate", path: "/me/activate", body: invalidJSON),
            Endpoint(method: .POST, template: "/tokens", path: "/tokens", body: invalidJSON),
            Endpoint(method: .GET, template: "/tokens", path: "/tokens"),
            Endpoint(method: .GET, template: "/tokens/{tokenId}", path: "/tokens/\(spareToken)"),
            Endpoint(
                method: .DELETE, template: "/tokens/{tokenId}", path: "/tokens/t-0000000000000000"
            ),
            Endpoint(method: .POST, template: "/projects", path: "/projects", body: invalidJSON),
            Endpoint(
                method: .GET, template: "/projects", path: "/projects"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}", path: "/projects/\(p)"),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/close", path: "/projects/\(p)/close", body: invalidJSON),
            Endpoint(
                method: .PUT, template: "/projects/{projectId}/parties/{party}/public-key",
                path: "/projects/\(p)/parties/agency-a/public-key", body: invalidJSON),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/parties/{party}/uploads",
                path: "/projects/\(p)/parties/agency-a/uploads",
                body: Array("not a token file".utf8),
                contentType: "application/vnd.blindmatch.tokens"),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/parties/{party}/uploads",
                path: "/projects/\(p)/parties/council-b/uploads",
                body: Array("not a token file".utf8),
                contentType: "application/vnd.blindmatch.tokens"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/uploads", path: "/projects/\(p)/uploads"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/uploads/{uploadId}",
                path: "/projects/\(p)/uploads/\(upload)", owner: .bulk),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/runs", path: "/projects/\(p)/runs",
                body: Array(#"{"x":1}"#.utf8)),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/runs", path: "/projects/\(p)/runs"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/runs/{runId}", path: "/projects/\(p)/runs/\(run)"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/runs/{runId}/report",
                path: "/projects/\(p)/runs/\(run)/report"),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/runs/{runId}/approve",
                path: "/projects/\(p)/runs/\(run)/approve", refusedByPolicy: [.watchlist, .bulk]),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/runs/{runId}/cancel",
                path: "/projects/\(p)/runs/\(run)/cancel", refusedByPolicy: [.bulk]),
            Endpoint(
                method: .POST, template: "/projects/{projectId}/uploads/{uploadId}/withdraw",
                path: "/projects/\(p)/uploads/u-0000000000000000/withdraw"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/runs/{runId}/results/{party}",
                path: "/projects/\(p)/runs/\(run)/results/agency-a"),
            Endpoint(
                method: .GET, template: "/projects/{projectId}/runs/{runId}/results/{party}",
                path: "/projects/\(p)/runs/\(run)/results/council-b"),
            Endpoint(method: .GET, template: "/audit/log", path: "/audit/log"),
            Endpoint(
                method: .GET, template: "/audit/public-key", path: "/audit/public-key"),
        ]
        // The upload was the bulk party's (the last accepted one is listed first), so agency-a may not read it.
        var walked = 0
        for endpoint in endpoints {
            for caller in Caller.allCases {
                let reply = try await HTTP.request(
                    endpoint.method, server.baseURL + endpoint.path, token: tokens[caller], body: endpoint.body,
                    contentType: endpoint.contentType)
                Self.conforming(reply, endpoint.method.rawValue, endpoint.template)
                // Every reply, refusals included, forbids sniffing and caching.
                #expect(reply.headers["X-Content-Type-Options"].first == "nosniff")
                #expect(reply.headers["Cache-Control"].first?.contains("no-store") == true)
                let label =
                    "\(caller.rawValue) \(endpoint.method.rawValue) \(endpoint.template): \(reply.status) \(reply.text)"
                switch caller {
                case .none, .bogus:
                    #expect(reply.status == 401, "\(label)")
                    #expect(reply.headers["WWW-Authenticate"].first == "Bearer", "\(label)")
                default:
                    if endpoint.allowed.contains(caller) {
                        #expect(reply.status != 401 && reply.status != 403, "\(label)")
                    } else {
                        #expect(reply.status == 403, "\(label)")
                    }
                }
                walked += 1
            }
        }
        #expect(walked == endpoints.count * Caller.allCases.count)
        // Every operation of the contract but the open health check was walked.
        let walkedOperations = Set(endpoints.map { "\($0.method.rawValue) \($0.template)" })
        #expect(walkedOperations == Set(Contract.operations.filter { $0 != "GET /healthz" }))
        // The health check needs no token and says nothing else.
        let health = try await HTTP.request(.GET, server.baseURL + "/healthz")
        Self.conforming(health, "GET", "/healthz")
        #expect(health.text == "{\"status\":\"ok\"}\n")
        // Refusals are audited with the route template, never the path's values or a token.
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.contains(#""request":"GET /projects/{projectId}/runs/{runId}/results/{party}""#))
        #expect(!log.contains(project.watchlistToken) && !log.contains(operatorToken))
    }

    /// Headers of every odd shape, on every route, from every kind of caller: each gets an answer below 500 and the
    /// server stays up (an `Accept: ;` once trapped the process).
    @Test func oddHeaderShapesGetAnAnswerAndNeverStopTheServer() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let operatorToken = try server.operatorToken
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: run, token: operatorToken)
        let p = project.id
        let routes: [(HTTPMethod, String, String?)] = [
            (.GET, "/healthz", nil), (.GET, "/metrics", operatorToken), (.GET, "/me", project.auditorToken),
            (.GET, "/tokens", operatorToken), (.POST, "/tokens", operatorToken), (.POST, "/projects", operatorToken),
            (.GET, "/projects", project.watchlistToken), (.GET, "/projects/\(p)", project.bulkToken),
            (.GET, "/projects/\(p)/uploads", project.auditorToken), (.GET, "/projects/\(p)/runs", operatorToken),
            (.GET, "/projects/\(p)/runs/\(run)", project.watchlistToken),
            (.GET, "/projects/\(p)/runs/\(run)/results/agency-a", project.watchlistToken),
            (.GET, "/projects/\(p)/runs/\(run)/results/council-b", project.bulkToken),
            (.POST, "/projects/\(p)/parties/agency-a/uploads", project.watchlistToken),
            (.PUT, "/projects/\(p)/parties/agency-a/public-key", operatorToken),
            (.GET, "/audit/log", project.auditorToken), (.GET, "/audit/public-key", project.auditorToken),
        ]
        let shapes: [[(String, String)]] = [
            [("Accept", ";")], [("Accept", "application/json,;")], [("Accept", ",,")], [("Accept", ";;;q=1")],
            [("Accept", " ; , text/csv;q=")], [("Accept", "/")], [("Accept", "*/")], [("Accept", "text/csv;;")],
            [("Content-Type", ";")], [("Content-Type", "")], [("Content-Type", ";charset=utf-8")],
            [("Content-Type", "application/json;;")],
            [("Authorization", "Bearer")], [("Authorization", ";")], [("Authorization", "Bearer  ")],
            [("Authorization", "bearer ,")],
        ]
        var answered = 0
        for (method, path, token) in routes {
            for headers in shapes {
                let reply = try await HTTP.request(
                    method, server.baseURL + path, token: token, body: method == .GET ? nil : Array("{}".utf8),
                    headers: headers)
                #expect(reply.status < 500, "\(method.rawValue) \(path) with \(headers): \(reply.status) \(reply.text)")
                answered += 1
            }
        }
        #expect(answered == routes.count * shapes.count)
        let health = try await HTTP.request(.GET, server.baseURL + "/healthz")
        #expect(health.status == 200)
    }

    @Test func aSecondServerOnTheSameDataDirectoryRefusesToStart() async throws {
        let scratch = try Scratch()
        let server = try await Self.startServer(scratch)
        defer { server.stopSoon() }
        let second = try CLI.run(
            ["serve", "--data-dir", server.dataDirectory, "--port", "0", "--operator-token-file", "other.token"],
            in: scratch.path)
        #expect(second.status != 0)
        #expect(second.error.contains("in use by another blindmatch serve"), "\(second.error)")
        #expect(!FileIO.exists(scratch.path + "/other.token"))
        // The first one is untouched and still answers.
        let health = try await HTTP.request(.GET, server.baseURL + "/healthz")
        #expect(health.status == 200)
    }

    /// Requests with a token that is not valid are answered without a write each: the audit log gets one summary
    /// entry per requester and route, with the count, by the time it is exported.
    @Test func aFloodOfBadTokensIsCountedNotWrittenOneByOne() async throws {
        let scratch = try Scratch()
        let server = try await Self.startServer(scratch)
        defer { server.stopSoon() }
        let operatorToken = try server.operatorToken
        let bogus = "bm_" + String(repeating: "B", count: 43)
        for _ in 0..<300 {
            #expect(try await HTTP.request(.GET, server.baseURL + "/me", token: bogus).status == 401)
        }
        for _ in 0..<50 {
            #expect(try await HTTP.request(.GET, server.baseURL + "/projects", token: "not-a-token").status == 401)
        }
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: operatorToken)
        let refusals = log.text.split(separator: "\n").compactMap { line -> JSONValue? in
            let entry = try? JSONValue(parsing: Array(line.utf8), source: "log")
            return entry?["action"]?.stringValue == "access.refused" ? entry : nil
        }
        #expect(refusals.count == 2)
        let counts = Dictionary(
            uniqueKeysWithValues: refusals.compactMap { entry -> (String, Int)? in
                guard let route = entry["details"]?["request"]?.stringValue,
                    let count = entry["details"]?["count"]?.intValue
                else { return nil }
                return (route, count)
            })
        #expect(counts == ["GET /me": 300, "GET /projects": 50])
        #expect(refusals.allSatisfy { $0["actor"]?.stringValue == "unauthenticated" })
        let metrics = try await HTTP.request(.GET, server.baseURL + "/metrics", token: operatorToken)
        #expect(metrics.status == 200)
    }

    @Test func uploadsAreCheckedOnArrivalAndRefusalsLeaveNothing() async throws {
        let data = try AgencyData()
        // Files that must be refused, each made the way a mistaken or dishonest agency would.
        try data.tokenise("data/watch.csv", "unsigned.bmt", party: "agency-a", signed: false)
        try data.check(CLI.run(["keygen", "--output", "other.secret"], in: data.path))
        try data.tokenise("data/watch.csv", "other-secret.bmt", party: "agency-a", secret: "other.secret")
        try data.tokenise("data/watch.csv", "wrong-party.bmt", party: "agency-z", signer: "agency-a")
        let schema = try String(contentsOfFile: data.schema, encoding: .utf8)
        try data.scratch.write(
            "other-schema.json", schema.replacingOccurrences(of: "\"bits\": 1024", with: "\"bits\": 2048"))
        try data.tokenise("data/watch.csv", "other-schema.bmt", party: "agency-a", schema: "other-schema.json")
        var tampered = try FileIO.readAll("\(data.path)/a.bmt")
        tampered[tampered.count / 2] ^= 0x01
        try Data(tampered).write(to: URL(fileURLWithPath: "\(data.path)/tampered.bmt"))
        var badSignature = try FileIO.readAll("\(data.path)/a.bmt")
        badSignature[badSignature.count - 10] ^= 0x01
        try Data(badSignature).write(to: URL(fileURLWithPath: "\(data.path)/bad-signature.bmt"))

        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        let template = "/projects/{projectId}/parties/{party}/uploads"
        let cases: [(file: String, party: String, code: String)] = [
            ("tampered.bmt", "agency-a", "tokenFileDigest"),
            ("bad-signature.bmt", "agency-a", "tokenFileSignature"),
            ("unsigned.bmt", "agency-a", "tokenFileUnsigned"),
            ("b.bmt", "agency-a", "tokenFileSigner"),
            ("other-schema.bmt", "agency-a", "tokenFileSchema"),
            ("other-secret.bmt", "agency-a", "tokenFileKeyId"),
            ("wrong-party.bmt", "agency-a", "tokenFileParty"),
        ]
        for refused in cases {
            let reply = try await project.upload(
                server, data: data, file: refused.file, party: refused.party, token: project.watchlistToken)
            Self.conforming(reply, "POST", template)
            #expect(reply.status == 422, "\(refused.file): \(reply.text)")
            #expect(reply.code == refused.code, "\(refused.file): \(reply.text)")
            #expect(reply.json?["rule"]?.stringValue?.hasPrefix("SPEC §") == true)
        }
        let wrongType = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/parties/agency-a/uploads", token: project.watchlistToken,
            body: try FileIO.readAll("\(data.path)/a.bmt"), contentType: "text/plain")
        Self.conforming(wrongType, "POST", template)
        #expect(wrongType.status == 415 && wrongType.code == "unsupportedMediaType")

        // A body that ends before its Content-Length, and one that announces more than the limit.
        let fileBytes = try FileIO.readAll("\(data.path)/a.bmt")
        let truncated = try await RawHTTP.response(
            port: server.port,
            head:
                "POST /projects/\(project.id)/parties/agency-a/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(project.watchlistToken)\r\nContent-Type: application/vnd.blindmatch.tokens\r\nContent-Length: \(fileBytes.count)\r\n\r\n",
            body: Array(fileBytes.prefix(fileBytes.count / 2)), closeAfter: true)
        #expect(truncated.hasPrefix("HTTP/1.1 400") && truncated.contains("truncatedUpload"), "\(truncated)")
        let huge = try await RawHTTP.response(
            port: server.port,
            head:
                "POST /projects/\(project.id)/parties/agency-a/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(project.watchlistToken)\r\nContent-Type: application/vnd.blindmatch.tokens\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n",
            body: [], closeAfter: false)
        #expect(huge.hasPrefix("HTTP/1.1 413"), "\(huge)")
        #expect(huge.contains("payloadTooLarge"))

        // Nothing of any refused upload is left: no temporary file, no stored file, no record.
        try await Task.sleep(for: .milliseconds(300))
        #expect(try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/tmp").isEmpty)
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        #expect(stored.isEmpty)
        let listed = try await HTTP.request(
            .GET, "\(server.baseURL)/projects/\(project.id)/uploads", token: project.auditorToken)
        Self.conforming(listed, "GET", "/projects/{projectId}/uploads")
        #expect(listed.json?["items"]?.arrayValue?.isEmpty == true)

        // The right files are accepted, once each in the content-addressed store.
        for (file, party, token) in [
            ("a.bmt", "agency-a", project.watchlistToken), ("b.bmt", "council-b", project.bulkToken),
        ] {
            let reply = try await project.upload(server, data: data, file: file, party: party, token: token)
            Self.conforming(reply, "POST", template)
            #expect(reply.status == 201, "\(reply.text)")
            let sha = Hex.encode(SHA256Hasher.hash(try FileIO.readAll("\(data.path)/\(file)")))
            #expect(reply.json?["sha256"]?.stringValue == sha)
            #expect(FileIO.exists("\(server.dataDirectory)/tokens/\(sha.prefix(2))/\(sha).bmt"))
        }
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.components(separatedBy: "\"upload.refused\"").count - 1 >= cases.count + 1)
        #expect(log.components(separatedBy: "\"upload.accepted\"").count - 1 == 2)
    }

    @Test func badRequestsGetJSONErrors() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let operatorToken = try server.operatorToken
        let url = server.baseURL + "/projects"
        let malformed = try await HTTP.request(.POST, url, token: operatorToken, body: Array("{\"name\":".utf8))
        Self.conforming(malformed, "POST", "/projects")
        #expect(malformed.status == 400 && malformed.code == "malformedRequest")

        var request = try data.projectRequest()
        if case .object(let members) = request { request = .object(members + [("surprise", .bool(true))]) }
        let unknownMember = try await HTTP.request(.POST, url, token: operatorToken, body: HTTP.json(request))
        Self.conforming(unknownMember, "POST", "/projects")
        #expect(unknownMember.status == 400 && unknownMember.code == "malformedRequest")

        let wrongType = try await HTTP.request(
            .POST, url, token: operatorToken, body: HTTP.json(try data.projectRequest()), contentType: "text/plain")
        Self.conforming(wrongType, "POST", "/projects")
        #expect(wrongType.status == 415 && wrongType.code == "unsupportedMediaType")

        let oversized = try await HTTP.request(
            .POST, url, token: operatorToken, body: Array(repeating: UInt8(ascii: " "), count: 2 << 20))
        Self.conforming(oversized, "POST", "/projects")
        #expect(oversized.status == 413 && oversized.code == "payloadTooLarge")

        var backwards = try data.projectRequest()
        if case .object(let members) = backwards {
            backwards = .object(
                members.map {
                    $0.key == "matching" ? ("matching", .object([("threshold", "0.7"), ("reviewFrom", "0.8")])) : $0
                })
        }
        let invalid = try await HTTP.request(.POST, url, token: operatorToken, body: HTTP.json(backwards))
        Self.conforming(invalid, "POST", "/projects")
        #expect(invalid.status == 422 && invalid.code == "invalidRequest")

        let created = try await HTTP.request(
            .POST, url, token: operatorToken, body: HTTP.json(try data.projectRequest()))
        Self.conforming(created, "POST", "/projects")
        #expect(created.status == 201)
        let again = try await HTTP.request(.POST, url, token: operatorToken, body: HTTP.json(try data.projectRequest()))
        Self.conforming(again, "POST", "/projects")
        #expect(again.status == 409 && again.code == "keyIdInUse")
        let project = try #require(created.json?["id"]?.stringValue)

        for (template, path) in [
            ("/projects/{projectId}", "/projects/p-0000000000000000"),
            ("/tokens/{tokenId}", "/tokens/t-0000000000000000"),
            ("/projects/{projectId}/runs/{runId}", "/projects/\(project)/runs/r-0000000000000000"),
            ("/projects/{projectId}/uploads/{uploadId}", "/projects/\(project)/uploads/not-an-id"),
        ] {
            let reply = try await HTTP.request(.GET, server.baseURL + path, token: operatorToken)
            Self.conforming(reply, "GET", template)
            #expect(reply.status == 404 && reply.code == "notFound", "\(path)")
        }
        let noRoute = try await HTTP.request(.GET, server.baseURL + "/nothing/here", token: operatorToken)
        #expect(noRoute.status == 404 && noRoute.code == "notFound")
        let wrongMethod = try await HTTP.request(.PATCH, server.baseURL + "/projects", token: operatorToken)
        #expect(wrongMethod.status == 405 && wrongMethod.code == "methodNotAllowed")
        let noRun = try await HTTP.request(.POST, "\(server.baseURL)/projects/\(project)/runs", token: operatorToken)
        Self.conforming(noRun, "POST", "/projects/{projectId}/runs")
        // The operator does not request runs: the project's run policy names parties only.
        #expect(noRun.status == 403 && noRun.code == "forbiddenRole")
        let badCursor = try await HTTP.request(.GET, server.baseURL + "/projects?cursor=zzz", token: operatorToken)
        Self.conforming(badCursor, "GET", "/projects")
        #expect(badCursor.status == 400)
        let notAcceptable = try await HTTP.request(
            .GET, server.baseURL + "/metrics", token: operatorToken, accept: "image/png")
        Self.conforming(notAcceptable, "GET", "/metrics")
        #expect(notAcceptable.status == 406 && notAcceptable.code == "notAcceptable")
        // Listings page newest first; the cursor leads to the rest, and the last page has none.
        for name in ["a", "b", "c"] {
            _ = try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: operatorToken,
                body: HTTP.json(.object([("role", "auditor"), ("name", .string("auditor-\(name)"))])))
        }
        let first = try await HTTP.request(.GET, server.baseURL + "/tokens?limit=2", token: operatorToken)
        Self.conforming(first, "GET", "/tokens")
        let cursor = try #require(first.json?["nextCursor"]?.stringValue)
        #expect(first.json?["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["auditor-c", "auditor-b"])
        let rest = try await HTTP.request(
            .GET, server.baseURL + "/tokens?limit=2&cursor=\(cursor)", token: operatorToken)
        Self.conforming(rest, "GET", "/tokens")
        #expect(rest.json?["items"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["auditor-a", "operator"])
        #expect(rest.json?["nextCursor"] == .null)
        let metrics = try await HTTP.request(.GET, server.baseURL + "/metrics", token: operatorToken)
        Self.conforming(metrics, "GET", "/metrics")
        #expect(metrics.json?["projects"]?["open"]?.intValue == 1)
    }

    @Test func aRunCutShortByACrashIsPickedUpAndReachesTheSameResult() async throws {
        let data = try AgencyData()
        let scratch = data.scratch
        // The service in this process, its runs held for a while before the engine starts, so that the crash lands
        // mid-run; abandoning it leaves the run `running` with nothing of its outcome written, as a crash would.
        let executor = HeldRunExecutor(hold: .seconds(30))
        let held = try await InProcessServer(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token",
            executor: executor)
        let project = try await ServiceProject.create(on: held, data: data)
        try await project.uploadBoth(held, data: data)
        let queued = try await HTTP.request(
            .POST, "\(held.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        #expect(try await HTTP.waitForStatus("running", held, project: project.id, run: run, token: project.bulkToken))
        await held.abandon(freezing: executor)
        // What a crash between storing a file and recording it would leave: a stored file no upload references.
        let stray = String(repeating: "ee", count: 32)
        try FileManager.default.createDirectory(
            atPath: held.dataDirectory + "/tokens/ee", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: "\(held.dataDirectory)/tokens/ee/\(stray).bmt"))

        let server = try Self.startProcess(scratch)
        defer { server.stop() }
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.watchlistToken)
        Self.conforming(
            try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)", token: project.watchlistToken),
            "GET", "/projects/{projectId}/runs/{runId}")
        #expect(finished["status"]?.stringValue == "succeeded")
        #expect(finished["attempt"]?.intValue == 2)
        #expect(!FileIO.exists("\(server.dataDirectory)/tokens/ee/\(stray).bmt"))
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        #expect(stored.count == 2)

        // A second run of the same uploads, never interrupted, gives the same rows.
        let again = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let second = try #require(again.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: second, token: project.watchlistToken)
        func rows(_ run: String) async throws -> String {
            let reply = try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/agency-a?limit=100000",
                token: project.watchlistToken, accept: "text/csv")
            #expect(reply.status == 200)
            return reply.text
        }
        let first = try await rows(run)
        #expect(first.split(separator: "\n").count > 100)
        #expect(first == (try await rows(second)))

        // The log tells the story and still verifies: the run started twice.
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        Self.conforming(log, "GET", "/audit/log")
        try Data(log.body).write(to: URL(fileURLWithPath: scratch.path + "/audit.jsonl"))
        #expect(log.text.components(separatedBy: "\"run.started\"").count - 1 == 3)
        let verified = try CLI.run(
            ["audit", "verify", "audit.jsonl", "--public-key", server.dataDirectory + "/matcher.pub"], in: scratch.path)
        #expect(verified.status == 0, "\(verified.output)")
    }
}

extension ServiceAPITests {
    @Test func keyRotationAndClosingAProject() async throws {
        let data = try AgencyData(watch: 60, bulk: 600)
        try data.check(CLI.run(["keygen", "--signing", "--output", "agency-a-2026"], in: data.path))
        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        let base = "\(server.baseURL)/projects/\(project.id)"
        try await project.uploadBoth(server, data: data)
        let run = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.bulkToken).json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: run, token: operatorToken)

        // Rotation: files signed by the old key are refused from now on; what was accepted stays.
        let pem = try data.publicKeyPEM("agency-a-2026")
        let rotated = try await HTTP.request(
            .PUT, base + "/parties/agency-a/public-key", token: operatorToken,
            body: HTTP.json(.object([("pem", .string(pem))])))
        Self.conforming(rotated, "PUT", "/projects/{projectId}/parties/{party}/public-key")
        #expect(rotated.status == 200)
        // The party's tokens were bound to the old key: rotating it revokes them, and the rotation shows.
        let operatorID = try #require(
            try await HTTP.request(.GET, server.baseURL + "/me", token: operatorToken).json?["tokenId"]?.stringValue)
        #expect(rotated.json?["registeredBy"]?.stringValue == "operator")
        #expect(rotated.json?["registeredByToken"]?.stringValue == operatorID)
        #expect(try await HTTP.request(.GET, server.baseURL + "/me", token: project.watchlistToken).status == 401)
        #expect(try await HTTP.request(.GET, server.baseURL + "/me", token: project.bulkToken).status == 200)
        let fresh = try #require(
            try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: operatorToken,
                body: HTTP.json(.object([("role", "party"), ("project", .string(project.id)), ("party", "agency-a")]))
            ).json?["token"]?.stringValue)
        // A new token activates only with the key registered now.
        let withOldKey = try await data.activation(fresh, party: "agency-a", on: server)
        ServiceAPITests.conforming(withOldKey, "POST", "/me/activate")
        #expect(withOldKey.status == 422 && withOldKey.code == "activationRefused", "\(withOldKey.text)")
        try await data.activate(fresh, party: "agency-a", key: "agency-a-2026", on: server)
        let me = try await HTTP.request(.GET, server.baseURL + "/me", token: fresh)
        ServiceAPITests.conforming(me, "GET", "/me")
        #expect(me.json?["partyKey"]?["registeredBy"]?.stringValue == "operator")
        #expect(me.json?["partyKey"]?["registeredByToken"]?.stringValue == operatorID)
        #expect(me.json?["activation"] == .null && me.json?["activatedAt"]?.stringValue != nil)
        // Files signed by the old key are refused from now on; what was accepted stays.
        let old = try await project.upload(server, data: data, file: "a.bmt", party: "agency-a", token: fresh)
        #expect(old.status == 422 && old.code == "tokenFileSigner", "\(old.text)")
        let sameKey = try await HTTP.request(
            .PUT, base + "/parties/council-b/public-key", token: operatorToken,
            body: HTTP.json(.object([("pem", .string(pem))])))
        #expect(sameKey.status == 409 && sameKey.code == "keyInUse")

        // Closing: party tokens revoked, token files and results destroyed, metadata kept for auditors.
        let closed = try await HTTP.request(
            .POST, base + "/close", token: operatorToken, body: HTTP.json(.object([("reason", "Agreement ended.")])))
        Self.conforming(closed, "POST", "/projects/{projectId}/close")
        #expect(closed.status == 200 && closed.json?["status"]?.stringValue == "closed")
        #expect(closed.json?["closeReason"]?.stringValue == "Agreement ended.")
        let revoked = try await HTTP.request(
            .GET, base + "/runs/\(run)/results/agency-a", token: project.watchlistToken)
        #expect(revoked.status == 401)
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        #expect(stored.isEmpty)
        let again = try await HTTP.request(
            .POST, base + "/close", token: operatorToken, body: HTTP.json(.object([("reason", "Twice.")])))
        #expect(again.status == 409 && again.code == "projectClosed")
        let queued = try await HTTP.request(.POST, base + "/runs", token: fresh)
        Self.conforming(queued, "POST", "/projects/{projectId}/runs")
        #expect(queued.status == 401)
        let seen = try await HTTP.request(.GET, base + "/runs/\(run)", token: project.auditorToken)
        #expect(seen.status == 200 && seen.json?["status"]?.stringValue == "succeeded")
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.contains(#""action":"project.closed""#))
        // One by the rotation (agency-a's first token), two by the close (agency-a's second, council-b's).
        #expect(log.components(separatedBy: #""action":"token.revoked""#).count - 1 == 3)
        #expect(log.components(separatedBy: #""action":"party.registered""#).count - 1 == 3)
    }
}

extension ServiceAPITests {
    @Test func closingAProjectStopsItsRunningRun() async throws {
        let data = try AgencyData(watch: 40, bulk: 400)
        // The executor holds the run for 60 s before the engine starts; the close must cut that short.
        let executor = HeldRunExecutor(hold: .seconds(60))
        let server = try await InProcessServer(for: data, executor: executor)
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        let base = "\(server.baseURL)/projects/\(project.id)"
        try await project.uploadBoth(server, data: data)
        let run = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?.stringValue)
        #expect(
            try await HTTP.waitForStatus("running", server, project: project.id, run: run, token: project.bulkToken))
        let closed = try await HTTP.request(
            .POST, base + "/close", token: operatorToken, body: HTTP.json(.object([("reason", "Stop now.")])))
        #expect(closed.status == 200)
        let failed = try await HTTP.request(.GET, base + "/runs/\(run)", token: operatorToken)
        Self.conforming(failed, "GET", "/projects/{projectId}/runs/{runId}")
        #expect(failed.json?["status"]?.stringValue == "failed")
        #expect(failed.json?["failure"]?["code"]?.stringValue == "projectClosed")
        // The worker lets go of the run within moments, not when the hold would have ended.
        var stopped = false
        for _ in 0..<100 where !stopped {
            try await Task.sleep(for: .milliseconds(50))
            stopped = executor.released.withLock { $0 } == 1
        }
        #expect(stopped)
        await server.stop()
    }
}

/// A raw HTTP/1.1 exchange over a socket, for requests a well-behaved client refuses to send.
enum RawHTTP {
    /// ``send(port:head:body:closeAfter:)`` on a thread of its own: its blocking socket calls must not hold one of
    /// the test process's few cooperative threads while a server in this process has to answer.
    static func response(port: Int, head: String, body: [UInt8], closeAfter: Bool) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result { try send(port: port, head: head, body: body, closeAfter: closeAfter) })
            }
        }
    }

    static func send(port: Int, head: String, body: [UInt8], closeAfter: Bool) throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ServiceTestError("no socket") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw ServiceTestError("cannot connect") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bytes = Array(head.utf8) + body
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if closeAfter {
            shutdown(descriptor, Int32(SHUT_WR))
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            reply += buffer[0..<count]
            if !closeAfter, String(decoding: reply, as: UTF8.self).contains("}\n") { break }
        }
        return String(decoding: reply, as: UTF8.self)
    }
}

extension ServiceAPITests {
    /// A run that is cut short again and again (say it takes the matcher down at every start) is failed once it has
    /// started `maximumRunAttempts` times; a planned stop does not use up an attempt.
    @Test func runsCutShortTooOftenFailAndAPlannedStopDoesNotCount() async throws {
        let data = try AgencyData(watch: 40, bulk: 400)
        let directory = data.scratch.path + "/server"
        let tokenFile = data.scratch.path + "/operator.token"
        var executor = HeldRunExecutor(hold: .seconds(60))
        func held() async throws -> InProcessServer {
            executor = HeldRunExecutor(hold: .seconds(60))
            return try await InProcessServer(dataDirectory: directory, operatorTokenFile: tokenFile, executor: executor)
            {
                $0.maximumRunAttempts = 2
            }
        }
        var server = try await held()
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let run = try #require(
            try await HTTP.request(
                .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken
            ).json?["id"]?.stringValue)
        func state() async throws -> JSONValue? {
            try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)", token: project.watchlistToken
            ).json
        }
        // A planned stop: back in the queue, the attempt not counted.
        #expect(
            try await HTTP.waitForStatus("running", server, project: project.id, run: run, token: project.bulkToken))
        await server.stop()
        server = try await held()
        #expect(
            try await HTTP.waitForStatus("running", server, project: project.id, run: run, token: project.bulkToken))
        let afterStop = try await state()
        #expect(afterStop?["attempt"]?.intValue == 1, "\(String(describing: afterStop))")
        // Two crashes mid-run: the third start fails it instead of starting it again.
        await server.abandon(freezing: executor)
        server = try await held()
        #expect(
            try await HTTP.waitForStatus("running", server, project: project.id, run: run, token: project.bulkToken))
        #expect(try await state()?["attempt"]?.intValue == 2)
        await server.abandon(freezing: executor)
        server = try await held()
        #expect(try await HTTP.waitForStatus("failed", server, project: project.id, run: run, token: project.bulkToken))
        let failed = try await state()
        #expect(failed?["failure"]?["code"]?.stringValue == "restartLimitReached")
        #expect(failed?["attempt"]?.intValue == 2)
        await server.stop()
    }

    /// A stored token file that changed after it was accepted is not matched.
    @Test func aStoredFileThatChangedIsNotMatched() async throws {
        let data = try AgencyData(watch: 40, bulk: 400)
        let server = try await Self.startServer(data.scratch)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        #expect(stored.count == 2)
        let victim = server.dataDirectory + "/tokens/" + (try #require(stored.first))
        var bytes = try FileIO.readAll(victim)
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: victim))
        let run = try #require(
            try await HTTP.request(
                .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken
            ).json?["id"]?.stringValue)
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.watchlistToken)
        #expect(finished["status"]?.stringValue == "failed")
        #expect(finished["failure"]?["code"]?.stringValue == "uploadCorrupted")
        Self.conforming(
            try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)", token: project.watchlistToken),
            "GET", "/projects/{projectId}/runs/{runId}")
    }
}
