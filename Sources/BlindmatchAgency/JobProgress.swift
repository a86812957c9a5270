/// Where a long job on the agency's machine reports how far it is. The command line draws it on a terminal and
/// stays quiet when piped; tests and libraries pass ``SilentProgress``. Never given a value or a token.
public protocol JobProgress: Sendable {
    /// Records done, and bytes of the input consumed (0 when not counted in bytes).
    func update(records: Int, bytes: Int)
    /// The fraction done of a job counted in steps rather than records.
    func fraction(_ done: Double)
    /// A short stage name (e.g. an attack's), redrawn in place.
    func show(_ text: String)
    /// Clears the display.
    func finish()
}

/// A ``JobProgress`` that shows nothing.
public struct SilentProgress: JobProgress {
    public init() {}
    public func update(records: Int, bytes: Int) {}
    public func fraction(_ done: Double) {}
    public func show(_ text: String) {}
    public func finish() {}
}
