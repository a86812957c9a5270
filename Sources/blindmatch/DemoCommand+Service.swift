import ArgumentParser
import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchServer

extension DemoCommand {
    /// Steps 7–15, through the matching service embedded in this process and its HTTP API, with the client
    /// commands' own code: each actor (operator, agency, auditor) presents its own bearer token from a 0600 file.
    func matchThroughTheService(in folder: String, schema: LinkageSchema, keyID: String) async throws {
        let dataDirectory = "\(folder)/\(Self.serviceDirectory)"
        var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
        configuration.port = 0
        configuration.threads = Machine.cores
        configuration.logLevel = .warning
        try await EmbeddedService.serving(configuration) { port, firstToken, service in
            guard let token = firstToken else {
                throw ServerError(.startup, "\(dataDirectory) already has an operator token")
            }
            let tokenFile = try AtomicFile(destination: "\(folder)/operator.token", mode: 0o600)
            try tokenFile.write(token + "\n")
            try tokenFile.commit()
            let server = "http://127.0.0.1:\(port)"
            step(
                "7. The matcher starts the matching service in this process, listening on \(server) (loopback only; data directory \(Self.serviceDirectory)/, mode 0700); the operator's first token is in operator.token (mode 0600)"
            )
            let run = try await setUpAndRun(in: folder, server: server, schema: schema, keyID: keyID)
            try await fetchAndEvaluate(run, in: folder, server: server)
            try await audit(in: folder, server: server, dataDirectory: dataDirectory)
            if console { try await keepServingTheConsole(server: server, operatorToken: token, service: service) }
        }
        step("15. The matcher stops the service (gracefully); nothing left this machine")
    }

    /// Steps 8–11: the operator creates the project and issues the tokens, both agencies upload, a run matches.
    /// Returns the succeeded run's project and id.
    private func setUpAndRun(
        in folder: String, server: String, schema: LinkageSchema, keyID: String
    ) async throws -> (project: String, run: String) {
        let (a, b) = (Self.watchlistAgency, Self.bulkAgency)
        let operatorConnection = try ServiceConnection(server: server, tokenFile: "\(folder)/operator.token")
        let request = ServiceAPI.ProjectRequest(
            name: "Demo: \(a.name) watch list against \(b.name) records",
            purpose: "Find the people on \(a.name)'s watch list among \(b.name)'s records",
            legalBasis: "None needed: synthetic people made by blindmatch demo", schemaFingerprint: schema.fingerprint,
            layout: ProjectCreateCommand.layout(of: schema), keyId: keyID,
            parties: try [a, b].map {
                try ProjectCreateCommand.party(named: $0.name, role: $0.role, publicKeyFile: "\(folder)/\($0.name).pub")
            },
            // The service's defaults: no threshold given, so each run's decision model chooses (`auto`), with no
            // review band (the model has none).
            matching: ServiceAPI.MatchingSettings(
                solver: ServiceAPI.Solver(rawValue: MatchDefaults.solver.rawValue), vetoKeys: MatchDefaults.veto,
                blocking: true),
            disclosure: ProjectCreateCommand.defaultPolicy(hasReviewBand: false),
            // The service's default run policy, with its smallest uploads lowered to the demo's sizes when they are
            // smaller (`--watch`, `--bulk`).
            runPolicy: ServiceAPI.RunPolicy(
                minimumRecords: .init(watchlist: min(100, watch), bulk: min(1_000, bulk))))
        let project = try await ProjectCreateCommand.create(request, connection: operatorConnection)
        step(
            "8. The operator creates project \(project.id.printable) with both agencies and their public keys: \(ProjectSummary.settings(project.matching))"
        )
        let grants = project.disclosure.grants.map { grant in
            "\(project.parties.first { $0.role == grant.role }?.name ?? grant.role.rawValue) \(ProjectSummary.reading(grant))"
        }
        step("   disclosure: \(grants.joined(separator: "; "))".printable)

        var issued: [String] = []
        for agency in [a, b] {
            let request = ServiceAPI.TokenRequest.party(project: project.id, party: agency.name)
            let info = try await TokenIssueCommand.issue(
                request, into: "\(folder)/\(agency.name).token", connection: operatorConnection)
            issued.append("\(agency.name).token (\(info.id))")
        }
        let auditor = try await TokenIssueCommand.issue(
            .staff(auditor: true, name: "auditor"),
            into: "\(folder)/auditor.token", connection: operatorConnection)
        step(
            "9. The operator issues bearer tokens into files of mode 0600, handed over out of band: \(issued.joined(separator: " and ")) for the agencies, auditor.token (\(auditor.id)) for the auditor"
                .printable)
        for agency in [a, b] {
            let caller = try await TokenActivateCommand.activate(
                signingKey: try SigningKey(contentsOfFile: "\(folder)/\(agency.name).key"),
                connection: try ServiceConnection(server: server, tokenFile: "\(folder)/\(agency.name).token"))
            step(
                "   \(agency.name) activates its token by signing its challenge with \(agency.name).key: the token is bound to key \(caller.partyKey?.fingerprint.prefix(16) ?? "-")…, so a token the operator minted alone reads nothing"
                    .printable)
        }

        for agency in [a, b] {
            let start = Clock.now()
            let upload = try await UploadSendCommand.upload(
                "\(folder)/\(agency.name).bmt", project: project.id, party: agency.name,
                connection: try ServiceConnection(server: server, tokenFile: "\(folder)/\(agency.name).token"),
                receipts: Self.receipts(of: agency.name, in: folder))
            step(
                "10. \(agency.name) uploads \(agency.name).bmt, streamed: accepted as \(upload.id), \(Format.count(upload.records)) records, \(Format.count(upload.bytes)) bytes in \(Format.decimal(Clock.now() - start, places: 2)) s, SHA-256 \(upload.sha256.prefix(16))… as sent, signed by its registered key"
                    .printable)
        }

        let watchConnection = try ServiceConnection(server: server, tokenFile: "\(folder)/\(a.name).token")
        let requested = try await RunStartCommand.start(
            ServiceAPI.RunRequest(watchlistUpload: nil, bulkUpload: nil), project: project.id, waiting: false,
            connection: watchConnection, receipts: Self.receipts(of: a.name, in: folder)
        ) { run in
            step(
                "11. \(a.name) requests run \(run.id) of both current uploads: \(run.status.rawValue), as the project's run policy says (\(ProjectSummary.runPolicy(project.runPolicy)))"
                    .printable)
        }
        let approved = try await RunApproveCommand.approve(
            requested.id, project: project.id,
            connection: try ServiceConnection(server: server, tokenFile: "\(folder)/\(b.name).token"),
            receipts: Self.receipts(of: b.name, in: folder))
        step(
            "    \(b.name) checks the run's uploads (its own \(approved.bulkUpload) among them) and approves it: \(approved.status.rawValue); the matcher compares tokens only"
                .printable)
        let run = try await watchConnection.withClient { client in
            try await RunStartCommand.follow(approved, project: project.id, client: client)
        }
        guard run.status == .succeeded else {
            Console.error("blindmatch: error: \(RunSummary.failure(of: run))\n")
            throw ExitCode(1)
        }
        // The operator reads the operational counts; each party reads only those of its own grant.
        let operatorView: ServiceAPI.Run = try await operatorConnection.withClient { client in
            try await client.json(Endpoint(.GET, "projects", project.id, "runs", run.id))
        }
        let count = RunListCommand.count
        let summary = operatorView.summary
        step(
            "    run \(run.id) succeeded: \(count(summary?.matches)) matches and \(count(summary?.possible)) possible matches for review in \(summary?.seconds.map { Format.decimal($0, places: 2) } ?? "-") s (\(count(summary?.comparisons)) filter comparisons), as the operator reads it"
                .printable)
        let bulkView: ServiceAPI.Run = try await ServiceConnection(
            server: server, tokenFile: "\(folder)/\(b.name).token"
        ).withClient { client in try await client.json(Endpoint(.GET, "projects", project.id, "runs", run.id)) }
        step(
            "    what each party's run reply discloses: \(a.name) \(Self.counts(run.summary)); \(b.name) \(Self.counts(bulkView.summary))"
                .printable)
        return (project.id, run.id)
    }

    /// Where an agency's commands keep their receipts in the demo: `<agency>.receipts/`.
    static func receipts(of agency: String, in folder: String) -> ReceiptOptions {
        var options = ReceiptOptions()
        options.directory = "\(folder)/\(agency).receipts"
        return options
    }

    /// The counts a run reply carries, and `-` for those withheld: `2,000 × - records, 1,870 matches, …`.
    static func counts(_ summary: ServiceAPI.Run.SummaryPayload?) -> String {
        let count = RunListCommand.count
        return "\(count(summary?.watchlistRecords)) × \(count(summary?.bulkRecords)) records, "
            + "\(count(summary?.matches)) matches, \(count(summary?.possible)) possible, "
            + "\(count(summary?.comparisons)) comparisons"
    }

    /// Steps 12–13: each agency fetches its own view of the run; the watch list's view is evaluated against the
    /// truth, which only a demo has.
    private func fetchAndEvaluate(_ run: (project: String, run: String), in folder: String, server: String) async throws
    {
        let (a, b) = (Self.watchlistAgency, Self.bulkAgency)
        var views: [String: (rows: Int, columns: [String])] = [:]
        for agency in [a, b] {
            let path = "\(folder)/\(agency.name).results.csv"
            let (rows, _) = try await ResultsCommand.fetch(
                project: run.project, run: run.run, party: agency.name, into: path,
                connection: try ServiceConnection(server: server, tokenFile: "\(folder)/\(agency.name).token"),
                receipts: Self.receipts(of: agency.name, in: folder))
            views[agency.name] = (rows, try CSVReader(path: path).header)
        }
        var byKeys = 0
        var byFilters = 0
        try EvaluateCommand.forEachRecord(
            "\(folder)/\(a.name).results.csv", header: ["row", "counterpart_row", "rule", "score", "status"]
        ) { fields, _ in
            if fields[2] == "bloom" { byFilters += 1 } else { byKeys += 1 }
        }
        let watchView = views[a.name] ?? (0, [])
        let bulkView = views[b.name] ?? (0, [])
        step(
            "12. \(a.name) fetches its view: \(Format.count(watchView.rows)) rows → \(a.name).results.csv (\(watchView.columns.joined(separator: ", "))); \(Format.count(byKeys)) found by match keys, \(Format.count(byFilters)) by Bloom filters"
                .printable)
        let bulkHolds =
            bulkView.columns == ["row"]
            ? "holds only row numbers: which of its records matched, nothing about the watch list"
            : "holds \(bulkView.columns.joined(separator: ", "))"
        step(
            "    \(b.name) fetches its view: \(Format.count(bulkView.rows)) rows → \(b.name).results.csv, which \(bulkHolds)"
                .printable)

        let (certain, withPossible) = try EvaluateCommand.evaluate(
            matches: "\(folder)/\(a.name).results.csv", mapA: "\(folder)/\(a.name).map.csv",
            mapB: "\(folder)/\(b.name).map.csv", truth: "\(folder)/truth.csv")
        step("13. Against the truth (which only a demo has), \(a.name)'s view: matches: \(certain)")
        // The model has no review band: possible pairs only where the project has one.
        if "\(withPossible)" != "\(certain)" { step("    matches and possible: \(withPossible)") }

        // The operator keeps the run's quality report (aggregates only), as `run report --output` does; the last
        // step puts its estimates beside the truth.
        let report: LinkageReport = try await ServiceConnection(
            server: server, tokenFile: "\(folder)/operator.token"
        ).withClient { client in
            try await client.json(Endpoint(.GET, "projects", run.project, "runs", run.run, "report"))
        }
        try LinkageReportOutput.writeJSON(report, to: "\(folder)/\(Self.runReport)")
        let chosen =
            report.thresholdChosen
            ? "the decision model chose match weight \(Format.decimal(report.threshold, places: 2))"
            : "the fixed rule decided at Dice \(report.diceThreshold.map { Format.decimal($0, places: 2) } ?? "-")"
                + (report.thresholdFallback.map { " (the model could not choose: \($0))" } ?? "")
        step(
            "    the operator saves the run's quality report (GET …/report, aggregates only) → \(Self.runReport): \(chosen)"
        )
    }

    /// Where the demo keeps the run's quality report, in its folder.
    static let runReport = "run-report.json"

    /// Step 14: the auditor exports the audit log and checks it against the matcher's key, which the auditor holds
    /// from out of band (here: the data directory's `matcher.pub`, never one fetched from the service).
    private func audit(in folder: String, server: String, dataDirectory: String) async throws {
        let log = "\(folder)/audit.jsonl"
        let exported = try await AuditExportCommand.export(
            into: log, connection: try ServiceConnection(server: server, tokenFile: "\(folder)/auditor.token"))
        let key = try PublicSigningKey(contentsOfFile: "\(dataDirectory)/matcher.pub")
        let result = AuditVerification(jsonLines: try FileIO.readAll(log), publicKey: key)
        guard result.isValid else {
            for failure in result.failures.prefix(10) { Console.error("FAIL  \(failure)\n") }
            throw AuditError(
                .invalidAuditLog, "\(log): the audit log does not verify (\(result.failureCount) failures)")
        }
        step(
            "14. The auditor exports the audit log (\(Format.count(exported.lines)) entries → audit.jsonl) and verifies it with matcher.pub, obtained out of band: the chain holds, \(result.checkpointCount) \(result.checkpointCount == 1 ? "checkpoint verifies" : "checkpoints verify"), every entry is signed"
        )
        // Each agency checks the receipts its commands kept against the export: every action it took is in the log.
        let entries = AuditReceipt.entries(jsonLines: try FileIO.readAll(log))
        var held: [String] = []
        for agency in [Self.watchlistAgency, Self.bulkAgency] {
            let receipts = try ReceiptFile.all(in: Self.receipts(of: agency.name, in: folder).directory)
            for (path, receipt) in receipts {
                let problems = AuditReceipt.problems(of: receipt, in: entries)
                guard problems.isEmpty else {
                    throw AuditError(.invalidAuditLog, "\(path): \(problems.joined(separator: "; "))")
                }
            }
            held.append("\(agency.name)'s \(receipts.count)")
        }
        step(
            "    each agency checks the receipts its commands kept (\(held.joined(separator: ", "))) against audit.jsonl, as `audit verify --receipts` does: every upload, request, approval and results read it made is in the log, unchanged"
                .printable)
    }
}
