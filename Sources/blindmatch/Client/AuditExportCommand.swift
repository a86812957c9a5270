import ArgumentParser
import BlindmatchProtocol
import NIOCore

struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the matcher's whole audit log (JSON Lines) into a file, for `audit verify`.",
        discussion:
            "Auditor or operator. The export itself is logged (audit.exported, then a checkpoint), so every export starts at seq 0 and ends with a checkpoint. The log is streamed to disk, never held in memory, and appears only once complete. Prints the final checkpoint's seq and hash (the Blindmatch-Last-Checkpoint header): keep them, and check the next export against them, since a log cut back to an earlier checkpoint still verifies (SPEC §10.6). Then check the file with `blindmatch audit verify FILE --public-key matcher.pub`, with the matcher's key obtained out of band."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the log.", valueName: "audit.jsonl"))
    var output: String

    func run() async throws {
        try await reportingErrors {
            let file = try AtomicFile(destination: output, mode: 0o600)
            InterruptCleanup.install(removing: [file.temporaryPath])
            defer { InterruptCleanup.uninstall() }
            let endpoint = Endpoint(.GET, "audit", "log")
            let (checkpoint, bytes, lines) = try await connection.withClient { client in
                let response = try await client.response(
                    endpoint, accept: "application/jsonl", deadline: .distantFuture)
                try ServiceClient.expect(response, contentType: "application/jsonl", for: endpoint, from: client.server)
                var bytes = 0
                var lines = 0
                try await client.stream(response, for: endpoint) { buffer in
                    bytes += buffer.readableBytes
                    lines += buffer.readableBytesView.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    try buffer.withUnsafeReadableBytes { try file.write($0) }
                }
                return (response.headers.first(name: "Blindmatch-Last-Checkpoint"), bytes, lines)
            }
            try file.commit()
            Console.output(
                """
                last checkpoint: \(checkpoint?.printable ?? "none given (no Blindmatch-Last-Checkpoint header)")
                wrote \(output) (\(Format.count(lines)) entries, \(Format.count(bytes)) bytes); check it with `blindmatch audit verify \(output) --public-key MATCHER.pub`

                """)
        }
    }
}
