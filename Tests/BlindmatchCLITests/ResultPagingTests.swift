import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// A party's view read page by page, following each page's cursor, is the view read at once: every row once, in
/// order, with `totalRows` its size. The watch-list grant (both row numbers first) is read in index order, the bulk
/// grant (its row only) with DISTINCT; both are paged here.
@Suite struct ResultPagingTests {
    @Test func pagesFollowedByTheirCursorsAreTheWholeView() async throws {
        let data = try AgencyData(watch: 60, bulk: 300)
        let server = try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 1))
        let project = try await ServiceProject.create(on: server, data: data)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: run, token: try server.operatorToken)
        let results = "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/"

        for (party, token) in [("agency-a", project.watchlistToken), ("council-b", project.bulkToken)] {
            let whole = try await HTTP.request(.GET, results + party + "?limit=100000", token: token)
            let all = try #require(whole.json?["items"]?.arrayValue)
            #expect(all.count > 10, "\(party): \(all.count) rows")
            #expect(whole.json?["totalRows"]?.intValue == all.count)
            #expect(Set(all.map { String(decoding: $0.canonicalBytes, as: UTF8.self) }).count == all.count)
            var paged: [JSONValue] = []
            var cursor: String?
            for _ in 0..<1000 {
                let page = try await HTTP.request(
                    .GET, results + party + "?limit=7" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                #expect(page.status == 200, "\(page.text)")
                #expect(page.json?["totalRows"]?.intValue == all.count)
                paged += page.json?["items"]?.arrayValue ?? []
                cursor = page.json?["nextCursor"]?.stringValue
                if cursor == nil { break }
            }
            #expect(paged == all, "\(party): \(paged.count) rows paged, \(all.count) at once")
        }
    }
}
