import Logging
import ServiceLifecycle

/// Signs the audit log now and then (SPEC §10.4), so that an auditor need not wait for an export, and once more when
/// the service stops: a log that a clean stop left ends with a checkpoint.
///
/// Listed before the scheduler and the HTTP server in the service group, so it stops after them.
struct CheckpointService<Store: LinkageStore>: Service {
    let store: Store
    let logger: Logger
    /// How often to look, and how long entries may go unsigned.
    var every: Duration = .seconds(30)
    var interval = 600

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                guard !Task.isCancelled else { break }
                do {
                    try await store.checkpointIfDue(interval: interval)
                } catch {
                    logger.error("checkpoint failed: \(ServerError.logText(error))")
                }
            }
        }
        do {
            try await store.appendCheckpoint()
        } catch {
            logger.error("final checkpoint failed: \(ServerError.logText(error))")
        }
    }
}
