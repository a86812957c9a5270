import Logging
import PostgresNIO

/// The connection pool of the shared PostgreSQL store, running, with the schema migrated: what `serve --database`
/// opens, and what `blindmatch worker` opens to reach the same database.
public final class PostgresPool: Sendable {
    /// postgres-nio's pool; leases connections while this object lives (until ``close()``).
    public let client: PostgresClient
    public let location: PostgresLocation
    let logger: Logger
    private let runner: Task<Void, Never>

    private init(client: PostgresClient, location: PostgresLocation, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        runner = Task { await client.run() }
    }

    /// Connects to `location` (its password given, see ``PostgresLocation/withPassword(file:environment:)``) and
    /// applies the migrations not yet applied, the store's and the workers', under an advisory lock. Throws a
    /// ``ServerError`` naming the location (never the password) when the database cannot be reached.
    public static func open(
        _ location: PostgresLocation, logger: Logger = Logger(label: "blindmatch.postgres"),
        maximumConnections: Int = 16
    ) async throws -> PostgresPool {
        // One connection first: when the database cannot be reached or refuses the login, the pool only reports
        // that its connections keep failing; a connection says why.
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try location.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw Self.describe(error, at: location)
        }
        let client = PostgresClient(
            configuration: try location.clientConfiguration(maximumConnections: maximumConnections))
        let pool = PostgresPool(client: client, location: location, logger: logger)
        do {
            try await PostgresMigration.migrate(client, logger: logger)
        } catch {
            await pool.close()
            throw Self.describe(error, at: location)
        }
        return pool
    }

    /// Closes every connection; the pool cannot be used afterwards.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// A leased connection for `body`.
    func session<Result: Sendable>(_ body: (PostgresSession) async throws -> Result) async throws -> Result {
        do {
            return try await client.withConnection { connection in
                try await body(PostgresSession(connection: connection, logger: logger))
            }
        } catch {
            throw Self.describe(error, at: location)
        }
    }

    /// `body` in a transaction that holds the audit lock (``PostgresLocks/audit``): every change the log records
    /// goes through here, so the log is one chain whichever server writes, as SQLite's one writer makes it.
    func write<Result: Sendable>(_ body: (PostgresSession) async throws -> Result) async throws -> Result {
        try await session { session in try await session.transaction(lock: PostgresLocks.audit, body) }
    }

    /// `body` in a read-only transaction that sees one snapshot (REPEATABLE READ), as SQLite's readers do.
    func read<Result: Sendable>(_ body: (PostgresSession) async throws -> Result) async throws -> Result {
        try await session { session in
            try await session.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let result = try await body(session)
                try await session.execute("COMMIT")
                return result
            } catch {
                try? await session.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// Errors as the store reports them: the service's own pass through, PostgreSQL's become a ``ServerError``
    /// naming the location and what PostgreSQL said (its message and SQLSTATE, never the statement's values).
    static func describe(_ error: any Error, at location: PostgresLocation) -> any Error {
        switch error {
        case let error as PSQLError:
            if error.serverInfo != nil {
                let described = PostgresSession.storageError(error)
                return ServerError(.storage, "\(location): \(described.reason)")
            }
            let cause = error.underlying.map { " (\($0))" } ?? ""
            return ServerError(.storage, "\(location): PostgreSQL cannot be reached: \(error.code)\(cause)")
        default:
            // The pool's own (its connections keep failing, it is shut down), whose type is not public API.
            guard String(describing: type(of: error)) == "ConnectionPoolError" else { return error }
            return ServerError(.storage, "\(location): PostgreSQL cannot be reached (\(error))")
        }
    }
}
