import Logging
import ServiceLifecycle

/// Writes the refusals counted since last time and signs the audit log now and then (SPEC §10.4), so that an auditor
/// need not wait for an export, and once more when the service stops: a log that a clean stop left ends with a
/// checkpoint. It also holds the data directory's lock for as long as the service runs.
///
/// Listed before the scheduler and the HTTP server in the service group, so it stops after them.
struct CheckpointService<Store: LinkageStore>: Service {
    let store: Store
    let refusals: RefusalTally
    /// The data directory's lock (SQLite); nil with a shared store, whose servers share the directory.
    let lock: DataDirectoryLock?
    let logger: Logger
    /// How often to look, and how long entries may go unsigned.
    var every: Duration = .seconds(30)
    var interval = 600

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: every)
                guard !Task.isCancelled else { break }
                do {
                    try await refusals.flush(to: store)
                    try await store.checkpointIfDue(interval: interval)
                } catch let error as ServerError where error.code == .auditChain {
                    // A log changed behind the service's back is not signed: the service stops, and says why.
                    logger.critical("stopping: \(error.reason)")
                    lock?.release()
                    throw error
                } catch {
                    logger.error("checkpoint failed: \(ServerError.logText(error))")
                }
            }
        }
        do {
            try await refusals.flush(to: store)
            try await store.appendCheckpoint()
        } catch {
            logger.error("final checkpoint failed: \(ServerError.logText(error))")
        }
        // The last service to stop: the data directory is free for the next server.
        lock?.release()
    }
}
