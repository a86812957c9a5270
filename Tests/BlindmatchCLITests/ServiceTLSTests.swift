import AsyncHTTPClient
import BlindmatchProtocol
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import blindmatch

/// The service's own TLS and the client's options for it, with a certificate authority made at test time (openssl);
/// and plain HTTP kept on loopback.
@Suite(.serialized)
struct ServiceTLSTests {
    /// A test CA, a server certificate for 127.0.0.1 and a client certificate, all made now in `scratch`.
    struct TestPKI {
        let path: String

        init(in scratch: Scratch) throws {
            path = scratch.path + "/pki"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Self.openssl(
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=Blindmatch test CA", "-keyout", "ca.key", "-out", "ca.pem",
                ], in: path)
            for (name, extensions) in [
                ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
                ("client", "extendedKeyUsage=clientAuth"),
            ] {
                try Self.openssl(
                    [
                        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
                        "/CN=blindmatch-\(name)", "-keyout", "\(name).key", "-out", "\(name).csr",
                    ], in: path)
                try extensions.write(toFile: "\(path)/\(name).ext", atomically: true, encoding: .utf8)
                try Self.openssl(
                    [
                        "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                        "-days", "2", "-extfile", "\(name).ext", "-out", "\(name).pem",
                    ], in: path)
                chmod("\(path)/\(name).key", 0o600)
            }
        }

        static func openssl(_ arguments: [String], in directory: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw ServiceTestError("openssl \(arguments.first ?? "") failed")
            }
        }
    }

    static func startTLSServer(_ scratch: Scratch, pki: TestPKI, mutual: Bool = false) throws -> ServerProcess {
        let server = ServerProcess(
            dataDirectory: scratch.path + "/server", operatorTokenFile: scratch.path + "/operator.token")
        var arguments = ["--tls-cert", pki.path + "/server.pem", "--tls-key", pki.path + "/server.key"]
        if mutual { arguments += ["--client-ca", pki.path + "/ca.pem"] }
        try server.start(arguments: arguments)
        return server
    }

    @Test func theServiceServesHTTPSAndTheClientTrustsAPrivateCA() async throws {
        let scratch = try Scratch()
        let pki = try TestPKI(in: scratch)
        let server = try Self.startTLSServer(scratch, pki: pki)
        defer { server.stop() }
        #expect(server.baseURL.hasPrefix("https://"))
        let listed = try CLI.run(
            [
                "project", "list", "--server", server.baseURL, "--token-file", "operator.token", "--ca-file",
                pki.path + "/ca.pem",
            ], in: scratch.path)
        #expect(listed.status == 0, "\(listed.error)")
        // Without the private CA the server's certificate is not trusted, and nothing is sent.
        let untrusted = try CLI.run(
            ["project", "list", "--server", server.baseURL, "--token-file", "operator.token"], in: scratch.path)
        #expect(untrusted.status != 0)
        // Every reply carries HSTS under TLS.
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(pki.path + "/ca.pem"))
        let client = HTTPClient(configuration: HTTPClient.Configuration(tlsConfiguration: tls))
        let reply = try await client.execute(HTTPClientRequest(url: server.baseURL + "/healthz"), timeout: .seconds(10))
        #expect(reply.status.code == 200)
        #expect(reply.headers["Strict-Transport-Security"].first == "max-age=31536000")
        try await client.shutdown()
    }

    @Test func mutualTLSAdmitsOnlyClientsWithACertificateFromTheCA() throws {
        let scratch = try Scratch()
        let pki = try TestPKI(in: scratch)
        let server = try Self.startTLSServer(scratch, pki: pki, mutual: true)
        defer { server.stop() }
        let common = [
            "project", "list", "--server", server.baseURL, "--token-file", "operator.token", "--ca-file",
            pki.path + "/ca.pem",
        ]
        let without = try CLI.run(common, in: scratch.path)
        #expect(without.status != 0)
        let with = try CLI.run(
            common + ["--client-cert", pki.path + "/client.pem", "--client-key", pki.path + "/client.key"],
            in: scratch.path)
        #expect(with.status == 0, "\(with.error)")
        // A client key that others can read is refused before anything is sent.
        chmod(pki.path + "/client.key", 0o644)
        let exposed = try CLI.run(
            common + ["--client-cert", pki.path + "/client.pem", "--client-key", pki.path + "/client.key"],
            in: scratch.path)
        #expect(exposed.status != 0)
        #expect(exposed.error.contains("others can read the client key"), "\(exposed.error)")
    }

    @Test func plainHTTPStaysOnLoopbackAndKeysStayPrivate() throws {
        let scratch = try Scratch()
        let pki = try TestPKI(in: scratch)
        // Refused before it binds: a non-loopback host without TLS, and a TLS key others can read.
        let open = try CLI.run(
            ["serve", "--data-dir", scratch.path + "/a", "--host", "0.0.0.0", "--port", "0"], in: scratch.path)
        #expect(open.status != 0)
        #expect(open.error.contains("is not loopback"), "\(open.error)")
        chmod(pki.path + "/server.key", 0o644)
        let exposed = try CLI.run(
            [
                "serve", "--data-dir", scratch.path + "/b", "--port", "0", "--tls-cert", pki.path + "/server.pem",
                "--tls-key", pki.path + "/server.key",
            ], in: scratch.path)
        #expect(exposed.status != 0)
        #expect(exposed.error.contains("others can read the TLS private key"), "\(exposed.error)")
    }

    /// The client decides "this machine" on the addresses a name resolves to, not on how the name is spelt.
    @Test(arguments: [
        ("127.0.0.1", true), ("127.12.0.9", true), ("::1", true), ("localhost", true), ("10.1.2.3", false),
        ("0.0.0.0", false), ("::ffff:10.0.0.1", false), ("192.0.2.1", false),
    ])
    func loopbackIsDecidedOnTheAddress(host: String, loopback: Bool) {
        #expect(ServiceConnection.isLoopback(host: host) == loopback)
    }

    @Test func hostsAreReadFromURLs() {
        #expect(ServiceConnection.host(of: "https://[::1]:8443") == "::1")
        #expect(ServiceConnection.host(of: "http://127.0.0.1.example.net:8080/base") == "127.0.0.1.example.net")
    }
}
