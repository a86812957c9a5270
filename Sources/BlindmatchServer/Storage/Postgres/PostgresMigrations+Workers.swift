extension PostgresMigration {
    /// The chunked runs' tables (`blindmatch worker`), applied after the store's own migrations. Append-only, like
    /// those.
    ///
    /// `run_plan`: one row per attempt of a run that is being computed in chunks: its plan (``MatchPlan``'s binary
    /// form), the SHA-256 of its two token files, its budgets (a deadline and the comparison budget) and its state
    /// (`running`, then `stopped` when it was cancelled or failed, or `finished`). `run_chunk`: one row per chunk,
    /// with its rows, its state (`pending`, `claimed` by a worker until `leaseUntil`, `done` with its candidates, or
    /// `failed` with a code), how many times it was claimed, and what it compared. A new attempt of a run deletes the
    /// rows of the earlier ones.
    static let workerMigrations: [PostgresMigration] = [
        PostgresMigration(
            name: "workers-1-chunks",
            statements: [
                """
                CREATE TABLE run_plan (
                    run TEXT COLLATE "C" NOT NULL, attempt BIGINT NOT NULL, plan BYTEA NOT NULL,
                    watchlistSha256 TEXT COLLATE "C" NOT NULL, bulkSha256 TEXT COLLATE "C" NOT NULL,
                    state TEXT COLLATE "C" NOT NULL DEFAULT 'running', deadline TIMESTAMPTZ NOT NULL,
                    comparisonLimit BIGINT NOT NULL, createdAt TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
                    PRIMARY KEY (run, attempt))
                """,
                """
                CREATE TABLE run_chunk (
                    run TEXT COLLATE "C" NOT NULL, attempt BIGINT NOT NULL, chunk BIGINT NOT NULL,
                    rowsAStart BIGINT NOT NULL, rowsAEnd BIGINT NOT NULL, rowsBStart BIGINT NOT NULL,
                    rowsBEnd BIGINT NOT NULL, fixedBytes BIGINT NOT NULL,
                    status TEXT COLLATE "C" NOT NULL DEFAULT 'pending', worker TEXT COLLATE "C",
                    leaseUntil TIMESTAMPTZ, attempts BIGINT NOT NULL DEFAULT 0, comparisons BIGINT,
                    failureCode TEXT COLLATE "C", failureMessage TEXT COLLATE "C", candidates BYTEA,
                    finishedAt TIMESTAMPTZ,
                    PRIMARY KEY (run, attempt, chunk),
                    FOREIGN KEY (run, attempt) REFERENCES run_plan (run, attempt) ON DELETE CASCADE)
                """,
                "CREATE INDEX run_chunk_open ON run_chunk (status, leaseUntil) WHERE status IN ('pending', 'claimed')",
            ])
    ]
}
