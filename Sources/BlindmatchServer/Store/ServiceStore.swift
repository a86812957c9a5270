import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

/// The service's embedded store: one SQLite database (`blindmatch.sqlite`) in the data directory, with migrations.
///
/// It holds tokens (their SHA-256 only), projects and parties, upload metadata, runs and their results, the audit
/// log and a few counters. Token files themselves live in the ``TokenFileStore`` beside it. Every change that the
/// audit log records is written in the same transaction as its audit entry (``append(_:actor:action:project:details:)``),
/// so the log and the state never disagree, even after a crash.
final class ServiceStore: Sendable {
    let database: DatabaseQueue
    let checkpointKey: SigningKey

    init(path: String, checkpointKey: SigningKey) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        self.checkpointKey = checkpointKey
        try Self.migrator.migrate(database)
    }

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
        return migrator
    }

    // MARK: The audit log

    /// Appends one entry after the log's last, in the caller's transaction.
    @discardableResult
    static func append(
        _ db: Database, actor: AuditActor, action: AuditAction, project: String?, details: AuditDetails = [:]
    ) throws -> AuditEntry {
        let entry = try AuditEntry.make(
            after: try lastEntry(db), actor: actor, action: action, project: project, details: details,
            time: AuditTime.now())
        try insert(db, entry)
        return entry
    }

    /// Appends a checkpoint that signs everything before it, in the caller's transaction.
    @discardableResult
    func appendCheckpoint(_ db: Database) throws -> AuditEntry? {
        guard let last = try Self.lastEntry(db) else { return nil }
        if last.action == .checkpoint { return last }
        let entry = try AuditEntry.makeCheckpoint(after: last, signingKey: checkpointKey, time: AuditTime.now())
        try Self.insert(db, entry)
        return entry
    }

    private static func insert(_ db: Database, _ entry: AuditEntry) throws {
        try db.execute(
            sql: "INSERT INTO audit (seq, line, action) VALUES (?, ?, ?)",
            arguments: [entry.seq, Data(entry.canonicalBytes), entry.action.rawValue])
    }

    /// Appends a checkpoint when entries have gone unsigned too long (SPEC §10.4: after at most 1,000 entries, and
    /// within `interval` seconds of the first unsigned one). Returns whether it did.
    @discardableResult
    func checkpointIfDue(_ db: Database, interval: Int) throws -> Bool {
        let lastCheckpoint =
            try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM audit WHERE action = 'checkpoint'") ?? -1
        guard
            let firstUnsigned = try Data.fetchOne(
                db, sql: "SELECT line FROM audit WHERE seq > ? ORDER BY seq LIMIT 1", arguments: [lastCheckpoint])
        else { return false }
        let unsigned =
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit WHERE seq > ?", arguments: [lastCheckpoint]) ?? 0
        let since = try AuditEntry(parsing: [UInt8](firstUnsigned)).time
        let age = AuditTime.now().secondsSince1970 - since.secondsSince1970
        guard unsigned >= 1000 || age >= Int64(interval) else { return false }
        return try appendCheckpoint(db) != nil
    }

    static func lastEntry(_ db: Database) throws -> AuditEntry? {
        guard let data = try Data.fetchOne(db, sql: "SELECT line FROM audit ORDER BY seq DESC LIMIT 1") else {
            return nil
        }
        return try AuditEntry(parsing: [UInt8](data))
    }

    // MARK: Counters

    static func add(_ db: Database, counter name: String, _ amount: Int) throws {
        try db.execute(
            sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            arguments: [name, amount, amount])
    }

    static func setMaximum(_ db: Database, counter name: String, _ value: Int) throws {
        try db.execute(
            sql:
                "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, ?)",
            arguments: [name, value, value])
    }

    static func set(_ db: Database, counter name: String, _ value: Int) throws {
        try db.execute(
            sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
            arguments: [name, value, value])
    }

    static func counter(_ db: Database, _ name: String) throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT value FROM counter WHERE name = ?", arguments: [name])
    }

    /// A number that grows with every insert, for newest-first listings that do not depend on the clock.
    static func nextOrdinal(_ db: Database) throws -> Int {
        try add(db, counter: "ordinal", 1)
        return try counter(db, "ordinal") ?? 1
    }
}
