import Logging
import ServiceLifecycle

/// What a server sharing the PostgreSQL store does besides serving: every few seconds it renews the lease of the run
/// it is running (and stops that run when the store says it is no longer this server's: cancelled or failed through
/// another server), queues again the runs whose server stopped renewing theirs (it died), and looks for runs queued
/// through other servers.
struct PostgresCoordinator: Service {
    let store: PostgresLinkageStore
    let board: RunBoard
    let logger: Logger
    var every: Duration = .seconds(2)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                guard !Task.isCancelled else { break }
                await beat()
            }
        }
    }

    func beat() async {
        do {
            if let running = await board.running(),
                try await !store.renewLease(run: running.id, attempt: running.attempt)
            {
                logger.notice("stopping a run that is no longer this server's", metadata: ["run": "\(running.id)"])
                await board.cancel(run: running.id)
            }
            try await store.requeueInterruptedRuns()
            await board.wake()
        } catch {
            logger.error("coordination with the shared store failed: \(ServerError.logText(error))")
        }
    }
}

/// Closes the shared store's connections when the service stops; listed first, so that it stops last.
struct PostgresPoolService: Service {
    let pool: PostgresPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
    }
}
