import BlindmatchMatching
import Glibc

/// What one run may spend (`serve --run-time-limit`, `--run-comparison-limit`, `--run-memory-limit`): a run that goes
/// past a budget is stopped and failed with the budget's code, and not started again, so that no upload can hold the
/// matcher (and every other project's runs) for ever.
struct RunBudget: Sendable {
    var timeLimit: Duration
    var comparisonLimit: Int
    /// Bytes.
    var memoryLimit: Int

    init(_ configuration: ServiceConfiguration) {
        timeLimit = configuration.runTimeLimit
        comparisonLimit = configuration.runComparisonLimit
        memoryLimit = configuration.runMemoryLimit ?? Self.defaultMemoryLimit
    }

    /// Three quarters of the machine's physical memory.
    static var defaultMemoryLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 4 << 30 }
        return pages / 4 * 3 * size
    }

    /// The flag a run starts with: not cancelled, the comparison budget set (the pair budget is set once the run's
    /// files are open, from the memory budget).
    func makeFlag() -> RunCancellation { RunCancellation(comparisonLimit: comparisonLimit) }

    /// The failure a run stopped for `reason` ends with, in the contract's `RunFailure.code`.
    static func failure(for reason: RunCancellation.Reason?) -> RunOutcome {
        switch reason {
        case .timeLimit:
            .failed(code: "timeLimitExceeded", message: "the run went past its time budget (serve --run-time-limit)")
        case .comparisonLimit:
            .failed(
                code: "comparisonLimitExceeded",
                message: "the run went past its comparison budget (serve --run-comparison-limit)")
        case .memoryLimit:
            .failed(
                code: "resourceExhausted",
                message: "the run's pairs went past its memory budget (serve --run-memory-limit)")
        case .cancelled, nil:
            .failed(code: "cancelled", message: "the run was cancelled")
        }
    }
}
