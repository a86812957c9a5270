import ArgumentParser
import NIOCore

struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Send a party's token file to the matching service, or withdraw one sent before.",
        discussion:
            "`blindmatch upload --project P --party NAME FILE` is `blindmatch upload send …`. Each command keeps the service's receipt in --receipts.",
        subcommands: [UploadSendCommand.self, UploadWithdrawCommand.self],
        defaultSubcommand: UploadSendCommand.self)
}

struct UploadWithdrawCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw",
        abstract: "Withdraw one of your party's uploads: no run uses it after this.",
        discussion:
            "Runs awaiting approval, queued or computing on it fail with `uploadWithdrawn`. If it was your current upload, your party has none until it uploads again (an earlier upload never becomes current again). The service removes the file once no upload of an open project uses it. Keeps the receipt in --receipts."
    )

    @OptionGroup var connection: ServiceConnection
    @OptionGroup var receipts: ReceiptOptions

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Argument(help: ArgumentHelp("The upload's id.", valueName: "upload-id"))
    var id: String

    func run() async throws {
        try await reportingErrors {
            let upload: ServiceAPI.Upload = try await connection.withClient { client in
                try await receipts.send(
                    Endpoint(.POST, "projects", project, "uploads", id, "withdraw"), action: "upload.withdrawn",
                    project: project, client: client)
            }
            Console.output("\(upload.id.printable)\nwithdrawn \((upload.withdrawnAt ?? "-").printable)\n")
        }
    }
}

struct UploadSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a party's token file to the matching service.",
        discussion:
            "Needs that party's own token (the operator cannot upload for a party). The file is streamed from disk, never held in memory, and checked on arrival (SPEC §6.6, §6.7): signed by the party's registered key, the project's schema fingerprint and key id, the party's name, the same filter length and match keys as the project's other uploads, no plaintext. A refused file is not kept, and the message names the rule it broke, as `blindmatch verify` does; check it with `blindmatch verify` first. An accepted file becomes the party's current upload (what a run uses by default). Prints the upload's id on the first line, then its records, size and SHA-256, which must equal the file's."
    )

    @OptionGroup var connection: ServiceConnection
    @OptionGroup var receipts: ReceiptOptions

    @Option(help: ArgumentHelp("The project's id.", valueName: "project-id"))
    var project: String

    @Option(help: ArgumentHelp("Your party's registered name.", valueName: "name"))
    var party: String

    @Argument(help: ArgumentHelp("The token file (from `blindmatch tokenise`).", valueName: "file.bmt"))
    var file: String

    func run() async throws {
        try await reportingErrors {
            let upload = try await Self.upload(
                file, project: project, party: party, connection: connection, receipts: receipts)
            Console.output(
                """
                \(upload.id.printable)
                \(Format.count(upload.records)) records, \(Format.count(upload.bytes)) bytes, sha256 \(upload.sha256) (the file's)
                party \(upload.party.printable) of \(upload.project.printable), signed by key \(upload.signer.printable)
                \(upload.filterBits)-bit filters; match keys \(upload.matchKeys.joined(separator: ", ").printable)
                \(upload.current ? "now the party's current upload" : "not the party's current upload")

                """)
        }
    }

    /// Streams the token file at `path` to `party`'s uploads (with that party's token), showing progress on a
    /// terminal, and returns the accepted upload once its SHA-256 is checked against the bytes sent.
    static func upload(
        _ path: String, project: String, party: String, connection: ServiceConnection, receipts: ReceiptOptions
    ) async throws -> ServiceAPI.Upload {
        let body = try FileBody(path: path, progressLabel: "uploading \(path)")
        let endpoint = Endpoint(.POST, "projects", project, "parties", party, "uploads")
        let upload: ServiceAPI.Upload = try await connection.withClient { client in
            defer { body.finishProgress() }
            let response = try await client.response(
                endpoint, body: .stream(body, length: .known(Int64(body.size))),
                contentType: "application/vnd.blindmatch.tokens", deadline: .distantFuture)
            try ServiceClient.expect(response, contentType: "application/json", for: endpoint, from: client.server)
            let bytes = try await client.collect(response, upTo: ServiceClient.maximumJSONBytes, for: endpoint)
            try receipts.keep(response, action: "upload.accepted", project: project, server: client.server)
            return try client.decode(ServiceAPI.Upload.self, from: bytes, for: endpoint)
        }
        guard let sent = body.sha256, sent == upload.sha256 else {
            throw ClientError(
                .invalidResponse,
                "the server recorded upload \(upload.id.printable) with SHA-256 \(upload.sha256.printable), but the file sent has \(body.sha256 ?? "an unfinished digest")"
            )
        }
        return upload
    }
}
