import Logging
import PostgresNIO

/// One step of the PostgreSQL schema: a name, recorded in `schema_migrations` once applied, and its statements (one
/// SQL statement each: the extended protocol runs one at a time). Append-only and never modified once shipped (STYLE
/// rule 10).
public struct PostgresMigration: Sendable {
    public let name: String
    public let statements: [String]

    public init(name: String, statements: [String]) {
        self.name = name
        self.statements = statements
    }
}

/// The advisory lock keys of the store (`pg_advisory_xact_lock`), constants so that every server takes the same ones.
enum PostgresLocks {
    /// Held while migrations run, so that servers starting at once do not race.
    static let migrations: Int64 = 0x626C_696E_646D_0001
    /// Held by every transaction that appends to the audit log (and so by every audited change): the log is one
    /// chain, whichever server extends it.
    static let audit: Int64 = 0x626C_696E_646D_0002
}

extension PostgresMigration {
    /// The store's migrations, then the workers' (``workerMigrations``), in order.
    static var all: [PostgresMigration] { storeMigrations + workerMigrations }

    /// Applies the migrations not yet recorded in `schema_migrations`, in one transaction under an advisory lock:
    /// servers starting together apply each migration once, and a failing one leaves the schema as it was.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await PostgresSession(connection: connection, logger: logger).transaction(lock: migrations) {
                session in
                try await session.execute(
                    """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        name TEXT PRIMARY KEY, appliedAt TIMESTAMPTZ NOT NULL DEFAULT now())
                    """)
                let applied = Set(try await session.strings("SELECT name FROM schema_migrations"))
                for migration in all where !applied.contains(migration.name) {
                    for statement in migration.statements { try await session.execute(statement) }
                    try await session.execute(
                        "INSERT INTO schema_migrations (name) VALUES (?)", [migration.name])
                    logger.info("applied a database migration", metadata: ["migration": "\(migration.name)"])
                }
            }
        }
    }

    private static var migrations: Int64 { PostgresLocks.migrations }
}
