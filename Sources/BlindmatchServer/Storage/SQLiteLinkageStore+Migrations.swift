import GRDB

extension SQLiteLinkageStore {
    /// The store's migrations: append-only and never modified once shipped (STYLE rule 10).
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE token (
                        id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL, name TEXT NOT NULL,
                        project TEXT, party TEXT, issuedAt TEXT NOT NULL, expiresAt TEXT, revokedAt TEXT,
                        ordinal INTEGER NOT NULL);
                    CREATE TABLE project (
                        id TEXT PRIMARY KEY, name TEXT NOT NULL, purpose TEXT NOT NULL, legalBasis TEXT NOT NULL,
                        schemaFingerprint TEXT NOT NULL, keyId TEXT NOT NULL UNIQUE, matching TEXT NOT NULL,
                        vetoDefaulted INTEGER NOT NULL, disclosure TEXT NOT NULL, status TEXT NOT NULL,
                        createdAt TEXT NOT NULL, closedAt TEXT, closeReason TEXT, ordinal INTEGER NOT NULL);
                    CREATE TABLE party (
                        project TEXT NOT NULL REFERENCES project(id), name TEXT NOT NULL, role TEXT NOT NULL,
                        publicKey BLOB NOT NULL, registeredAt TEXT NOT NULL, PRIMARY KEY (project, name));
                    CREATE TABLE upload (
                        id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES project(id), party TEXT NOT NULL,
                        sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, records INTEGER NOT NULL, signer TEXT NOT NULL,
                        schemaFingerprint TEXT NOT NULL, keyId TEXT NOT NULL, filterBits INTEGER NOT NULL,
                        matchKeys TEXT NOT NULL, blockingKeys TEXT NOT NULL, fileCreatedAt TEXT NOT NULL,
                        receivedAt TEXT NOT NULL, ordinal INTEGER NOT NULL);
                    CREATE TABLE run (
                        id TEXT PRIMARY KEY, project TEXT NOT NULL REFERENCES project(id), status TEXT NOT NULL,
                        watchlistUpload TEXT NOT NULL, bulkUpload TEXT NOT NULL, settings TEXT NOT NULL,
                        vetoDefaulted INTEGER NOT NULL, attempt INTEGER NOT NULL, stage TEXT NOT NULL,
                        fraction REAL NOT NULL, summary TEXT, failureCode TEXT, failureMessage TEXT,
                        requestedBy TEXT NOT NULL, queuedAt TEXT NOT NULL, startedAt TEXT, finishedAt TEXT,
                        comparisons INTEGER NOT NULL DEFAULT 0, fuzzySeconds REAL NOT NULL DEFAULT 0,
                        ordinal INTEGER NOT NULL);
                    CREATE TABLE result (
                        run TEXT NOT NULL REFERENCES run(id), rowA INTEGER NOT NULL, rowB INTEGER NOT NULL,
                        rule TEXT NOT NULL, scoreMilli INTEGER NOT NULL, status TEXT NOT NULL);
                    CREATE INDEX resultByRunA ON result(run, rowA, rowB);
                    CREATE INDEX resultByRunB ON result(run, rowB, rowA);
                    CREATE TABLE audit (seq INTEGER PRIMARY KEY, line BLOB NOT NULL);
                    CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v2: audit actions") { db in
            // Lets the checkpoint timer find the last checkpoint without parsing the log.
            try db.execute(sql: "ALTER TABLE audit ADD COLUMN action TEXT")
            try db.execute(sql: "CREATE INDEX auditCheckpoints ON audit(action, seq)")
        }
        migrator.registerMigration("v3: project layout") { db in
            // The layout every upload must have, recorded at creation. A project made before this holds its first
            // upload's (what its uploads were checked against until now), or none yet: then its next upload sets it.
            try db.execute(
                sql: """
                    ALTER TABLE project ADD COLUMN layoutFilterBits INTEGER;
                    ALTER TABLE project ADD COLUMN layoutMatchKeys TEXT;
                    ALTER TABLE project ADD COLUMN layoutBlockingKeys TEXT;
                    UPDATE project SET
                        layoutFilterBits = (SELECT filterBits FROM upload WHERE upload.project = project.id
                            ORDER BY ordinal LIMIT 1),
                        layoutMatchKeys = (SELECT matchKeys FROM upload WHERE upload.project = project.id
                            ORDER BY ordinal LIMIT 1),
                        layoutBlockingKeys = (SELECT blockingKeys FROM upload WHERE upload.project = project.id
                            ORDER BY ordinal LIMIT 1);
                    """)
        }
        // The decision model's report of each succeeded run (GET …/runs/{r}/report).
        migrator.registerMigration("v4: run reports") { db in
            try db.execute(sql: "ALTER TABLE run ADD COLUMN report TEXT")
        }
        migrator.registerMigration("v5: run turns") { db in
            // The turn at which a run was last claimed: projects take turns at the matcher (claimNextRun).
            try db.execute(sql: "ALTER TABLE run ADD COLUMN turn INTEGER")
        }
        migrator.registerMigration("v6: run policy") { db in
            // Consent to run (Protocol/service.md): the project's run policy, approvals given, withdrawn uploads, and
            // who registered each party's key. A project made before keeps the rules it worked under (`legacy`).
            try db.execute(sql: "ALTER TABLE project ADD COLUMN runPolicy TEXT")
            try db.execute(sql: "UPDATE project SET runPolicy = ?", arguments: [try RunPolicy.legacy.storedText])
            try db.execute(
                sql: """
                    ALTER TABLE run ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]';
                    ALTER TABLE upload ADD COLUMN withdrawnAt TEXT;
                    ALTER TABLE party ADD COLUMN registeredBy TEXT NOT NULL DEFAULT 'operator';
                    ALTER TABLE party ADD COLUMN registeredByToken TEXT;
                    CREATE INDEX runByProjectQueued ON run(project, queuedAt);
                    """)
        }
        migrator.registerMigration("v7: key-bound tokens") { db in
            // A party token works once its party signs the token's challenge with its registered key. Tokens issued
            // before stay active as they were.
            try db.execute(
                sql: """
                    ALTER TABLE token ADD COLUMN activatedAt TEXT;
                    ALTER TABLE token ADD COLUMN challenge TEXT;
                    UPDATE token SET activatedAt = issuedAt;
                    """)
        }
        registerConsoleMigrations(in: &migrator)
        return migrator
    }
}
