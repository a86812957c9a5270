import ArgumentParser
import BlindmatchAudit
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
            let (checkpoint, bytes, lines) = try await Self.export(into: output, connection: connection)
            Console.output(
                """
                last checkpoint: \(checkpoint?.printable ?? "none given (no Blindmatch-Last-Checkpoint header)")
                wrote \(output) (\(Format.count(lines)) entries, \(Format.count(bytes)) bytes); check it with `blindmatch audit verify \(output) --public-key MATCHER.pub`

                """)
        }
    }

    /// Streams the whole audit log (auditor or operator) into `output` (mode 0600), which appears only once
    /// complete; returns the `Blindmatch-Last-Checkpoint` header (nil without one), the bytes and the entries.
    static func export(
        into output: String, connection: ServiceConnection
    ) async throws -> (checkpoint: String?, bytes: Int, lines: Int) {
        let file = try AtomicFile(destination: output, mode: 0o600)
        InterruptCleanup.install(removing: [file.temporaryPath])
        defer { InterruptCleanup.uninstall() }
        let endpoint = Endpoint(.GET, "audit", "log")
        let progress = Progress(label: "exporting the audit log", totalBytes: nil)
        defer { progress.finish() }
        let exported = try await connection.withClient { client in
            let response = try await client.response(endpoint, accept: "application/jsonl", deadline: .distantFuture)
            try ServiceClient.expect(response, contentType: "application/jsonl", for: endpoint, from: client.server)
            var bytes = 0
            var lines = 0
            try await client.stream(response, for: endpoint) { buffer in
                bytes += buffer.readableBytes
                lines += buffer.readableBytesView.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                try buffer.withUnsafeReadableBytes { try file.write($0) }
                progress.update(records: lines, bytes: 0)
            }
            return (checkpoint: response.headers.first(name: "Blindmatch-Last-Checkpoint"), bytes: bytes, lines: lines)
        }
        try file.commit()
        return exported
    }
}
