import ArgumentParser
import BlindmatchProtocol

struct TokeniseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenise",
        abstract: "Turn a CSV of personal records into a signed token file (run by the agency, on its own machine).",
        discussion:
            "Streams the CSV in constant memory on every core. Writes the token file and the local map (row → your record key; it never leaves the agency) atomically: on any error neither appears. Ends with a data-quality report per field. Invalid values (a bad date, postcode or NINO) become missing and never match.",
        aliases: ["tokenize"])

    @Option(help: ArgumentHelp("The project's linkage schema (native or clkhash v3).", valueName: "schema.json"))
    var schema: String

    @Option(
        name: .customLong("secret-file"), help: ArgumentHelp("The linkage secret file (mode 0600).", valueName: "file"))
    var secretFile: String

    @Option(help: ArgumentHelp("The records, CSV with a header row matching the schema.", valueName: "data.csv"))
    var input: String

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The token file (or JSON for --format anonlink-json).", valueName: "tokens.bmt"))
    var output: String

    @Option(help: ArgumentHelp("The local map (default: the output name with .map.csv).", valueName: "map.csv"))
    var map: String?

    @Option(
        name: .customLong("signing-key"),
        help: ArgumentHelp("This party's Ed25519 private key (PEM, mode 0600).", valueName: "key"))
    var signingKey: String?

    @Option(help: "This party's name, as registered with the matcher.")
    var party = "agency"

    @Option(
        help: ArgumentHelp(
            "bmt (token file) or anonlink-json ({\"clks\": [...]}, as clkhash writes).", valueName: "format"))
    var format = "bmt"

    @Option(help: "Worker threads (default: every core).")
    var threads: Int?

    func validate() throws {
        guard TokeniseJob.OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be bmt or anonlink-json")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard TokenFileHeader.isValidParty(party) else {
            throw ValidationError(
                "--party must be 1 to \(TokenFileHeader.maximumPartyLength) characters with no control characters")
        }
    }

    func run() throws {
        try reportingErrors {
            let linkageSchema = try LinkageSchema(contentsOfFile: schema)
            let secret = try LinkageSecret(contentsOfFile: secretFile)
            let key = try signingKey.map { try SigningKey(contentsOfFile: $0) }
            let outputFormat = TokeniseJob.OutputFormat(rawValue: format) ?? .bmt
            let mapPath = outputFormat == .bmt ? (map ?? Self.defaultMapPath(for: output)) : nil
            let job = TokeniseJob(
                schema: linkageSchema, secret: secret, input: input, output: output, mapPath: mapPath,
                signingKey: key, party: party, format: outputFormat, threads: threads ?? Machine.cores)
            let outcome = try job.run()
            Console.output(Self.report(outcome, job: job))
        }
    }

    static func defaultMapPath(for output: String) -> String {
        (output.hasSuffix(".bmt") ? String(output.dropLast(4)) : output) + ".map.csv"
    }

    static func report(_ outcome: TokeniseJob.Outcome, job: TokeniseJob) -> String {
        let records = outcome.statistics.records
        let rate = Double(records) / max(outcome.seconds, 1e-9)
        var lines = [
            "tokenised \(Format.count(records)) records in \(Format.decimal(outcome.seconds, places: 2)) s (\(Format.count(Int(rate))) records/s, \(job.threads) threads)",
            "wrote \(job.output)" + (job.mapPath.map { " and the local map \($0) (keep it inside the agency)" } ?? ""),
        ]
        if let summary = outcome.summary {
            lines.append(
                "key id \(summary.header.keyID), schema \(summary.header.schemaFingerprint.prefix(16))…, SHA-256 \(Hex.encode(summary.digest).prefix(16))…, \(job.signingKey == nil ? "unsigned" : "signed")"
            )
        }
        let statistics = outcome.statistics
        var fields: [(key: String, value: JSONValue)] = []
        for (index, column) in job.schema.columns.enumerated() {
            if case .ignored = column.format { continue }
            if index == job.schema.recordKeyColumn && job.schema.flavour == .native { continue }
            let counts = statistics.columns[index]
            fields.append(
                (
                    column.name,
                    .object([
                        ("present", .number(String(counts.present))), ("missing", .number(String(counts.missing))),
                        ("invalid", .number(String(counts.invalid))), ("changed", .number(String(counts.changed))),
                    ])
                ))
        }
        lines.append(QualityReport.render(fields: fields, records: records))
        if !job.schema.matchKeys.isEmpty {
            lines.append("match-key tokens made:")
            for (key, count) in zip(job.schema.matchKeys, statistics.matchKeysPresent) {
                let share = records > 0 ? Format.decimal(100 * Double(count) / Double(records), places: 1) : "0.0"
                lines.append("  \(key.name): \(Format.count(count)) (\(share)%)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
