import AsyncHTTPClient
import BlindmatchContract
import BlindmatchProtocol
import Foundation
import Glibc
import NIOCore
import NIOHTTP1

/// A matching service under test, on a loopback port: the real binary or the service built in this process.
protocol TestServer: Sendable {
    var baseURL: String { get }
    var dataDirectory: String { get }
    var operatorToken: String { get throws }
}

/// The real `blindmatch serve` binary on a free loopback port, with its own data directory.
final class ServerProcess: TestServer, @unchecked Sendable {
    let dataDirectory: String
    let operatorTokenFile: String
    private(set) var port = 0
    private var process: Process?
    private var output: Pipe?

    init(dataDirectory: String, operatorTokenFile: String) {
        self.dataDirectory = dataDirectory
        self.operatorTokenFile = operatorTokenFile
    }

    /// `https` when the server was started with TLS.
    private(set) var scheme = "http"

    var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// The server's standard error (its log), kept beside the data directory.
    var logPath: String { dataDirectory + ".log" }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var operatorToken: String {
        get throws { try String(contentsOfFile: operatorTokenFile, encoding: .utf8).trimmingCharacters(in: .newlines) }
    }

    /// Starts the server and waits until it prints the port it listens on.
    func start(environment: [String: String] = [:], arguments extra: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments =
            [
                "serve", "--data-dir", dataDirectory, "--port", "0", "--operator-token-file", operatorTokenFile,
                "--threads", "2",
            ] + extra
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = FileHandle(forWritingAtPath: logPath)
        log?.seekToEndOfFile()
        process.standardError = log ?? FileHandle.nullDevice
        try process.run()
        self.process = process
        self.output = output
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
            if let range = text.range(of: "://127.0.0.1:"), text.contains("listening on ") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits), text[range.upperBound...].contains("\n") {
                    self.port = port
                    scheme = text.contains("listening on https://") ? "https" : "http"
                    // Keep draining the server's output so that it never blocks on a full pipe.
                    let handle = output.fileHandleForReading
                    Thread.detachNewThread {
                        while !handle.availableData.isEmpty {}
                    }
                    return
                }
            }
        }
        process.terminate()
        throw ServiceTestError("the server did not start: \(text)")
    }

    /// SIGTERM, and wait for a clean stop.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGKILL: a crash, with no chance to clean up.
    func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct ServiceTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Plain HTTP against the server, for what the CLI does not do on purpose (wrong tokens, bad bodies).
struct HTTPReply: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var json: JSONValue? { try? JSONValue(parsing: body, source: "response") }
    var text: String { String(decoding: body, as: UTF8.self) }
    var code: String? { json?["code"]?.stringValue }
}

enum HTTP {
    static func request(
        _ method: HTTPMethod, _ url: String, token: String? = nil, body: [UInt8]? = nil,
        contentType: String? = "application/json", accept: String? = nil, headers extra: [(String, String)] = []
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return HTTPReply(
            status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }

    static func json(_ value: JSONValue) -> [UInt8] { value.canonicalBytes }

    /// Polls (for up to 10 s) until the run has `status`; false if it never does.
    static func waitForStatus(_ status: String, _ server: some TestServer, project: String, run: String, token: String)
        async throws -> Bool
    {
        for _ in 0..<200 {
            let reply = try await request(.GET, "\(server.baseURL)/projects/\(project)/runs/\(run)", token: token)
            if reply.json?["status"]?.stringValue == status { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Polls until the run is succeeded or failed.
    static func waitForRun(_ server: some TestServer, project: String, run: String, token: String) async throws
        -> JSONValue
    {
        for _ in 0..<1200 {
            let reply = try await request(.GET, "\(server.baseURL)/projects/\(project)/runs/\(run)", token: token)
            if let status = reply.json?["status"]?.stringValue, status == "succeeded" || status == "failed",
                let json = reply.json
            {
                return json
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ServiceTestError("run \(run) did not finish")
    }
}

/// Two agencies' data, secret, keys and token files, made with the CLI, for the service tests.
final class AgencyData {
    let scratch: Scratch
    var path: String { scratch.path }
    let schema = CLI.repositoryPath("Protocol/examples/uk-watchlist.json")

    init(watch: Int = 150, bulk: Int = 1500, seed: Int = 11) throws {
        scratch = try Scratch()
        try check(
            CLI.run(
                ["synth", "--watch", "\(watch)", "--bulk", "\(bulk)", "--seed", "\(seed)", "--output", "data"], in: path
            ))
        try check(CLI.run(["keygen", "--output", "project.secret"], in: path))
        try check(CLI.run(["keygen", "--signing", "--output", "agency-a"], in: path))
        try check(CLI.run(["keygen", "--signing", "--output", "council-b"], in: path))
        try tokenise("data/watch.csv", "a.bmt", party: "agency-a")
        try tokenise("data/bulk.csv", "b.bmt", party: "council-b")
    }

    func tokenise(
        _ input: String, _ output: String, party: String, secret: String = "project.secret",
        schema: String? = nil, signed: Bool = true, signer: String? = nil
    ) throws {
        var arguments = [
            "tokenise", "--schema", schema ?? self.schema, "--secret-file", secret, "--input", input, "--output",
            output, "--map", output + ".map.csv", "--party", party,
        ]
        if signed { arguments += ["--signing-key", (signer ?? party) + ".key"] }
        try check(CLI.run(arguments, in: path))
    }

    func check(_ result: CLI.Result) throws {
        guard result.status == 0 else { throw ServiceTestError("CLI failed: \(result.error)") }
    }

    func header(_ file: String) throws -> TokenFileHeader { try TokenFile(contentsOf: "\(path)/\(file)").header }

    func publicKeyPEM(_ party: String) throws -> String {
        try String(contentsOfFile: "\(path)/\(party).pub", encoding: .utf8)
    }

    /// The run policy of the tests' projects unless a test says otherwise: either party requests, nobody approves,
    /// any size, so that each test exercises its own subject; the default policy has tests of its own
    /// (`ServiceConsentTests`).
    static let permissiveRunPolicy: JSONValue = .object([
        ("requesters", .array(["watchlist", "bulk"])), ("approvers", .array([])),
        ("minimumRecords", .object([("watchlist", .number("1")), ("bulk", .number("1"))])),
        ("runsPerDay", .number("1000")),
    ])

    /// A `ProjectRequest` body for these files; `runPolicy` nil leaves the member out (the service's default).
    /// `threshold` nil leaves the member out (the service's default, `auto`).
    func projectRequest(
        name: String = "service test", threshold: String? = "0.85", reviewFrom: String? = "0.75", blocking: Bool = true,
        runPolicy: JSONValue? = AgencyData.permissiveRunPolicy
    ) throws -> JSONValue {
        let header = try header("a.bmt")
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(name)), ("purpose", .string("Test the service.")),
            ("legalBasis", .string("Test data only; no legal gateway needed.")),
            ("schemaFingerprint", .string(header.schemaFingerprint)),
            (
                "layout",
                .object([
                    ("filterBits", .number(String(header.filterBits))),
                    ("matchKeys", .array(header.matchKeys.map(JSONValue.string))),
                    ("blockingKeys", .array(header.blockingKeys.map(JSONValue.string))),
                ])
            ),
            ("keyId", .string(header.keyID)),
            (
                "parties",
                .array([
                    .object([
                        ("name", "agency-a"), ("role", "watchlist"),
                        ("publicKey", .object([("pem", .string(try publicKeyPEM("agency-a")))])),
                    ]),
                    .object([
                        ("name", "council-b"), ("role", "bulk"),
                        ("publicKey", .object([("pem", .string(try publicKeyPEM("council-b")))])),
                    ]),
                ])
            ),
            (
                "matching",
                .object(
                    (threshold.map { [(key: "threshold", value: JSONValue.string($0))] } ?? []) + [
                        ("reviewFrom", reviewFrom.map(JSONValue.string) ?? .null), ("blocking", .bool(blocking)),
                    ])
            ),
            (
                "disclosure",
                .object([
                    (
                        "grants",
                        .array([
                            .object([
                                ("role", "watchlist"),
                                ("fields", .array(["row", "counterpartRow", "rule", "score", "status"])),
                                ("statuses", .array(reviewFrom == nil ? ["match"] : ["match", "possible"])),
                            ]),
                            .object([("role", "bulk"), ("fields", .array(["row"])), ("statuses", .array(["match"]))]),
                        ])
                    )
                ])
            ),
        ]
        if let runPolicy { members.append((key: "runPolicy", value: runPolicy)) }
        return .object(members)
    }

    /// Activates a party token (`POST /me/activate`) with the party's signing key in this folder (`key`: another
    /// key file's name, without `.key`); throws unless the service answers 200.
    func activate(_ token: String, party: String, key: String? = nil, on server: some TestServer) async throws {
        let reply = try await activation(token, party: party, key: key, on: server)
        guard reply.status == 200 else { throw ServiceTestError("token not activated: \(reply.status) \(reply.text)") }
    }

    /// The reply to activating `token` with the key file `key` (default: the party's own).
    func activation(_ token: String, party: String, key: String? = nil, on server: some TestServer) async throws
        -> HTTPReply
    {
        let me = try await HTTP.request(.GET, server.baseURL + "/me", token: token)
        guard let json = me.json, let challenge = json["activation"]?["challenge"]?.stringValue,
            let registered = json["activation"]?["key"]?.stringValue, let id = json["tokenId"]?.stringValue,
            let project = json["project"]?.stringValue
        else { throw ServiceTestError("no activation challenge: \(me.status) \(me.text)") }
        let signingKey = try SigningKey(contentsOfFile: "\(path)/\(key ?? party).key")
        let message = TokenActivation.message(
            token: id, project: project, party: party, key: registered, challenge: challenge)
        return try await HTTP.request(
            .POST, server.baseURL + "/me/activate", token: token,
            body: HTTP.json(.object([("signature", .string(Base64.encode(try signingKey.signature(for: message))))])))
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

/// A project on a running server, set up over HTTP: the project, both party tokens and an auditor token.
struct ServiceProject {
    let id: String
    let watchlistToken: String
    let bulkToken: String
    let auditorToken: String

    /// The project, with both party tokens issued and activated by their parties' keys.
    /// `threshold` nil: the service's default (`auto`, without a review band); otherwise a review band from 0.75.
    static func create(
        on server: some TestServer, data: AgencyData, name: String = "service test", threshold: String? = "0.85",
        blocking: Bool = true, runPolicy: JSONValue? = AgencyData.permissiveRunPolicy
    ) async throws -> ServiceProject {
        let operatorToken = try server.operatorToken
        let request = try data.projectRequest(
            name: name, threshold: threshold, reviewFrom: threshold == nil ? nil : "0.75", blocking: blocking,
            runPolicy: runPolicy)
        let created = try await HTTP.request(
            .POST, server.baseURL + "/projects", token: operatorToken, body: HTTP.json(request))
        guard created.status == 201, let id = created.json?["id"]?.stringValue else {
            throw ServiceTestError("project not created: \(created.status) \(created.text)")
        }
        func issue(_ body: JSONValue) async throws -> String {
            let reply = try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: operatorToken, body: HTTP.json(body))
            guard reply.status == 201, let token = reply.json?["token"]?.stringValue else {
                throw ServiceTestError("token not issued: \(reply.status) \(reply.text)")
            }
            return token
        }
        let watchlistToken = try await issue(
            .object([("role", "party"), ("project", .string(id)), ("party", "agency-a")]))
        let bulkToken = try await issue(.object([("role", "party"), ("project", .string(id)), ("party", "council-b")]))
        try await data.activate(watchlistToken, party: "agency-a", on: server)
        try await data.activate(bulkToken, party: "council-b", on: server)
        return ServiceProject(
            id: id, watchlistToken: watchlistToken, bulkToken: bulkToken,
            auditorToken: try await issue(.object([("role", "auditor"), ("name", "test-auditor")])))
    }

    /// An activated party token of a second project (same parties, another key id): a party from elsewhere.
    static func outsider(on server: some TestServer, data: AgencyData) async throws -> String {
        let operatorToken = try server.operatorToken
        var other = try data.projectRequest(name: "another project")
        if case .object(var members) = other {
            members = members.map { $0.key == "keyId" ? ("keyId", .string(String(repeating: "ab", count: 16))) : $0 }
            other = .object(members)
        }
        let created = try await HTTP.request(
            .POST, server.baseURL + "/projects", token: operatorToken, body: HTTP.json(other))
        ServiceAPITests.conforming(created, "POST", "/projects")
        guard let otherID = created.json?["id"]?.stringValue else {
            throw ServiceTestError("the second project was not created: \(created.status) \(created.text)")
        }
        let issued = try await HTTP.request(
            .POST, server.baseURL + "/tokens", token: operatorToken,
            body: HTTP.json(.object([("role", "party"), ("project", .string(otherID)), ("party", "agency-a")])))
        guard let token = issued.json?["token"]?.stringValue else {
            throw ServiceTestError("the outsider's token was not issued: \(issued.status) \(issued.text)")
        }
        try await data.activate(token, party: "agency-a", on: server)
        return token
    }

    /// Both agencies upload their files (`a.bmt`, `b.bmt`); each must be accepted.
    func uploadBoth(_ server: some TestServer, data: AgencyData) async throws {
        for (file, party, token) in [("a.bmt", "agency-a", watchlistToken), ("b.bmt", "council-b", bulkToken)] {
            let reply = try await upload(server, data: data, file: file, party: party, token: token)
            guard reply.status == 201 else { throw ServiceTestError("\(file) was refused: \(reply.text)") }
        }
    }

    func upload(_ server: some TestServer, data: AgencyData, file: String, party: String, token: String) async throws
        -> HTTPReply
    {
        try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(id)/parties/\(party)/uploads", token: token,
            body: try FileIO.readAll("\(data.path)/\(file)"), contentType: "application/vnd.blindmatch.tokens")
    }
}
