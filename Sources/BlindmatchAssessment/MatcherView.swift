import BlindmatchProtocol

/// Everything the matcher holds of one upload (SPEC §6): the filters, each token column as token classes, the
/// presence bits (implied by the token columns) and the header's aggregate statistics. It is what an attack may use;
/// the agency's plaintext is never part of it.
public struct MatcherView: Sendable {
    /// The Bloom filters, in token-file order (random, SPEC §6.4): the schema's first record-level filter (`bloom`).
    public let filters: EncodedFilters
    /// The schema's additional record-level filters, row for row with `filters`, in schema order (empty for a schema
    /// with one filter). ``RecordFilter/filters(of:)`` names them and gives the settings that made each.
    public let additionalFilters: [EncodedFilters]
    /// The token keys' names: match keys in cascade order, then blocking keys (SPEC §6.3).
    public let tokenKeys: [String]
    /// Per token key, per row, the token's class (equal tokens, equal class; classes numbered from 0 in order of
    /// first appearance), or -1 where the row has no token (its presence bit is 0). A frequency attacker needs only
    /// which rows share a token, so classes lose nothing against the 16-byte tokens.
    public let tokenClasses: [[Int32]]
    /// The header's statistics (SPEC §6.3): counts per column, tokens per key, popcounts.
    public let statistics: EncodingStatistics

    public init(
        filters: EncodedFilters, additionalFilters: [EncodedFilters] = [], tokenKeys: [String],
        tokenClasses: [[Int32]], statistics: EncodingStatistics
    ) {
        self.filters = filters
        self.additionalFilters = additionalFilters
        self.tokenKeys = tokenKeys
        self.tokenClasses = tokenClasses
        self.statistics = statistics
    }

    /// Number of rows.
    public var count: Int { filters.count }

    /// Every record-level filter, the first (`filters`) first.
    public var allFilters: [EncodedFilters] { [filters] + additionalFilters }

    /// The view as an attack on filter `index` of ``allFilters`` sees it: that filter in the place of the first and
    /// no other (the tokens, presence bits and header are the same).
    public func focused(onFilter index: Int) -> MatcherView {
        MatcherView(
            filters: index == 0 ? filters : additionalFilters[index - 1], tokenKeys: tokenKeys,
            tokenClasses: tokenClasses, statistics: statistics)
    }

    /// Row `row`'s presence bits (SPEC §6.4): bit `j` is set when the row has a token for key `j`.
    public func presence(row: Int) -> UInt64 {
        var bits: UInt64 = 0
        for (key, classes) in tokenClasses.enumerated() where classes[row] >= 0 { bits |= 1 << UInt64(key) }
        return bits
    }

    /// Popcount of row `row`'s filter.
    public func popcount(row: Int) -> Int {
        let start = row * filters.wordsPerFilter
        var total = 0
        for index in start..<(start + filters.wordsPerFilter) { total += filters.words[index].nonzeroBitCount }
        return total
    }

    /// The view restricted to `rows` (in that order), as if only they had been uploaded; statistics that depend on
    /// the rows (popcounts, tokens per key, records) are recomputed, column counts are scaled by row share.
    public func subset(rows: [Int]) -> MatcherView {
        let subsetFilters = filters.subset(rows: rows)
        let subsetAdditional = additionalFilters.map { $0.subset(rows: rows) }
        let classes = tokenClasses.map { column in Self.renumbered(rows.map { column[$0] }) }
        var statistics = self.statistics
        statistics.records = rows.count
        statistics.matchKeysPresent = classes.map { column in column.count { $0 >= 0 } }
        let share = Double(rows.count) / Double(max(1, count))
        for index in statistics.columns.indices {
            statistics.columns[index].present = Int((Double(statistics.columns[index].present) * share).rounded())
            statistics.columns[index].missing = Int((Double(statistics.columns[index].missing) * share).rounded())
            statistics.columns[index].invalid = Int((Double(statistics.columns[index].invalid) * share).rounded())
            statistics.columns[index].changed = Int((Double(statistics.columns[index].changed) * share).rounded())
        }
        let view = MatcherView(
            filters: subsetFilters, tokenKeys: tokenKeys, tokenClasses: classes, statistics: statistics)
        var popcounts = (sum: 0, min: Int.max, max: 0)
        for row in 0..<rows.count {
            let count = view.popcount(row: row)
            popcounts = (popcounts.sum + count, min(popcounts.min, count), max(popcounts.max, count))
        }
        statistics.popcountSum = popcounts.sum
        statistics.popcountMin = rows.isEmpty ? 0 : popcounts.min
        statistics.popcountMax = popcounts.max
        return MatcherView(
            filters: subsetFilters, additionalFilters: subsetAdditional, tokenKeys: tokenKeys, tokenClasses: classes,
            statistics: statistics)
    }

    /// Classes numbered again from 0 in order of first appearance (-1 kept).
    static func renumbered(_ classes: [Int32]) -> [Int32] {
        var numbers: [Int32: Int32] = [:]
        return classes.map { value in
            guard value >= 0 else { return -1 }
            if let number = numbers[value] { return number }
            let number = Int32(numbers.count)
            numbers[value] = number
            return number
        }
    }
}
