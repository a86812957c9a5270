import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// A run on token files without Bloom filters: no scores, so no decision model, but a report all the same
/// (`model` `none`, the Dice threshold that decided and, for an `auto` project, why the model could not choose),
/// stored and served like any run's report, read by the same roles, and stated on the console's run page; on SQLite
/// in one process and on PostgreSQL in chunks.
@Suite(.serialized, .awaitsServerStops) struct ServiceUnfittedReportTests {
    /// Two agencies' files tokenised with the example schema without its Bloom filters, blocking keys and extra
    /// filters: the match keys alone.
    static func dataWithoutFilters() throws -> AgencyData {
        let data = try AgencyData(watch: 60, bulk: 300, seed: 7)
        let source = try Data(contentsOf: URL(fileURLWithPath: data.schema))
        var schema = try #require(try JSONSerialization.jsonObject(with: source) as? [String: Any])
        schema["bloom"] = nil
        schema["blockingKeys"] = []
        schema["extraFilters"] = nil
        let path = "\(data.path)/no-filters.json"
        try JSONSerialization.data(withJSONObject: schema).write(to: URL(fileURLWithPath: path))
        for name in ["a.bmt", "b.bmt", "a.bmt.map.csv", "b.bmt.map.csv"] {
            try FileManager.default.removeItem(atPath: "\(data.path)/\(name)")
        }
        try data.tokenise("data/watch.csv", "a.bmt", party: "agency-a", schema: path)
        try data.tokenise("data/bulk.csv", "b.bmt", party: "council-b", schema: path)
        return data
    }

    /// Runs a project with `threshold` (nil: `auto`) to success and returns its id, the run's id and the report's
    /// reply to the auditor, held to the contract.
    static func runAndReport(
        on server: InProcessServer, data: AgencyData, threshold: String?
    ) async throws -> (ServiceProject, String, HTTPReply) {
        let project = try await ServiceProject.create(
            on: server, data: data, name: "without filters \(threshold ?? "auto")", threshold: threshold)
        try await project.uploadBoth(server, data: data)
        let base = "\(server.baseURL)/projects/\(project.id)"
        let queued = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue, "\(queued.text)")
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.auditorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
        let report = ServiceAPITests.conforming(
            try await HTTP.request(.GET, base + "/runs/\(run)/report", token: project.auditorToken), "GET",
            "/projects/{projectId}/runs/{runId}/report")
        #expect(report.status == 200, "\(report.text)")
        return (project, run, report)
    }

    /// The report in `reply`, which must be a run's without a model.
    static func unfitted(_ reply: HTTPReply) throws -> UnfittedReport {
        guard case .unfitted(let report) = try JSONDecoder().decode(RunQualityReport.self, from: Data(reply.body))
        else {
            throw ServiceTestError("expected the report of a run without a model: \(reply.text)")
        }
        return report
    }

    /// The report `match --report` writes for such files, served by the service with the same members; the operator
    /// and auditors read it, a party does not; the console's run page says what decided and why.
    @Test func aRunWithoutFiltersHasAReportThatSaysWhy() async throws {
        let data = try Self.dataWithoutFilters()
        #expect(try data.header("a.bmt").filterBits == 0)
        let server = try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 2))
        defer { server.stopSoon() }
        let (project, run, reply) = try await Self.runAndReport(on: server, data: data, threshold: nil)
        let report = try Self.unfitted(reply)
        #expect(report.diceThreshold == 0.85 && !report.thresholdChosen && report.model == "none")
        let reason = try #require(report.thresholdFallback)
        #expect(reason.contains("no Bloom filters"), "\(reason)")
        #expect(reply.json?["model"]?.stringValue == "none" && reply.json?["thresholdChosen"] == .bool(false))

        // The same report as the offline engine's, which `match --report` writes.
        let a = try TokenFile(contentsOf: "\(data.path)/a.bmt")
        let b = try TokenFile(contentsOf: "\(data.path)/b.bmt")
        let named = NamedMatchSettings(
            threshold: "auto", reviewFrom: nil, solver: .manyToOne, vetoKeys: ["nino"], vetoKeysDefaulted: true,
            blocking: true)
        var settings = try MatchEngine.Settings(named: named, header: a.header, threads: 2)
        settings.fitsModel = true
        let (offline, offlineReport) = try MatchEngine(settings: settings).run(a, b)
        #expect(offlineReport.quality == .unfitted(report))
        #expect(!offline.isEmpty)

        // Who reads it: the operator and auditors, not a party (as for every report).
        let base = "\(server.baseURL)/projects/\(project.id)/runs/\(run)/report"
        let byOperator = try await HTTP.request(.GET, base, token: try server.operatorToken)
        #expect(byOperator.status == 200 && byOperator.body == reply.body)
        for token in [project.watchlistToken, project.bulkToken] {
            let refused = ServiceAPITests.conforming(
                try await HTTP.request(.GET, base, token: token), "GET", "/projects/{projectId}/runs/{runId}/report")
            #expect(refused.status == 403, "\(refused.text)")
        }

        // The console's run page states what decided and why, to those who read the report; its report page too.
        let session = try #require(try await ConsoleClient.signIn(server, token: try server.operatorToken))
        let page = try await ConsoleClient.get(server, "/console/projects/\(project.id)/runs/\(run)", session: session)
        #expect(page.status == 200)
        #expect(
            page.text.contains(
                "<dt>Decided by</dt><dd>the fixed rule at its default Dice 0.850: the decision model could not choose ("
            ), "\(page.text)")
        #expect(page.text.contains("no Bloom filters"))
        #expect(page.text.contains("(no decision model: nothing to chart)</a>"))
        let reportPage = try await ConsoleClient.get(
            server, "/console/projects/\(project.id)/runs/\(run)/report", session: session)
        #expect(reportPage.status == 200 && reportPage.text.contains("No decision model was fitted"))
        #expect(!reportPage.text.contains("<svg"))
    }

    /// With a Dice threshold given, the report says the fixed rule decided at it, and gives no fallback reason.
    @Test func aFixedThresholdWithoutFiltersIsReportedAsGiven() async throws {
        let data = try Self.dataWithoutFilters()
        let server = try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 2))
        defer { server.stopSoon() }
        let (_, _, reply) = try await Self.runAndReport(on: server, data: data, threshold: "0.9")
        let quality = try JSONDecoder().decode(RunQualityReport.self, from: Data(reply.body))
        #expect(quality == .unfitted(UnfittedReport(diceThreshold: 0.9, thresholdFallback: nil)), "\(reply.text)")
        #expect(reply.json?["thresholdFallback"] == nil)
    }

    /// On PostgreSQL a run is computed in chunks (``ChunkedRunExecutor``) and stored by the PostgreSQL store: the
    /// same report as on SQLite in one process.
    @Test func aChunkedRunOnPostgreSQLStoresTheSameReport() async throws {
        let data = try Self.dataWithoutFilters()
        let sqlite = try await InProcessServer(
            dataDirectory: data.path + "/sqlite", operatorTokenFile: data.path + "/sqlite.token",
            executor: EngineRunExecutor(threads: 1))
        defer { sqlite.stopSoon() }
        let (_, _, expected) = try await Self.runAndReport(on: sqlite, data: data, threshold: nil)
        await sqlite.stop()

        let directory = data.path + "/postgres"
        defer { PostgresTestStore.drop(dataDirectory: directory) }
        let server = try await InProcessServer.onPostgres(
            dataDirectory: directory, operatorTokenFile: data.path + "/postgres.token", chunkBulkRows: 100)
        defer { server.stopSoon() }
        let (_, run, reply) = try await Self.runAndReport(on: server, data: data, threshold: nil)
        let report = try Self.unfitted(reply)
        #expect(report.thresholdFallback?.contains("no Bloom filters") == true)
        #expect(report == (try Self.unfitted(expected)))
        // It was computed in chunks: 300 bulk rows in chunks of 100.
        let pool = try await PostgresTestStore.pool(dataDirectory: directory)
        let chunks = try await pool.session { session in
            try await session.rows("SELECT status FROM run_chunk WHERE run = ?", [run]).map { row -> String in
                row["status"]
            }
        }
        await pool.close()
        #expect(chunks.count == 3 && chunks.allSatisfy { $0 == "done" }, "\(chunks)")
        await server.stop()
    }
}
