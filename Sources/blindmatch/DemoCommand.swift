import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the story end to end on one machine with the embedded example project.",
        discussion:
            "Makes synthetic watch-list and bulk data, a linkage secret and a signing key per agency; both agencies tokenise; the auditor verifies both token files; the engine matches the tokens; the result is evaluated against the truth. Everything happens in a temporary folder (or --directory) and nothing leaves this machine."
    )

    @Option(help: ArgumentHelp("Keep the demo's files in this folder instead of a temporary one.", valueName: "dir"))
    var directory: String?

    @Option(help: "Bulk records to make.")
    var bulk = 50_000

    @Option(help: "Watch-list records to make.")
    var watch = 2_000

    func run() throws {
        try reportingErrors {
            let temporary = directory == nil ? try TemporaryDirectory(prefix: "blindmatch-demo") : nil
            defer { temporary?.remove() }
            let folder = directory ?? temporary?.path ?? "."
            if let directory, !FileIO.exists(directory) {
                throw ProtocolError(.invalidArgument, "\(directory) does not exist")
            }
            let schema = try Examples.ukSchema()
            let schemaPath = "\(folder)/uk-watchlist.json"
            let schemaFile = try AtomicFile(destination: schemaPath)
            try schemaFile.write(Examples.ukSchemaText)
            try schemaFile.commit()
            step(
                "1. The project agrees a linkage schema: \(schema.name), fingerprint \(schema.fingerprint.prefix(16))…")

            let secret = try LinkageSecret.generate()
            try secret.write(toFile: "\(folder)/project.secret")
            step(
                "2. One agency makes the linkage secret (mode 0600) and shares it out of band: key id \(secret.keyID.hex)"
            )

            var keys: [String: SigningKey] = [:]
            for party in ["watchlist", "bulk"] {
                let key = try SigningKey.generate()
                keys[party] = key
                let file = try AtomicFile(destination: "\(folder)/\(party).key", mode: 0o600)
                try file.write(try key.privateKeyPEM())
                try file.commit()
                let publicFile = try AtomicFile(destination: "\(folder)/\(party).pub")
                try publicFile.write(key.publicKey.pem())
                try publicFile.commit()
            }
            step("3. Each agency makes a signing key pair; the public halves go to the matcher's registry")

            let population = try SyntheticPopulation(.init(watchCount: watch, bulkCount: bulk, seed: 1))
            try population.write(toDirectory: folder, threads: Machine.cores)
            step(
                "4. Synthetic people (blindmatch synth): \(Format.count(watch)) on the watch list, \(Format.count(bulk)) bulk records, with typos, nicknames, moves, missing values and namesakes; truth.csv holds the true pairs"
            )

            for party in ["watchlist", "bulk"] {
                let input = party == "bulk" ? "bulk.csv" : "watch.csv"
                let job = TokeniseJob(
                    schema: schema, secret: secret, input: "\(folder)/\(input)", output: "\(folder)/\(party).bmt",
                    mapPath: "\(folder)/\(party).map.csv", signingKey: keys[party], party: party, format: .bmt,
                    threads: Machine.cores)
                let outcome = try job.run()
                step(
                    "5. \(party) tokenises on its own machine: \(Format.count(outcome.statistics.records)) records in \(Format.decimal(outcome.seconds, places: 2)) s → \(party).bmt (its local map stays at home)"
                )
            }

            for party in ["watchlist", "bulk"] {
                let tokens = try TokenFile(contentsOf: "\(folder)/\(party).bmt")
                let checks = tokens.verify(schema: schema, publicKey: keys[party]?.publicKey)
                let failed = checks.filter { !$0.passed }
                step(
                    "6. The auditor verifies \(party).bmt: \(checks.count - failed.count)/\(checks.count) rules hold\(failed.isEmpty ? "" : " — FAILED: \(failed.map(\.rule))")"
                )
                guard failed.isEmpty else { throw ExitCode(1) }
            }

            let watchTokens = try TokenFile(contentsOf: "\(folder)/watchlist.bmt")
            let bulkTokens = try TokenFile(contentsOf: "\(folder)/bulk.bmt")
            let settings = MatchEngine.Settings(
                threshold: try DiceThreshold(MatchDefaults.threshold), reviewFrom: try DiceThreshold("0.75"),
                solver: MatchDefaults.solver, threads: Machine.cores,
                vetoKeys: MatchDefaults.veto.compactMap(watchTokens.header.matchKeys.firstIndex(of:)))
            let start = Clock.now()
            let (results, report) = try MatchEngine(settings: settings).run(watchTokens, bulkTokens)
            try MatchOutput.write(results, header: watchTokens.header, to: "\(folder)/matches.csv")
            let matches = results.filter { $0.status == .match }.count
            let byKeys = results.filter { $0.rule != .bloom }.count
            step(
                "7. The matcher compares tokens only (offline engine; the service comes next): \(Format.count(matches)) matches and \(Format.count(results.count - matches)) possible matches for review in \(Format.decimal(Clock.now() - start, places: 2)) s (\(Format.count(byKeys)) found by match keys, \(Format.count(results.count - byKeys)) by Bloom filters after \(Format.count(report.comparisons)) filter comparisons)"
            )

            let (certain, withPossible) = try EvaluateCommand.evaluate(
                matches: "\(folder)/matches.csv", mapA: "\(folder)/watchlist.map.csv", mapB: "\(folder)/bulk.map.csv",
                truth: "\(folder)/truth.csv")
            step("8. Against the truth (which only a demo has): matches: \(certain)")
            step("   matches and possible: \(withPossible)")
            if directory != nil { step("Files are in \(folder).") }
        }
    }

    private func step(_ text: String) { Console.output(text + "\n") }
}
