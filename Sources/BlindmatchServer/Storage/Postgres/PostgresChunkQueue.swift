import BlindmatchMatching
import Foundation
import GRDB

/// The chunks of the runs being computed, in PostgreSQL (`run_plan`, `run_chunk`; PostgresMigrations+Workers.swift):
/// the server that runs a run publishes its plan and chunks; `blindmatch worker` processes (and that server) claim
/// chunks with `FOR UPDATE SKIP LOCKED`, renew their lease while they compute, and write the candidates back.
///
/// A chunk is written back at most once: the write-back changes the row only while it is `claimed` by the writer, and
/// stores the candidates and `done` in the same statement, so a second write of a chunk (a worker whose lease lapsed
/// and whose chunk another worker claimed and finished) changes nothing and reports false. A chunk whose lease lapsed
/// (its worker died or stalled) is claimed again by the next worker that asks.
public struct PostgresChunkQueue: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// A chunk, as a worker holds it.
    public struct Claim: Sendable, Equatable {
        public var run: String
        public var attempt: Int
        public var chunk: Int
        public var rowsA: Range<Int>
        public var rowsB: Range<Int>
        /// The chunk's estimated memory before its pairs (``ChunkGrid/Cell/fixedBytes``).
        public var fixedBytes: Int
        /// How many times the chunk has been claimed, this claim included.
        public var attempts: Int
    }

    /// What a worker needs of a run besides its chunk: the plan, the files and the budgets left.
    public struct RunWork: Sendable {
        public var plan: [UInt8]
        public var watchlistSha256: String
        public var bulkSha256: String
        /// Whether the run is still being computed (not stopped or finished).
        public var isRunning: Bool
        /// Seconds left of the run's time budget.
        public var secondsLeft: Double
        /// The run's comparison budget less what its finished chunks compared.
        public var comparisonsLeft: Int
    }

    /// Where a run's chunks stand.
    public struct Progress: Sendable, Equatable {
        public var total = 0
        public var done = 0
        /// The first failed chunk's code and message.
        public var failure: (code: String, message: String)?

        public static func == (lhs: Progress, rhs: Progress) -> Bool {
            lhs.total == rhs.total && lhs.done == rhs.done && lhs.failure?.code == rhs.failure?.code
        }
    }

    /// Publishes attempt `attempt` of `run`: its plan and its chunks, all `pending`; the rows of its earlier attempts
    /// go. One transaction: workers see all of the chunks or none.
    func publish(
        run: String, attempt: Int, plan: [UInt8], watchlistSha256: String, bulkSha256: String,
        cells: [ChunkGrid.Cell], timeLimit: Duration, comparisonLimit: Int
    ) async throws {
        let seconds = Double(timeLimit.components.seconds) + Double(timeLimit.components.attoseconds) / 1e18
        try await pool.session { session in
            try await session.transaction { session in
                try await session.execute("DELETE FROM run_plan WHERE run = ?", [run])
                try await session.execute(
                    """
                    INSERT INTO run_plan (run, attempt, plan, watchlistSha256, bulkSha256, deadline, comparisonLimit)
                    VALUES (?, ?, ?, ?, ?, clock_timestamp() + make_interval(secs => ?), ?)
                    """,
                    [run, attempt, Data(plan), watchlistSha256, bulkSha256, min(seconds, 1e9), comparisonLimit])
                // A few hundred rows a statement.
                var index = 0
                while index < cells.count {
                    let batch = cells[index..<min(cells.count, index + 200)]
                    var values: [String] = []
                    var arguments: [(any DatabaseValueConvertible)?] = []
                    for (offset, cell) in batch.enumerated() {
                        values.append("(?, ?, ?, ?, ?, ?, ?, ?)")
                        arguments += [
                            run, attempt, index + offset, cell.rowsA.lowerBound, cell.rowsA.upperBound,
                            cell.rowsB.lowerBound, cell.rowsB.upperBound, cell.fixedBytes,
                        ]
                    }
                    try await session.execute(
                        """
                        INSERT INTO run_chunk (run, attempt, chunk, rowsAStart, rowsAEnd, rowsBStart, rowsBEnd, fixedBytes)
                        VALUES \(values.joined(separator: ", "))
                        """, arguments)
                    index += batch.count
                }
            }
        }
    }

    /// Claims a chunk for `worker` with a lease of `lease`: a pending chunk, or one whose lease lapsed, of a running
    /// run, that fits `memoryLimit` and was claimed fewer than `maximumAttempts` times; of run `preferred` first,
    /// then of the oldest plan. Nil when there is none (or, with `onlyPreferred`, none of `preferred`).
    public func claim(
        worker: String, lease: Duration, memoryLimit: Int, maximumAttempts: Int, preferred: String? = nil,
        onlyPreferred: Bool = false
    ) async throws -> Claim? {
        try await pool.session { session in
            let row = try await session.row(
                """
                UPDATE run_chunk AS c SET status = 'claimed', worker = ?,
                    leaseUntil = clock_timestamp() + make_interval(secs => ?), attempts = c.attempts + 1
                FROM (SELECT k.run, k.attempt, k.chunk FROM run_chunk k
                      JOIN run_plan p ON p.run = k.run AND p.attempt = k.attempt
                      WHERE p.state = 'running' AND k.fixedBytes <= ? AND k.attempts < ?
                        AND (k.status = 'pending' OR (k.status = 'claimed' AND k.leaseUntil < clock_timestamp()))
                        AND (? = 0 OR k.run = ?)
                      ORDER BY (k.run = ?) DESC, p.createdAt, k.chunk
                      LIMIT 1 FOR UPDATE OF k SKIP LOCKED) AS pick
                WHERE c.run = pick.run AND c.attempt = pick.attempt AND c.chunk = pick.chunk
                RETURNING c.run, c.attempt, c.chunk, c.rowsAStart, c.rowsAEnd, c.rowsBStart, c.rowsBEnd, c.fixedBytes,
                    c.attempts
                """,
                [
                    worker, Self.seconds(lease), memoryLimit, maximumAttempts, onlyPreferred ? 1 : 0, preferred ?? "",
                    preferred ?? "",
                ])
            guard let row else { return nil }
            let startA: Int = row["rowsAStart"]
            let endA: Int = row["rowsAEnd"]
            let startB: Int = row["rowsBStart"]
            let endB: Int = row["rowsBEnd"]
            guard startA <= endA, startB <= endB else {
                throw ServerError(.storage, "run_chunk holds a chunk whose rows are not ranges")
            }
            return Claim(
                run: row["run"], attempt: row["attempt"], chunk: row["chunk"], rowsA: startA..<endA,
                rowsB: startB..<endB, fixedBytes: row["fixedBytes"], attempts: row["attempts"])
        }
    }

    /// The plan, files and budgets of attempt `attempt` of `run`; nil when it has none (a later attempt replaced it).
    public func work(run: String, attempt: Int) async throws -> RunWork? {
        try await pool.session { session in
            let row = try await session.row(
                """
                SELECT encode(plan, 'base64') AS plan, watchlistSha256, bulkSha256, state,
                    EXTRACT(EPOCH FROM (deadline - clock_timestamp()))::float8 AS secondsLeft,
                    comparisonLimit - (SELECT COALESCE(sum(comparisons), 0) FROM run_chunk
                        WHERE run = ? AND attempt = ? AND status = 'done')::bigint AS comparisonsLeft
                FROM run_plan WHERE run = ? AND attempt = ?
                """, [run, attempt, run, attempt])
            guard let row else { return nil }
            let state: String = row["state"]
            return RunWork(
                plan: try Self.bytes(base64: row["plan"], "run_plan \(run)/\(attempt)"),
                watchlistSha256: row["watchlistSha256"], bulkSha256: row["bulkSha256"],
                isRunning: state == "running", secondsLeft: row["secondsLeft"],
                comparisonsLeft: row["comparisonsLeft"])
        }
    }

    /// Extends `worker`'s lease on `claim` by `lease`; false when the chunk is no longer the worker's to compute (it
    /// lapsed and another worker claimed it, or its run was stopped or replaced).
    public func renew(_ claim: Claim, worker: String, lease: Duration) async throws -> Bool {
        try await pool.session { session in
            try await session.changes(
                """
                UPDATE run_chunk SET leaseUntil = clock_timestamp() + make_interval(secs => ?)
                WHERE run = ? AND attempt = ? AND chunk = ? AND worker = ? AND status = 'claimed'
                    AND EXISTS (SELECT 1 FROM run_plan p WHERE p.run = ? AND p.attempt = ? AND p.state = 'running')
                """,
                [Self.seconds(lease), claim.run, claim.attempt, claim.chunk, worker, claim.run, claim.attempt])
        } > 0
    }

    /// Writes `claim`'s candidates back and marks it `done`, in one statement, if it is still `worker`'s; false (and
    /// nothing written) otherwise: a second write of a chunk is a no-op.
    public func complete(_ claim: Claim, worker: String, candidates: [UInt8], comparisons: Int) async throws -> Bool {
        try await pool.session { session in
            try await session.changes(
                """
                UPDATE run_chunk SET status = 'done', candidates = ?, comparisons = ?, leaseUntil = NULL,
                    finishedAt = clock_timestamp()
                WHERE run = ? AND attempt = ? AND chunk = ? AND worker = ? AND status = 'claimed'
                """, [Data(candidates), comparisons, claim.run, claim.attempt, claim.chunk, worker])
        } > 0
    }

    /// Marks `claim` failed with a `RunFailure` code, if it is still `worker`'s: the run fails with it.
    public func fail(_ claim: Claim, worker: String, code: String, message: String) async throws {
        try await pool.session { session in
            try await session.execute(
                """
                UPDATE run_chunk SET status = 'failed', failureCode = ?, failureMessage = ?, leaseUntil = NULL,
                    finishedAt = clock_timestamp()
                WHERE run = ? AND attempt = ? AND chunk = ? AND worker = ? AND status = 'claimed'
                """, [code, message, claim.run, claim.attempt, claim.chunk, worker])
        }
    }

    /// Gives `claim` back (a worker stopping gracefully): pending again at once, the claim not counted.
    public func release(_ claim: Claim, worker: String) async throws {
        try await pool.session { session in
            try await session.execute(
                """
                UPDATE run_chunk SET status = 'pending', worker = NULL, leaseUntil = NULL,
                    attempts = GREATEST(attempts - 1, 0)
                WHERE run = ? AND attempt = ? AND chunk = ? AND worker = ? AND status = 'claimed'
                """, [claim.run, claim.attempt, claim.chunk, worker])
        }
    }

    /// Where attempt `attempt` of `run` stands. Chunks whose lease lapsed after `maximumAttempts` claims are failed
    /// first (`restartLimitReached`): a chunk that takes its worker down must not do so for ever.
    func progress(run: String, attempt: Int, maximumAttempts: Int) async throws -> Progress {
        try await pool.session { session in
            try await session.execute(
                """
                UPDATE run_chunk SET status = 'failed', failureCode = 'restartLimitReached',
                    failureMessage = 'a chunk of the run was started ' || attempts || ' times without finishing'
                WHERE run = ? AND attempt = ? AND status = 'claimed' AND leaseUntil < clock_timestamp()
                    AND attempts >= ?
                """, [run, attempt, maximumAttempts])
            let row = try await session.row(
                """
                SELECT count(*) AS total, count(*) FILTER (WHERE status = 'done') AS done,
                    min(failureCode) AS failureCode, min(failureMessage) AS failureMessage
                FROM run_chunk WHERE run = ? AND attempt = ?
                """, [run, attempt])
            var progress = Progress()
            if let row {
                progress.total = row["total"]
                progress.done = row["done"]
                if let code: String = row["failureCode"] {
                    progress.failure = (code, row["failureMessage"] ?? "a chunk of the run failed")
                }
            }
            return progress
        }
    }

    /// The candidates of every chunk of attempt `attempt` of `run`, in chunk order (each read as it is stored).
    func candidates(run: String, attempt: Int) async throws -> [ChunkCandidates] {
        let rows: [(Int, String?)] = try await pool.session { session in
            try await session.rows(
                """
                SELECT chunk, encode(candidates, 'base64') AS candidates FROM run_chunk
                WHERE run = ? AND attempt = ? AND status = 'done' ORDER BY chunk
                """, [run, attempt]
            ).map { ($0["chunk"], $0["candidates"]) }
        }
        return try rows.map { chunk, text in
            let source = "run_chunk \(run)/\(attempt)/\(chunk)"
            guard let text else { throw ServerError(.storage, "\(source) is done but holds no candidates") }
            return try ChunkCandidates(serialized: try Self.bytes(base64: text, source), source: source)
        }
    }

    /// Ends attempt `attempt` of `run`: `stopped` (workers give up its chunks at their next renewal) or `finished`
    /// (its chunks' candidates are dropped; the rows stay, as a record of who computed what).
    func end(run: String, attempt: Int, finished: Bool) async throws {
        try await pool.session { session in
            try await session.execute(
                "UPDATE run_plan SET state = ? WHERE run = ? AND attempt = ?",
                [finished ? "finished" : "stopped", run, attempt])
            if finished {
                try await session.execute(
                    "UPDATE run_chunk SET candidates = NULL WHERE run = ? AND attempt = ?", [run, attempt])
            }
        }
    }

    /// A blob read as base64 text (`encode(…, 'base64')`, with its line breaks): the store's sessions read columns as
    /// text or numbers.
    static func bytes(base64 text: String, _ source: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
            throw ServerError(.storage, "\(source): a stored blob is not base64")
        }
        return Array(data)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
