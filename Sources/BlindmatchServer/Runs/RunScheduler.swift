import BlindmatchMatching
import Logging
import ServiceLifecycle

/// Runs queued matching runs one at a time, taking projects in turn (``LinkageStore/claimNextRun(maximumAttempts:)``),
/// each within its budget (``RunBudget``).
///
/// A run's state lives in the store: it is claimed (`running`, `attempt` + 1, `run.started`), executed, its results
/// written in short transactions (unread while the run is not `succeeded`), and finished in one transaction that marks
/// it `succeeded` and appends `run.succeeded`, so that no one ever sees a succeeded run with partial results. On a graceful shutdown the run in progress is stopped and queued again
/// as it was; a run cut short by a crash is left `running`, and the next start queues it again
/// (``LinkageStore/requeueInterruptedRuns()``) as a new attempt, up to `maximumAttempts`. The engine is
/// deterministic, so the next attempt reaches the same result.
struct RunScheduler<Store: LinkageStore>: Service {
    let store: Store
    let files: TokenFileStore
    let board: RunBoard
    let executor: any RunExecutor
    /// How many times a run may start before it is failed (`restartLimitReached`): a run that takes the process down
    /// with it must not do so at every start.
    let maximumAttempts: Int
    /// What each run may spend: its time limit is kept here, its comparison and memory budgets by the flag it runs
    /// with and the executor.
    let budget: RunBudget
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await work()
        }
    }

    private func work() async {
        while !Task.isCancelled {
            do {
                guard let run = try await store.claimNextRun(maximumAttempts: maximumAttempts) else {
                    await withTaskCancellationHandler {
                        await board.waitForWork()
                    } onCancel: {
                        Task { await board.wake() }
                    }
                    continue
                }
                let flag = budget.makeFlag()
                await board.begin(run, flag: flag)
                let timeLimit = budget.timeLimit
                let outcome = await withTaskCancellationHandler {
                    await withTaskGroup(of: RunOutcome?.self) { group in
                        // The time budget: a timer beside the run that stops it when it is still going.
                        group.addTask {
                            try? await Task.sleep(for: timeLimit)
                            if !Task.isCancelled { flag.cancel(.timeLimit) }
                            return nil
                        }
                        group.addTask { await execute(run, flag: flag) }
                        var outcome = RunOutcome.interrupted
                        for await finished in group {
                            if let finished {
                                outcome = finished
                                group.cancelAll()
                            }
                        }
                        return outcome
                    }
                } onCancel: {
                    flag.cancel()
                }
                if case .interrupted = outcome {
                    await board.end()
                    continue
                }
                if Task.isCancelled {
                    await board.end()
                    // A stop is not the run's fault: it goes back to the queue without using up an attempt (a crash
                    // runs no code at all, and leaves it `running` for the next start to count). In a task of its
                    // own: this one is cancelled, and the store's writes honour cancellation.
                    let store = self.store
                    try? await Task { try await store.release(run) }.value
                    break
                }
                // Published unless the run is no longer this attempt's (its project was closed meanwhile).
                // The board shows the run `writing` until its results are stored and published.
                let storing = ContinuousClock.now
                do {
                    try await store.finish(run, outcome: outcome)
                    await board.end()
                } catch {
                    await board.end()
                    guard Task.isCancelled else { throw error }
                    // Stopped while its results were being written: queued again as it was (the next start removes
                    // the rows written so far).
                    let store = self.store
                    try? await Task { try await store.release(run) }.value
                    break
                }
                log(run, outcome, storing: ContinuousClock.now - storing)
            } catch {
                if Task.isCancelled { break }
                logger.error("run scheduling failed: \(ServerError.logText(error))")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func execute(_ run: RunRecord, flag: RunCancellation) async -> RunOutcome {
        guard let digests = try? await store.files(of: run) else {
            return .failed(code: "uploadMissing", message: "an upload of the run is missing")
        }
        let stored = RunFiles(
            watchlist: (files.path(for: digests.watchlist), digests.watchlist),
            bulk: (files.path(for: digests.bulk), digests.bulk))
        let board = self.board
        return await executor.execute(run, files: stored, cancellation: flag) { progress in
            Task { await board.update(run.id, progress: progress) }
        }
    }

    private func log(_ run: RunRecord, _ outcome: RunOutcome, storing: Duration) {
        switch outcome {
        case .succeeded(_, _, let report, let summary):
            var metadata: Logger.Metadata = [
                "run": "\(run.id)", "pairs": "\(summary.matches + summary.possible)",
                "seconds": "\(summary.seconds)",
                "storeSeconds": "\(Double(storing / .milliseconds(1)) / 1000)",
            ]
            // Why the project's `auto` threshold fell back to the fixed rule: counts and rules, never data.
            if let fallback = report.thresholdFallback { metadata["thresholdFallback"] = "\(fallback)" }
            logger.info("run succeeded", metadata: metadata)
        case .failed(let code, _):
            logger.notice("run failed", metadata: ["run": "\(run.id)", "code": "\(code)"])
        case .interrupted:
            break
        }
    }
}
