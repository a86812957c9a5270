extension PostgresMigration {
    /// The store's schema: SQLite's (``SQLiteLinkageStore/migrator``, v1 to v8) as it stands, in PostgreSQL's types,
    /// plus what several servers need (a running run's owner and lease). Names are unquoted, so PostgreSQL keeps them
    /// in lower case; the store's SQL is written as SQLite's and reads rows by name, ignoring case.
    static let storeMigrations: [PostgresMigration] = [
        PostgresMigration(
            name: "v1: store",
            statements: [
                """
                CREATE TABLE token (
                    id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL,
                    project TEXT, party TEXT, issuedAt TEXT NOT NULL, expiresAt TEXT, revokedAt TEXT,
                    ordinal BIGINT NOT NULL, activatedAt TEXT, challenge TEXT)
                """,
                """
                CREATE TABLE project (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, purpose TEXT NOT NULL, legalBasis TEXT NOT NULL,
                    schemaFingerprint TEXT NOT NULL, keyId TEXT NOT NULL UNIQUE, matching TEXT NOT NULL,
                    vetoDefaulted BIGINT NOT NULL, disclosure TEXT NOT NULL, status TEXT NOT NULL,
                    createdAt TEXT NOT NULL, closedAt TEXT, closeReason TEXT, ordinal BIGINT NOT NULL,
                    layoutFilterBits BIGINT, layoutMatchKeys TEXT, layoutBlockingKeys TEXT, runPolicy TEXT)
                """,
                """
                CREATE TABLE party (
                    project TEXT NOT NULL REFERENCES project(id), name TEXT NOT NULL, role TEXT NOT NULL,
                    publicKey BYTEA NOT NULL, registeredAt TEXT NOT NULL,
                    registeredBy TEXT NOT NULL DEFAULT 'operator', registeredByToken TEXT,
                    PRIMARY KEY (project, name))
                """,
                """
                CREATE TABLE upload (
                    id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES project(id), party TEXT NOT NULL,
                    sha256 TEXT NOT NULL, bytes BIGINT NOT NULL, records BIGINT NOT NULL, signer TEXT NOT NULL,
                    schemaFingerprint TEXT NOT NULL, keyId TEXT NOT NULL, filterBits BIGINT NOT NULL,
                    matchKeys TEXT NOT NULL, blockingKeys TEXT NOT NULL, fileCreatedAt TEXT NOT NULL,
                    receivedAt TEXT NOT NULL, ordinal BIGINT NOT NULL, withdrawnAt TEXT)
                """,
                """
                CREATE TABLE run (
                    id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES project(id), status TEXT NOT NULL,
                    watchlistUpload TEXT NOT NULL, bulkUpload TEXT NOT NULL, settings TEXT NOT NULL,
                    vetoDefaulted BIGINT NOT NULL, attempt BIGINT NOT NULL, stage TEXT NOT NULL,
                    fraction DOUBLE PRECISION NOT NULL, summary TEXT, failureCode TEXT, failureMessage TEXT,
                    requestedBy TEXT NOT NULL, queuedAt TEXT NOT NULL, startedAt TEXT, finishedAt TEXT,
                    comparisons BIGINT NOT NULL DEFAULT 0, fuzzySeconds DOUBLE PRECISION NOT NULL DEFAULT 0,
                    ordinal BIGINT NOT NULL, report TEXT, turn BIGINT, approvals TEXT NOT NULL DEFAULT '[]',
                    owner TEXT, leaseUntil BIGINT)
                """,
                "CREATE INDEX runByProjectQueued ON run(project, queuedAt)",
                "CREATE INDEX runByStatus ON run(status)",
                """
                CREATE TABLE result (
                    run TEXT NOT NULL REFERENCES run(id), rowA BIGINT NOT NULL, rowB BIGINT NOT NULL,
                    rule TEXT NOT NULL, scoreMilli BIGINT NOT NULL, status TEXT NOT NULL)
                """,
                "CREATE INDEX resultByRunA ON result(run, rowA, rowB)",
                "CREATE INDEX resultByRunB ON result(run, rowB, rowA)",
                "CREATE TABLE audit (seq BIGINT PRIMARY KEY, line BYTEA NOT NULL, action TEXT)",
                "CREATE INDEX auditCheckpoints ON audit(action, seq)",
                "CREATE TABLE counter (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                """
                CREATE TABLE consoleSession (
                    id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, token TEXT NOT NULL REFERENCES token(id),
                    openedAt TEXT NOT NULL, lastSeen BIGINT NOT NULL)
                """,
                """
                CREATE TABLE consoleTicket (
                    id TEXT PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, token TEXT NOT NULL REFERENCES token(id),
                    expiresAt TEXT NOT NULL)
                """,
            ])
    ]
}
