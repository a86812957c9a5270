import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Logging
import Synchronization

@testable import BlindmatchServer

/// In-process servers on PostgreSQL: a database and a checkpoint key per data directory, so that a server started
/// again on the same directory (or a second server sharing it) finds the same store.
///
/// `BLINDMATCH_TEST_STORE=postgres` puts every in-process server of the service tests on PostgreSQL (tests that open
/// the SQLite file themselves then fail: they test SQLite); the tests in `PostgresServiceTests` always use it.
enum PostgresTestStore {
    /// Whether the environment asks for every in-process server on PostgreSQL.
    static var requested: Bool { ProcessInfo.processInfo.environment["BLINDMATCH_TEST_STORE"] == "postgres" }

    private static let databases = Mutex<[String: PostgresTestCluster.Database]>([:])

    /// Sets `configuration` to the PostgreSQL store of its data directory (made on first use) and the directory's
    /// checkpoint key (every server of the directory signs with it).
    static func configure(_ configuration: inout ServiceConfiguration) throws {
        let directory = configuration.dataDirectory
        let database = try databases.withLock { known in
            if let database = known[directory] { return database }
            let database = try PostgresTestCluster.makeDatabase()
            known[directory] = database
            return database
        }
        configuration.database = try PostgresLocation(url: database.url).withPassword(
            file: database.passwordFile, environment: [:])
        if configuration.checkpointKeyFile == nil {
            // The key every server of the directory signs with, where a SQLite server keeps its own (so that tests
            // reading `matcher.pub` find it), given explicitly as `--database` requires.
            try DataDirectory.prepare(directory)
            _ = try DataDirectory.checkpointKey(in: directory)
            configuration.checkpointKeyFile = directory + "/matcher.key"
        }
    }

    /// The database of a data directory's servers, dropped (after they stopped).
    static func drop(dataDirectory: String) {
        let database = databases.withLock { $0.removeValue(forKey: dataDirectory) }
        database?.drop()
    }

    /// A pool on the database of a data directory's servers, for a test to look into; close it when done.
    static func pool(dataDirectory: String) async throws -> PostgresPool {
        var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
        try configure(&configuration)
        guard let location = configuration.database else { throw ServiceTestError("no PostgreSQL store") }
        return try await PostgresPool.open(
            location, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }
}

extension InProcessServer {
    /// A server on the PostgreSQL store of `dataDirectory` (``PostgresTestStore``): it computes its runs in chunks of
    /// `chunkBulkRows` bulk rows (``ChunkedRunExecutor``), with its own worker and any others.
    static func onPostgres(
        dataDirectory: String, operatorTokenFile: String, chunkBulkRows: Int
    ) async throws -> InProcessServer {
        try await InProcessServer(
            dataDirectory: dataDirectory, operatorTokenFile: operatorTokenFile, executor: EngineRunExecutor(threads: 1)
        ) { configuration in
            try? PostgresTestStore.configure(&configuration)
            configuration.chunkBulkRows = chunkBulkRows
        }
    }
}
