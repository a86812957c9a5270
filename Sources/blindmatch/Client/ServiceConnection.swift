import ArgumentParser
import AsyncHTTPClient
import Glibc
import NIOCore

/// The options every command that talks to the matching service takes: where it is, and whose token to present.
///
/// The bearer token comes from `--token-file` (a file only its owner can read, as the project's secret files) or
/// else the environment variable `BLINDMATCH_TOKEN`; there is deliberately no option that takes the token itself,
/// which would put it in the shell's history and in every other user's `ps`.
struct ServiceConnection: ParsableArguments {
    /// The URL used when neither `--server` nor `BLINDMATCH_SERVER` gives one.
    static let defaultServer = "http://127.0.0.1:8080"

    @Option(
        name: .customLong("server"),
        help: ArgumentHelp(
            "The matching service's base URL (default: $BLINDMATCH_SERVER, else \(Self.defaultServer)).",
            valueName: "url"))
    var server: String?

    @Option(
        name: .customLong("token-file"),
        help: ArgumentHelp(
            "A file holding your bearer token, readable only by you (mode 0600). Default: the token in $BLINDMATCH_TOKEN.",
            valueName: "file"))
    var tokenFile: String?

    func validate() throws {
        _ = try baseURL()
    }

    /// The service's base URL without a trailing slash: `http` or `https`, a host, no credentials, no query.
    func baseURL() throws -> String {
        let given = server ?? Self.environment("BLINDMATCH_SERVER") ?? Self.defaultServer
        let source =
            server != nil
            ? "--server" : (Self.environment("BLINDMATCH_SERVER") != nil ? "BLINDMATCH_SERVER" : "the default")
        var url = Substring(given)
        while url.hasSuffix("/") { url = url.dropLast() }
        let lowered = url.lowercased()
        guard let schemeEnd = url.firstRange(of: "://"), lowered.hasPrefix("http://") || lowered.hasPrefix("https://")
        else {
            throw ValidationError("\(source): the server URL must start with http:// or https://")
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        guard !authority.isEmpty else { throw ValidationError("\(source): the server URL has no host") }
        guard !authority.contains("@") else {
            throw ValidationError(
                "\(source): the server URL must not hold a user name or password (the bearer token authenticates)")
        }
        guard !url.contains("?"), !url.contains("#") else {
            throw ValidationError("\(source): the server URL must not have a query or a fragment")
        }
        guard url.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw ValidationError("\(source): the server URL must be ASCII without spaces")
        }
        return String(url)
    }

    /// The caller's bearer token, from `--token-file` or `BLINDMATCH_TOKEN`.
    func bearerToken() throws -> BearerToken {
        if let tokenFile { return try BearerToken(contentsOfFile: tokenFile) }
        if let text = Self.environment("BLINDMATCH_TOKEN") {
            return try BearerToken(text: text, source: "BLINDMATCH_TOKEN")
        }
        throw ClientError(
            .missingToken,
            "no bearer token: give --token-file FILE (mode 0600) or set BLINDMATCH_TOKEN; the operator issues tokens with `blindmatch token issue`"
        )
    }

    /// Runs `body` with a client of the service, and shuts the client's connections down when it returns or throws.
    ///
    /// The token is read first, so that a missing or exposed token file is reported before anything is sent. A
    /// warning goes to standard error when the token would travel in clear text to a host other than this machine.
    func withClient<Result>(_ body: (ServiceClient) async throws -> Result) async throws -> Result {
        let server = try baseURL()
        let token = try bearerToken()
        if server.lowercased().hasPrefix("http://") && !Self.isLoopback(server) {
            Console.error(
                "blindmatch: warning: \(server) is plain HTTP: the bearer token and the data cross the network unencrypted\n"
            )
        }
        let configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .minutes(10)))
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            try await body(ServiceClient(server: server, token: token, http: http))
        }
    }

    private static func isLoopback(_ url: String) -> Bool {
        let authority = url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? ""
        let host =
            authority.hasPrefix("[")
            ? String(authority.prefix { $0 != "]" }.dropFirst()) : String(authority.prefix { $0 != ":" })
        return host == "localhost" || host.hasPrefix("127.") || host == "::1"
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

extension ServiceConnection {
    /// The connection the options `--server server --token-file tokenFile` give, for a command that talks to the
    /// service on another's behalf (`demo`). Declared here so that the options' own `init()` stays.
    init(server: String, tokenFile: String) throws {
        self = try Self.parse(["--server", server, "--token-file", tokenFile])
    }
}
