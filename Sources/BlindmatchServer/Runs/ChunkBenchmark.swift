import BlindmatchMatching
import BlindmatchProtocol
import GRDB
import Logging

/// `blindmatch bench chunks`: one run of two token files of the shared token store, computed in chunks through
/// PostgreSQL by this process's ``ChunkedRunExecutor`` (and by whatever `blindmatch worker` processes are running),
/// without the HTTP service around it: what the chunked path costs beside `blindmatch match` (docs/scale.md).
public enum ChunkBenchmark {
    /// What the run found and how long it took.
    public struct Figures: Sendable {
        public var seconds: Double
        public var matches: Int
        public var possible: Int
        public var comparisons: Int
        public var chunks: Int
    }

    /// Runs the watch list `watchlistSha256` against `bulkSha256` (both in `store`/tokens) with the default settings
    /// (threshold 0.85, many-to-one, nino vetoes) on the database at `location`.
    public static func run(
        location: PostgresLocation, store: String, watchlistSha256: String, bulkSha256: String, threads: Int,
        memoryLimit: Int, bulkRowsPerChunk: Int, computesChunks: Bool, logger: Logger
    ) async throws -> Figures {
        let pool = try await PostgresPool.open(location, logger: logger, maximumConnections: 4)
        do {
            let queue = PostgresChunkQueue(pool: pool)
            let worker = ChunkWorker(
                queue: queue, store: store,
                options: .init(threads: threads, memoryLimit: memoryLimit, lease: .seconds(30)),
                logger: logger, role: "bench")
            var configuration = ServiceConfiguration(dataDirectory: store)
            configuration.runMemoryLimit = memoryLimit
            var executor = ChunkedRunExecutor(
                queue: queue, worker: worker, threads: threads, budget: RunBudget(configuration), logger: logger)
            executor.bulkRowsPerChunk = bulkRowsPerChunk
            executor.computesChunks = computesChunks
            executor.poll = .milliseconds(50)
            let id = "r-bench-" + Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255) })
            let settings =
                #"{"blocking":true,"reviewFrom":null,"solver":"many-to-one","threshold":"0.85","vetoKeys":["nino"]}"#
            let run = try RunRecord(
                row: Row([
                    "id": id, "project": "p-bench", "status": "running", "watchlistUpload": "u-a",
                    "bulkUpload": "u-b", "settings": settings, "vetoDefaulted": 0, "attempt": 1, "stage": "exact",
                    "fraction": 0.0, "requestedBy": "operator", "queuedAt": "2026-12-07T00:00:00Z", "ordinal": 1,
                ]))
            let tokens = store + "/tokens"
            let files = RunFiles(
                watchlist: ("\(tokens)/\(watchlistSha256.prefix(2))/\(watchlistSha256).bmt", watchlistSha256),
                bulk: ("\(tokens)/\(bulkSha256.prefix(2))/\(bulkSha256).bmt", bulkSha256))
            let clock = ContinuousClock.now
            let outcome = await executor.execute(run, files: files, cancellation: RunCancellation()) { _ in }
            let seconds = MatchEngine.seconds(since: clock)
            guard case .succeeded(_, _, _, let summary) = outcome else {
                throw ServerError(.storage, "the benchmark run did not succeed: \(outcome)")
            }
            let chunks = try await pool.session { session in
                try await session.int("SELECT count(*) FROM run_chunk WHERE run = ?", [id])
            }
            await pool.close()
            return Figures(
                seconds: seconds, matches: summary.matches, possible: summary.possible,
                comparisons: summary.comparisons, chunks: chunks ?? 0)
        } catch {
            await pool.close()
            throw error
        }
    }
}
