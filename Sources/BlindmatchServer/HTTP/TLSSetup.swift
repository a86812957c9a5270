import BlindmatchProtocol
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// The HTTP server the configuration asks for: TLS of the service's own (optionally mutual), or plain HTTP on
/// loopback or behind a TLS terminator. Plain HTTP elsewhere is refused: bearer tokens must not cross a network in
/// clear.
enum TLSSetup {
    static func server(for configuration: ServiceConfiguration) throws -> HTTPServerBuilder {
        guard let files = configuration.tls else {
            guard isLoopback(configuration.host) || configuration.behindTLSProxy else {
                throw ServerError(
                    .startup,
                    "--host \(configuration.host) is not loopback: give --tls-cert and --tls-key, or --behind-tls-proxy when a TLS terminator is in front"
                )
            }
            return .http1(configuration: http1(configuration))
        }
        let mode = try FileIO.permissions(of: files.privateKey)
        guard mode & 0o077 == 0 else {
            throw ServerError(
                .startup,
                "\(files.privateKey): others can read the TLS private key (mode \(String(mode, radix: 8))); chmod 600 it"
            )
        }
        var tls: TLSConfiguration
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
            let key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
            tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            if let authorities = files.clientCertificateAuthorities {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authorities))
                // Mutual TLS: a client without a certificate from these authorities does not get past the handshake.
                tls.certificateVerification = .noHostnameVerification
            }
        } catch let error as NIOSSLError {
            throw ServerError(.startup, "the TLS certificate or key cannot be read (\(error))")
        }
        return try .tls(.http1(configuration: http1(configuration)), tlsConfiguration: tls)
    }

    /// HTTP/1.1 with the configured idle and header timeouts.
    private static func http1(_ configuration: ServiceConfiguration) -> HTTP1Channel.Configuration {
        let headerTimeout = milliseconds(configuration.headerTimeout)
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: headerTimeout)],
            idleTimeout: milliseconds(configuration.idleTimeout))
    }

    private static func milliseconds(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .milliseconds(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`), decided on its numeric form.
    static func isLoopback(_ host: String) -> Bool {
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) == 1 { return UInt32(bigEndian: address.s_addr) >> 24 == 127 }
        var address6 = in6_addr()
        if inet_pton(AF_INET6, host, &address6) == 1 {
            return withUnsafeBytes(of: &address6) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
        }
        return host == "localhost"
    }
}
