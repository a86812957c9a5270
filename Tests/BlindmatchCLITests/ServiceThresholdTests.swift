import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// A project's threshold: omitted, it is `auto` and each run's fitted decision model chooses, as `blindmatch match`
/// does by default; a decimal threshold keeps the fixed rule. The run's report and the audit log say which.
@Suite(.serialized, .awaitsServerStops) struct ServiceThresholdTests {
    static func start(_ data: AgencyData) async throws -> InProcessServer {
        try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 2))
    }

    /// Without a threshold the project stores `auto`; its run's matches are exactly the offline engine's with the
    /// model choosing, its report says the model chose, and `run.queued` records `auto`.
    @Test func anOmittedThresholdIsAutoAndTheModelChooses() async throws {
        let data = try AgencyData()
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data, threshold: nil)
        let base = "\(server.baseURL)/projects/\(project.id)"
        let shown = ServiceAPITests.conforming(
            try await HTTP.request(.GET, base, token: project.watchlistToken), "GET", "/projects/{projectId}")
        #expect(shown.json?["matching"]?["threshold"]?.stringValue == "auto", "\(shown.text)")
        #expect(shown.json?["matching"]?["reviewFrom"] == .null)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        ServiceAPITests.conforming(queued, "POST", "/projects/{projectId}/runs")
        let run = try #require(queued.json?["id"]?.stringValue, "\(queued.text)")
        #expect(queued.json?["settings"]?["threshold"]?.stringValue == "auto")
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.auditorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")

        let report = ServiceAPITests.conforming(
            try await HTTP.request(.GET, base + "/runs/\(run)/report", token: project.auditorToken), "GET",
            "/projects/{projectId}/runs/{runId}/report")
        let linkage = try JSONDecoder().decode(LinkageReport.self, from: Data(report.body))
        #expect(linkage.thresholdChosen && linkage.thresholdFallback == nil && linkage.diceThreshold == nil)

        // The served pairs are the offline engine's with the model choosing (`match` at its defaults).
        let a = try TokenFile(contentsOf: "\(data.path)/a.bmt")
        let b = try TokenFile(contentsOf: "\(data.path)/b.bmt")
        let named = NamedMatchSettings(
            threshold: "auto", reviewFrom: nil, solver: .manyToOne, vetoKeys: ["nino"], vetoKeysDefaulted: true,
            blocking: true)
        let (offline, offlineReport) = try MatchEngine(
            settings: try MatchEngine.Settings(named: named, header: a.header, threads: 2)
        ).run(a, b)
        #expect(offlineReport.thresholdFallback == nil && offlineReport.linkage?.threshold == linkage.threshold)
        let results = try await HTTP.request(
            .GET, base + "/runs/\(run)/results/agency-a?limit=10000", token: project.watchlistToken)
        let rows = try #require(results.json?["items"]?.arrayValue)
        let served = Set(
            rows.compactMap { row -> String? in
                guard let a = row["row"]?.intValue, let b = row["counterpartRow"]?.intValue else { return nil }
                return "\(a) \(b) \(row["status"]?.stringValue ?? "")"
            })
        #expect(served.count > 50)
        #expect(served == Set(offline.map { "\($0.rowA) \($0.rowB) match" }))

        // The audit log records the threshold as the project states it.
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        let entry = try #require(log.split(separator: "\n").first { $0.contains("\"run.queued\"") })
        #expect(entry.contains("\"threshold\":\"auto\""), "\(entry)")
    }

    /// A decimal threshold is the fixed rule, as before: the report says a Dice threshold was given.
    @Test func aDecimalThresholdKeepsTheFixedRule() async throws {
        let data = try AgencyData()
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data, threshold: "0.85")
        let base = "\(server.baseURL)/projects/\(project.id)"
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue, "\(queued.text)")
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.auditorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
        let report = try await HTTP.request(.GET, base + "/runs/\(run)/report", token: project.auditorToken)
        let linkage = try JSONDecoder().decode(LinkageReport.self, from: Data(report.body))
        #expect(!linkage.thresholdChosen && linkage.diceThreshold == 0.85 && linkage.thresholdFallback == nil)
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        let entry = try #require(log.split(separator: "\n").first { $0.contains("\"run.queued\"") })
        #expect(entry.contains("\"threshold\":\"0.85\""), "\(entry)")
    }

    /// What a project's threshold may be: `auto` or a Dice score; a review band needs a Dice score.
    @Test func projectThresholdsAreAutoOrADiceScore() async throws {
        let data = try AgencyData(watch: 20, bulk: 40)
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let cases: [(String?, String?, Int, String)] = [
            ("auto", "0.75", 422, "matching.reviewFrom needs a Dice score as matching.threshold"),
            (nil, "0.75", 422, "matching.reviewFrom needs a Dice score as matching.threshold"),
            ("automatic", nil, 400, "matching.threshold must be auto or a Dice score"),
            ("0", nil, 422, "matching.threshold must be above 0"),
            ("auto", nil, 201, ""), ("0.8", "0.7", 201, ""), (nil, nil, 201, ""),
        ]
        for (index, (threshold, reviewFrom, status, message)) in cases.enumerated() {
            var request = try data.projectRequest(
                name: "thresholds \(index)", threshold: threshold, reviewFrom: reviewFrom)
            if case .object(let members) = request {
                // A key id of its own, so that each case may create its project.
                let keyID = String(repeating: String(format: "%02x", index + 1), count: 16)
                request = .object(members.map { $0.key == "keyId" ? ("keyId", .string(keyID)) : $0 })
            }
            let reply = try await HTTP.request(
                .POST, server.baseURL + "/projects", token: try server.operatorToken, body: HTTP.json(request))
            ServiceAPITests.conforming(reply, "POST", "/projects")
            #expect(reply.status == status, "case \(index): \(reply.text)")
            if status == 201 {
                #expect(reply.json?["matching"]?["threshold"]?.stringValue == threshold ?? "auto", "\(reply.text)")
            } else {
                #expect(reply.json?["message"]?.stringValue?.contains(message) == true, "case \(index): \(reply.text)")
            }
        }
    }
}
