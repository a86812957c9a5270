import Glibc

/// A Fellegi–Sunter model: for each comparison feature, the probability of each level among matches (m) and among
/// non-matches (u), and the share of matches among the candidate pairs; fitted by expectation maximisation on the
/// candidate pairs of the two files themselves, without labels (as Splink does in clear text).
///
/// A pair's match weight is log₂ of its posterior odds: the prior odds of the candidate pairs plus, per feature,
/// log₂(m/u) of its level. The features are assumed independent given the class; they are not (match keys share
/// fields), so the weights are over-confident and the posteriors should be read as a ranking with a rough
/// calibration. README "Measured" compares the estimates they give with the truth.
public struct MatchWeightModel: Codable, Sendable, Equatable {
    /// One comparison: its levels and their probabilities among matches and non-matches.
    public struct Feature: Codable, Sendable, Equatable {
        public var name: String
        public var levels: [String]
        public var m: [Double]
        public var u: [Double]
        /// For a comparison made of several keys (a joint pattern per level): each level's per-key levels. The
        /// probabilities of a level are then its joint frequency shrunk towards the product of the per-key
        /// frequencies, by ``shrinkage`` pairs: a pattern seen often speaks for itself, a rare one borrows from the
        /// keys it is made of.
        public var parts: [[UInt8]]?

        /// log₂(m/u) of each level: the evidence it gives.
        public var weights: [Double] { zip(m, u).map { log2($0 / $1) } }
    }

    public var features: [Feature]
    /// The share of matches among the candidate pairs (λ).
    public var matchShare: Double
    public var iterations: Int
    /// Whether the largest change of a parameter in the last iteration was below 10⁻⁶.
    public var converged: Bool

    /// Pseudo-pairs of the per-key product in a joint pattern's probability.
    public static let shrinkage = 10.0

    /// Prior log₂ odds of a candidate pair.
    public var priorWeight: Double { log2(matchShare / (1 - matchShare)) }

    /// The match weight (posterior log₂ odds) of a pair whose feature levels are `levels`.
    public func weight(levels: [UInt16]) -> Double {
        var total = priorWeight
        for (feature, level) in zip(features, levels) {
            total += log2(feature.m[Int(level)] / feature.u[Int(level)])
        }
        return total
    }

    /// Fits the model by EM on distinct comparison vectors (`patterns`, each with its `count` of pairs).
    ///
    /// - Parameters:
    ///   - levelNames: per feature, its name and the names of its levels.
    ///   - initial: a first guess of each pattern's probability of being a match.
    public static func fit(
        patterns: [[UInt16]], counts: [Int], features levelNames: [(String, [String])], parts: [[[UInt8]]?],
        initial: [Double], maximumIterations: Int = 200
    ) -> MatchWeightModel {
        let featureCount = levelNames.count
        var posterior = initial
        var model = MatchWeightModel(
            features: levelNames.enumerated().map {
                Feature(name: $0.element.0, levels: $0.element.1, m: [], u: [], parts: parts[$0.offset])
            }, matchShare: 0.5, iterations: 0, converged: false)
        let total = Double(counts.reduce(0, +))
        for iteration in 1...maximumIterations {
            // M step: parameters from the current posteriors; a pseudo-count keeps every probability above zero.
            var matches = 0.0
            var mCounts = levelNames.map { [Double](repeating: 0, count: $0.1.count) }
            var uCounts = mCounts
            for (index, pattern) in patterns.enumerated() {
                let count = Double(counts[index])
                let p = posterior[index]
                matches += count * p
                for feature in 0..<featureCount {
                    mCounts[feature][Int(pattern[feature])] += count * p
                    uCounts[feature][Int(pattern[feature])] += count * (1 - p)
                }
            }
            let share = min(max(matches / max(total, 1), 1e-9), 1 - 1e-9)
            var change = abs(share - model.matchShare)
            for feature in 0..<featureCount {
                let (m, u): ([Double], [Double])
                if let parts = parts[feature] {
                    m = shrunk(mCounts[feature], parts: parts)
                    u = shrunk(uCounts[feature], parts: parts)
                } else {
                    let levels = Double(mCounts[feature].count)
                    let mTotal = mCounts[feature].reduce(0, +) + 0.01 * levels
                    let uTotal = uCounts[feature].reduce(0, +) + 0.01 * levels
                    m = mCounts[feature].map { ($0 + 0.01) / mTotal }
                    u = uCounts[feature].map { ($0 + 0.01) / uTotal }
                }
                if model.features[feature].m.count == m.count {
                    for level in 0..<m.count {
                        change = max(change, abs(m[level] - model.features[feature].m[level]))
                        change = max(change, abs(u[level] - model.features[feature].u[level]))
                    }
                } else {
                    change = 1
                }
                model.features[feature].m = m
                model.features[feature].u = u
            }
            model.matchShare = share
            model.iterations = iteration
            // E step.
            for (index, pattern) in patterns.enumerated() {
                posterior[index] = probability(weight: model.weight(levels: pattern))
            }
            if change < 1e-6 {
                model.converged = true
                break
            }
        }
        return model
    }

    /// Joint-pattern probabilities from weighted `counts`, shrunk towards the product of the per-key frequencies.
    static func shrunk(_ counts: [Double], parts: [[UInt8]]) -> [Double] {
        let total = counts.reduce(0, +)
        let keys = parts.first?.count ?? 0
        var marginals = [[Double]](repeating: [0.01, 0.01, 0.01], count: keys)
        for (level, digits) in parts.enumerated() {
            for (key, digit) in digits.enumerated() { marginals[key][Int(digit)] += counts[level] }
        }
        for key in 0..<keys {
            let sum = marginals[key].reduce(0, +)
            marginals[key] = marginals[key].map { $0 / sum }
        }
        return parts.enumerated().map { level, digits in
            var product = 1.0
            for (key, digit) in digits.enumerated() { product *= marginals[key][Int(digit)] }
            return (counts[level] + shrinkage * product + 1e-9) / (total + shrinkage)
        }
    }

    /// The probability of a match for a match weight (log₂ odds).
    public static func probability(weight: Double) -> Double {
        1 / (1 + exp2(-min(max(weight, -1000), 1000)))
    }
}
