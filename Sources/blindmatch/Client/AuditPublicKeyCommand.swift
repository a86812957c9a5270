import ArgumentParser
import BlindmatchAudit
import BlindmatchProtocol

struct AuditPublicKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public-key",
        abstract: "Fetch the matcher's checkpoint-signing public key (PEM) and print its fingerprint.",
        discussion:
            "Auditor or operator. A convenience only: a key fetched from the matcher proves nothing against a dishonest matcher, so compare the fingerprint printed with one obtained out of band before trusting `audit verify` with it (SPEC §10.4)."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the key.", valueName: "matcher.pub"))
    var output: String

    func run() async throws {
        try await reportingErrors {
            let file = try AtomicFile(destination: output, mode: 0o644)
            let endpoint = Endpoint(.GET, "audit", "public-key")
            try await connection.withClient { client in
                let response = try await client.response(endpoint, accept: "application/x-pem-file")
                try ServiceClient.expect(
                    response, contentType: "application/x-pem-file", for: endpoint, from: client.server)
                let body = try await client.collect(response, upTo: 1 << 12, for: endpoint)
                try body.withUnsafeReadableBytes { try file.write($0) }
            }
            try file.flush()
            let key: PublicSigningKey
            do {
                key = try PublicSigningKey(contentsOfFile: file.temporaryPath)
            } catch {
                throw ClientError(.invalidResponse, "\(endpoint): the server's answer is not a PEM Ed25519 public key")
            }
            try file.commit()
            Console.output(
                "fingerprint: \(key.fingerprint)\nwrote \(output); compare the fingerprint with the one obtained out of band\n"
            )
        }
    }
}
