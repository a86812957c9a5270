import Glibc

/// A Fellegi–Sunter model over the whole cross product of the two files: for each comparison, the probability of
/// each level among matches (m) and among non-matches (u), and the share of matches among all pairs; fitted by
/// expectation maximisation without labels.
///
/// The population is every pair of A × B. The pairs that share a token (an exact or blocking join) are seen one by
/// one; the rest, far the most, are one aggregate cell whose only known comparison is "no key agrees". That cell
/// anchors the u-probabilities to random pairs, as Splink's random sampling does in clear text, so EM cannot make
/// "the names agree" its match class: the non-matches of the model are the cross product, not the candidates.
///
/// Comparisons, assumed independent given the class:
/// - **identifiers**: each match key that agrees on some pair where no blocking key agrees (the example schema's
///   NINO) — agree, disagree, or missing on either side;
/// - **pattern**: the joint pattern of the pattern keys (the other match keys and the blocking keys); keys share
///   fields, so the pattern is one comparison, not one per key;
/// - **Dice**, conditional on which pattern keys agree (a *stratum*): the score of a namesake is high because the
///   names agree, so the score's distribution is fitted per stratum (shrunk towards the pooled one) rather than
///   assumed independent of the pattern. 20 bins above the candidate floor and one below it.
public struct MatchWeightModel: Codable, Sendable, Equatable {
    /// One comparison: its levels and their probabilities among matches and non-matches.
    public struct Feature: Codable, Sendable, Equatable {
        public var name: String
        public var levels: [String]
        public var m: [Double]
        public var u: [Double]
        /// For a joint pattern: each level's per-key levels (0 missing, 1 agree, 2 disagree).
        public var parts: [[UInt8]]?
        /// For a comparison that applies to some pairs only (the Dice score of one stratum): which.
        public var appliesWhen: String?

        /// log₂(m/u) of each level: the evidence it gives.
        public var weights: [Double] { zip(m, u).map { log2($0 / $1) } }
    }

    public var features: [Feature]
    /// The share of matches (λ) among all the pairs the model covers (``population``, or the candidates).
    public var matchShare: Double
    public var iterations: Int
    /// Whether the largest change of a pair's match probability in the last iteration was below 10⁻⁷.
    public var converged: Bool
    /// Pairs in the cross product (A × B), when the model covers all of them.
    public var population: Double?
    /// Expected true pairs among the pairs that were never compared (lost by blocking) and among the compared pairs
    /// below the candidate floor: part of the denominator of the recall estimate.
    public var expectedUncompared: Double?
    public var expectedBelowFloor: Double?

    /// Pseudo-pairs of the pooled Dice distribution in each stratum's.
    public static let shrinkage = 5.0

    /// Prior log₂ odds of a pair.
    public var priorWeight: Double { log2(matchShare / (1 - matchShare)) }

    /// The match weight (posterior log₂ odds) of a pair whose feature levels are `levels`; a level of
    /// `UInt16.max` marks a comparison that does not apply to the pair.
    public func weight(levels: [UInt16]) -> Double {
        var total = priorWeight
        for (feature, level) in zip(features, levels) where level != .max {
            total += log2(feature.m[Int(level)] / feature.u[Int(level)])
        }
        return total
    }

    /// The probability of a match for a match weight (log₂ odds).
    public static func probability(weight: Double) -> Double {
        1 / (1 + exp2(-min(max(weight, -1000), 1000)))
    }
}

/// How the decision model uses the second score (SPEC §5.6, ``SecondScore``), which is strongly correlated with
/// the first Dice: never as an independent comparison.
public enum SecondScoreModel: String, Sendable, CaseIterable {
    /// Each pattern's score distribution over the joint grid of Dice bin × second level: its Dice bins as without
    /// a second score, times the second level given the Dice bin (shrunk towards both classes' in that pattern and
    /// bin, so that thin cells add little), with the weight non-decreasing in either score
    /// (``PopulationFit/factorised(_:levels:reference:)``, ``PopulationFit/monotoneGrid(_:_:levels:sweeps:)``).
    case joint
    /// The second level given the Dice bin's quarter (or below the floor) and whether any pattern key agrees, per
    /// class: a table of its own beside the per-pattern Dice bins.
    case conditional

    /// Quarters of the Dice bins above the floor that the conditional model tells apart.
    static let diceGroups = 4
    /// Pairs by which each group's second-score distribution is shrunk towards the pooled one (per class; the
    /// conditional model's).
    static let shrinkage = 20.0
}

/// The fit of ``MatchWeightModel`` (its description) with the weight of every cell.
struct PopulationFit {
    /// One class of pairs: identifier levels (0 missing, 1 agree, 2 disagree), the pattern keys' base-3 code
    /// (most significant key first) and the Dice bin (0 below the floor).
    struct Cell: Hashable {
        var identifiers: [UInt8]
        var pattern: UInt64
        var bin: Int
    }

    var model: MatchWeightModel
    /// Posterior log₂ odds per cell, in the order given.
    var weights: [Double]

    /// Fits by EM on `cells` (each seen `counts` times; a sampled cell may count fractionally) and `uncompared`
    /// further pairs of which only "no key agrees" is known.
    ///
    /// - Parameters:
    ///   - identifierNames: the identifier keys' names, one per `Cell.identifiers` entry.
    ///   - patternNames: the pattern keys' names, one per base-3 digit of `Cell.pattern`.
    ///   - binNames: the Dice bins' names (bin 0 first).
    ///   - randomDice: the share of random pairs of A × B in each Dice bin: the non-matches' scores where no pattern
    ///     key agrees, fixed rather than fitted. The uncompared pairs belong there but their scores were
    ///     never computed; without this anchor the few identifier-only pairs would make up that stratum's
    ///     non-matches by themselves.
    ///   - uncomparedBelowFloor: the uncompared pairs are known to score below the floor (bin 0): they were
    ///     compared without blocking and fell short. Otherwise their score is unknown (never compared).
    ///   - secondNames: with a second score (``SecondScore``), its levels' names; each cell's `bin` is then the Dice
    ///     bin crossed with the second score's level (`diceBin × secondNames.count + level`).
    ///   - secondModel: how the second score enters (``SecondScoreModel``).
    static func fit(
        cells: [Cell], counts: [Double], uncompared: Double, belowFloorCells: Set<Int>, identifierNames: [String],
        patternNames: [String], binNames: [String], randomDice: [Double]? = nil, uncomparedBelowFloor: Bool = false,
        secondNames: [String] = [], secondModel: SecondScoreModel = .conditional, maximumIterations: Int = 2000
    ) -> PopulationFit {
        let keys = patternNames.count
        let secondLevels = max(secondNames.count, 1)
        let joint = secondLevels > 1 && secondModel == .joint
        let conditional = secondLevels > 1 && secondModel == .conditional
        let diceBins = binNames.count
        // The Dice tables' bins: the joint grid's, or the Dice bins alone (the conditional model's second score has
        // tables of its own).
        let bins = joint ? diceBins * secondLevels : diceBins
        let tableNames =
            joint ? binNames.flatMap { name in secondNames.map { "\(name), \($0)" } } : binNames
        func tableBin(_ cell: Cell) -> Int { joint ? cell.bin : cell.bin / secondLevels }
        // The bins that mean "below the floor" (the uncompared pairs' without blocking): one per second level.
        let floorBins = 0..<(joint ? secondLevels : 1)
        // Pattern levels: the observed codes, and "none agrees" for the uncompared pairs if it was not observed.
        var patternLevel: [UInt64: Int] = [:]
        var patternCodes: [UInt64] = []
        for cell in cells where patternLevel[cell.pattern] == nil {
            patternLevel[cell.pattern] = patternCodes.count
            patternCodes.append(cell.pattern)
        }
        // The uncompared pairs have no agreeing pattern key: "none agrees" is a level even if no candidate has it.
        let possible = [(0..<keys).reduce(UInt64(0)) { code, _ in code * 3 + 2 }]
        for code in possible where patternLevel[code] == nil {
            patternLevel[code] = patternCodes.count
            patternCodes.append(code)
        }
        let patternDigits = patternCodes.map { MatchWeightModel.digits($0, count: keys) }
        let noneAgrees = patternDigits.map { !$0.contains(1) }
        let uncomparedLevels = noneAgrees
        // The Dice score's strata: which pattern keys agree, that is, the pattern levels themselves (missing keys
        // count as not agreeing). Stratum `noneLevel` (no key agrees) holds the random pairs.
        let strata = patternCodes.count
        let stratumOf = Array(patternCodes.indices)
        let noneLevel = patternLevel[possible[0]] ?? 0
        let levelOf = cells.map { patternLevel[$0.pattern] ?? 0 }
        let identifiers = identifierNames.count
        let total = counts.reduce(0, +) + uncompared
        // First guess: an identifier agrees, two pattern keys agree, or the score is high.
        var posterior = cells.enumerated().map { index, cell -> Double in
            let agreeing = patternDigits[levelOf[index]].filter { $0 == 1 }.count
            let diceBin = cell.bin / secondLevels
            return cell.identifiers.contains(1) || agreeing >= 2 || diceBin >= (diceBins - 1) * 3 / 4 + 1 ? 0.9 : 0.01
        }
        var uncomparedPosterior = 0.0
        var share = 1e-6
        var mIdentifiers = [[Double]](repeating: [1, 1, 1], count: identifiers)
        var uIdentifiers = mIdentifiers
        var mPattern = [Double](repeating: 1, count: patternCodes.count)
        var uPattern = mPattern
        var mDice = [[Double]](repeating: [Double](repeating: 1, count: bins), count: strata)
        var uDice = mDice
        // The conditional model's second score: its level given the stratum and the Dice bin's quarter (or below the
        // floor), per class, each shrunk towards the pooled one of its quarter among the strata where a key agrees
        // (or where none does).
        let quarters = SecondScoreModel.diceGroups + 1
        let secondGroups = conditional ? strata * quarters : 0
        func secondGroup(_ index: Int) -> Int {
            let diceBin = cells[index].bin / secondLevels
            let quarter =
                diceBin == 0
                ? 0 : 1 + min((diceBin - 1) * SecondScoreModel.diceGroups / max(diceBins - 1, 1), quarters - 2)
            return stratumOf[levelOf[index]] * quarters + quarter
        }
        let groupOf = conditional ? cells.indices.map(secondGroup) : []
        let referenceOf = (0..<secondGroups).map { group in
            (noneAgrees[group / quarters] ? 0 : quarters) + group % quarters
        }
        var mSecond = [[Double]](repeating: [Double](repeating: 1, count: secondLevels), count: secondGroups)
        var uSecond = mSecond
        var logWeights = [Double](repeating: 0, count: cells.count)
        /// The probability of each level the uncompared pairs may have (times that of bin 0 in its stratum when they
        /// are below the floor).
        func uncomparedTerms(_ pattern: [Double], _ dice: [[Double]]) -> [Double] {
            patternCodes.indices.map { level in
                guard uncomparedLevels[level] else { return 0 }
                let belowFloor = floorBins.reduce(0) { $0 + dice[stratumOf[level]][$1] }
                return pattern[level] * (uncomparedBelowFloor ? belowFloor : 1)
            }
        }
        func uncomparedLikelihood(_ pattern: [Double], _ dice: [[Double]]) -> Double {
            uncomparedTerms(pattern, dice).reduce(0, +)
        }
        func uncomparedShares(_ pattern: [Double], _ dice: [[Double]]) -> [Double] {
            let terms = uncomparedTerms(pattern, dice)
            let sum = terms.reduce(0, +)
            return terms.map { sum > 0 ? $0 / sum : 0 }
        }
        var iterations = 0
        var converged = false
        for iteration in 1...maximumIterations {
            iterations = iteration
            // M step.
            var matches = uncompared * uncomparedPosterior
            for index in cells.indices { matches += counts[index] * posterior[index] }
            share = min(max(matches / max(total, 1), 1e-12), 1 - 1e-9)
            let uncomparedMatches = uncompared * uncomparedPosterior
            let uncomparedOthers = uncompared - uncomparedMatches
            for key in 0..<identifiers {
                var m = [0.01, 0.01, 0.01]
                var u = m
                for (index, cell) in cells.enumerated() {
                    m[Int(cell.identifiers[key])] += counts[index] * posterior[index]
                    u[Int(cell.identifiers[key])] += counts[index] * (1 - posterior[index])
                }
                mIdentifiers[key] = spread(m, uncomparedMatches, over: [true, false, true])
                uIdentifiers[key] = spread(u, uncomparedOthers, over: [true, false, true])
            }
            // The uncompared pairs' share of each pattern level (and, below the floor, of its stratum's bin 0), by
            // the previous iteration's parameters.
            let matchShares = uncomparedShares(mPattern, mDice)
            let otherShares = uncomparedShares(uPattern, uDice)
            var m = [Double](repeating: 0.01, count: patternCodes.count)
            var u = m
            for (index, level) in levelOf.enumerated() {
                m[level] += counts[index] * posterior[index]
                u[level] += counts[index] * (1 - posterior[index])
            }
            var mTable = [[Double]](repeating: [Double](repeating: 0, count: bins), count: strata)
            var uTable = mTable
            for (index, cell) in cells.enumerated() {
                let stratum = stratumOf[levelOf[index]]
                mTable[stratum][tableBin(cell)] += counts[index] * posterior[index]
                uTable[stratum][tableBin(cell)] += counts[index] * (1 - posterior[index])
            }
            if conditional {
                var mCounts = [[Double]](
                    repeating: [Double](repeating: 0.01, count: secondLevels), count: secondGroups)
                var uCounts = mCounts
                for (index, cell) in cells.enumerated() {
                    mCounts[groupOf[index]][cell.bin % secondLevels] += counts[index] * posterior[index]
                    uCounts[groupOf[index]][cell.bin % secondLevels] += counts[index] * (1 - posterior[index])
                }
                mSecond = Self.shrunk(mCounts, toward: referenceOf, by: SecondScoreModel.shrinkage)
                uSecond = Self.shrunk(uCounts, toward: referenceOf, by: SecondScoreModel.shrinkage)
            }
            for level in patternCodes.indices where uncomparedLevels[level] {
                m[level] += uncomparedMatches * matchShares[level]
                u[level] += uncomparedOthers * otherShares[level]
                if uncomparedBelowFloor {
                    // Their second score was never read: spread over the floor's bins as the previous fit has them.
                    let stratum = stratumOf[level]
                    let mBelow = floorBins.reduce(0) { $0 + mDice[stratum][$1] }
                    let uBelow = floorBins.reduce(0) { $0 + uDice[stratum][$1] }
                    for bin in floorBins {
                        mTable[stratum][bin] += uncomparedMatches * matchShares[level] * mDice[stratum][bin] / mBelow
                        uTable[stratum][bin] += uncomparedOthers * otherShares[level] * uDice[stratum][bin] / uBelow
                    }
                }
            }
            mPattern = normalised(m)
            uPattern = normalised(u)
            if joint {
                // The grid is the Dice bins' distribution (as without a second score) times the second level's
                // given the Dice bin, the latter shrunk towards both classes' together in that stratum and bin, so
                // that a stratum or bin with few pairs gets little evidence from the second score, not the pooled
                // strata's (``factorised(_:levels:reference:)``).
                let both = zip(mTable, uTable).map { zip($0, $1).map { $0 + $1 } }
                mDice = Self.factorised(mTable, levels: secondLevels, reference: both)
                uDice = Self.factorised(uTable, levels: secondLevels, reference: both)
            } else {
                mDice = smoothed(mTable)
                uDice = smoothed(uTable)
            }
            if let randomDice, randomDice.count == bins { uDice[noneLevel] = randomDice }
            if joint {
                // Within a pattern, a higher score of either kind is never the weaker evidence.
                for stratum in 0..<strata {
                    mDice[stratum] = Self.monotoneGrid(mDice[stratum], uDice[stratum], levels: secondLevels)
                }
            }
            // E step.
            let prior = log(share / (1 - share))
            var change = 0.0
            for (index, cell) in cells.enumerated() {
                var weight = prior
                for key in 0..<identifiers {
                    let level = Int(cell.identifiers[key])
                    weight += log(mIdentifiers[key][level] / uIdentifiers[key][level])
                }
                let level = levelOf[index]
                weight += log(mPattern[level] / uPattern[level])
                let bin = tableBin(cell)
                weight += log(mDice[stratumOf[level]][bin] / uDice[stratumOf[level]][bin])
                if conditional {
                    let second = cell.bin % secondLevels
                    weight += log(mSecond[groupOf[index]][second] / uSecond[groupOf[index]][second])
                }
                logWeights[index] = weight / log(2.0)
                let next = MatchWeightModel.probability(weight: logWeights[index])
                change = max(change, abs(next - posterior[index]))
                posterior[index] = next
            }
            // The uncompared pairs: no identifier and no pattern key agrees; the score is unknown (never compared)
            // or below the floor (compared without blocking).
            var matchLikelihood = 1.0
            var otherLikelihood = 1.0
            for key in 0..<identifiers {
                matchLikelihood *= mIdentifiers[key][0] + mIdentifiers[key][2]
                otherLikelihood *= uIdentifiers[key][0] + uIdentifiers[key][2]
            }
            matchLikelihood *= uncomparedLikelihood(mPattern, mDice)
            otherLikelihood *= uncomparedLikelihood(uPattern, uDice)
            let next =
                share * matchLikelihood / max(share * matchLikelihood + (1 - share) * otherLikelihood, 1e-300)
            // Converged when the expected matches among them move by less than a thousandth of a pair.
            change = max(change, abs(next - uncomparedPosterior) * uncompared * 1e-4)
            uncomparedPosterior = next
            if change < 1e-7 {
                converged = true
                break
            }
        }
        var features: [MatchWeightModel.Feature] = []
        let levelNames = ["missing on either side", "agree", "disagree"]
        for (key, name) in identifierNames.enumerated() {
            features.append(
                .init(name: name, levels: levelNames, m: mIdentifiers[key], u: uIdentifiers[key], parts: nil))
        }
        features.append(
            .init(
                name: "blocking keys", levels: patternDigits.map { describe($0, names: patternNames) }, m: mPattern,
                u: uPattern, parts: patternDigits))
        for stratum in 0..<strata {
            var feature = MatchWeightModel.Feature(
                name: "dice", levels: tableNames, m: mDice[stratum], u: uDice[stratum], parts: nil)
            feature.appliesWhen = describe(patternDigits[stratum], names: patternNames)
            features.append(feature)
        }
        for group in Set(groupOf).sorted() {
            var feature = MatchWeightModel.Feature(
                name: "second score", levels: secondNames, m: mSecond[group], u: uSecond[group], parts: nil)
            let quarter = group % quarters
            let keys = describe(patternDigits[group / quarters], names: patternNames)
            feature.appliesWhen =
                quarter == 0 ? "Dice below the floor, \(keys)" : "Dice bins in quarter \(quarter), \(keys)"
            features.append(feature)
        }
        var model = MatchWeightModel(
            features: features, matchShare: share, iterations: iterations, converged: converged)
        model.population = total
        model.expectedUncompared = uncompared * uncomparedPosterior
        model.expectedBelowFloor = belowFloorCells.reduce(0) { $0 + counts[$1] * posterior[$1] }
        return PopulationFit(model: model, weights: logWeights)
    }

    static func normalised(_ counts: [Double]) -> [Double] {
        let sum = counts.reduce(0, +)
        return counts.map { $0 / sum }
    }

    /// Probabilities from counts, with `extra` pairs spread over the levels marked in `over` in proportion to them.
    static func spread(_ counts: [Double], _ extra: Double, over: [Bool]) -> [Double] {
        let marked = zip(counts, over).filter(\.1).reduce(0) { $0 + $1.0 }
        var result = counts
        for index in result.indices where over[index] && marked > 0 { result[index] += extra * counts[index] / marked }
        let sum = result.reduce(0, +)
        return result.map { $0 / sum }
    }

    /// `m` and `u` over ordered levels, changed so that `m/u` never falls from one level to the next:
    /// pool-adjacent-violators on the ratio, each pool's `m` spread in proportion to its `u`, so that both keep their
    /// sums (and stay distributions).
    static func monotone(_ m: [Double], _ u: [Double]) -> ([Double], [Double]) {
        var blocks: [(m: Double, u: Double, count: Int)] = []
        for index in m.indices {
            blocks.append((m[index], u[index], 1))
            while blocks.count > 1 {
                let last = blocks[blocks.count - 1]
                let previous = blocks[blocks.count - 2]
                guard previous.m * last.u > last.m * previous.u else { break }
                blocks.removeLast(2)
                blocks.append((previous.m + last.m, previous.u + last.u, previous.count + last.count))
            }
        }
        var result = m
        var start = 0
        for block in blocks {
            for index in start..<(start + block.count) {
                result[index] = block.u > 0 ? block.m * u[index] / block.u : block.m / Double(block.count)
            }
            start += block.count
        }
        return (result, u)
    }

    /// Each row's probabilities, shrunk towards the rows' pooled ones by `pairs` pairs: a group where a class is
    /// rare (non-matches at the top of the Dice range, matches at its bottom) takes the pooled shape rather than
    /// the few pairs EM assigns it, which could otherwise split one class into two by the second score.
    /// Rows with the same `reference` value are pooled together.
    static func shrunk(_ table: [[Double]], toward reference: [Int], by pairs: Double) -> [[Double]] {
        let levels = table.first?.count ?? 0
        var pooled: [Int: [Double]] = [:]
        for (row, key) in zip(table, reference) {
            var sums = pooled[key] ?? [Double](repeating: 0, count: levels)
            for level in 0..<levels { sums[level] += row[level] }
            pooled[key] = sums
        }
        return zip(table, reference).map { row, key in
            let reference = pooled[key] ?? row
            let referenceSum = max(reference.reduce(0, +), 1e-300)
            let shrunkRow = (0..<levels).map { row[$0] + pairs * reference[$0] / referenceSum }
            let sum = shrunkRow.reduce(0, +)
            return shrunkRow.map { $0 / sum }
        }
    }

    /// Each stratum's joint grid (Dice bin × second level, `levels` second levels per Dice bin, the counts of one
    /// class) as the product of its Dice bins' distribution, summed over the second levels and ``smoothed(_:by:)``
    /// exactly as without a second score, and the second level's distribution given the Dice bin, shrunk by
    /// ``MatchWeightModel/shrinkage`` pairs towards the same stratum and Dice bin's `reference` counts (both classes
    /// together). Where a stratum's Dice bin holds few pairs, both classes' second levels are then about the same
    /// and the second score adds little; where it holds many, their own. Shrinking the grid itself towards the
    /// pooled grid (the first version, by 20 pairs) moved a small stratum's matches towards the Dice bins where
    /// the pooled matches are, and lowered them where its own are: on `synth` default data a third of such a
    /// stratum's true pairs fell below the threshold (docs/decision-model.md).
    static func factorised(_ table: [[Double]], levels: Int, reference: [[Double]]) -> [[Double]] {
        let cells = table.first?.count ?? 0
        let diceBins = cells / max(levels, 1)
        let pairs = MatchWeightModel.shrinkage
        let marginals = smoothed(
            table.map { row in (0..<diceBins).map { bin in row[(bin * levels)..<((bin + 1) * levels)].reduce(0, +) } })
        return zip(zip(table, marginals), reference).map { rows, reference in
            let (row, marginal) = rows
            var result = [Double](repeating: 0, count: cells)
            for bin in 0..<diceBins {
                let range = (bin * levels)..<((bin + 1) * levels)
                let own = row[range].reduce(0, +)
                // A little of every level, so that no level is impossible where the stratum has no pair at all.
                let referenceSum = reference[range].reduce(0, +) + 1e-3 * Double(levels)
                for cell in range {
                    let conditional = (row[cell] + pairs * (reference[cell] + 1e-3) / referenceSum) / (own + pairs)
                    result[cell] = marginal[bin] * conditional
                }
            }
            return result
        }
    }

    /// `m` over one stratum's joint grid (Dice bin × second level, `levels` second levels per Dice bin), changed so
    /// that `m/u` never falls as either score rises: ``monotone(_:_:)`` along the second levels of each Dice bin,
    /// then along the Dice bins (below the floor first) of each second level, repeated until neither changes
    /// anything (at most `sweeps` times). `u` is kept. Monotone in the second level alone, a small stratum's
    /// weights still jumped by 15–20 bits between neighbouring Dice bins, and a namesake in a lower Dice bin could
    /// out-weigh its row's true pair and push it out through the identity constraint.
    static func monotoneGrid(_ m: [Double], _ u: [Double], levels: Int, sweeps: Int = 20) -> [Double] {
        var result = m
        let bins = m.count / max(levels, 1)
        guard levels > 0, bins > 0, u.count == m.count else { return m }
        // The pools of one line, kept between lines: this runs in every EM step for every stratum, so it allocates
        // nothing per line (and passes everything inout, so there are no run-time exclusivity checks).
        var pools = Pools(capacity: max(bins, levels))
        for _ in 0..<sweeps {
            var changed = false
            for bin in 0..<bins where levels > 1 {
                if pools.fix(&result, u, start: bin * levels, step: 1, length: levels) { changed = true }
            }
            for level in 0..<levels where bins > 1 {
                if pools.fix(&result, u, start: level, step: levels, length: bins) { changed = true }
            }
            if !changed { break }
        }
        return result
    }

    /// Pool-adjacent-violators along one line of a grid, as ``monotone(_:_:)``, in buffers kept between lines.
    private struct Pools {
        var m: [Double]
        var u: [Double]
        var length: [Int]

        init(capacity: Int) {
            m = [Double](repeating: 0, count: capacity)
            u = m
            length = [Int](repeating: 0, count: capacity)
        }

        /// Makes the line of `count` cells of `result` from `start` by `step` monotone in `result/u`; whether any
        /// cell moved by more than a relative 10⁻¹².
        mutating func fix(_ result: inout [Double], _ weights: [Double], start: Int, step: Int, length count: Int)
            -> Bool
        {
            var violated = false
            for index in 1..<count {
                let previous = start + (index - 1) * step
                let cell = start + index * step
                if result[previous] * weights[cell] > result[cell] * weights[previous] {
                    violated = true
                    break
                }
            }
            guard violated else { return false }
            var pools = 0
            for index in 0..<count {
                let cell = start + index * step
                m[pools] = result[cell]
                u[pools] = weights[cell]
                length[pools] = 1
                pools += 1
                while pools > 1 && m[pools - 2] * u[pools - 1] > m[pools - 1] * u[pools - 2] {
                    m[pools - 2] += m[pools - 1]
                    u[pools - 2] += u[pools - 1]
                    length[pools - 2] += length[pools - 1]
                    pools -= 1
                }
            }
            var changed = false
            var index = 0
            for pool in 0..<pools {
                for _ in 0..<length[pool] {
                    let cell = start + index * step
                    let value = u[pool] > 0 ? m[pool] * weights[cell] / u[pool] : m[pool] / Double(length[pool])
                    if abs(result[cell] - value) > 1e-12 * abs(value) { changed = true }
                    result[cell] = value
                    index += 1
                }
            }
            return changed
        }
    }

    /// Each stratum's bin probabilities, shrunk towards the pooled ones by ``MatchWeightModel/shrinkage`` pairs.
    static func smoothed(_ table: [[Double]], by pairs: Double = MatchWeightModel.shrinkage) -> [[Double]] {
        let bins = table.first?.count ?? 0
        var pooled = [Double](repeating: 0.01, count: bins)
        for row in table { for bin in 0..<bins { pooled[bin] += row[bin] } }
        let pooledSum = pooled.reduce(0, +)
        return table.map { row in
            let smoothedRow = (0..<bins).map { row[$0] + pairs * pooled[$0] / pooledSum }
            let sum = smoothedRow.reduce(0, +)
            return smoothedRow.map { $0 / sum }
        }
    }

    static func describe(_ digits: [UInt8], names: [String]) -> String {
        let text = zip(names, digits).compactMap { name, level in
            level == 1 ? "+" + name : level == 2 ? "-" + name : nil
        }
        return text.isEmpty ? "none present on both sides" : text.joined(separator: " ")
    }
}

extension MatchWeightModel {
    /// The base-3 digits of `code`, most significant first: one level per key.
    static func digits(_ code: UInt64, count: Int) -> [UInt8] {
        var code = code
        var digits = [UInt8](repeating: 0, count: count)
        for index in stride(from: count - 1, through: 0, by: -1) {
            digits[index] = UInt8(code % 3)
            code /= 3
        }
        return digits
    }
}
