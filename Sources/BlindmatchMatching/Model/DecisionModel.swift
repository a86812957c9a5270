import BlindmatchProtocol
import Dispatch
import Glibc

/// The decision model of one run: every candidate pair (the exact joins and the fuzzy candidates above the floor),
/// its comparison vector and its match weight under a model fitted to these files (DESIGN "Engine").
///
/// With token keys, a Fellegi–Sunter model over the whole cross product (``MatchWeightModel``, ``PopulationFit``):
/// identifier keys, the joint pattern of the other match keys and the blocking keys, and the Dice score in 20 bins
/// above the floor, per stratum of agreeing keys; the compared pairs below the floor enter from a sample, the pairs never
/// compared as one aggregate. A disagreeing identifier is then evidence against a pair, not a veto. Without token keys
/// (a clkhash schema) the Dice score alone: a two-component mixture (``ScoreMixture``).
struct DecisionModel: Sendable {
    struct Candidate: Sendable {
        let rowA: UInt32
        let rowB: UInt32
        /// The first match key that joins the pair, or -1 for a fuzzy candidate.
        let key: Int32
        let score: Double
        /// The second score (``SecondScore``), when the files carry an extra filter and neither is all zero.
        var second: Double? = nil
    }

    static let diceBins = 20

    let candidates: [Candidate]
    let weights: [Double]
    /// Candidate index by pair (rowA << 32 | rowB).
    let index: [UInt64: Int]
    let floor: Double
    let fellegiSunter: MatchWeightModel?
    let mixture: ScoreMixture?
    /// The number of true pairs in A × B by capture–recapture over the identifier keys (``CaptureRecapture``), when
    /// the schema has one and enough pairs were captured twice; it replaces the model's own count in the recall
    /// estimate and the threshold's choice.
    let captureRecapture: CaptureRecapture?
    /// The pairs' conditioning on the other candidates of their watch-list row (``IdentityConstraint``), when the
    /// schema has an identifier key.
    let identity: IdentityConstraint?

    /// The compared pairs below the candidate floor, as a sample: each sampled pair stands for `scale` pairs.
    struct BelowFloor: Sendable {
        var pairs: [ScoredPair]
        var scale: Double
        static let none = BelowFloor(pairs: [], scale: 0)
    }

    /// - Parameters:
    ///   - belowFloor: a sample of the compared pairs below the floor.
    ///   - uncompared: the pairs of A × B that share no key (so are not in `belowFloor`) and are not candidates:
    ///     with blocking never compared; without (`blocked` false) compared and below the floor.
    init(
        _ a: TokenFile, _ b: TokenFile, exact: [ExactJoin.Pair], fuzzy: [ScoredPair], floor: Double,
        belowFloor: BelowFloor = .none, uncompared: Double = 0, blocked: Bool = true,
        secondScore: SecondScoreModel? = nil, threads: Int
    ) {
        var gathered: [Candidate] = []
        gathered.reserveCapacity(exact.count + fuzzy.count)
        for pair in exact {
            let (common, countA, countB) = BlockingJoin.commonBits(a, Int(pair.rowA), b, Int(pair.rowB))
            gathered.append(
                Candidate(
                    rowA: pair.rowA, rowB: pair.rowB, key: Int32(pair.key),
                    score: roundedDice(common: common, popcountA: countA, popcountB: countB)))
        }
        for pair in fuzzy {
            gathered.append(Candidate(rowA: pair.rowA, rowB: pair.rowB, key: -1, score: pair.score))
        }
        // The second score (SPEC §5.6), read for the candidates only: the first filter chose them.
        let secondLevels =
            secondScore != nil && SecondScore.isComparable(a, b) && a.header.tokenKeys.count > 0
            ? SecondScore.levels : 1
        if secondLevels > 1 {
            for position in gathered.indices {
                gathered[position].second = SecondScore.dice(
                    a, Int(gathered[position].rowA), b, Int(gathered[position].rowB))
            }
        }
        let candidates = gathered
        self.candidates = candidates
        self.floor = floor
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(candidates.count)
        for (position, candidate) in candidates.enumerated() {
            index[UInt64(candidate.rowA) << 32 | UInt64(candidate.rowB)] = position
        }
        self.index = index
        let keyCount = a.header.tokenKeys.count
        if keyCount == 0 {
            var mixture = ScoreMixture.fit(
                scores: candidates.map(\.score),
                nullScores: Self.nullScores(
                    b, floor: floor, comparisons: Double(a.recordCount) * Double(b.recordCount), threads: threads),
                floor: floor)
            mixture.chanceScore = Self.chanceScore(a, b)
            self.mixture = mixture
            fellegiSunter = nil
            captureRecapture = nil
            identity = nil
            let table = mixture.monotoneWeights()
            weights = candidates.map { table[mixture.bin($0.score)] }
            return
        }
        // Comparison vectors, on every thread; then EM on the distinct vectors.
        let width = keyCount + 1
        var levels = [UInt8](repeating: 0, count: candidates.count * width)
        // Visited in the order of B's rows (to 256 rows), so that B's token columns, far larger than A's, are read
        // front to back rather than at random; each candidate's vector still goes to its own place.
        let order = Self.orderByRowB(candidates, recordsB: b.recordCount)
        levels.withUnsafeMutableBufferPointer { output in
            let slots = UnsafeSendable(output)
            let workers = max(1, threads)
            let chunk = max(1, (candidates.count + workers - 1) / workers)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk
                let end = min(candidates.count, start + chunk)
                guard start < end else { return }
                let columnsA = TokenColumns(a, columns: Array(0..<keyCount))
                let columnsB = TokenColumns(b, columns: Array(0..<keyCount))
                for index in start..<end {
                    let position = Int(order[index])
                    let candidate = candidates[position]
                    for column in 0..<keyCount {
                        slots.value[position * width + column] = TokenColumns.comparison(
                            columnsA, Int(candidate.rowA), columnsB, Int(candidate.rowB), column)
                    }
                    slots.value[position * width + keyCount] = Self.jointBin(
                        candidate.score, second: candidate.second, floor: floor, secondLevels: secondLevels)
                }
            }
        }
        // Identifiers: match keys that agree on some pair where no blocking key agrees (the example schema's NINO).
        // Pattern keys: the other match keys and the blocking keys (or the match keys when there are no blocking
        // keys). The other match keys are made of the blocking keys' fields, but their joint pattern says what the
        // blocking keys' alone cannot (names in any order at one postcode, the date of birth with the initial and
        // sex): without them the model rated such exact-join pairs 0.3 where 0.9 were true, and the fixed rule's
        // precision estimate ran 0.03 low on harsh data.
        let matchKeys = a.header.matchKeys.count
        let names = a.header.tokenKeys
        let blockingColumns = keyCount > matchKeys ? Array(matchKeys..<keyCount) : Array(0..<keyCount)
        // Identifier levels take 2 bits each, pattern keys 1 bit (agree or not) and the bin 8 bits of a cell's packed
        // key, and a pattern's base-3 code at most 40 digits; keys beyond what fits are left out.
        let identifierColumns = Array(
            (keyCount > matchKeys
                ? (0..<matchKeys).filter { column in
                    (0..<candidates.count).contains { position in
                        levels[position * width + column] == 1
                            && !blockingColumns.contains { levels[position * width + $0] == 1 }
                    }
                } : []).prefix(max(0, (56 - blockingColumns.count) / 2)))
        let room = max(0, min(56 - 2 * identifierColumns.count, 40) - blockingColumns.count)
        let otherMatchKeys = keyCount > matchKeys ? (0..<matchKeys).filter { !identifierColumns.contains($0) } : []
        let patternColumns = Array(otherMatchKeys.prefix(room)) + blockingColumns
        // A pattern key missing on either side counts as not agreeing: missingness is about the records, not the
        // pair, and a separate level per missing key splits the strata too thin for EM.
        func packed(_ row: (Int) -> UInt8, bin: UInt8) -> UInt64 {
            var key: UInt64 = 0
            for column in identifierColumns { key = key << 2 | UInt64(row(column)) }
            for column in patternColumns { key = key << 1 | (row(column) == 1 ? 1 : 0) }
            return key << 8 | UInt64(bin)
        }
        func cell(_ row: (Int) -> UInt8, bin: UInt8) -> PopulationFit.Cell {
            PopulationFit.Cell(
                identifiers: identifierColumns.map { row($0) },
                pattern: patternColumns.reduce(UInt64(0)) { $0 * 3 + (row($1) == 1 ? 1 : 2) }, bin: Int(bin))
        }
        var cellIndex: [UInt64: Int] = [:]
        var cells: [PopulationFit.Cell] = []
        var counts: [Double] = []
        var cellOf = [Int](repeating: 0, count: candidates.count)
        func add(_ row: (Int) -> UInt8, bin: UInt8, count: Double) -> Int {
            let key = packed(row, bin: bin)
            if let known = cellIndex[key] {
                counts[known] += count
                return known
            }
            cellIndex[key] = cells.count
            cells.append(cell(row, bin: bin))
            counts.append(count)
            return cells.count - 1
        }
        levels.withUnsafeBufferPointer { levels in
            for position in 0..<candidates.count {
                let base = position * width
                cellOf[position] = add({ levels[base + $0] }, bin: levels[base + keyCount], count: 1)
            }
        }
        // The compared pairs below the floor, from a sample: their cells count `belowFloor.scale` pairs each.
        var belowCells = Set<Int>()
        for pair in belowFloor.pairs {
            let row = { BlockingJoin.comparison(a, Int(pair.rowA), b, Int(pair.rowB), column: $0) }
            let second = secondLevels > 1 ? SecondScore.dice(a, Int(pair.rowA), b, Int(pair.rowB)) : nil
            let bin = Self.jointBin(pair.score, second: second, floor: floor, secondLevels: secondLevels)
            belowCells.insert(add(row, bin: bin, count: belowFloor.scale))
        }
        let step = (1 - floor) / Double(Self.diceBins)
        let diceNames =
            ["below \(Self.decimal(floor))"] + (0..<Self.diceBins).map { "\(Self.decimal(floor + Double($0) * step))+" }
        let secondNames = (0..<SecondScore.levels).map { level in
            level == 0
                ? "second below \(Self.decimal(SecondScore.edges[0]))"
                : "second \(Self.decimal(SecondScore.edges[level - 1]))+"
        }
        let secondModel = secondScore ?? .joint
        let fit = PopulationFit.fit(
            cells: cells, counts: counts, uncompared: max(uncompared, 0), belowFloorCells: belowCells,
            identifierNames: identifierColumns.map { names[$0] }, patternNames: patternColumns.map { names[$0] },
            binNames: diceNames,
            randomDice: Self.randomDice(
                a, b, floor: floor, secondLevels: secondModel == .joint ? secondLevels : 1),
            uncomparedBelowFloor: !blocked, secondNames: secondLevels > 1 ? secondNames : [],
            secondModel: secondModel)
        fellegiSunter = fit.model
        mixture = nil
        // An agreeing identifier decides: the fixed rule's exact join matches on it, and two people share a NINO by
        // chance about never. EM alone gave such a pair 0.8 where everything else differed (moved, renamed, date
        // missing), which put the precision estimate of the fixed rule 0.03 low on harsh data.
        let pairwise = cellOf.indices.map { position in
            cells[cellOf[position]].identifiers.contains(1)
                ? max(fit.weights[cellOf[position]], Self.identifierAgrees) : fit.weights[cellOf[position]]
        }
        // One watch-list record is one person: each pair conditioned on the others of its watch-list row
        // (``IdentityConstraint``), through the bulk records' identifier tokens.
        var weights = pairwise
        var identity: IdentityConstraint?
        if !identifierColumns.isEmpty {
            let typoRate =
                fit.model.features.prefix(identifierColumns.count).map { feature in
                    feature.m[2] / max(feature.m[1] + feature.m[2], 1e-12)
                }.max() ?? 0
            let agrees = cellOf.map { cells[$0].identifiers.contains(1) }
            let adjusted = IdentityConstraint.adjust(
                weights: pairwise, rowsA: candidates.map(\.rowA), rowsB: candidates.map(\.rowB),
                recordsA: a.recordCount, identifierAgrees: { agrees[$0] },
                relation: { first, second in
                    var relation = IdentityConstraint.Relation.unknown
                    for column in identifierColumns {
                        switch BlockingJoin.comparison(b, Int(first), b, Int(second), column: column) {
                        case 1: return .agrees
                        case 2: relation = .conflicts
                        default: break
                        }
                    }
                    return relation
                }, typoRate: typoRate)
            weights = adjusted.weights
            identity = adjusted.constraint
        }
        self.identity = identity
        self.weights = weights
        // Capture 2 ("a match without the identifier") is decided on the pairwise weights: the identity constraint
        // reads the bulk records' identifiers, so its weights would tie the two captures together.
        captureRecapture = CaptureRecapture.estimate(
            weights: weights, captureWeights: pairwise, identifierLevels: { cells[cellOf[$0]].identifiers },
            identifierFeatures: Array(fit.model.features.prefix(identifierColumns.count)))
    }

    /// The least match weight of a pair on which an identifier key agrees (a match probability of 1 − 10⁻⁶).
    static let identifierAgrees = 20.0

    /// Bulk rows compared with other bulk rows for the null sample: this many comparisons, or a ``nullShare`` of the
    /// run's own A × B where that is more (and never more than A × B).
    static let nullComparisons = 50_000_000

    /// The null sample is at least this fraction of the run's A × B (so it costs at most an eighth of the run's own
    /// kernel pass). With a fixed 50,000,000 the sample thinned as the files grew: at 20,000 × 200,000 (4 × 10⁹
    /// pairs) its dense bins ended at 0.78, the exponential cap past them fell off faster than the true
    /// non-matches (A × B's non-matches ran 1.3 to 4.9 times the scaled null over 0.785–0.855, against 0.9 to 1.7 up
    /// to 0.83 at 2,000 × 50,000), and the mixture took them for matches (docs/decision-model.md).
    static let nullShare = 8.0

    /// The scores at or above `floor` of pairs of two different bulk records: the non-matches' shape for the score
    /// mixture (a bulk file's duplicates, if any, count as non-matches). About ``nullComparisons`` comparisons or
    /// `comparisons` / ``nullShare``, whichever is more, but no more than `comparisons` (the run's A × B), every
    /// k-th row of B against every k'-th; empty when the kernel cannot run.
    static func nullScores(_ b: TokenFile, floor: Double, comparisons: Double, threads: Int) -> [Double] {
        let count = b.recordCount
        guard count > 1 else { return [] }
        let columns = min(count, 65_536)
        let budget = min(max(Double(nullComparisons), comparisons / nullShare), max(comparisons, 1_000_000))
        let rows = max(64, min(count, Int(budget) / columns))
        guard let left = try? CandidateFloor.sample(b, rows: rows),
            let right = try? CandidateFloor.sample(b, rows: columns),
            let found = try? DiceKernel.candidates(
                between: left.matrix, and: right.matrix,
                threshold: DiceThreshold(numerator: UInt64((floor * 100).rounded(.down)), denominator: 100),
                threads: threads, cancellation: nil)
        else { return [] }
        let strideLeft = max(1, (count + rows - 1) / rows)
        let strideRight = max(1, (count + columns - 1) / columns)
        return found.0.filter { Int($0.rowA) * strideLeft != Int($0.rowB) * strideRight }.map(\.score)
    }

    /// Random pairs of A × B drawn for ``chanceScore(_:_:)``.
    static let chancePairs = 20_001

    /// The median Dice score of random pairs of A × B (a fixed-seed sample, so a run is repeatable): the score of a
    /// pair that shares nothing but chance, where the score mixture's assumed rate of true pairs below what it
    /// measures reaches zero (``ScoreMixture/unseenMatches``). Nil for an empty file.
    static func chanceScore(_ a: TokenFile, _ b: TokenFile) -> Double? {
        guard a.recordCount > 0, b.recordCount > 0 else { return nil }
        var random = SplitMix64(seed: 0x2545_F491_4F6C_DD1D)
        var scores: [Double] = []
        scores.reserveCapacity(chancePairs)
        for _ in 0..<chancePairs {
            let rowA = Int(random.next() % UInt64(a.recordCount))
            let rowB = Int(random.next() % UInt64(b.recordCount))
            let (common, countA, countB) = BlockingJoin.commonBits(a, rowA, b, rowB)
            scores.append(roundedDice(common: common, popcountA: countA, popcountB: countB))
        }
        scores.sort()
        return scores[scores.count / 2]
    }

    /// Random pairs of A × B drawn for the non-matches' score distribution where no key agrees.
    static let randomPairs = 200_000

    /// The share of random pairs of A × B in each Dice bin (bin 0 below the floor), with half a pair added to every
    /// bin so that none is impossible; from a fixed-seed sample, so a run is repeatable.
    static func randomDice(_ a: TokenFile, _ b: TokenFile, floor: Double, secondLevels: Int = 1) -> [Double] {
        var counts = [Double](repeating: 0.5, count: (diceBins + 1) * secondLevels)
        guard a.recordCount > 0, b.recordCount > 0 else { return counts.map { $0 / counts.reduce(0, +) } }
        var random = SplitMix64(seed: 0x9E37_79B9_7F4A_7C15)
        for _ in 0..<randomPairs {
            let rowA = Int(random.next() % UInt64(a.recordCount))
            let rowB = Int(random.next() % UInt64(b.recordCount))
            let (common, countA, countB) = BlockingJoin.commonBits(a, rowA, b, rowB)
            let score = roundedDice(common: common, popcountA: countA, popcountB: countB)
            let second = secondLevels > 1 ? SecondScore.dice(a, rowA, b, rowB) : nil
            counts[Int(jointBin(score, second: second, floor: floor, secondLevels: secondLevels))] += 1
        }
        let total = counts.reduce(0, +)
        return counts.map { $0 / total }
    }

    /// Expected true pairs outside the candidates (never compared, or below the floor), by the model; or, where
    /// capture–recapture applies, its count less the candidates' expected true pairs, so that the two add up to the
    /// count. That is negative when the model expects more true pairs among the candidates than the count (without
    /// blocking on harsh data: 2,023 against 1,930, with 1,927 true), and the count is then the denominator still.
    var expectedOutside: Double {
        if let captureRecapture {
            let inCandidates = weights.reduce(0) { $0 + MatchWeightModel.probability(weight: $1) }
            return captureRecapture.truePairs - inCandidates
        }
        if let mixture {
            return mixture.unseenMatches
        }
        return (fellegiSunter?.expectedUncompared ?? 0) + (fellegiSunter?.expectedBelowFloor ?? 0)
    }

    /// The Dice bin of `score`: 0 below the floor, then `diceBins` equal bins up to 1.
    static func diceBin(_ score: Double, floor: Double) -> UInt8 {
        guard score >= floor else { return 0 }
        let bin = Int((score - floor) / max(1 - floor, 1e-9) * Double(diceBins))
        return UInt8(1 + min(max(bin, 0), diceBins - 1))
    }

    /// The candidates' positions ordered by B's row to 256 rows (a counting sort: two passes, no comparisons).
    static func orderByRowB(_ candidates: [Candidate], recordsB: Int) -> [UInt32] {
        let buckets = recordsB >> 8 + 1
        var starts = [Int](repeating: 0, count: buckets + 1)
        for candidate in candidates { starts[Int(candidate.rowB) >> 8 + 1] += 1 }
        for bucket in 0..<buckets { starts[bucket + 1] += starts[bucket] }
        var order = [UInt32](repeating: 0, count: candidates.count)
        for (position, candidate) in candidates.enumerated() {
            let bucket = Int(candidate.rowB) >> 8
            order[starts[bucket]] = UInt32(position)
            starts[bucket] += 1
        }
        return order
    }

    /// The model's score bin: the Dice bin, crossed with the second score's level when there is one
    /// (`diceBin × secondLevels + level`; with `secondLevels` 1 the Dice bin alone).
    static func jointBin(_ score: Double, second: Double?, floor: Double, secondLevels: Int) -> UInt8 {
        let dice = diceBin(score, floor: floor)
        guard secondLevels > 1 else { return dice }
        return dice * UInt8(secondLevels) + UInt8(SecondScore.level(second))
    }

    static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }

    /// The candidates with weight at least `threshold`, as results.
    func results(atOrAbove threshold: Double) -> [(index: Int, result: MatchResult)] {
        var chosen: [(index: Int, result: MatchResult)] = []
        for (position, candidate) in candidates.enumerated() where weights[position] >= threshold {
            let rule: MatchResult.Rule = candidate.key >= 0 ? .matchKey(Int(candidate.key)) : .bloom
            var result = MatchResult(
                rowA: candidate.rowA, rowB: candidate.rowB, rule: rule, score: candidate.key >= 0 ? 1 : candidate.score,
                status: .match)
            result.weight = weights[position]
            chosen.append((position, result))
        }
        return chosen
    }

    /// The report for the candidates at `reported` (indices), chosen at `threshold` or by a Dice threshold.
    func report(threshold: Double?, chosen: Bool, diceThreshold: Double?, reported: [Int]) -> LinkageReport {
        let histogram = LinkageReport.histogram(weights: weights)
        let lowestReported = reported.map { weights[$0] }.min() ?? (weights.max() ?? 0)
        return LinkageReport(
            model: fellegiSunter == nil ? "score-mixture" : "fellegi-sunter", threshold: threshold ?? lowestReported,
            thresholdChosen: chosen, diceThreshold: diceThreshold, candidateFloor: floor,
            candidatePairs: candidates.count,
            estimate: LinkageReport.estimate(
                weights: weights, reported: reported, outside: expectedOutside,
                outsideVariance: captureRecapture?.variance ?? mixture?.unseenMatchesVariance),
            histogram: histogram,
            curve: LinkageReport.curve(weights: weights, histogram: histogram, outside: expectedOutside),
            fellegiSunter: fellegiSunter, scoreMixture: mixture, captureRecapture: captureRecapture,
            identity: identity)
    }
}
