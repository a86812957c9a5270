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
                    id TEXT COLLATE "C" PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, role TEXT COLLATE "C" NOT NULL, name TEXT COLLATE "C" NOT NULL,
                    project TEXT COLLATE "C", party TEXT COLLATE "C", issuedAt TEXT COLLATE "C" NOT NULL, expiresAt TEXT COLLATE "C", revokedAt TEXT COLLATE "C",
                    ordinal BIGINT NOT NULL, activatedAt TEXT COLLATE "C", challenge TEXT COLLATE "C")
                """,
                """
                CREATE TABLE project (
                    id TEXT COLLATE "C" PRIMARY KEY, name TEXT COLLATE "C" NOT NULL, purpose TEXT COLLATE "C" NOT NULL, legalBasis TEXT COLLATE "C" NOT NULL,
                    schemaFingerprint TEXT COLLATE "C" NOT NULL, keyId TEXT COLLATE "C" NOT NULL UNIQUE, matching TEXT COLLATE "C" NOT NULL,
                    vetoDefaulted BIGINT NOT NULL, disclosure TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL,
                    createdAt TEXT COLLATE "C" NOT NULL, closedAt TEXT COLLATE "C", closeReason TEXT COLLATE "C", ordinal BIGINT NOT NULL,
                    layoutFilterBits BIGINT, layoutMatchKeys TEXT COLLATE "C", layoutBlockingKeys TEXT COLLATE "C", runPolicy TEXT COLLATE "C")
                """,
                """
                CREATE TABLE party (
                    project TEXT COLLATE "C" NOT NULL REFERENCES project(id), name TEXT COLLATE "C" NOT NULL, role TEXT COLLATE "C" NOT NULL,
                    publicKey BYTEA NOT NULL, registeredAt TEXT COLLATE "C" NOT NULL,
                    registeredBy TEXT COLLATE "C" NOT NULL DEFAULT 'operator', registeredByToken TEXT COLLATE "C",
                    PRIMARY KEY (project, name))
                """,
                """
                CREATE TABLE upload (
                    id TEXT COLLATE "C" PRIMARY KEY, project TEXT COLLATE "C" NOT NULL REFERENCES project(id), party TEXT COLLATE "C" NOT NULL,
                    sha256 TEXT COLLATE "C" NOT NULL, bytes BIGINT NOT NULL, records BIGINT NOT NULL, signer TEXT COLLATE "C" NOT NULL,
                    schemaFingerprint TEXT COLLATE "C" NOT NULL, keyId TEXT COLLATE "C" NOT NULL, filterBits BIGINT NOT NULL,
                    matchKeys TEXT COLLATE "C" NOT NULL, blockingKeys TEXT COLLATE "C" NOT NULL, fileCreatedAt TEXT COLLATE "C" NOT NULL,
                    receivedAt TEXT COLLATE "C" NOT NULL, ordinal BIGINT NOT NULL, withdrawnAt TEXT COLLATE "C")
                """,
                """
                CREATE TABLE run (
                    id TEXT COLLATE "C" PRIMARY KEY, project TEXT COLLATE "C" NOT NULL REFERENCES project(id), status TEXT COLLATE "C" NOT NULL,
                    watchlistUpload TEXT COLLATE "C" NOT NULL, bulkUpload TEXT COLLATE "C" NOT NULL, settings TEXT COLLATE "C" NOT NULL,
                    vetoDefaulted BIGINT NOT NULL, attempt BIGINT NOT NULL, stage TEXT COLLATE "C" NOT NULL,
                    fraction DOUBLE PRECISION NOT NULL, summary TEXT COLLATE "C", failureCode TEXT COLLATE "C", failureMessage TEXT COLLATE "C",
                    requestedBy TEXT COLLATE "C" NOT NULL, queuedAt TEXT COLLATE "C" NOT NULL, startedAt TEXT COLLATE "C", finishedAt TEXT COLLATE "C",
                    comparisons BIGINT NOT NULL DEFAULT 0, fuzzySeconds DOUBLE PRECISION NOT NULL DEFAULT 0,
                    ordinal BIGINT NOT NULL, report TEXT COLLATE "C", turn BIGINT, approvals TEXT COLLATE "C" NOT NULL DEFAULT '[]',
                    owner TEXT COLLATE "C", leaseUntil BIGINT)
                """,
                "CREATE INDEX runByProjectQueued ON run(project, queuedAt)",
                "CREATE INDEX runByStatus ON run(status)",
                """
                CREATE TABLE result (
                    run TEXT COLLATE "C" NOT NULL REFERENCES run(id), rowA BIGINT NOT NULL, rowB BIGINT NOT NULL,
                    rule TEXT COLLATE "C" NOT NULL, scoreMilli BIGINT NOT NULL, status TEXT COLLATE "C" NOT NULL)
                """,
                "CREATE INDEX resultByRunA ON result(run, rowA, rowB)",
                "CREATE INDEX resultByRunB ON result(run, rowB, rowA)",
                "CREATE TABLE audit (seq BIGINT PRIMARY KEY, line BYTEA NOT NULL, action TEXT COLLATE \"C\")",
                "CREATE INDEX auditCheckpoints ON audit(action, seq)",
                "CREATE TABLE counter (name TEXT COLLATE \"C\" PRIMARY KEY, value BIGINT NOT NULL)",
                """
                CREATE TABLE consoleSession (
                    id TEXT COLLATE "C" PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, token TEXT COLLATE "C" NOT NULL REFERENCES token(id),
                    openedAt TEXT COLLATE "C" NOT NULL, lastSeen BIGINT NOT NULL)
                """,
                """
                CREATE TABLE consoleTicket (
                    id TEXT COLLATE "C" PRIMARY KEY, hash BYTEA NOT NULL UNIQUE, token TEXT COLLATE "C" NOT NULL REFERENCES token(id),
                    expiresAt TEXT COLLATE "C" NOT NULL)
                """,
            ])
    ]
}
