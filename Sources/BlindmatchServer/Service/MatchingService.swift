import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The central matching service (`blindmatch serve`): the store, the token-file store, the run scheduler and the
/// HTTP API of `Protocol/openapi.yaml`.
public final class MatchingService: Sendable {
    /// How `serve` is configured.
    public struct Options: Sendable {
        public var dataDirectory: String
        public var host = "127.0.0.1"
        public var port = 8080
        /// The largest token file accepted (`serve --max-upload-bytes`).
        public var maxUploadBytes = 8 << 30
        /// Where to write the first operator token (0600) instead of printing it.
        public var operatorTokenFile: String?
        /// Threads the engine uses for a run.
        public var threads = 1
        /// The least severe log message written (`.warning` keeps an embedded service quiet, as in `demo`).
        public var logLevel = Logger.Level.info

        public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
    }

    /// The largest JSON request body.
    static let maxJSONBytes = 1 << 20

    let options: Options
    let store: ServiceStore
    let files: TokenFileStore
    let scheduler: RunScheduler
    let logger: Logger
    let startedAt = ContinuousClock.now
    /// Finished by ``stop()``: `run(onListening:)` then shuts the server down gracefully.
    private let stopRequests = AsyncStream<Void>.makeStream()
    /// Rows in each party's view of a run (results never change once published), so that paging does not count the
    /// whole view again for every page.
    let viewSizes = Mutex<[String: Int]>([:])

    /// Opens (or creates) the data directory: the store with its migrations, the matcher's checkpoint key, the
    /// token-file store; removes what interrupted uploads left.
    public init(options: Options) throws {
        self.options = options
        var logger = Logger(label: "blindmatch.serve")
        logger.logLevel = options.logLevel
        self.logger = logger
        let directory = options.dataDirectory
        if !FileIO.exists(directory) {
            guard mkdir(directory, 0o700) == 0 else { throw ServerError(.startup, "cannot create \(directory)") }
        }
        let mode = try FileIO.permissions(of: directory)
        guard mode & 0o077 == 0 else {
            throw ServerError(
                .startup,
                "\(directory): others can read the data directory (mode \(String(mode, radix: 8))); chmod 700 it")
        }
        let key = try Self.checkpointKey(in: directory)
        store = try ServiceStore(path: directory + "/blindmatch.sqlite", checkpointKey: key)
        files = try TokenFileStore(dataDirectory: directory)
        files.removeTemporaryFiles()
        scheduler = RunScheduler()
    }

    /// The matcher's checkpoint-signing key (SPEC §10.4): `matcher.key` (0600) and `matcher.pub` in the data
    /// directory, made on first start.
    static func checkpointKey(in directory: String) throws -> SigningKey {
        let path = directory + "/matcher.key"
        if FileIO.exists(path) { return try SigningKey(contentsOfFile: path) }
        let key = try SigningKey.generate()
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(try key.privateKeyPEM())
        try file.commit()
        let pub = try AtomicFile(destination: directory + "/matcher.pub", mode: 0o644)
        try pub.write(key.publicKey.pem())
        try pub.commit()
        return key
    }

    /// Makes the first operator token when the store has none: returns the token (to show once) or nil.
    public func makeFirstOperatorToken() async throws -> String? {
        try await store.database.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM token WHERE role = 'operator'") ?? 0
            guard count == 0 else { return nil }
            let (token, record) = try Self.insertToken(
                db, role: .operator, name: "operator", project: nil, party: nil, expiresAt: nil)
            try ServiceStore.append(
                db, actor: .system, action: .tokenIssued, project: nil,
                details: ["role": "operator", "tokenId": .string(record.id)])
            return token
        }
    }

    static func insertToken(
        _ db: Database, role: TokenRecord.Role, name: String, project: String?, party: String?, expiresAt: String?
    ) throws -> (String, TokenRecord) {
        let token = try BearerToken.make()
        let id = try Identifier.make("t")
        let hash = BearerToken.hash(token) ?? []
        try db.execute(
            sql: """
                INSERT INTO token (id, hash, role, name, project, party, issuedAt, expiresAt, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, Data(hash), role.rawValue, name, project, party, AuditTime.now().text, expiresAt,
                try ServiceStore.nextOrdinal(db),
            ])
        guard let record = try TokenRecord.fetch(db, id: id) else {
            throw ServerError(.storage, "a token just written cannot be read back")
        }
        return (token, record)
    }

    func token(hash: [UInt8]) async throws -> TokenRecord? {
        try await store.database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM token WHERE hash = ?", arguments: [Data(hash)]).map(
                TokenRecord.init(row:))
        }
    }

    func auditRefusal(actor: AuditActor, reason: String, route: Route) async throws {
        try await store.database.write { db in
            try ServiceStore.append(
                db, actor: actor, action: .accessRefused, project: nil,
                details: ["reason": .string(reason), "request": .string(route.description)])
            try ServiceStore.add(db, counter: "accessRefused", 1)
        }
    }

    /// Serves until SIGINT, SIGTERM or ``stop()``. `onListening` receives the bound port (useful with port 0).
    ///
    /// Either way the shutdown is graceful: the server stops accepting connections, lets the requests in flight
    /// finish, and a run in progress starts again at the next start. Cancelling the calling task instead closes
    /// connections abruptly.
    public func run(onListening: @escaping @Sendable (Int) -> Void) async throws {
        try await store.database.write { db in
            let restarted = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run WHERE status = 'running'") ?? 0
            if restarted > 0 {
                // Runs cut short by a stop or a crash start again from the beginning (Protocol/service.md, "Runs").
                try db.execute(
                    sql: "UPDATE run SET status = 'queued', stage = 'queued', fraction = 0 WHERE status = 'running'")
            }
        }
        try await removeUnreferencedTokenFiles()
        let router = ServiceResponder(service: self, routes: Self.routes)
        let app = Application(
            responder: router,
            configuration: ApplicationConfiguration(
                address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let worker = Task { await scheduler.work(service: self) }
        defer { worker.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { [store] in
                // Sign the log now and then (SPEC §10.4), so that an auditor need not wait for an export.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(30))
                    _ = try? await store.database.write { db in try store.checkpointIfDue(db, interval: 600) }
                }
            }
            tasks.addTask { [stopRequests] in
                for await _ in stopRequests.stream {}
                // The stream also ends when this task is cancelled, after the group has stopped by itself.
                if !Task.isCancelled { await group.triggerGracefulShutdown() }
            }
            try await group.run()
            tasks.cancelAll()
        }
        await scheduler.stop()
        // The log ends signed whenever the service stops cleanly.
        _ = try? await store.database.write { [store] db in try store.appendCheckpoint(db) }
    }

    /// Deletes stored token files that no upload of an open project references: what a crash between storing a file
    /// and recording it, or between closing a project and deleting its files, left behind.
    func removeUnreferencedTokenFiles() async throws {
        let referenced = Set(
            try await store.database.read { db in
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT DISTINCT u.sha256 FROM upload u JOIN project p ON p.id = u.project WHERE p.status = 'open'"
                )
            })
        let manager = FileManager.default
        for directory in (try? manager.contentsOfDirectory(atPath: files.root)) ?? [] {
            let path = files.root + "/" + directory
            for name in (try? manager.contentsOfDirectory(atPath: path)) ?? [] where name.hasSuffix(".bmt") {
                let sha = String(name.dropLast(4))
                if !referenced.contains(sha) {
                    unlink(path + "/" + name)
                    logger.notice("removed an unreferenced token file", metadata: ["sha256": "\(sha)"])
                }
            }
        }
    }

    /// Shuts a running ``run(onListening:)`` down gracefully, as SIGTERM does; called before it, makes it stop as
    /// soon as it has started. For a service embedded in another command (`demo`).
    public func stop() {
        stopRequests.continuation.finish()
    }

    /// Whether the store answers and the data directory is writable (`/healthz`).
    func isHealthy() async -> Bool {
        guard access(options.dataDirectory, W_OK) == 0 else { return false }
        return (try? await store.database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) != nil
    }
}

/// Server-assigned ids: a one-letter kind, `-`, 16 lower-case hex digits.
enum Identifier {
    static func make(_ kind: String) throws -> String {
        kind + "-" + Hex.encode(try SecureRandom.bytes(8))
    }
}
