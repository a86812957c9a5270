import Synchronization

/// Asks a run of the engine to stop early: the comparison loops look at it between chunks of work, and the engine
/// then throws `MatchingError.cancelled` instead of returning results. For a service that must stop a run whose
/// project was closed.
public final class RunCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Asks the run to stop; it stops within one chunk of work per thread.
    public func cancel() { flag.store(true, ordering: .relaxed) }

    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    /// Throws `MatchingError.cancelled` once ``cancel()`` was called.
    public func check() throws {
        if isCancelled { throw MatchingError(.cancelled, "the run was cancelled") }
    }
}
