/// Aggregate statistics of one tokenising run (SPEC §6.3 `statistics`): counts only, never values.
public struct EncodingStatistics: Sendable, Equatable {
    /// Per column: values present, missing, invalid, and changed by normalisation.
    public struct ColumnCounts: Sendable, Equatable {
        public var present = 0
        public var missing = 0
        public var invalid = 0
        public var changed = 0
    }

    public var records = 0
    public var columns: [ColumnCounts]
    /// Per match key: records that have a token.
    public var matchKeysPresent: [Int]
    public var popcountSum = 0
    public var popcountMin = Int.max
    public var popcountMax = 0
    /// Per extra filter (SPEC §5.6): the sum, minimum and maximum of its popcounts.
    public var extraPopcounts: [PopcountRange]

    /// The popcounts of one filter over the records seen.
    public struct PopcountRange: Sendable, Equatable {
        public var sum = 0
        public var minimum = Int.max
        public var maximum = 0

        mutating func merge(_ other: PopcountRange) {
            sum += other.sum
            minimum = min(minimum, other.minimum)
            maximum = max(maximum, other.maximum)
        }
    }

    public init(columns: Int, matchKeys: Int, extraFilters: Int = 0) {
        self.columns = Array(repeating: ColumnCounts(), count: columns)
        matchKeysPresent = Array(repeating: 0, count: matchKeys)
        extraPopcounts = Array(repeating: PopcountRange(), count: extraFilters)
    }

    /// Adds another run's counts to these.
    public mutating func merge(_ other: EncodingStatistics) {
        records += other.records
        for index in columns.indices {
            columns[index].present += other.columns[index].present
            columns[index].missing += other.columns[index].missing
            columns[index].invalid += other.columns[index].invalid
            columns[index].changed += other.columns[index].changed
        }
        for index in matchKeysPresent.indices { matchKeysPresent[index] += other.matchKeysPresent[index] }
        popcountSum += other.popcountSum
        popcountMin = min(popcountMin, other.popcountMin)
        popcountMax = max(popcountMax, other.popcountMax)
        while extraPopcounts.count < other.extraPopcounts.count { extraPopcounts.append(PopcountRange()) }
        for index in other.extraPopcounts.indices { extraPopcounts[index].merge(other.extraPopcounts[index]) }
    }

    @inline(__always)
    mutating func recordPopcount(_ count: Int) {
        popcountSum += count
        if count < popcountMin { popcountMin = count }
        if count > popcountMax { popcountMax = count }
    }

    @inline(__always)
    mutating func recordExtraPopcount(_ count: Int, filter: Int) {
        while extraPopcounts.count <= filter { extraPopcounts.append(PopcountRange()) }
        extraPopcounts[filter].sum += count
        if count < extraPopcounts[filter].minimum { extraPopcounts[filter].minimum = count }
        if count > extraPopcounts[filter].maximum { extraPopcounts[filter].maximum = count }
    }
}
