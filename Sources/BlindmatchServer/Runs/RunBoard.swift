import BlindmatchMatching

/// What the scheduler and the controllers share about runs: the run being executed now (its progress and the flag
/// that stops it) and the signal that something was queued.
actor RunBoard {
    /// The run being executed (one at a time).
    private var current: (id: String, project: String, attempt: Int, progress: RunProgress, flag: RunCancellation)?
    private var waiter: CheckedContinuation<Void, Never>?
    private var pending = false
    /// Runs and projects cancelled while no run of theirs was computing: a run the scheduler had claimed but not yet
    /// begun when it was cancelled starts with its flag already set. Cleared at each begin (a run cancelled while
    /// queued never begins).
    private var cancelledRuns: Set<String> = []
    private var cancelledProjects: Set<String> = []

    /// Progress of the run being executed, if it is this one.
    func progress(of run: RunRecord) -> RunProgress? {
        guard run.status == .running, let current, current.id == run.id else { return nil }
        return current.progress
    }

    func begin(_ run: RunRecord, flag: RunCancellation) {
        current = (run.id, run.project, run.attempt, RunProgress(stage: .exact, fraction: 0), flag)
        if cancelledRuns.contains(run.id) || cancelledProjects.contains(run.project) { flag.cancel() }
        cancelledRuns.removeAll()
        cancelledProjects.removeAll()
    }

    func update(_ run: String, progress: RunProgress) {
        guard current?.id == run else { return }
        current?.progress = progress
    }

    /// The run being executed and its attempt, if any (a shared store renews its lease).
    func running() -> (id: String, attempt: Int)? {
        current.map { ($0.id, $0.attempt) }
    }

    func end() {
        current = nil
    }

    /// A closing project's running run: its results are dropped when it ends (the store already says `failed`).
    func cancel(project: String) {
        if let current, current.project == project {
            current.flag.cancel()
        } else {
            cancelledProjects.insert(project)
        }
    }

    /// A cancelled run: stopped if it is the one computing (the store already says `failed`).
    func cancel(run: String) {
        if let current, current.id == run {
            current.flag.cancel()
        } else {
            cancelledRuns.insert(run)
        }
    }

    /// Something was queued, or the scheduler should look again (it is stopping).
    func wake() {
        pending = true
        waiter?.resume()
        waiter = nil
    }

    /// Waits until ``wake()`` has been called since the last wait.
    func waitForWork() async {
        if pending {
            pending = false
            return
        }
        await withCheckedContinuation { continuation in waiter = continuation }
        pending = false
    }
}
