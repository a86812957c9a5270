import BlindmatchProtocol

/// Pattern mining on the Bloom filters (Christen, Ranbaduge, Vatsalan & Schnell, "Precise and fast cryptanalysis
/// for Bloom filter based privacy-preserving record linkage", IEEE TKDE 2018; PAKDD 2018), as docs/privacy.md
/// describes it:
///
/// 1. **Mining.** Each token (a *feature*: an n-gram of a field, or of a key group) sets the same positions in every
///    filter that contains it, so those positions form a *frequent itemset*: their columns intersect in about the
///    filters that hold the feature. The attack mines maximal frequent itemsets of positions level by level, from
///    every position as a seed: it adds the position whose co-occurrence with the set so far most exceeds chance
///    (which focuses the set on one feature of the seed) until some positions are set in nearly every filter that
///    has the whole set (the feature's closure), then takes them all. Itemsets already mined are not mined again:
///    each pass finds the next feature at each seed. A record-level filter is dense (several fields set a third of
///    the positions), so plain support counting from the empty set, as the paper does on field-level filters, would
///    grow sets of busy positions; the focusing step is what keeps the mining precise there.
///    With `bitsPerFeature` a token sets more positions in short values than in long ones (SPEC §5.2), so a
///    feature's later positions form itemsets of their own held by a subset of its filters; such extensions are
///    dropped.
/// 2. **Alignment.** Itemsets are aligned with the reference's features of about the same frequency, as in the
///    paper; since many features are about as frequent (bigrams are), co-occurrence decides: the most frequent
///    itemsets and features are first matched as two co-occurrence graphs (P(b | a) between itemsets against the
///    same between features; a small quadratic assignment solved by iterated local search), and those pairs are
///    anchors. Then, in rounds, every itemset is scored against every feature of about its frequency by how well
///    its co-occurrence with the anchors' itemsets matches the feature's co-occurrence with the anchors' features;
///    the clear winners become the next round's anchors; the final assignment is one to one, best scores first.
/// 3. **Re-identification.** A filter holds an aligned feature when all its positions are set. Per field, the
///    reference value whose aligned features are all present and which explains the most set positions is the
///    guess; fields sharing a key group are guessed together (the pair of values that explains most positions);
///    a positional unigram field (a date) is spelled digit by digit from its present features when they give one
///    digit per position, so a date need not be in the reference. The whole record is linked to the reference
///    record whose aligned features are all present and which explains the most positions.
///
/// Assumptions: the attacker knows the schema (public), not the secret. Hardening breaks the model on purpose:
/// after XOR folding, diffusion or balancing a feature no longer owns fixed positions; randomised response makes
/// "all positions set" fail; salting splits each feature into one per salt value. The attack still runs and
/// reports what it finds.
///
/// Cost: mining works on an even sample of the filters (`sampleLimit`), at most `maximumPasses` passes over every
/// position as a seed; decoding reads every filter once and tests reference values by their rarest aligned feature.
public enum PatternMiningAttack {
    /// Filters the mining looks at (an even sample).
    static let sampleLimit = 8192
    /// Reference records the alignment's co-occurrence profiles are counted on.
    static let referenceSampleLimit = 8192
    /// Mining passes over every seed: each pass finds at most one new feature per seed.
    static let maximumPasses = 10
    /// A position joins an itemset's closure when it is set in this share of the filters holding the itemset.
    static let closureShare = 0.9
    /// An itemset held by at least this share of another's filters is that one's extension.
    static let extensionShare = 0.95
    /// A closure position must be set in at most this share of the filters without the itemset.
    static let outsideShare = 0.75
    /// Positions set in more than this share of filters say nothing about any one feature.
    static let busyShare = 0.9
    /// Aligned features a co-occurrence profile is compared on.
    static let profileLength = 96

    public static func run(
        filters: EncodedFilters, schema: LinkageSchema, reference: ReferencePopulation,
        progress: (@Sendable (Double) -> Void)? = nil
    ) -> AttackOutcome {
        var space = FeatureSpace(schema: schema)
        var outcome = AttackOutcome(
            attack: "pattern mining",
            fieldGuesses: Dictionary(
                space.fields.map { ($0.name, [String?](repeating: nil, count: filters.count)) },
                uniquingKeysWith: { first, _ in first }),
            recordLinks: [Int?](repeating: nil, count: filters.count))
        guard !space.fields.isEmpty, filters.count > 0, !reference.records.isEmpty else { return outcome }
        let index = ReferenceIndex(reference: reference, space: &space)
        let columns = PositionColumns(filters: filters, rows: evenSample(count: filters.count, limit: sampleLimit))
        // The smallest itemset worth calling a feature: half the positions of the feature that sets fewest.
        let frequent = index.featureCounts.indices.filter { index.featureCounts[$0] * 200 >= reference.records.count }
        let fewest = frequent.map { index.fewestPositions[$0] }.min() ?? 2
        let minimumSize = max(4, fewest / 2)
        let minimumSupport = max(4, columns.rows / 500)
        let mined = Miner(columns: columns, minimumSize: minimumSize, minimumSupport: minimumSupport)
            .mine { progress?(0.6 * $0) }
        progress?(0.6)
        let alignment = Aligner(columns: columns, index: index, reference: reference, mined: mined).align()
        progress?(0.7)
        outcome.notes["sampledFilters"] = Double(columns.rows)
        outcome.notes["minedItemsets"] = Double(mined.count)
        outcome.notes["alignedFeatures"] = Double(alignment.count)
        outcome.notes["alignedPositions"] = Double(Set(alignment.flatMap { mined[$0.itemset].positions }).count)
        let decoder = Decoder(
            filters: filters, space: space, index: index,
            masks: alignment.map { (feature: $0.feature, mask: mined[$0.itemset].mask(words: filters.wordsPerFilter)) }
        )
        decoder.decode(into: &outcome) { progress?(0.7 + 0.3 * $0) }
        progress?(1)
        return outcome
    }
}

/// The sampled filters by position: column p is the set of sampled filters with bit p set.
struct PositionColumns: @unchecked Sendable {
    let rows: Int
    let positions: Int
    let columns: [RowSet]
    let counts: [Int]

    init(filters: EncodedFilters, rows sample: [Int]) {
        rows = sample.count
        positions = filters.filterBits
        var columns = [RowSet](repeating: RowSet(rows: sample.count), count: filters.filterBits)
        for (row, filter) in sample.enumerated() {
            for word in 0..<filters.wordsPerFilter {
                var bits = filters.words[filter * filters.wordsPerFilter + word]
                while bits != 0 {
                    let bit = bits.trailingZeroBitCount
                    bits &= bits - 1
                    let position = word * 64 + bit
                    if position < positions { columns[position].insert(row) }
                }
            }
        }
        self.columns = columns
        counts = columns.map(\.count)
    }
}

/// A mined itemset: positions that are set together, and the sampled filters that have them all.
struct Itemset: Sendable {
    var positions: [Int]
    var support: RowSet
    var supportCount: Int

    func mask(words: Int) -> [UInt64] {
        var mask = [UInt64](repeating: 0, count: words)
        for position in positions { mask[position / 64] |= 1 << UInt64(position % 64) }
        return mask
    }
}

/// Step 1: maximal frequent itemsets of positions, one feature per seed and pass.
private struct Miner: Sendable {
    let columns: PositionColumns
    let minimumSize: Int
    let minimumSupport: Int

    func mine(progress: (Double) -> Void) -> [Itemset] {
        var mined: [Itemset] = []
        // Per position, the mined itemsets that contain it.
        var memberOf = [[Int]](repeating: [], count: columns.positions)
        let busy = Int(PatternMiningAttack.busyShare * Double(columns.rows))
        var active = (0..<columns.positions).filter {
            columns.counts[$0] >= minimumSupport && columns.counts[$0] <= busy
        }
        for pass in 0..<PatternMiningAttack.maximumPasses {
            let snapshotMined = mined
            let snapshotMembers = memberOf
            let seeds = active
            let found = inParallel(count: seeds.count) { range in
                range.map { grow(seed: seeds[$0], mined: snapshotMined, memberOf: snapshotMembers) }
            }.flatMap { $0 }
            var added = 0
            var stillActive: [Int] = []
            for (seed, itemset) in zip(active, found) where itemset != nil { stillActive.append(seed) }
            // Most frequent first, so that a conjunction of a feature with part of another comes after the feature.
            for itemset in found.compactMap({ $0 }).sorted(by: { $0.supportCount > $1.supportCount }) {
                if mined.contains(where: { Self.same($0, itemset) }) { continue }
                if containsMostOfAnother(itemset, mined: mined, memberOf: memberOf) { continue }
                for position in itemset.positions { memberOf[position].append(mined.count) }
                mined.append(itemset)
                added += 1
            }
            active = stillActive
            progress(Double(pass + 1) / Double(PatternMiningAttack.maximumPasses))
            if added == 0 { break }
        }
        return Self.withoutExtensions(mined)
    }

    /// Itemsets whose filters nearly all hold a more frequent itemset are dropped: with `bitsPerFeature` a token
    /// sets more positions in a short value than in a long one (SPEC §5.2), so a feature's later positions form
    /// itemsets of their own, each held by a subset of the feature's filters. (A real feature nearly always found
    /// with another, such as `hn` with `n `, is lost with them: a missed feature, not a wrong one.)
    private static func withoutExtensions(_ mined: [Itemset]) -> [Itemset] {
        var kept: [Itemset] = []
        for itemset in mined.sorted(by: { $0.supportCount > $1.supportCount }) {
            let extends = kept.contains {
                Double($0.support.intersectionCount(itemset.support))
                    >= PatternMiningAttack.extensionShare * Double(itemset.supportCount)
            }
            if !extends { kept.append(itemset) }
        }
        return kept
    }

    /// Whether `itemset` holds at least half the positions of an itemset already mined: then it is that feature
    /// joined with part of another, not a new one (two features share half their positions only by rare chance).
    private func containsMostOfAnother(_ itemset: Itemset, mined: [Itemset], memberOf: [[Int]]) -> Bool {
        var shared: [Int: Int] = [:]
        for position in itemset.positions {
            for other in memberOf[position] { shared[other, default: 0] += 1 }
        }
        return shared.contains { 2 * $0.value >= mined[$0.key].positions.count }
    }

    /// Whether two itemsets describe one feature: they hold nearly the same filters.
    private static func same(_ a: Itemset, _ b: Itemset) -> Bool {
        let common = a.support.intersectionCount(b.support)
        return Double(common) >= 0.8 * Double(max(a.supportCount, b.supportCount))
    }

    /// The next feature at `seed` not yet mined, or nil.
    private func grow(seed: Int, mined: [Itemset], memberOf: [[Int]]) -> Itemset? {
        let rows = Double(columns.rows)
        let busy = Int(PatternMiningAttack.busyShare * rows)
        var inSet = [Bool](repeating: false, count: columns.positions)
        var excluded = [Bool](repeating: false, count: columns.positions)
        for position in 0..<columns.positions
        where columns.counts[position] < minimumSupport
            || columns.counts[position] > busy
        {
            excluded[position] = true
        }
        func exclude(partnersOf position: Int) {
            for set in memberOf[position] {
                for partner in mined[set].positions { excluded[partner] = true }
            }
        }
        var positions = [seed]
        inSet[seed] = true
        exclude(partnersOf: seed)
        var support = columns.columns[seed]
        var supportCount = columns.counts[seed]
        var overlaps = [Int](repeating: 0, count: columns.positions)
        for _ in 0..<64 {
            guard supportCount >= minimumSupport else { return nil }
            var best = -1
            var bestExcess = -Double.infinity
            var largest = 0
            let outside = Double(columns.rows - supportCount)
            for position in 0..<columns.positions where !inSet[position] && !excluded[position] {
                let overlap = support.intersectionCount(columns.columns[position])
                overlaps[position] = overlap
                // A position set in most filters anyway (a busy position) is not evidence of this feature.
                if Double(columns.counts[position] - overlap) <= PatternMiningAttack.outsideShare * outside {
                    largest = max(largest, overlap)
                }
                let excess = Double(overlap) - Double(supportCount) * Double(columns.counts[position]) / rows
                if excess > bestExcess {
                    bestExcess = excess
                    best = position
                }
            }
            guard best >= 0 else { break }
            let closure = Int((PatternMiningAttack.closureShare * Double(supportCount)).rounded(.up))
            if largest >= closure {
                // The set is focused on one feature: take every position set in nearly all of its filters.
                for position in 0..<columns.positions
                where !inSet[position] && !excluded[position] && overlaps[position] >= closure
                    && Double(columns.counts[position] - overlaps[position])
                        <= PatternMiningAttack.outsideShare * outside
                {
                    positions.append(position)
                    inSet[position] = true
                    support.formIntersection(columns.columns[position])
                }
                supportCount = support.count
                break
            }
            guard bestExcess > 0 else { return nil }
            positions.append(best)
            inSet[best] = true
            exclude(partnersOf: best)
            support.formIntersection(columns.columns[best])
            supportCount = support.count
        }
        guard positions.count >= minimumSize, supportCount >= minimumSupport else { return nil }
        return Itemset(positions: positions.sorted(), support: support, supportCount: supportCount)
    }
}

/// Step 2: itemsets aligned with reference features by frequency and co-occurrence.
private struct Aligner {
    let columns: PositionColumns
    let index: ReferenceIndex
    let mined: [Itemset]
    /// Per feature with a column, the sampled reference records that have it.
    private var referenceColumns: [Int: RowSet] = [:]
    private let referenceRows: Int
    private let referenceCount: Int

    init(columns: PositionColumns, index: ReferenceIndex, reference: ReferencePopulation, mined: [Itemset]) {
        self.columns = columns
        self.index = index
        self.mined = mined
        referenceCount = reference.records.count
        let sample = evenSample(count: reference.records.count, limit: PatternMiningAttack.referenceSampleLimit)
        referenceRows = sample.count
        let least = max(2, reference.records.count / 2000)
        var referenceColumns: [Int: RowSet] = [:]
        for (row, record) in sample.enumerated() {
            for feature in index.recordFeatures[record] where index.featureCounts[Int(feature)] >= least {
                referenceColumns[Int(feature), default: RowSet(rows: sample.count)].insert(row)
            }
        }
        self.referenceColumns = referenceColumns
    }

    struct Pair {
        let itemset: Int
        let feature: Int
    }

    /// Perturbations of the bootstrap's local search.
    static let restarts = 300
    /// The local search stops after this many perturbations without a better assignment.
    static let patience = 100
    /// Positions an itemset needs to take part in the bootstrap: on a dense record-level filter, small itemsets are
    /// often chance combinations of busy positions, and one wrong anchor misleads every profile.
    static let bootstrapPositions = 6
    /// Itemsets matched as a graph to bootstrap the alignment.
    static let bootstrapSize = 40
    /// Rounds of alignment: each round's confident pairs are the next round's anchors.
    static let rounds = 5
    /// A pair is confident when its best candidate scores this much below the second best.
    static let confidentMargin = 9.0

    func align() -> [Pair] {
        let candidates = index.featureCounts.indices.filter { referenceColumns[$0] != nil }
        var anchors = bootstrap()
        var scored: [[(feature: Int, score: Double)]] = []
        for _ in 0..<Self.rounds {
            let anchorSets = informative(anchors)
            // Each candidate feature's co-occurrence with the anchors' features, counted once per round.
            let profileList = inParallel(count: candidates.count) { range in
                range.map { position -> (Int, [Double]) in
                    let feature = candidates[position]
                    guard let column = referenceColumns[feature], column.count > 0 else { return (feature, []) }
                    return (
                        feature,
                        anchorSets.map { anchor in
                            referenceColumns[anchor.feature].map {
                                Double(column.intersectionCount($0)) / Double(column.count)
                            } ?? 0
                        }
                    )
                }
            }.flatMap { $0 }
            let profiles = Dictionary(profileList, uniquingKeysWith: { first, _ in first })
            scored = inParallel(count: mined.count) { range in
                range.map { score(itemset: $0, candidates: candidates, anchors: anchorSets, profiles: profiles) }
            }.flatMap { $0 }
            // Confident pairs, one itemset per feature (the best-scoring one).
            var confident: [Int: (itemset: Int, score: Double)] = [:]
            for (itemset, ranked) in scored.enumerated() {
                guard let best = ranked.first else { continue }
                let second = ranked.count > 1 ? ranked[1].score : best.score + 2 * Self.confidentMargin
                guard second - best.score >= Self.confidentMargin else { continue }
                if let other = confident[best.feature], other.score <= best.score { continue }
                confident[best.feature] = (itemset, best.score)
            }
            let next = confident.map { Pair(itemset: $0.value.itemset, feature: $0.key) }
                .sorted { mined[$0.itemset].supportCount > mined[$1.itemset].supportCount }
            if Set(next.map(\.itemset)) == Set(anchors.map(\.itemset)) { break }
            anchors = next
        }
        // The final one-to-one assignment, best scores first.
        var options: [(itemset: Int, feature: Int, score: Double)] = []
        for (itemset, ranked) in scored.enumerated() {
            for option in ranked.prefix(5) { options.append((itemset, option.feature, option.score)) }
        }
        options.sort { $0.score < $1.score }
        var usedItemsets = Set<Int>()
        var usedFeatures = Set<Int>()
        var pairs: [Pair] = []
        for option in options where !usedItemsets.contains(option.itemset) && !usedFeatures.contains(option.feature) {
            usedItemsets.insert(option.itemset)
            usedFeatures.insert(option.feature)
            pairs.append(Pair(itemset: option.itemset, feature: option.feature))
        }
        return pairs
    }

    /// The first anchors: the most frequent itemsets matched to the most frequent features as two co-occurrence
    /// graphs (a small quadratic assignment by local search), since frequency alone cannot tell apart features that
    /// are about as frequent (many bigrams are).
    private func bootstrap() -> [Pair] {
        let rows = Double(columns.rows)
        let top = Array(
            mined.indices.filter {
                let share = Double(mined[$0].supportCount) / rows
                return share >= 0.02 && share <= 0.5 && mined[$0].positions.count >= Self.bootstrapPositions
            }
            .sorted { mined[$0].supportCount > mined[$1].supportCount }.prefix(Self.bootstrapSize))
        let features = Array(
            referenceColumns.keys.filter {
                Double(index.featureCounts[$0]) / Double(referenceCount) >= 0.012
                    && Double(index.featureCounts[$0]) / Double(referenceCount) <= 0.6
            }
            .sorted { index.featureCounts[$0] > index.featureCounts[$1] }.prefix(top.count + top.count / 2 + 4))
        guard top.count >= 3, features.count >= top.count else { return [] }
        let n = top.count
        let m = features.count
        let shares = top.map { Double(mined[$0].supportCount) / rows }
        let frequencies = features.map { Double(index.featureCounts[$0]) / Double(referenceCount) }
        let haves = features.map { Double(referenceColumns[$0]?.count ?? 0) }
        // Flat tables: P(j | i) between itemsets, P(b | a) between features and the weight of a difference from
        // P(b | a) (one over its sampling deviation, for an itemset as frequent as feature a), and the frequency
        // costs.
        var encoded = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n where i != j {
                encoded[i * n + j] =
                    Double(mined[top[i]].support.intersectionCount(mined[top[j]].support))
                    / Double(mined[top[i]].supportCount)
            }
        }
        var expected = [Double](repeating: 0, count: m * m)
        var weights = [Double](repeating: 0, count: m * m)
        for a in 0..<m {
            guard let columnA = referenceColumns[features[a]], haves[a] > 0 else { continue }
            let samples = 1 / haves[a] + 1 / max(1, frequencies[a] * rows)
            for b in 0..<m where a != b {
                guard let columnB = referenceColumns[features[b]] else { continue }
                let e = Double(columnA.intersectionCount(columnB)) / haves[a]
                expected[a * m + b] = e
                weights[a * m + b] = 1 / ((e * (1 - e) * samples).squareRoot() + 0.01)
            }
        }
        var frequencyCosts = [Double](repeating: 0, count: n * m)
        for i in 0..<n {
            let spread =
                (shares[i] * (1 - shares[i]) * (1 / rows + 1 / Double(referenceCount))).squareRoot() + 0.03 * shares[i]
            for a in 0..<m {
                let z = (frequencies[a] - shares[i]) / spread
                frequencyCosts[i * m + a] = z * z
            }
        }
        var search = QuadraticAssignment(
            n: n, m: m, frequencyCosts: frequencyCosts, encoded: encoded, expected: expected, weights: weights)
        let assigned = search.solve(restarts: Self.restarts, patience: Self.patience)
        return (0..<n).map { Pair(itemset: top[$0], feature: features[assigned[$0]]) }
    }

    /// The features an itemset could be, best first: frequency agreement plus agreement of its co-occurrence with
    /// the anchors' itemsets with the feature's co-occurrence with the anchors' features in the reference.
    private func score(itemset: Int, candidates: [Int], anchors: [Pair], profiles: [Int: [Double]])
        -> [(feature: Int, score: Double)]
    {
        let set = mined[itemset]
        let rows = Double(columns.rows)
        let share = Double(set.supportCount) / rows
        let observed = anchors.map {
            $0.itemset == itemset
                ? -1 : Double(set.support.intersectionCount(mined[$0.itemset].support)) / Double(set.supportCount)
        }
        var nearest: [(feature: Int, frequency: Double)] = []
        for feature in candidates {
            let frequency = Double(index.featureCounts[feature]) / Double(referenceCount)
            guard abs(frequency - share) <= 0.35 * share + 3.0 / rows else { continue }
            guard index.fewestPositions[feature] <= 2 * set.positions.count,
                set.positions.count <= 3 * index.mostPositions[feature] + 3
            else { continue }
            nearest.append((feature, frequency))
        }
        nearest.sort { abs($0.frequency - share) < abs($1.frequency - share) }
        let spread =
            (share * (1 - share) / rows + share * (1 - share) / Double(referenceCount)).squareRoot() + 0.03 * share
        var ranked: [(feature: Int, score: Double)] = []
        for (feature, frequency) in nearest.prefix(60) {
            var score = ((frequency - share) / spread) * ((frequency - share) / spread)
            if let profile = profiles[feature], let have = referenceColumns[feature]?.count, have > 0 {
                for (seen, expected) in zip(observed, profile) where seen >= 0 {
                    let variance = expected * (1 - expected) * (1 / Double(have) + 1 / Double(set.supportCount))
                    let difference = (seen - expected) / (variance.squareRoot() + 0.01)
                    score += difference * difference
                }
            }
            ranked.append((feature, score))
        }
        ranked.sort { $0.score < $1.score }
        return ranked
    }

    /// The anchors a profile compares on: aligned features that are neither rare nor nearly universal.
    private func informative(_ pairs: [Pair]) -> [Pair] {
        Array(
            pairs.filter {
                let share = Double(mined[$0.itemset].supportCount) / Double(columns.rows)
                return share >= 0.01 && share <= 0.9
            }
            .prefix(PatternMiningAttack.profileLength))
    }
}

/// The bootstrap's quadratic assignment: itemset i takes feature assigned[i] (n ≤ m), at the cost of frequency
/// mismatches plus co-occurrence mismatches, minimised by iterated local search (reassignments and swaps; then a
/// few random swaps of the best assignment and another descent). `sums[i * m + a]` holds the pair costs node i
/// would have with feature a against everyone else's current feature, kept up to date as nodes move, so a move is
/// priced in constant time.
private struct QuadraticAssignment {
    let n: Int
    let m: Int
    let frequencyCosts: [Double]
    let encoded: [Double]
    let expected: [Double]
    let weights: [Double]
    private var assigned: [Int]
    private var owner: [Int]
    private var sums: [Double]

    init(n: Int, m: Int, frequencyCosts: [Double], encoded: [Double], expected: [Double], weights: [Double]) {
        self.n = n
        self.m = m
        self.frequencyCosts = frequencyCosts
        self.encoded = encoded
        self.expected = expected
        self.weights = weights
        assigned = Array(0..<n)
        owner = (0..<m).map { $0 < n ? $0 : -1 }
        sums = [Double](repeating: 0, count: n * m)
        recompute()
    }

    /// The cost of itemset i as feature a against itemset j as feature b, both ways.
    @inline(__always)
    private func pair(_ i: Int, _ a: Int, _ j: Int, _ b: Int) -> Double {
        let forward = (encoded[i * n + j] - expected[a * m + b]) * weights[a * m + b]
        let backward = (encoded[j * n + i] - expected[b * m + a]) * weights[b * m + a]
        return forward * forward + backward * backward
    }

    private mutating func recompute() {
        for i in 0..<n {
            for a in 0..<m {
                var total = 0.0
                for j in 0..<n where j != i { total += pair(i, a, j, assigned[j]) }
                sums[i * m + a] = total
            }
        }
    }

    /// Node j moves from feature `old` to `new`: every other node's sums change by j's terms.
    private mutating func move(_ j: Int, from old: Int, to new: Int) {
        for i in 0..<n where i != j {
            for a in 0..<m { sums[i * m + a] += pair(i, a, j, new) - pair(i, a, j, old) }
        }
        assigned[j] = new
    }

    var total: Double {
        var cost = 0.0
        for i in 0..<n { cost += frequencyCosts[i * m + assigned[i]] + sums[i * m + assigned[i]] / 2 }
        return cost
    }

    private mutating func descend() {
        var improved = true
        var sweeps = 0
        while improved && sweeps < 50 {
            improved = false
            sweeps += 1
            for i in 0..<n {
                let c = assigned[i]
                let before = frequencyCosts[i * m + c] + sums[i * m + c]
                var bestDelta = -1e-9
                var bestMove = -1
                for a in 0..<m where a != c {
                    let j = owner[a]
                    let delta: Double
                    if j < 0 {
                        delta = frequencyCosts[i * m + a] + sums[i * m + a] - before
                    } else {
                        // Swap: i takes a, j takes c. The sums count the i–j terms with the old features.
                        let old = before + frequencyCosts[j * m + a] + sums[j * m + a] - pair(i, c, j, a)
                        let new =
                            frequencyCosts[i * m + a] + sums[i * m + a] - pair(i, a, j, a)
                            + frequencyCosts[j * m + c] + sums[j * m + c] - pair(j, c, i, c) + pair(i, a, j, c)
                        delta = new - old
                    }
                    if delta < bestDelta {
                        bestDelta = delta
                        bestMove = a
                    }
                }
                guard bestMove >= 0 else { continue }
                let j = owner[bestMove]
                if j >= 0 {
                    move(i, from: c, to: bestMove)
                    move(j, from: bestMove, to: c)
                    owner[c] = j
                } else {
                    move(i, from: c, to: bestMove)
                    owner[c] = -1
                }
                owner[bestMove] = i
                improved = true
            }
        }
    }

    mutating func solve(restarts: Int, patience: Int) -> [Int] {
        descend()
        var best = assigned
        var bestCost = total
        var generator = SplitMix64(seed: 0xA11C)
        var sinceImproved = 0
        for _ in 0..<restarts where sinceImproved < patience {
            sinceImproved += 1
            var start = best
            for _ in 0..<max(2, n / 6) {
                start.swapAt(Int(generator.next() % UInt64(n)), Int(generator.next() % UInt64(n)))
            }
            assigned = start
            owner = [Int](repeating: -1, count: m)
            for i in 0..<n { owner[assigned[i]] = i }
            recompute()
            descend()
            let cost = total
            if cost < bestCost - 1e-9 {
                bestCost = cost
                best = assigned
                sinceImproved = 0
            }
        }
        return best
    }
}

/// Step 3: each filter decoded to its aligned features, then to reference values and records.
private struct Decoder: @unchecked Sendable {
    let filters: EncodedFilters
    let space: FeatureSpace
    let index: ReferenceIndex
    /// Per aligned feature, its positions as a filter mask.
    let features: [Int32]
    let masks: [[UInt64]]
    private let maskOfFeature: [Int32: Int]

    init(filters: EncodedFilters, space: FeatureSpace, index: ReferenceIndex, masks: [(feature: Int, mask: [UInt64])]) {
        self.filters = filters
        self.space = space
        self.index = index
        features = masks.map { Int32($0.feature) }
        self.masks = masks.map(\.mask)
        maskOfFeature = Dictionary(masks.enumerated().map { (Int32($1.feature), $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Candidates (values or records) filed under their rarest aligned feature, with their masks.
    struct Catalogue {
        var byFeature: [Int32: [Int]] = [:]
        var masks: [[UInt64]] = []
        var explained: [Int] = []
    }

    private func catalogue(_ featureLists: [[Int32]]) -> Catalogue {
        var catalogue = Catalogue()
        let words = filters.wordsPerFilter
        for (item, list) in featureLists.enumerated() {
            var mask = [UInt64](repeating: 0, count: words)
            var rarest: Int32?
            for feature in list {
                guard let slot = maskOfFeature[feature] else { continue }
                for word in 0..<words { mask[word] |= masks[slot][word] }
                if rarest == nil || index.featureCounts[Int(feature)] < index.featureCounts[Int(rarest ?? 0)] {
                    rarest = feature
                }
            }
            catalogue.masks.append(mask)
            catalogue.explained.append(mask.reduce(0) { $0 + $1.nonzeroBitCount })
            if let rarest { catalogue.byFeature[rarest, default: []].append(item) }
        }
        return catalogue
    }

    func decode(into outcome: inout AttackOutcome, progress: (Double) -> Void) {
        let fieldCatalogues = index.fieldValues.map { catalogue($0.features) }
        let recordCatalogue = catalogue(index.recordFeatures)
        let fields = space.fields
        // Fields by hashing domain, so that fields sharing a key group are guessed together.
        let domains = (0..<space.domainCount).map { domain in fields.indices.filter { fields[$0].domain == domain } }
        let slices = inParallel(count: filters.count) { range in
            var guesses = [[String?]](repeating: [], count: fields.count)
            var links: [Int?] = []
            for row in range {
                let filter = Array(
                    filters.words[(row * filters.wordsPerFilter)..<((row + 1) * filters.wordsPerFilter)])
                let present = features.indices.filter { covers(filter, masks[$0]) }.map { features[$0] }
                for members in domains where !members.isEmpty {
                    let chosen = guessDomain(members, filter: filter, present: present, catalogues: fieldCatalogues)
                    for (member, value) in zip(members, chosen) { guesses[member].append(value) }
                }
                links.append(best(in: recordCatalogue, filter: filter, present: present, keep: 1).first?.item)
            }
            return (guesses, links)
        }
        progress(0.9)
        var links: [Int?] = []
        for (fieldIndex, field) in fields.enumerated() {
            outcome.fieldGuesses[field.name] = slices.flatMap { $0.0[fieldIndex] }
        }
        for slice in slices { links.append(contentsOf: slice.1) }
        outcome.recordLinks = links
    }

    /// The guesses for the fields of one domain.
    private func guessDomain(_ members: [Int], filter: [UInt64], present: [Int32], catalogues: [Catalogue])
        -> [String?]
    {
        let tops = members.map { best(in: catalogues[$0], filter: filter, present: present, keep: 5) }
        var chosen: [Int?] = tops.map { $0.first?.item }
        if members.count == 2, !tops[0].isEmpty, !tops[1].isEmpty {
            // Two fields share positions: the pair of values that explains most of them.
            var bestPair: (Int, Int, Int)?
            for a in tops[0] {
                for b in tops[1] {
                    let first = catalogues[members[0]].masks[a.item]
                    let second = catalogues[members[1]].masks[b.item]
                    var union = 0
                    for word in 0..<first.count { union += (first[word] | second[word]).nonzeroBitCount }
                    if bestPair == nil || union > bestPair?.2 ?? 0 { bestPair = (a.item, b.item, union) }
                }
            }
            if let bestPair { chosen = [bestPair.0, bestPair.1] }
        }
        return members.enumerated().map { position, fieldIndex in
            if let spelled = space.compose(fieldIndex: fieldIndex, present: present) { return spelled }
            let values = index.fieldValues[fieldIndex]
            return chosen[position].map { values.values[$0] } ?? values.mostCommon
        }
    }

    /// The `keep` catalogue items whose aligned features are all present, explaining most positions (ties: the
    /// earlier item, i.e. the first seen in the reference).
    private func best(in catalogue: Catalogue, filter: [UInt64], present: [Int32], keep: Int) -> [(
        item: Int, explained: Int
    )] {
        var top: [(item: Int, explained: Int)] = []
        for feature in present {
            guard let items = catalogue.byFeature[feature] else { continue }
            for item in items where covers(filter, catalogue.masks[item]) {
                let explained = catalogue.explained[item]
                if top.count < keep || explained > top[top.count - 1].explained {
                    top.append((item, explained))
                    top.sort { $0.explained > $1.explained || ($0.explained == $1.explained && $0.item < $1.item) }
                    if top.count > keep { top.removeLast() }
                }
            }
        }
        return top
    }

    @inline(__always)
    private func covers(_ filter: [UInt64], _ mask: [UInt64]) -> Bool {
        for word in 0..<mask.count where filter[word] & mask[word] != mask[word] { return false }
        return true
    }
}
