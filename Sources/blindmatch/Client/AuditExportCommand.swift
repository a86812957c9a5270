import ArgumentParser
import BlindmatchAudit
import BlindmatchProtocol
import NIOCore

struct AuditExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the matcher's whole audit log (JSON Lines) into a file, for `audit verify`.",
        discussion:
            "Auditor or operator. The export itself is logged (audit.exported, then a checkpoint), so every export starts at seq 0 and ends with a checkpoint. The log is streamed to disk, never held in memory, and appears only once complete. Prints the final checkpoint's seq and hash as read from the exported lines themselves (and refuses an export whose Blindmatch-Last-Checkpoint header disagrees with them, or that does not end with a checkpoint): keep them, and check the next export against them with `audit verify --previous SEQ:HASH`, since a log cut back to an earlier checkpoint still verifies on its own (SPEC §10.6). Then check the file with `blindmatch audit verify FILE --public-key matcher.pub`, with the matcher's key obtained out of band."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the log.", valueName: "audit.jsonl"))
    var output: String

    func run() async throws {
        try await reportingErrors {
            let (header, bytes, lines) = try await Self.export(into: output, connection: connection)
            // The last checkpoint as the exported lines hold it, not as a header says.
            let entries = AuditReceipt.entries(jsonLines: try FileIO.readAll(output))
            guard let last = entries.max(by: { $0.key < $1.key })?.value, last.action == .checkpoint,
                entries.count == lines
            else {
                throw ClientError(
                    .invalidResponse,
                    "\(output): the exported log does not end with a readable checkpoint; check it with `blindmatch audit verify`"
                )
            }
            if let header, AuditReceipt(header: header).map({ $0.seq != last.seq || $0.hash != last.hash }) ?? true {
                throw ClientError(
                    .invalidResponse,
                    "\(output): the Blindmatch-Last-Checkpoint header (\(header.printable)) is not the export's last checkpoint (\(last.seq):\(last.hash))"
                )
            }
            Console.output(
                """
                last checkpoint: \(last.seq):\(last.hash) (from the exported lines; give it as `audit verify --previous` next time)
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
