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
    static func fit(
        cells: [Cell], counts: [Double], uncompared: Double, belowFloorCells: Set<Int>, identifierNames: [String],
        patternNames: [String], binNames: [String], randomDice: [Double]? = nil, uncomparedBelowFloor: Bool = false,
        maximumIterations: Int = 2000
    ) -> PopulationFit {
        let keys = patternNames.count
        let bins = binNames.count
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
            return cell.identifiers.contains(1) || agreeing >= 2 || cell.bin >= (bins - 1) * 3 / 4 + 1 ? 0.9 : 0.01
        }
        var uncomparedPosterior = 0.0
        var share = 1e-6
        var mIdentifiers = [[Double]](repeating: [1, 1, 1], count: identifiers)
        var uIdentifiers = mIdentifiers
        var mPattern = [Double](repeating: 1, count: patternCodes.count)
        var uPattern = mPattern
        var mDice = [[Double]](repeating: [Double](repeating: 1, count: bins), count: strata)
        var uDice = mDice
        var logWeights = [Double](repeating: 0, count: cells.count)
        /// The probability of each level the uncompared pairs may have (times that of bin 0 in its stratum when they
        /// are below the floor).
        func uncomparedTerms(_ pattern: [Double], _ dice: [[Double]]) -> [Double] {
            patternCodes.indices.map { level in
                guard uncomparedLevels[level] else { return 0 }
                return pattern[level] * (uncomparedBelowFloor ? dice[stratumOf[level]][0] : 1)
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
                mTable[stratum][cell.bin] += counts[index] * posterior[index]
                uTable[stratum][cell.bin] += counts[index] * (1 - posterior[index])
            }
            for level in patternCodes.indices where uncomparedLevels[level] {
                m[level] += uncomparedMatches * matchShares[level]
                u[level] += uncomparedOthers * otherShares[level]
                if uncomparedBelowFloor {
                    mTable[stratumOf[level]][0] += uncomparedMatches * matchShares[level]
                    uTable[stratumOf[level]][0] += uncomparedOthers * otherShares[level]
                }
            }
            mPattern = normalised(m)
            uPattern = normalised(u)
            mDice = smoothed(mTable)
            uDice = smoothed(uTable)
            if let randomDice, randomDice.count == bins { uDice[noneLevel] = randomDice }
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
                weight += log(mDice[stratumOf[level]][cell.bin] / uDice[stratumOf[level]][cell.bin])
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
                name: "dice", levels: binNames, m: mDice[stratum], u: uDice[stratum], parts: nil)
            feature.appliesWhen = describe(patternDigits[stratum], names: patternNames)
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

    /// Each stratum's bin probabilities, shrunk towards the pooled ones by ``MatchWeightModel/shrinkage`` pairs.
    static func smoothed(_ table: [[Double]]) -> [[Double]] {
        let bins = table.first?.count ?? 0
        var pooled = [Double](repeating: 0.01, count: bins)
        for row in table { for bin in 0..<bins { pooled[bin] += row[bin] } }
        let pooledSum = pooled.reduce(0, +)
        return table.map { row in
            let smoothedRow = (0..<bins).map { row[$0] + MatchWeightModel.shrinkage * pooled[$0] / pooledSum }
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
