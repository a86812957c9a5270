import BlindmatchProtocol
import Foundation
import NIOSSL
import PostgresNIO

/// Where the shared PostgreSQL store is (`serve --database postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…]`), and
/// the password to reach it.
///
/// The URL never carries the password: arguments show in `ps` and in shell histories, so a URL with one is refused.
/// The password comes from a file of mode 0600 owned by the caller (`--database-password-file`), or from the
/// environment (`BLINDMATCH_DATABASE_PASSWORD`), or not at all (trust or peer authentication).
///
/// `sslmode`: `disable` (plain TCP), `require` (TLS, the server's certificate verified against the system's
/// authorities, or against `sslrootcert=FILE` when given). Without it: `disable` on a loopback host, `require`
/// elsewhere, so that a password never crosses a network in the clear by default.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable {
        case disable
        case require
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: TLSMode
    /// The certificate authorities (PEM) that the server's certificate must chain to under `require`; nil for the
    /// system's.
    public var rootCertificates: String?
    /// Never printed (``description`` leaves it out).
    public var password: String?

    /// The environment variable that may hold the password.
    public static let passwordVariable = "BLINDMATCH_DATABASE_PASSWORD"

    /// Parses the URL; refuses one with a password, a missing user, host or database, or an unknown parameter.
    public init(url text: String) throws {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw ServerError(
                .startup, "--database: not a postgres:// URL (postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…])")
        }
        guard components.password == nil else {
            throw ServerError(
                .startup,
                "--database: the URL carries a password; give it with --database-password-file FILE (mode 0600) or \(Self.passwordVariable), never in an argument"
            )
        }
        guard let user = components.user, !user.isEmpty else {
            throw ServerError(.startup, "--database: the URL names no user (postgres://USER@HOST/DATABASE)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ServerError(.startup, "--database: the URL names no host (postgres://USER@HOST/DATABASE)")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.isEmpty, !path.contains("/") else {
            throw ServerError(.startup, "--database: the URL names no database (postgres://USER@HOST/DATABASE)")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw ServerError(.startup, "--database: port \(port) is out of range")
        }
        self.user = user
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.database = path.removingPercentEncoding ?? path
        self.tls = Self.isLoopback(self.host) ? .disable : .require
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw ServerError(
                        .startup, "--database: sslmode must be disable or require, not \(item.value ?? "empty")")
                }
                tls = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else {
                    throw ServerError(.startup, "--database: sslrootcert needs a file")
                }
                rootCertificates = value
            default:
                throw ServerError(
                    .startup, "--database: unknown parameter \(item.name) (known: sslmode, sslrootcert)")
            }
        }
    }

    /// The location with its password read from `file` (mode 0600, owned by the caller), else from `environment`'s
    /// ``passwordVariable``, else none. A trailing newline in the file is not part of the password.
    public func withPassword(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PostgresLocation {
        var location = self
        if let file {
            let bytes = try FileIO.readSecretFile(file)
            guard var text = String(validating: bytes, as: UTF8.self) else {
                throw ServerError(.startup, "\(file): the database password is not UTF-8 text")
            }
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            guard !text.isEmpty else { throw ServerError(.startup, "\(file): the database password file is empty") }
            location.password = text
        } else if let text = environment[Self.passwordVariable], !text.isEmpty {
            location.password = text
        }
        return location
    }

    /// The URL without the password, for logs and messages.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(hostPart):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    /// The pool's configuration for this location.
    func clientConfiguration(maximumConnections: Int = 16) throws -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .require: .require(tlsSettings)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// A single connection's configuration, to try the location once before the pool (whose errors hide why).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .require: .require(try NIOSSLContext(configuration: tlsSettings))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// TLS under `require`: the server's certificate verified against the system's authorities or `sslrootcert`.
    private var tlsSettings: TLSConfiguration {
        var settings = TLSConfiguration.makeClientConfiguration()
        if let rootCertificates { settings.trustRoots = .file(rootCertificates) }
        return settings
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
