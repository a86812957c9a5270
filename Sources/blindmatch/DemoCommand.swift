import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchSynthetic

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole story on one machine: two agencies, the matching service and an auditor.",
        discussion:
            "Makes synthetic watch-list and bulk data, a linkage secret and a signing key per agency; both agencies tokenise and the auditor verifies both token files. Then the matching service starts inside this process on a loopback port: the operator creates the project and issues tokens, each agency uploads its token file, a run matches them, each agency fetches its own view of the results (evaluated against the truth), the auditor exports the audit log and verifies it, and the service stops. Everything happens in a temporary folder (or --directory, which must not hold an earlier demo's service/) and nothing leaves this machine."
    )

    /// One of the demo's two agencies: its registered name (the `party` of its token file), its side and its data.
    struct Agency: Sendable {
        let name: String
        let role: ServiceAPI.PartyRole
        /// The file `synth` writes for it.
        let input: String
    }

    /// The watch-list agency (side A).
    static let watchlistAgency = Agency(name: "agency-a", role: .watchlist, input: "watch.csv")
    /// The bulk data's holder (side B).
    static let bulkAgency = Agency(name: "council-b", role: .bulk, input: "bulk.csv")
    /// The matching service's data directory, inside the demo's folder.
    static let serviceDirectory = "service"

    @Option(help: ArgumentHelp("Keep the demo's files in this folder instead of a temporary one.", valueName: "dir"))
    var directory: String?

    @Option(help: "Bulk records to make.")
    var bulk = 50_000

    @Option(help: "Watch-list records to make.")
    var watch = 2_000

    @Flag(
        help:
            "At the end, keep the service running and print the web console's address and a one-time sign-in ticket for the operator; Ctrl-C stops it."
    )
    var console = false

    func run() async throws {
        try await reportingErrors {
            if let directory, !FileIO.exists(directory) {
                throw ProtocolError(.invalidArgument, "\(directory) does not exist")
            }
            let temporary = directory == nil ? try TemporaryDirectory(prefix: "blindmatch-demo") : nil
            let folder = directory ?? temporary?.path ?? "."
            let dataDirectory = "\(folder)/\(Self.serviceDirectory)"
            defer { temporary?.remove() }
            if FileIO.exists(dataDirectory) {
                throw ProtocolError(
                    .invalidArgument,
                    "\(dataDirectory) holds an earlier demo's matching service; remove it or choose another --directory"
                )
            }
            let (schema, keyID) = try prepareAgencies(in: folder)
            try await matchThroughTheService(in: folder, schema: schema, keyID: keyID)
            try compareEstimates(in: folder)
            if directory != nil { step("Files are in \(folder).") }
        }
    }

    /// Steps 1–6, on the agencies' side: schema, secret, signing keys, data, token files, and the auditor's check
    /// of both files. Returns the schema and the secret's key id, which the project registers.
    private func prepareAgencies(in folder: String) throws -> (LinkageSchema, String) {
        let (a, b) = (Self.watchlistAgency.name, Self.bulkAgency.name)
        let schema = try Examples.ukSchema()
        let schemaFile = try AtomicFile(destination: "\(folder)/uk-watchlist.json")
        try schemaFile.write(Examples.ukSchemaText)
        try schemaFile.commit()
        step("1. The agencies agree a linkage schema: \(schema.name), fingerprint \(schema.fingerprint.prefix(16))…")

        let secret = try LinkageSecret.generate()
        try secret.write(toFile: "\(folder)/project.secret")
        step(
            "2. \(a) makes the linkage secret (project.secret, mode 0600) and shares it with \(b) out of band: key id \(secret.keyID.hex); the matcher never holds it"
        )

        var keys: [String: SigningKey] = [:]
        for agency in [Self.watchlistAgency, Self.bulkAgency] {
            let key = try SigningKey.generate()
            keys[agency.name] = key
            let file = try AtomicFile(destination: "\(folder)/\(agency.name).key", mode: 0o600)
            try file.write(try key.privateKeyPEM())
            try file.commit()
            let publicFile = try AtomicFile(destination: "\(folder)/\(agency.name).pub")
            try publicFile.write(key.publicKey.pem())
            try publicFile.commit()
        }
        step(
            "3. Each agency makes a signing key pair (\(a).key, \(b).key, mode 0600); the public halves go to the matching operator"
        )

        let population = try SyntheticPopulation(.init(watchCount: watch, bulkCount: bulk, seed: 1))
        try population.write(toDirectory: folder, threads: Machine.cores)
        step(
            "4. Synthetic people (blindmatch synth): \(Format.count(watch)) on \(a)'s watch list, \(Format.count(bulk)) in \(b)'s bulk records, with typos, nicknames, moves, missing values and namesakes; truth.csv holds the true pairs"
        )

        for agency in [Self.watchlistAgency, Self.bulkAgency] {
            let job = TokeniseJob(
                schema: schema, secret: secret, input: "\(folder)/\(agency.input)",
                output: "\(folder)/\(agency.name).bmt", mapPath: "\(folder)/\(agency.name).map.csv",
                signingKey: keys[agency.name], party: agency.name, format: .bmt, threads: Machine.cores)
            let outcome = try job.run()
            step(
                "5. \(agency.name) tokenises \(agency.input) on its own machine: \(Format.count(outcome.statistics.records)) records in \(Format.decimal(outcome.seconds, places: 2)) s → \(agency.name).bmt (its local map \(agency.name).map.csv stays at home)"
            )
        }

        step(
            "5a. \(a) assesses its token file first (blindmatch assess): "
                + (try Assessment.verdict(
                    schema: schema, secret: secret, input: "\(folder)/\(Self.watchlistAgency.input)")))
        for agency in [Self.watchlistAgency, Self.bulkAgency] {
            let tokens = try TokenFile(contentsOf: "\(folder)/\(agency.name).bmt")
            let checks = tokens.verify(schema: schema, publicKey: keys[agency.name]?.publicKey)
            let failed = checks.filter { !$0.passed }
            step(
                "6. The auditor verifies \(agency.name).bmt: \(checks.count - failed.count)/\(checks.count) rules hold\(failed.isEmpty ? "" : " — FAILED: \(failed.map(\.rule))")"
            )
            guard failed.isEmpty else { throw ExitCode(1) }
        }
        return (schema, secret.keyID.hex)
    }

    /// Step 16: the run's report, which the model made without ground truth, beside the truth of the watch list's
    /// view (which only a demo has).
    private func compareEstimates(in folder: String) throws {
        let (a, b) = (Self.watchlistAgency.name, Self.bulkAgency.name)
        let report = try LinkageReportOutput.readJSON("\(folder)/\(Self.runReport)")
        let (truth, _) = try EvaluateCommand.evaluate(
            matches: "\(folder)/\(a).results.csv", mapA: "\(folder)/\(a).map.csv", mapB: "\(folder)/\(b).map.csv",
            truth: "\(folder)/truth.csv")
        step(
            "16. The run's report (\(Self.runReport), docs/decision-model.md): the decision model's estimates, made without ground truth, beside the truth of \(a)'s view:"
        )
        step(
            EvaluateCommand.comparison(estimate: report.estimate, truth: truth).split(separator: "\n").dropFirst()
                .joined(separator: "\n"))
    }

    func step(_ text: String) { Console.output(text + "\n") }
}
