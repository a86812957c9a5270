import BlindmatchProtocol
import Logging
import ServiceLifecycle

extension ChunkWorker {
    /// `blindmatch worker`: connects to the shared store at `location` (migrating it if needed, as a server does),
    /// then claims and computes chunks until SIGTERM or SIGINT, when the chunk in progress is given back and the
    /// connections close.
    public static func serve(
        location: PostgresLocation, store: String, options: Options, logger: Logger = Logger(label: "blindmatch.worker")
    ) async throws {
        guard FileIO.exists(store + "/tokens") else {
            throw ServerError(
                .startup, "\(store) holds no tokens/ directory: give the data directory the servers share")
        }
        let pool = try await PostgresPool.open(location, logger: logger, maximumConnections: 4)
        let worker = ChunkWorker(queue: PostgresChunkQueue(pool: pool), store: store, options: options, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: PostgresPoolService(pool: pool)),
                    .init(service: ChunkWorkerService(worker: worker)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The worker's loop as a service: a graceful shutdown cancels it, which gives the chunk in progress back.
struct ChunkWorkerService: Service {
    let worker: ChunkWorker

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await worker.run()
        }
    }
}
