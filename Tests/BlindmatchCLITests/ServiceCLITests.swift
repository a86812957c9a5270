import BlindmatchProtocol
import Foundation
import Testing

/// The whole flow through the client commands, as the operator, two agencies and an auditor run them against the
/// real server: the service's results are the offline engine's, each party sees only its own view, and the audit
/// log verifies until an entry is altered.
struct ServiceCLITests {
    @Test func theWholeFlowThroughTheClientCommands() async throws {
        let data = try AgencyData()
        let server = ServerProcess(
            dataDirectory: data.path + "/server", operatorTokenFile: data.path + "/operator.token")
        try server.start()
        defer { server.stop() }
        let header = try data.header("a.bmt")
        func run(_ arguments: [String], as token: String) throws -> CLI.Result {
            let result = try CLI.run(arguments + ["--server", server.baseURL, "--token-file", token], in: data.path)
            #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.error)")
            return result
        }

        // The operator: the project, then a token for each party and one for the auditor.
        let created = try run(
            [
                "project", "create", "--name", "Watch list x council tax", "--purpose", "Test the whole flow.",
                "--legal-basis", "Synthetic data only.", "--schema", data.schema, "--key-id", header.keyID,
                "--watchlist", "agency-a=agency-a.pub", "--bulk", "council-b=council-b.pub", "--threshold", "0.75",
                "--review-from", "0.65",
            ], as: "operator.token")
        // The fixed rule at the example schema's Dice threshold, with a clerical band.
        #expect(created.output.contains("threshold 0.75, review from 0.65"), "\(created.output)")
        let project = try #require(created.output.split(separator: "\n").first.map(String.init))
        #expect(project.hasPrefix("p-"))
        for (party, file) in [("agency-a", "agency-a.token"), ("council-b", "council-b.token")] {
            _ = try run(
                ["token", "issue", "--role", "party", "--project", project, "--party", party, "--output", file],
                as: "operator.token")
            #expect(try FileIO.permissions(of: "\(data.path)/\(file)") & 0o777 == 0o600)
            // Each party activates its token with its own signing key; until then the token reads nothing.
            let inactive = try CLI.run(
                ["project", "show", project, "--server", server.baseURL, "--token-file", file], in: data.path)
            #expect(inactive.status == 1 && inactive.error.contains("tokenNotActivated"), "\(inactive.error)")
            let activated = try run(["token", "activate", "--signing-key", "\(party).key"], as: file)
            #expect(activated.output.hasPrefix("t-") && activated.output.contains("bound to key"))
        }
        _ = try run(
            ["token", "issue", "--role", "auditor", "--name", "test-auditor", "--output", "auditor.token"],
            as: "operator.token")

        // The agencies upload; a party cannot upload for the other.
        let refused = try CLI.run(
            [
                "upload", "--project", project, "--party", "council-b", "a.bmt", "--server", server.baseURL,
                "--token-file", "agency-a.token",
            ], in: data.path)
        #expect(refused.status == 1)
        #expect(refused.error.contains("403") && refused.error.contains("forbiddenParty"), "\(refused.error)")
        _ = try run(["upload", "--project", project, "--party", "agency-a", "a.bmt"], as: "agency-a.token")
        _ = try run(["upload", "--project", project, "--party", "council-b", "b.bmt"], as: "council-b.token")

        // The watch-list agency requests the match, the bulk agency approves it, and each fetches its own view.
        let started = try run(["run", "--project", project, "--no-wait"], as: "agency-a.token")
        let runID = try #require(started.output.split(separator: "\n").first.map(String.init))
        #expect(runID.hasPrefix("r-") && started.output.contains("awaitingApproval"), "\(started.output)")
        let approved = try run(["run", "approve", "--project", project, runID], as: "council-b.token")
        #expect(approved.output.contains("approvals: council-b (bulk)"), "\(approved.output)")
        var shown = ""
        for _ in 0..<300 where !shown.contains("status: succeeded") {
            shown = try run(["run", "show", "--project", project, runID], as: "agency-a.token").output
            if !shown.contains("status: succeeded") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(shown.contains("status: succeeded"), "\(shown)")
        _ = try run(
            ["results", "--project", project, "--run", runID, "--party", "agency-a", "--output", "a-results.csv"],
            as: "agency-a.token")
        _ = try run(
            ["results", "--project", project, "--run", runID, "--party", "council-b", "--output", "b-results.csv"],
            as: "council-b.token")
        let other = try CLI.run(
            [
                "results", "--project", project, "--run", runID, "--party", "agency-a", "--output", "stolen.csv",
                "--server", server.baseURL, "--token-file", "council-b.token",
            ], in: data.path)
        #expect(other.status == 1 && !FileIO.exists("\(data.path)/stolen.csv"))

        // The auditor reads the run's estimated quality (aggregates only); a party may not.
        let report = try run(
            ["run", "report", "--project", project, runID, "--output", "report.json", "--html", "report.html"],
            as: "auditor.token")
        #expect(report.output.contains("precision") && report.output.contains("recall"), "\(report.output)")
        #expect(report.output.contains("threshold 0.75 (the fixed rule;"), "\(report.output)")
        #expect(FileIO.exists("\(data.path)/report.json") && FileIO.exists("\(data.path)/report.html"))
        let partyReport = try CLI.run(
            [
                "run", "report", "--project", project, runID, "--server", server.baseURL, "--token-file",
                "agency-a.token",
            ],
            in: data.path)
        #expect(partyReport.status == 1 && partyReport.error.contains("403"), "\(partyReport.error)")
        // A finished run cannot be cancelled (409 runFinished), and only the operator may cancel.
        let late = try CLI.run(
            [
                "run", "cancel", "--project", project, runID, "--server", server.baseURL, "--token-file",
                "operator.token",
            ],
            in: data.path)
        #expect(late.status == 1 && late.error.contains("runFinished"), "\(late.error)")
        // Without --threshold (or with auto) a project's runs let the decision model choose; a review band then
        // needs a Dice threshold.
        for (name, extra) in [("auto", ["--threshold", "auto"]), ("default", [])] {
            let auto = try CLI.run(
                [
                    "project", "create", "--name", name, "--purpose", "p", "--legal-basis", "l", "--schema",
                    data.schema, "--key-id", String(repeating: name == "auto" ? "ab" : "cd", count: 16), "--watchlist",
                    "agency-a=agency-a.pub", "--bulk", "council-b=council-b.pub", "--server", server.baseURL,
                    "--token-file", "operator.token",
                ] + extra, in: data.path)
            #expect(auto.status == 0, "\(auto.error)")
            #expect(auto.output.contains("threshold auto (chosen by each run's decision model)"), "\(auto.output)")
        }
        let band = try CLI.run(
            [
                "project", "create", "--name", "band", "--purpose", "p", "--legal-basis", "l", "--schema", data.schema,
                "--key-id", String(repeating: "ef", count: 16), "--watchlist", "agency-a=agency-a.pub", "--bulk",
                "council-b=council-b.pub", "--review-from", "0.65", "--server", server.baseURL, "--token-file",
                "operator.token",
            ], in: data.path)
        #expect(
            band.status != 0 && band.error.contains("--review-from needs the fixed rule's --threshold"), "\(band.error)"
        )

        // The service's pairs are exactly the offline engine's with the project's settings; scores rounded to 2
        // decimals.
        let offlineRun = try CLI.run(
            ["match", "a.bmt", "b.bmt", "--threshold", "0.75", "--review-from", "0.65", "--output", "offline.csv"],
            in: data.path)
        #expect(offlineRun.status == 0, "\(offlineRun.error)")
        #expect(offlineRun.output.contains("threshold 0.75, review from 0.65"), "\(offlineRun.output)")
        func lines(_ file: String) throws -> [[String]] {
            try String(contentsOfFile: "\(data.path)/\(file)", encoding: .utf8).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let offline = try lines("offline.csv")
        let expected = Set(
            offline.map { row -> String in
                let milli = Int((Double(row[3]) ?? 0) * 1000 + 0.5)
                let hundredths = (milli + 5) / 10
                let score = "\(hundredths / 100).\(String(format: "%02d", hundredths % 100))"
                return [row[0], row[1], row[2], score, row[4]].joined(separator: ",")
            })
        let served = try lines("a-results.csv").map { $0.joined(separator: ",") }
        #expect(served.count > 100)
        #expect(Set(served) == expected)
        #expect(
            try String(contentsOfFile: "\(data.path)/a-results.csv", encoding: .utf8).hasPrefix(
                "row,counterpart_row,rule,score,status\n"))
        // The bulk holder learns only which of its rows were matched: one column, no scores, no possibles.
        let bulkRows = try lines("b-results.csv")
        #expect(bulkRows.allSatisfy { $0.count == 1 })
        #expect(Set(bulkRows.map { $0[0] }) == Set(offline.filter { $0[4] == "match" }.map { $0[1] }))

        // The watch-list agency evaluates (a demo has the truth) with its local maps.
        let evaluated = try CLI.run(
            [
                "evaluate", "--matches", "a-results.csv", "--map-a", "a.bmt.map.csv", "--map-b", "b.bmt.map.csv",
                "--truth", "data/truth.csv",
            ], in: data.path)
        #expect(evaluated.status == 0 && evaluated.output.contains("F1"), "\(evaluated.error)")

        // The auditor exports the log and checks it against the matcher's key obtained out of band.
        _ = try run(["audit", "export", "--output", "audit.jsonl"], as: "auditor.token")
        let verified = try CLI.run(
            [
                "audit", "verify", "audit.jsonl", "--public-key", server.dataDirectory + "/matcher.pub", "--receipts",
                "receipts",
            ], in: data.path)
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("the chain holds"))
        // Both agencies' commands kept a receipt of every upload, request, approval and results page.
        #expect(verified.output.contains("6 receipts hold"), "\(verified.output)")
        let log = try String(contentsOfFile: "\(data.path)/audit.jsonl", encoding: .utf8)
        for action in [
            "project.created", "party.registered", "token.issued", "token.activated", "upload.accepted", "run.queued",
            "run.approved",
            "run.started", "run.succeeded", "result.read", "access.refused", "audit.exported", "checkpoint",
        ] {
            #expect(log.contains("\"action\":\"\(action)\""), "\(action)")
        }
        var entries = log.split(separator: "\n").map(String.init)
        let accepted = try #require(entries.firstIndex { $0.contains("\"upload.accepted\"") })
        entries[accepted] = entries[accepted].replacingOccurrences(
            of: "\"records\":\(header.recordCount)", with: "\"records\":\(header.recordCount + 1)")
        try data.scratch.write("altered.jsonl", entries.map { $0 + "\n" }.joined())
        let broken = try CLI.run(
            ["audit", "verify", "altered.jsonl", "--public-key", server.dataDirectory + "/matcher.pub"], in: data.path)
        #expect(broken.status == 1)
        #expect(broken.output.contains("line \(accepted + 1)"), "\(broken.output)")

        // No token, secret or record value reached the server's log.
        let serverLog = server.log
        #expect(!serverLog.isEmpty)
        for file in ["operator.token", "agency-a.token", "council-b.token", "auditor.token"] {
            let token = try String(contentsOfFile: "\(data.path)/\(file)", encoding: .utf8)
                .trimmingCharacters(in: .newlines)
            #expect(!serverLog.contains(token) && !log.contains(token))
        }
        let names = try String(contentsOfFile: "\(data.path)/data/watch.csv", encoding: .utf8).split(separator: "\n")
            .dropFirst().prefix(20).compactMap { $0.split(separator: ",").dropFirst(2).first }
        #expect(names.allSatisfy { !serverLog.contains(",\($0),") && !log.contains("\"\($0)\"") })
    }
}
