import BlindmatchProtocol

/// The second score of a pair (SPEC §5.6): the Dice coefficient of the two records' first extra filter (in the
/// example schema the names and the date of birth without the postcode), and its coarse level for the decision model.
///
/// The first filter alone chooses the candidates; this score is read afterwards, for the candidates only, from the
/// two files' extra-filter regions, so one process and a chunked run compute it the same way in ``MatchEngine``'s
/// `finish`, and the chunk blobs need not carry it. It is strongly correlated with the first Dice (the filters
/// share the names and the date of birth), so the model never treats the two as independent: each pattern's score
/// distribution is over the joint grid of the first Dice bin and this level (``DecisionModel``).
enum SecondScore {
    /// Upper edges of the levels below the top one: level `i` holds scores below `edges[i]` (and at least the edge
    /// before); the last level holds the rest. Level 0 also holds pairs where either filter is all zero.
    static let edges: [Double] = [0.6, 0.7, 0.8, 0.9]

    /// Levels of the second score (``edges`` plus one).
    static var levels: Int { edges.count + 1 }

    /// The level of `score` (nil, no comparable filter: level 0).
    static func level(_ score: Double?) -> Int {
        guard let score else { return 0 }
        return edges.firstIndex { score < $0 } ?? edges.count
    }

    /// Whether two files carry an extra filter the model can compare: the first of each, of the same name and length.
    static func isComparable(_ a: TokenFile, _ b: TokenFile) -> Bool {
        guard let first = a.header.extraFilters.first, let other = b.header.extraFilters.first else { return false }
        return first.name == other.name && first.filterBits == other.filterBits
    }

    /// The Dice coefficient (rounded to three decimals, as the first score) of rows `rowA` and `rowB` in the first
    /// extra filter; nil when either filter is all zero (no token at all: no evidence, SPEC §5 step 5) or either file
    /// has no extra filter.
    static func dice(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int) -> Double? {
        guard let filtersA = a.extraFilters(0), let filtersB = b.extraFilters(0) else { return nil }
        let (common, countA, countB) = BlockingJoin.commonBits(
            filtersA, rowA, filtersB, rowB, bytes: a.layout.extraFilterBytes[0])
        guard countA > 0, countB > 0 else { return nil }
        return roundedDice(common: common, popcountA: countA, popcountB: countB)
    }
}
