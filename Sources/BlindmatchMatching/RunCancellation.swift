import Synchronization

/// Asks a run of the engine to stop early, and holds the run's budgets: the comparison loops look at it between
/// chunks of work and count what they did against it, and the engine then throws `MatchingError.cancelled` instead
/// of returning results. ``reason`` says why it stopped: for a service that must stop a run whose project was
/// closed, that an operator cancelled, or that went past its time, comparison or memory budget.
public final class RunCancellation: Sendable {
    /// Why a run was stopped. The first reason given is the one kept.
    public enum Reason: UInt8, Sendable, Equatable {
        /// Someone asked (a closed project, an operator, a stopping server).
        case cancelled = 1
        /// The run took longer than its time budget.
        case timeLimit
        /// The run compared (or joined) more pairs than its comparison budget.
        case comparisonLimit
        /// The run's pairs would take more memory than its budget.
        case memoryLimit

        var message: String {
            switch self {
            case .cancelled: "the run was cancelled"
            case .timeLimit: "the run went past its time budget"
            case .comparisonLimit: "the run went past its comparison budget"
            case .memoryLimit: "the run went past its memory budget"
            }
        }
    }

    private let state = Atomic<UInt8>(0)
    private let comparisonsSpent = Atomic<Int>(0)
    private let pairsKept = Atomic<Int>(0)
    /// The most pairs the run may join or compare (exact-stage pairs and Dice comparisons).
    public let comparisonLimit: Int
    private let pairBudget: Atomic<Int>

    /// A flag with budgets; the defaults are no budget at all.
    public init(comparisonLimit: Int = .max, pairLimit: Int = .max) {
        self.comparisonLimit = comparisonLimit
        pairBudget = Atomic(pairLimit)
    }

    /// The most pairs the run may find (exact pairs and fuzzy candidates), from its memory budget.
    public var pairLimit: Int { pairBudget.load(ordering: .relaxed) }

    /// Sets ``pairLimit`` once the run's fixed memory is known (``MatchEngine/memoryEstimate(_:_:settings:)``).
    public func limitPairs(to limit: Int) { pairBudget.store(limit, ordering: .relaxed) }

    /// Asks the run to stop; it stops within one chunk of work per thread.
    public func cancel(_ reason: Reason = .cancelled) {
        _ = state.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
    }

    public var isCancelled: Bool { state.load(ordering: .relaxed) != 0 }

    /// Why the run was stopped; nil while it may go on.
    public var reason: Reason? { Reason(rawValue: state.load(ordering: .relaxed)) }

    /// Pairs joined or compared so far.
    public var comparisons: Int { comparisonsSpent.load(ordering: .relaxed) }

    /// Throws `MatchingError.cancelled` (with the reason) once the run was stopped.
    public func check() throws {
        if let reason { throw MatchingError(.cancelled, reason.message) }
    }

    /// Counts `comparisons` more pairs joined or compared and `pairs` more candidate pairs kept; past either budget
    /// the run is stopped. Returns whether the run may go on. For loops that cannot throw (worker threads).
    @discardableResult
    public func record(comparisons: Int, pairs: Int = 0) -> Bool {
        if comparisons > 0, comparisonsSpent.wrappingAdd(comparisons, ordering: .relaxed).newValue > comparisonLimit {
            cancel(.comparisonLimit)
        }
        if pairs > 0, pairsKept.wrappingAdd(pairs, ordering: .relaxed).newValue > pairBudget.load(ordering: .relaxed) {
            cancel(.memoryLimit)
        }
        return !isCancelled
    }

    /// ``record(comparisons:pairs:)``, then ``check()``.
    public func spend(comparisons: Int, pairs: Int = 0) throws {
        record(comparisons: comparisons, pairs: pairs)
        try check()
    }
}
