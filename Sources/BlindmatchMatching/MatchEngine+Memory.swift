import BlindmatchProtocol

extension MatchEngine {
    /// What a run holds in memory, estimated from the two files before it starts, so that a run that cannot fit is
    /// refused before it takes the machine's memory (and, with it, the service) down.
    ///
    /// An upper estimate, not a measurement: it counts the two token files as if every page of their mappings were
    /// resident, the largest join table, the popcounts and, without blocking, the sorted copies of the filters; and a
    /// generous size per pair found (the pair, its result, the sets that de-duplicate it, the solver's copy). What the
    /// run finds is only known as it runs, so the pairs are held to what the rest of the budget leaves
    /// (``RunCancellation/limitPairs(to:)``).
    public struct MemoryEstimate: Sendable, Equatable {
        /// Bytes held whatever the run finds.
        public var fixedBytes: Int
        /// Bytes per pair found (an exact pair or a fuzzy candidate).
        public var bytesPerPair: Int

        /// The most pairs that fit in `limit` bytes besides the fixed part; 0 when the fixed part alone does not.
        public func pairs(within limit: Int) -> Int {
            limit > fixedBytes ? (limit - fixedBytes) / bytesPerPair : 0
        }
    }

    /// Bytes per pair found: a `ScoredPair` (20), a `MatchResult` (about 40), the exact stage's de-duplicating set and
    /// the engine's set of joined pairs (8 bytes each at up to half load), and the solver's working copies.
    public static let bytesPerPair = 160

    /// The estimate for a run of an engine with `settings` on watch list `a` and bulk data `b`.
    public static func memoryEstimate(_ a: TokenFile, _ b: TokenFile, settings: Settings) -> MemoryEstimate {
        let rowsA = a.recordCount
        let rowsB = b.recordCount
        // The exact stage holds one table at a time; blocking, one per blocking key at once and a row stamp of A per
        // thread.
        let blockingColumns = a.header.tokenKeys.count - a.header.matchKeys.count
        let blocks = a.header.filterBits > 0 && settings.useBlocking && blockingColumns > 0
        var fixed =
            a.bytes.count + b.bytes.count + TokenTable.peakBytes(tables: blocks ? blockingColumns : 1, rows: rowsA)
        if blocks { fixed += max(1, settings.threads) * rowsA * 4 }
        if a.header.filterBits > 0 {
            fixed += (rowsA + rowsB) * 4
            if !(settings.useBlocking && blockingColumns > 0) {
                // Brute force copies both sides' filters sorted by popcount, with their row numbers and tails.
                let rowBytes = (a.header.filterBits + 63) / 64 * 8 + 4 + 4 + 2 * BitMatrix.tailsPerRow
                fixed += (rowsA + rowsB) * rowBytes
            }
        }
        return MemoryEstimate(fixedBytes: fixed, bytesPerPair: bytesPerPair)
    }
}
