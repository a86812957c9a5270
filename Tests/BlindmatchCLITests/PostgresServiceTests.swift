import BlindmatchAudit
import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchServer

/// The service over HTTP on the PostgreSQL store (`serve --database`): one server end to end, and two servers that
/// share one database and one token store as one service.
@Suite(.awaitsServerStops) struct PostgresServiceTests {
    /// The stored log through `GET /audit/log`, verified against the servers' checkpoint key.
    static func verifiedLog(_ server: InProcessServer, token: String, keyFile: String) async throws -> [UInt8] {
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: token)
        #expect(log.status == 200, "\(log.text)")
        let key = try SigningKey(contentsOfFile: keyFile)
        let verification = AuditVerification(jsonLines: Array(log.text.utf8), publicKey: key.publicKey)
        #expect(verification.isValid, "\(verification.firstFailure.map { "\($0)" } ?? "")")
        return Array(log.text.utf8)
    }

    static func start(_ directory: String, tokenFile: String) async throws -> InProcessServer {
        try await InProcessServer(
            dataDirectory: directory, operatorTokenFile: tokenFile, executor: EngineRunExecutor(threads: 1)
        ) { configuration in
            // Called on each start of the directory: the same database and key.
            try? PostgresTestStore.configure(&configuration)
        }
    }

    @Test func uploadRunResultsAndAuditExportOnPostgreSQL() async throws {
        let data = try AgencyData(watch: 40, bulk: 200)
        let directory = data.scratch.path + "/server"
        defer { PostgresTestStore.drop(dataDirectory: directory) }
        let server = try await Self.start(directory, tokenFile: data.scratch.path + "/operator.token")
        defer { server.stopSoon() }
        #expect(!FileIO.exists(directory + "/blindmatch.sqlite"))
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        #expect(queued.status == 202 || queued.status == 201, "\(queued.text)")
        let run = try #require(queued.json?["id"]?.stringValue)
        let finished = try await HTTP.waitForRun(
            server, project: project.id, run: run, token: try server.operatorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
        let results = try await HTTP.request(
            .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/agency-a?limit=1000",
            token: project.watchlistToken)
        #expect(results.status == 200)
        let rows = try #require(results.json?["items"]?.arrayValue)
        #expect(rows.count > 10 && results.json?["totalRows"]?.intValue == rows.count)
        let metrics = try await HTTP.request(.GET, server.baseURL + "/metrics", token: try server.operatorToken)
        #expect(metrics.status == 200)
        let log = try await Self.verifiedLog(
            server, token: project.auditorToken, keyFile: directory + "/matcher.key")
        let text = String(decoding: log, as: UTF8.self)
        #expect(text.contains("\"run.succeeded\"") && text.contains("\"result.read\""))
        await server.stop()
    }

    @Test func twoServersShareOneDatabaseAndOneTokenStore() async throws {
        let data = try AgencyData(watch: 40, bulk: 200)
        let directory = data.scratch.path + "/shared"
        let tokenFile = data.scratch.path + "/operator.token"
        defer { PostgresTestStore.drop(dataDirectory: directory) }
        // Both on the same data directory: with PostgreSQL it is the shared token store, not locked by either.
        let first = try await Self.start(directory, tokenFile: tokenFile)
        defer { first.stopSoon() }
        let second = try await Self.start(directory, tokenFile: tokenFile)
        defer { second.stopSoon() }
        let project = try await ServiceProject.create(on: first, data: data)
        // One upload through each server; the run queued through the second, read through the first.
        let a = try await project.upload(
            first, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken)
        #expect(a.status == 201, "\(a.text)")
        let b = try await project.upload(
            second, data: data, file: "b.bmt", party: "council-b", token: project.bulkToken)
        #expect(b.status == 201, "\(b.text)")
        let queued = try await HTTP.request(
            .POST, "\(second.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue, "\(queued.text)")
        let finished = try await HTTP.waitForRun(
            first, project: project.id, run: run, token: try first.operatorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
        var pages: [String] = []
        for server in [first, second] {
            let page = try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/agency-a?limit=1000",
                token: project.watchlistToken)
            #expect(page.status == 200)
            pages.append(page.json?["items"].map { String(decoding: $0.canonicalBytes, as: UTF8.self) } ?? "")
        }
        #expect(pages[0] == pages[1] && pages[0].count > 10)

        // A run cancelled through the server that is not running it stops there; a second run then succeeds.
        let second2 = try await HTTP.request(
            .POST, "\(first.baseURL)/projects/\(project.id)/runs", token: project.bulkToken)
        let run2 = try #require(second2.json?["id"]?.stringValue, "\(second2.text)")
        let cancelled = try await HTTP.request(
            .POST, "\(second.baseURL)/projects/\(project.id)/runs/\(run2)/cancel", token: project.bulkToken)
        #expect(cancelled.status == 200 || cancelled.status == 409, "\(cancelled.text)")
        let third = try await HTTP.request(
            .POST, "\(second.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run3 = try #require(third.json?["id"]?.stringValue, "\(third.text)")
        let done = try await HTTP.waitForRun(first, project: project.id, run: run3, token: try first.operatorToken)
        #expect(done["status"]?.stringValue == "succeeded")

        // Both servers' entries form one chain that verifies, whichever server exports it.
        for server in [first, second] {
            _ = try await Self.verifiedLog(
                server, token: project.auditorToken, keyFile: directory + "/matcher.key")
        }
        await first.stop()
        await second.stop()
    }
}
