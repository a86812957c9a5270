import ArgumentParser
import AsyncHTTPClient
import BlindmatchProtocol
import Glibc
import NIOCore
import NIOSSL

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

    @Option(
        name: .customLong("ca-file"),
        help: ArgumentHelp(
            "Trust only these PEM certificate authorities for an https:// server (a private CA), not the system's.",
            valueName: "file"))
    var caFile: String?

    @Option(
        name: .customLong("client-cert"),
        help: ArgumentHelp("A PEM client certificate, for a server that asks for mutual TLS.", valueName: "file"))
    var clientCertificate: String?

    @Option(
        name: .customLong("client-key"),
        help: ArgumentHelp("The PEM private key of --client-cert (mode 0600).", valueName: "file"))
    var clientKey: String?

    @Flag(
        help:
            "Allow plain http:// to a server that is not on this machine (the token then crosses the network in clear)."
    )
    var insecure = false

    func validate() throws {
        _ = try baseURL()
        guard (clientCertificate == nil) == (clientKey == nil) else {
            throw ValidationError("--client-cert and --client-key go together")
        }
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
    /// The token is read first, so that a missing or exposed token file is reported before anything is sent. Plain
    /// `http://` is refused for a server that is not on this machine (decided on the addresses its name resolves to,
    /// not on its spelling) unless `--insecure`, which still warns.
    func withClient<Result>(_ body: (ServiceClient) async throws -> Result) async throws -> Result {
        let server = try baseURL()
        let token = try bearerToken()
        if server.lowercased().hasPrefix("http://") && !Self.isLoopback(host: Self.host(of: server)) {
            guard insecure else {
                throw ClientError(
                    .insecureServer,
                    "\(server) is plain HTTP to another machine: the bearer token would cross the network in clear; use https:// (or --insecure to send it anyway)"
                )
            }
            Console.error(
                "blindmatch: warning: \(server) is plain HTTP: the bearer token and the data cross the network unencrypted\n"
            )
        }
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: .minutes(10)))
        configuration.tlsConfiguration = try tlsConfiguration()
        return try await HTTPClient.withHTTPClient(configuration: configuration) { http in
            try await body(ServiceClient(server: server, token: token, http: http))
        }
    }

    /// TLS for an https:// server: the system's trust store, or only `--ca-file`; a client certificate when given.
    private func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            if let caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
            if let clientCertificate, let clientKey {
                let mode = try FileIO.permissions(of: clientKey)
                guard mode & 0o077 == 0 else {
                    throw ClientError(
                        .exposedSecret,
                        "\(clientKey): others can read the client key (mode \(String(mode, radix: 8))); chmod 600 it")
                }
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
            }
        } catch let error as NIOSSLError {
            throw ClientError(.invalidArgument, "a TLS certificate or key file cannot be read (\(error))")
        }
        return tls
    }

    /// The host of a base URL, without brackets or port.
    static func host(of url: String) -> String {
        let authority = url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? ""
        return authority.hasPrefix("[")
            ? String(authority.prefix { $0 != "]" }.dropFirst()) : String(authority.prefix { $0 != ":" })
    }

    /// Whether every address `host` resolves to is a loopback address (`127.0.0.0/8`, `::1`): `127.0.0.1.example.net`
    /// is a name like any other. A name that does not resolve is not loopback.
    static func isLoopback(host: String) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            guard let address = entry.pointee.ai_addr else { return false }
            switch Int32(entry.pointee.ai_family) {
            case AF_INET:
                let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                guard UInt32(bigEndian: ipv4) >> 24 == 127 else { return false }
            case AF_INET6:
                let ipv6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                let bytes = withUnsafeBytes(of: ipv6) { Array($0) }
                guard bytes == [UInt8](repeating: 0, count: 15) + [1] else { return false }
            default:
                return false
            }
            node = entry.pointee.ai_next
        }
        return true
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
