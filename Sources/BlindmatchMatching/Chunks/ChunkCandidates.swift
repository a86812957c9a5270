/// What one chunk of a run found: the exact pairs and the fuzzy candidates whose watch-list row lies in `rowsA` and
/// whose bulk row lies in `rowsB`, and the counts the report and the decision model add up over the chunks
/// (``MatchEngine/candidates(_:_:plan:rowsA:rowsB:progress:)``).
///
/// The pairs of a chunk are exactly those of the whole run that fall in its rows, so any set of chunks that covers
/// A × B once gives ``MatchEngine/finish(_:_:plan:chunks:)`` the same pairs however the rows were cut.
public struct ChunkCandidates: Sendable, Equatable {
    public var rowsA: Range<Int>
    public var rowsB: Range<Int>
    /// The exact stage's pairs, each with the first match key that joins it, in (rowA, rowB) order.
    public var exact: [ExactJoin.Pair]
    /// The fuzzy candidates at or above the plan's floor that no match key joins, in (rowA, rowB) order.
    public var fuzzy: [ScoredPair]
    /// Pairs compared in the fuzzy stage: with blocking, the pairs that share a blocking key and no match key; without,
    /// the pairs the popcount bounds admit (row by row, so the count does not depend on the chunking).
    public var comparisons: Int
    /// Join-table slots the exact stage looked at (this depends on the chunk's random slotting key).
    public var exactProbes: Int
    public var exactSeconds: Double
    public var fuzzySeconds: Double

    public init(
        rowsA: Range<Int>, rowsB: Range<Int>, exact: [ExactJoin.Pair] = [], fuzzy: [ScoredPair] = [],
        comparisons: Int = 0, exactProbes: Int = 0, exactSeconds: Double = 0, fuzzySeconds: Double = 0
    ) {
        self.rowsA = rowsA
        self.rowsB = rowsB
        self.exact = exact
        self.fuzzy = fuzzy
        self.comparisons = comparisons
        self.exactProbes = exactProbes
        self.exactSeconds = exactSeconds
        self.fuzzySeconds = fuzzySeconds
    }
}
