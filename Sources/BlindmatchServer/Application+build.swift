import BlindmatchProtocol
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The service, built: the HTTP application (with the run scheduler and the checkpoint timer as its services) and,
/// on a first start, the operator token to show once.
public struct BuiltService: Sendable {
    /// Run it with `runService()` (signals stop it gracefully) or inside a `ServiceGroup` of your own.
    public let application: any ApplicationProtocol
    /// The first operator token, when this start made it; only its hash is stored.
    public let firstOperatorToken: String?
    /// Makes a one-time web console sign-in ticket that opens one session acting as the bearer token given, valid for
    /// the lifetime given (`blindmatch demo --console`); nil for a token that is not valid.
    public let makeConsoleTicket: @Sendable (_ token: String, _ lifetime: Duration) async throws -> String?
}

/// Builds the central matching service (`Protocol/openapi.yaml`) on the data directory: opens the store with its
/// migrations, the token-file store and the checkpoint key; removes what interrupted uploads and closed projects
/// left; queues again the runs a stop or a crash cut short; makes the first operator token when there is none.
///
/// `serve`, the demo and the tests all build the service with this function. `onListening` receives the bound port.
public func buildApplication(
    configuration: ServiceConfiguration, onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> BuiltService {
    try await buildApplication(
        configuration: configuration,
        executor: EngineRunExecutor(
            threads: configuration.threads, memoryLimit: RunBudget(configuration).memoryLimit),
        onListening: onListening)
}

/// ``buildApplication(configuration:onListening:)`` with the run executor given (tests put a slow one in).
func buildApplication(
    configuration: ServiceConfiguration, executor: any RunExecutor,
    onListening: @escaping @Sendable (Int) -> Void = { _ in }
) async throws -> BuiltService {
    var logger = Logger(label: "blindmatch.serve")
    logger.logLevel = configuration.logLevel
    let directory = configuration.dataDirectory
    let server = try TLSSetup.server(for: configuration)
    try DataDirectory.prepare(directory)
    if configuration.database != nil && configuration.checkpointKeyFile == nil {
        throw ServerError(
            .startup,
            "--database needs --checkpoint-key FILE: every server that shares the store signs the one audit log with the same key"
        )
    }
    // SQLite: one server per data directory. PostgreSQL: the directory is the token store every server shares.
    let lock = configuration.database == nil ? try DataDirectory.lock(directory) : nil
    let checkpointKey =
        try configuration.checkpointKeyFile.map(DataDirectory.checkpointKey(file:))
        ?? DataDirectory.checkpointKey(in: directory)
    if !configuration.allowTestKeys && TestKeys.isTestKey(checkpointKey.publicKey) {
        throw ServerError(
            .startup,
            "\(configuration.checkpointKeyFile ?? directory + "/matcher.key") is a published test key (Keys/test/): checkpoints signed with it prove nothing; remove it to have a new one made (or serve --allow-test-keys for trials)"
        )
    }
    if configuration.testHooks {
        guard TestHooks.available else { throw ServerError(.startup, "--test-hooks exist in debug builds only") }
        TestHooks.arm()
    }
    let files = try TokenFileStore(dataDirectory: directory)
    if let database = configuration.database {
        let pool = try await PostgresPool.open(database, logger: logger)
        do {
            let store = try await PostgresLinkageStore(pool: pool, checkpointKey: checkpointKey)
            // Other servers share the token store: what one of them is writing, or has placed but not yet recorded,
            // is younger than this, and stays.
            let sharedAge = Duration.seconds(15 * 60)
            files.removeTemporaryFiles(unchangedFor: sharedAge)
            try await store.requeueInterruptedRuns()
            try await store.removeUnpublishedResults()
            for sha in files.removeFiles(notIn: try await store.referencedFiles(), unchangedFor: sharedAge) {
                logger.notice("removed an unreferenced token file", metadata: ["sha256": "\(sha)"])
            }
            let board = RunBoard()
            // Runs are computed in chunks, by this server and any `blindmatch worker` (ChunkedRunExecutor).
            let chunked = ChunkedRunExecutor.replacing(
                executor, pool: pool, configuration: configuration, logger: logger)
            return try await assemble(
                configuration: configuration, store: store, files: files, board: board, executor: chunked,
                lock: nil, server: server, logger: logger,
                before: [PostgresPoolService(pool: pool)],
                after: [PostgresCoordinator(store: store, board: board, logger: logger)],
                onListening: onListening)
        } catch {
            await pool.close()
            throw error
        }
    }
    let store = try SQLiteLinkageStore(path: directory + "/blindmatch.sqlite", checkpointKey: checkpointKey)
    files.removeTemporaryFiles()
    try await store.requeueInterruptedRuns()
    try await store.removeUnpublishedResults()
    for sha in files.removeFiles(notIn: try await store.referencedFiles()) {
        logger.notice("removed an unreferenced token file", metadata: ["sha256": "\(sha)"])
    }
    return try await assemble(
        configuration: configuration, store: store, files: files, board: RunBoard(), executor: executor, lock: lock,
        server: server, logger: logger, before: [], after: [], onListening: onListening)
}

/// The application on an opened store: routes, the scheduler and the checkpoint timer, and the store's own services
/// (`before` the checkpoint timer, so they stop after it; `after` the scheduler).
private func assemble<Store: LinkageStore>(
    configuration: ServiceConfiguration, store: Store, files: TokenFileStore, board: RunBoard,
    executor: any RunExecutor, lock: DataDirectoryLock?, server: HTTPServerBuilder, logger: Logger,
    before: [any Service], after: [any Service], onListening: @escaping @Sendable (Int) -> Void
) async throws -> BuiltService {
    let directory = configuration.dataDirectory
    let firstToken = try await store.issueFirstOperatorToken()

    let refusals = RefusalTally()
    let router = Router(context: ServiceRequestContext.self)
    // Outermost, so that it sees every route's errors; it finds 405s among the templates registered below.
    let templates = RouteTemplates()
    router.add(middleware: SafetyHeadersMiddleware(strictTransportSecurity: configuration.tls != nil))
    router.add(middleware: ErrorMiddleware(templates: templates, logger: logger))
    var routes = RouteRegistry(router: router, store: store, refusals: refusals)
    ServiceController(store: store, dataDirectory: directory, startedAt: .now).register(in: &routes)
    TokensController(store: store).register(in: &routes)
    ProjectsController(store: store, files: files, board: board, allowTestKeys: configuration.allowTestKeys)
        .register(in: &routes)
    UploadsController(
        store: store, files: files, limits: UploadLimits(configuration), logger: logger, board: board
    )
    .register(in: &routes)
    RunsController(store: store, board: board).register(in: &routes)
    ResultsController(store: store).register(in: &routes)
    AuditController(store: store, refusals: refusals).register(in: &routes)
    templates.set(routes.templates)
    ConsoleController(
        store: store, board: board, refusals: refusals, files: files, operations: routes.roles,
        settings: ConsoleSettings(
            idleSeconds: Int(configuration.consoleIdleTimeout.components.seconds),
            secureCookies: configuration.tls != nil || configuration.behindTLSProxy),
        allowTestKeys: configuration.allowTestKeys,
        pages: try ConsolePages(), dataDirectory: directory
    ).register(on: router)

    let application = Application(
        router: router, server: server,
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port), serverName: nil,
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections)),
        services: before + [
            CheckpointService(store: store, refusals: refusals, lock: lock, logger: logger),
            RunScheduler(
                store: store, files: files, board: board, executor: executor,
                maximumAttempts: configuration.maximumRunAttempts, budget: RunBudget(configuration), logger: logger),
        ] + after,
        onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
        logger: logger)
    return BuiltService(
        application: application, firstOperatorToken: firstToken,
        makeConsoleTicket: { token, lifetime in try await ConsoleTicket.make(for: token, lifetime: lifetime, in: store)
        })
}
