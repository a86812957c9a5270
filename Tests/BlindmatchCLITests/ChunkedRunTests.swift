import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import GRDB
import Logging
import Testing

@testable import BlindmatchServer

/// A run computed in chunks through PostgreSQL by a server's executor and two workers, one more worker dying with a
/// chunk claimed: the same results as the single-process engine, and every chunk counted once.
@Suite(.serialized, .awaitsServerStops) struct ChunkedRunTests {
    /// The run's files in a data directory's token store, named by SHA-256 as the service stores them.
    static func store(_ data: AgencyData, in directory: String) throws -> RunFiles {
        var stored: [(String, String)] = []
        for name in ["a.bmt", "b.bmt"] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(data.path)/\(name)"))
            var hasher = SHA256Hasher()
            bytes.withUnsafeBytes { hasher.update($0) }
            let sha = Hex.encode(hasher.finalize())
            let folder = "\(directory)/tokens/\(sha.prefix(2))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try bytes.write(to: URL(fileURLWithPath: "\(folder)/\(sha).bmt"))
            stored.append(("\(folder)/\(sha).bmt", sha))
        }
        return RunFiles(watchlist: stored[0], bulk: stored[1])
    }

    static func run(id: String, attempt: Int) throws -> RunRecord {
        let settings =
            #"{"blocking":true,"reviewFrom":"0.75","solver":"many-to-one","threshold":"0.85","vetoKeys":["nino"]}"#
        return try RunRecord(
            row: Row([
                "id": id, "project": "p-chunks", "status": "running", "watchlistUpload": "u-a", "bulkUpload": "u-b",
                "settings": settings, "vetoDefaulted": 0, "attempt": attempt, "stage": "exact", "fraction": 0.0,
                "requestedBy": "operator", "queuedAt": "2026-12-07T00:00:00Z", "ordinal": 1,
            ]))
    }

    @Test func workersAndAServerComputeARunAsOneProcessWould() async throws {
        let (pool, drop) = try await ChunkTestDatabase.make()
        do {
            try await Self.computeInChunks(pool)
        } catch {
            await drop()
            throw error
        }
        await drop()
    }

    /// The results of one run through the HTTP service, with its default settings (the decision model chooses the
    /// threshold): the watch-list party's rows, in order.
    static func results(
        of server: InProcessServer, data: AgencyData, beside: (() async throws -> Void)? = nil
    ) async throws -> [String] {
        let project = try await ServiceProject.create(on: server, data: data, threshold: nil)
        try await project.uploadBoth(server, data: data)
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        #expect(queued.status == 202 || queued.status == 201, "\(queued.text)")
        let run = try #require(queued.json?["id"]?.stringValue)
        try await beside?()
        let finished = try await HTTP.waitForRun(
            server, project: project.id, run: run, token: try server.operatorToken)
        #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
        let results = try await HTTP.request(
            .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)/results/agency-a?limit=1000",
            token: project.watchlistToken)
        #expect(results.status == 200)
        let rows = try #require(results.json?["items"]?.arrayValue)
        #expect(results.json?["totalRows"]?.intValue == rows.count)
        return rows.map { String(decoding: $0.canonicalBytes, as: UTF8.self) }
    }

    /// `serve --database` with two workers and a third that dies holding a chunk: the run succeeds over HTTP with the
    /// rows a server on SQLite finds in one process.
    @Test func aServerOnPostgreSQLWithWorkersGivesTheRowsOfOneOnSQLite() async throws {
        let data = try AgencyData(watch: 120, bulk: 2400, seed: 31)
        let sqlite = try await InProcessServer(
            dataDirectory: data.path + "/sqlite", operatorTokenFile: data.path + "/sqlite.token",
            executor: EngineRunExecutor(threads: 1))
        defer { sqlite.stopSoon() }
        let expected = try await Self.results(of: sqlite, data: data)
        await sqlite.stop()

        let directory = data.path + "/postgres"
        defer { PostgresTestStore.drop(dataDirectory: directory) }
        let server = try await InProcessServer.onPostgres(
            dataDirectory: directory, operatorTokenFile: data.path + "/postgres.token", chunkBulkRows: 500)
        defer { server.stopSoon() }
        let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let pool = try await PostgresTestStore.pool(dataDirectory: directory)
        let queue = PostgresChunkQueue(pool: pool)
        // The live workers hold long leases, so that a loaded machine never lets one lapse (their chunk would be
        // claimed again and counted twice); only the doomed claim's 1 s lease is meant to lapse.
        var options = ChunkWorker.Options(threads: 1, memoryLimit: 1 << 30, lease: .seconds(20))
        options.idleWait = .milliseconds(50)
        let workers = ["w1", "w2"].map {
            ChunkWorker(queue: queue, store: directory, options: options, logger: silent, role: $0)
        }
        let loops = workers.map { worker in Task { await worker.run() } }
        let doomed = DoomedClaim()
        let rows = try await Self.results(of: server, data: data) {
            // Claimed as soon as the run is published, never renewed nor written back.
            for _ in 0..<500 {
                if let claim = try await queue.claim(
                    worker: "doomed", lease: .seconds(1), memoryLimit: 1 << 30, maximumAttempts: 3)
                {
                    doomed.claim = claim
                    return
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        for loop in loops { loop.cancel() }
        for loop in loops { await loop.value }
        #expect(!rows.isEmpty)
        #expect(rows == expected)
        let claim = try #require(doomed.claim, "the doomed worker claimed no chunk")
        #expect(try await !queue.complete(claim, worker: "doomed", candidates: [0], comparisons: 1))
        let chunks = try await pool.session { session in
            try await session.rows(
                "SELECT status, worker, attempts FROM run_chunk WHERE run = ?", [claim.run]
            ).map { row -> (String, String, Int) in (row["status"], row["worker"], row["attempts"]) }
        }
        #expect(chunks.count == 5)  // 2,400 bulk rows in chunks of 500
        #expect(chunks.allSatisfy { $0.0 == "done" && $0.1 != "doomed" })
        #expect(chunks.filter { $0.2 == 2 }.count == 1)
        await pool.close()
        await server.stop()
    }

    static func computeInChunks(_ pool: PostgresPool) async throws {
        let data = try AgencyData(watch: 200, bulk: 5000, seed: 23)
        let directory = try Scratch()
        let files = try Self.store(data, in: directory.path)
        let run = try Self.run(id: "r-chunks", attempt: 1)
        let queue = PostgresChunkQueue(pool: pool)
        let silent = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        // The live workers hold long leases, so that a loaded machine never lets one lapse (their chunk would be
        // claimed again and counted twice); only the doomed claim's 1 s lease is meant to lapse.
        var options = ChunkWorker.Options(threads: 1, memoryLimit: 1 << 30, lease: .seconds(20))
        options.idleWait = .milliseconds(50)
        func worker(_ role: String) -> ChunkWorker {
            ChunkWorker(queue: queue, store: directory.path, options: options, logger: silent, role: role)
        }
        var configuration = ServiceConfiguration(dataDirectory: directory.path)
        configuration.runMemoryLimit = 1 << 30
        var executor = ChunkedRunExecutor(
            queue: queue, worker: worker("serve"), threads: 1, budget: RunBudget(configuration), logger: silent)
        executor.bulkRowsPerChunk = 700
        executor.poll = .milliseconds(50)

        // Two workers, and a third that claims a chunk as soon as there is one and dies with it: never renews it,
        // never writes it back until the run is over.
        let workers = [worker("w1"), worker("w2")]
        let loops = workers.map { worker in Task { await worker.run() } }
        let doomed = Task { () -> PostgresChunkQueue.Claim? in
            for _ in 0..<400 {
                if let claim = try await queue.claim(
                    worker: "doomed", lease: .seconds(1), memoryLimit: 1 << 30, maximumAttempts: 3)
                {
                    return claim
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return nil
        }
        let outcome = await executor.execute(run, files: files, cancellation: RunCancellation()) { _ in }
        for loop in loops { loop.cancel() }
        for loop in loops { await loop.value }
        let lost = try #require(try await doomed.value, "the doomed worker claimed no chunk")

        guard case .succeeded(let results, _, let report, let summary) = outcome else {
            Issue.record("the chunked run did not succeed: \(outcome)")
            return
        }
        let reference = try EngineRunExecutor.match(
            run, files: files, threads: 1, cancellation: RunCancellation(), progress: { _ in })
        guard case .succeeded(let expected, _, let expectedReport, let expectedSummary) = reference else {
            Issue.record("the single-process run did not succeed: \(reference)")
            return
        }
        #expect(!results.isEmpty)
        #expect(results == expected)
        #expect(report.exactPairs == expectedReport.exactPairs && report.fuzzyPairs == expectedReport.fuzzyPairs)
        #expect(report.comparisons == expectedReport.comparisons && report.pairsByRule == expectedReport.pairsByRule)
        #expect(report.linkage == expectedReport.linkage)
        #expect(summary.matches == expectedSummary.matches && summary.comparisons == expectedSummary.comparisons)

        // The dead worker's late write-back changes nothing; every chunk was written back once, its own by another.
        #expect(try await !queue.complete(lost, worker: "doomed", candidates: [1, 2, 3], comparisons: 1))
        let rows = try await pool.session { session in
            try await session.rows(
                "SELECT chunk, status, worker, attempts, comparisons FROM run_chunk WHERE run = ? ORDER BY chunk",
                ["r-chunks"]
            ).map { row -> (Int, String, String, Int, Int) in
                (row["chunk"], row["status"], row["worker"], row["attempts"], row["comparisons"])
            }
        }
        #expect(rows.count == 8)  // 5,000 bulk rows in chunks of at most 700
        #expect(rows.allSatisfy { $0.1 == "done" && $0.2 != "doomed" })
        #expect(rows.first { $0.0 == lost.chunk }?.3 == 2)
        #expect(rows.reduce(0) { $0 + $1.4 } == report.comparisons)
        let computedBy = Set(rows.map { String($0.2.prefix { $0 != "-" }) })
        #expect(computedBy.isSubset(of: ["serve", "w1", "w2"]) && computedBy.count >= 2)
    }
}

/// A database of its own for a test (``PostgresTestCluster``), open as a pool; the closure closes it and drops it.
enum ChunkTestDatabase {
    static func make() async throws -> (PostgresPool, @Sendable () async -> Void) {
        let database = try PostgresTestCluster.makeDatabase()
        let location = try PostgresLocation(url: database.url).withPassword(
            file: database.passwordFile, environment: [:])
        let pool = try await PostgresPool.open(
            location, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        return (
            pool,
            {
                await pool.close()
                database.drop()
            }
        )
    }
}

/// The chunk a test's doomed worker holds when it dies.
final class DoomedClaim: @unchecked Sendable {
    var claim: PostgresChunkQueue.Claim?
}
