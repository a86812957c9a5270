import BlindmatchAgency
import BlindmatchProtocol

/// Undoes balancing (SPEC §5.5.3) from the filters alone. A balanced filter is a keyed permutation of the filter
/// followed by its complement, so for every position `i < bits` there are two positions of the balanced filter that
/// hold bit `i` and `1 − bit i` in **every** row. Whoever holds many filters finds those pairs by comparing
/// columns (two columns that disagree in every row of a sample), and keeps, of each pair, the position set in fewer
/// rows (a Bloom filter sets fewer than half of its bits, so the rarer one is the bit and the other its complement).
/// The result is the unbalanced filter with its positions in another order — which no attack on positions needs —
/// and with its popcount back. No secret is used.
///
/// After randomised response (applied after balancing) the two positions disagree in about `1 − 2p(1 − p)` of the
/// rows instead of all of them; pairs are therefore accepted when each is the other's best partner and they
/// disagree in at least `minimumDisagreement` of the sampled rows (two unrelated positions disagree in about half).
public struct BalanceUnwinding: Sendable {
    /// Rows compared to find the pairs.
    public var sampleRows = 4_096
    /// The share of sampled rows in which a pair's two positions must disagree.
    public var minimumDisagreement = 0.8

    public init() {}

    /// What was recovered.
    public struct Result: Sendable {
        /// The unbalanced filters (one position per pair found, the rarer of the two), in the input's row order.
        public let filters: EncodedFilters
        /// Pairs found, and positions of the balanced filter (twice the pairs when every pair is found).
        public let pairs: Int
        public let positions: Int
        /// Pairs whose two positions disagree in every sampled row (exact complements: no randomised response).
        public let exactPairs: Int
    }

    /// Finds the complementary pairs of `filters` and returns the filters they give. Nil when the filters are too
    /// few or hold no pair.
    public func unwind(_ filters: EncodedFilters) -> Result? {
        let rows = min(filters.count, sampleRows)
        guard rows >= 64, filters.filterBits >= 2 else { return nil }
        let columns = PositionBitColumns(filters: filters, rows: rows)
        let pairs = Self.pairs(columns, minimum: Int((minimumDisagreement * Double(rows)).rounded(.up)))
        guard !pairs.isEmpty else { return nil }
        let kept = Self.orient(pairs, columns)
        let exact = pairs.count { $0.disagreement == rows }
        let wordsPerFilter = (kept.count + 63) / 64
        var words = [UInt64](repeating: 0, count: filters.count * wordsPerFilter)
        for row in 0..<filters.count {
            for (index, position) in kept.enumerated() where filters.isSet(row: row, position: position) {
                words[row * wordsPerFilter + index / 64] |= 1 << UInt64(index % 64)
            }
        }
        return Result(
            filters: EncodedFilters(filterBits: kept.count, count: filters.count, words: words), pairs: kept.count,
            positions: columns.positions, exactPairs: exact)
    }

    struct Pair {
        let first: Int
        let second: Int
        let disagreement: Int
    }

    /// Pairs of positions that disagree in at least `minimum` sampled rows, most disagreeing first, each position in
    /// one pair at most (greedy: positions with identical columns — bits never set, or set by the same n-grams — are
    /// interchangeable, so any of them will do as another's partner).
    static func pairs(_ columns: PositionBitColumns, minimum: Int) -> [Pair] {
        let positions = columns.positions
        let width = columns.width
        var candidates: [Pair] = []
        columns.words.withUnsafeBufferPointer { words in
            for first in 0..<positions {
                for second in (first + 1)..<positions {
                    // Disagreements: |p| + |q| − 2|p ∧ q|.
                    var common = 0
                    for index in 0..<width {
                        common += (words[first * width + index] & words[second * width + index]).nonzeroBitCount
                    }
                    let disagreement = columns.counts[first] + columns.counts[second] - 2 * common
                    if disagreement >= minimum {
                        candidates.append(Pair(first: first, second: second, disagreement: disagreement))
                    }
                }
            }
        }
        candidates.sort { ($0.disagreement, $1.first, $1.second) > ($1.disagreement, $0.first, $0.second) }
        var used = [Bool](repeating: false, count: positions)
        var chosen: [Pair] = []
        for pair in candidates where !used[pair.first] && !used[pair.second] {
            used[pair.first] = true
            used[pair.second] = true
            chosen.append(pair)
        }
        return chosen
    }

    /// Which position of each pair is the bit: the rarer one, as a Bloom filter sets fewer than half of its
    /// positions in most rows. Positions set in more than half of the rows come out as their complement (measured:
    /// 939 of 1,024 pairs the right way round on 10,000 `synth` records with the example schema's columns, unhardened;
    /// docs/privacy.md). Counting the filter's popcount against each bit does not help where the schema spreads a
    /// fixed number of bits over each field (`bitsPerFeature`): popcounts then hardly depend on the values.
    static func orient(_ pairs: [Pair], _ columns: PositionBitColumns) -> [Int] {
        pairs.map { columns.counts[$0.first] <= columns.counts[$0.second] ? $0.first : $0.second }
    }
}

/// Runs an attack on balanced filters after undoing the balancing (``BalanceUnwinding``): what balancing leaves to
/// an attacker who holds the whole file. It applies only to schemas that balance (the attack itself runs on the
/// filters as they are in any case).
public struct AfterBalanceUnwinding: Attack {
    public let name: String
    let attack: any Attack
    let unwinding: BalanceUnwinding

    public init(_ attack: any Attack, unwinding: BalanceUnwinding = BalanceUnwinding()) {
        self.attack = attack
        self.unwinding = unwinding
        name = "balancing undone, then \(attack.name)"
    }

    public func applies(to schema: LinkageSchema) -> Bool { schema.bloom?.hardening.balance == true }
    public var readsFilters: Bool { true }

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        guard applies(to: schema) else { return AttackOutcome(attack: name, notes: ["filters balanced": 0]) }
        progress.show("\(name): pairing positions")
        guard let result = unwinding.unwind(view.filters) else {
            return AttackOutcome(attack: name, notes: ["filters balanced": 1, "complementary pairs found": 0])
        }
        let unwound = MatcherView(
            filters: result.filters, tokenKeys: view.tokenKeys, tokenClasses: view.tokenClasses,
            statistics: view.statistics)
        var outcome = attack.run(on: unwound, schema: schema, reference: reference, progress: progress)
        outcome.attack = name
        outcome.notes["filters balanced"] = 1
        outcome.notes["complementary pairs found"] = Double(result.pairs)
        outcome.notes["exact complementary pairs"] = Double(result.exactPairs)
        outcome.notes["positions of the balanced filter"] = Double(result.positions)
        return outcome
    }
}
