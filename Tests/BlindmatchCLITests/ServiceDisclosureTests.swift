import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// What each reply discloses (Protocol/service.md, "What each reply discloses"), through the real server: a party
/// reads the counts of its own grant only; the operator and auditors read every count and never a row.
@Suite struct ServiceDisclosureTests {
    @Test func aRunReplyCarriesOnlyTheCountsOfTheCallersGrant() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 1))
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: run, token: try server.operatorToken)

        func summary(_ token: String, listing: Bool = false) async throws -> JSONValue {
            let path = "\(server.baseURL)/projects/\(project.id)/runs" + (listing ? "" : "/\(run)")
            let reply = try await HTTP.request(.GET, path, token: token)
            ServiceAPITests.conforming(
                reply, "GET", listing ? "/projects/{projectId}/runs" : "/projects/{projectId}/runs/{runId}")
            let body = listing ? reply.json?["items"]?.arrayValue?.first : reply.json
            return try #require(body?["summary"])
        }
        func distinctRows(_ token: String, party: String, column: Int) async throws -> Int {
            let reply = try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/\(party)?limit=100000",
                token: token, accept: "text/csv")
            let rows = reply.text.split(separator: "\n").dropFirst()
            return Set(rows.map { $0.split(separator: ",")[column] }).count
        }

        // The operator and the auditor: every count.
        for token in [try server.operatorToken, project.auditorToken] {
            let counts = try await summary(token)
            #expect(counts["watchlistRecords"]?.intValue == 20)
            #expect(counts["bulkRecords"]?.intValue == 100)
            for member in ["matches", "possible", "comparisons", "seconds"] {
                #expect(counts[member] != .null, "\(member)")
            }
        }

        // The bulk party (default grant: its row, of match pairs): its own size and its view's size, no more.
        for listing in [false, true] {
            let bulk = try await summary(project.bulkToken, listing: listing)
            #expect(bulk["watchlistRecords"] == .null)
            #expect(bulk["bulkRecords"]?.intValue == 100)
            #expect(bulk["possible"] == .null)
            #expect(bulk["comparisons"] == .null)
            #expect(bulk["seconds"] == .null)
            let matched = try await distinctRows(project.bulkToken, party: "council-b", column: 0)
            #expect(matched > 0)
            #expect(bulk["matches"]?.intValue == matched)
        }

        // The watch-list party (every field, match and possible): its own size and its view's, not the bulk size.
        let watch = try await summary(project.watchlistToken)
        #expect(watch["watchlistRecords"]?.intValue == 20)
        #expect(watch["bulkRecords"] == .null)
        #expect(watch["comparisons"] == .null)
        #expect(watch["seconds"] == .null)
        #expect(watch["matches"]?.intValue ?? 0 > 0)
        #expect(watch["possible"] != .null)

        // The run's quality report: aggregates for the operator and auditors, estimated without ground truth.
        for token in [try server.operatorToken, project.auditorToken] {
            let report = try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/report", token: token)
            ServiceAPITests.conforming(report, "GET", "/projects/{projectId}/runs/{runId}/report")
            #expect(report.status == 200, "\(report.text)")
            let precision = report.json?["estimate"]?["precision"]?.doubleValue ?? -1
            #expect((0...1).contains(precision))
            #expect(report.json?["histogram"]?["edges"]?.arrayValue?.isEmpty == false)
        }
        let refused = try await HTTP.request(
            .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/report", token: project.watchlistToken)
        #expect(refused.status == 403)
        await server.stop()
    }
}

/// The project holds its layout (issue 10): every upload, the first one too, is checked against the layout recorded
/// from the schema at creation, never against an earlier upload.
@Suite struct ServiceLayoutTests {
    @Test func everyUploadIsCheckedAgainstTheProjectsLayout() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 1))
        let operatorToken = try server.operatorToken
        // A project whose schema has a blocking key the files lack: even the first upload is refused.
        var request = try data.projectRequest(name: "another layout")
        if case .object(var members) = request, let index = members.firstIndex(where: { $0.key == "layout" }),
            case .object(var layout) = members[index].value,
            let keys = layout.firstIndex(where: { $0.key == "blockingKeys" })
        {
            layout[keys].value = .array((layout[keys].value.arrayValue ?? []) + [.string("block-extra")])
            members[index].value = .object(layout)
            request = .object(members)
        }
        let created = try await HTTP.request(
            .POST, server.baseURL + "/projects", token: operatorToken, body: HTTP.json(request))
        ServiceAPITests.conforming(created, "POST", "/projects")
        #expect(created.status == 201, "\(created.text)")
        #expect(created.json?["layout"]?["blockingKeys"]?.arrayValue?.last == .string("block-extra"))
        let id = try #require(created.json?["id"]?.stringValue)
        let issued = try await HTTP.request(
            .POST, server.baseURL + "/tokens", token: operatorToken,
            body: HTTP.json(.object([("role", "party"), ("project", .string(id)), ("party", "agency-a")])))
        let token = try #require(issued.json?["token"]?.stringValue)
        try await data.activate(token, party: "agency-a", on: server)
        let project = ServiceProject(id: id, watchlistToken: token, bulkToken: "", auditorToken: "")
        let refused = try await project.upload(server, data: data, file: "a.bmt", party: "agency-a", token: token)
        ServiceAPITests.conforming(refused, "POST", "/projects/{projectId}/parties/{party}/uploads")
        #expect(refused.status == 422 && refused.code == "tokenFileIncompatible", "\(refused.text)")

        // A project made with the files' own schema layout (and its own secret, as every project has) takes them.
        let other = try AgencyData(watch: 20, bulk: 100)
        let right = try await ServiceProject.create(on: server, data: other, name: "the files' layout")
        let accepted = try await right.upload(
            server, data: other, file: "a.bmt", party: "agency-a", token: right.watchlistToken)
        #expect(accepted.status == 201, "\(accepted.text)")
        await server.stop()
    }
}
