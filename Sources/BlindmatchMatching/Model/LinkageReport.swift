import Glibc

/// What a run's fitted model says about its own result, without ground truth: the threshold it chose (or was given),
/// the estimated precision, recall and F1 with their standard errors, the expected false matches, the weight
/// histogram as the model separates matches from non-matches, and precision and recall against the threshold.
///
/// The estimates are the model's expectations over the candidate pairs: a true pair that was never a candidate
/// (lost by blocking or below the candidate floor) is invisible to them, and the standard errors cover the
/// randomness of which candidates are matches, not an error in the model itself.
public struct LinkageReport: Codable, Sendable, Equatable {
    /// Estimated quality of the reported matches.
    public struct Estimate: Codable, Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        /// Expected number of false matches among the reported ones.
        public var falseMatches: Double
        /// Standard errors of precision and recall.
        public var precisionError: Double
        public var recallError: Double
        /// Reported matches, and the expected number of true pairs among all candidate pairs.
        public var reported: Int
        public var expectedTruePairs: Double
        /// Expected true pairs the model places outside the candidates (never compared, or below the candidate
        /// floor); the recall estimate counts them as missed. Nil for a model that does not estimate them.
        public var expectedOutsideCandidates: Double? = nil
    }

    /// Expected matches and non-matches per match-weight bin (`edges` has one more entry than the counts).
    public struct Histogram: Codable, Sendable, Equatable {
        public var edges: [Double]
        public var matches: [Double]
        public var nonMatches: [Double]
    }

    /// Estimated precision and recall if the threshold were `threshold`.
    public struct CurvePoint: Codable, Sendable, Equatable {
        public var threshold: Double
        public var precision: Double
        public var recall: Double
        public var f1: Double
    }

    /// "fellegi-sunter" (the match keys' pattern, the blocking keys' pattern and the Dice score) or
    /// "score-mixture" (the Dice score alone).
    public var model: String
    /// The threshold on the match weight (log₂ odds); pairs at or above it are matches.
    public var threshold: Double
    /// Whether the threshold was chosen from the model (true) or a Dice threshold was given (false).
    public var thresholdChosen: Bool
    /// A given Dice threshold, when there was one.
    public var diceThreshold: Double?
    /// The lowest Dice score a fuzzy candidate pair needed.
    public var candidateFloor: Double
    public var candidatePairs: Int
    public var estimate: Estimate
    public var histogram: Histogram
    public var curve: [CurvePoint]
    public var fellegiSunter: MatchWeightModel?
    public var scoreMixture: ScoreMixture?
    /// The count of true pairs by capture–recapture that the recall estimate uses, when it applies.
    public var captureRecapture: CaptureRecapture? = nil
    /// Why the model did not choose the threshold although it was asked to (the fixed rule's Dice threshold decided
    /// instead); absent when it chose or was not asked (``MatchEngine/Report/thresholdFallback``).
    public var thresholdFallback: String? = nil
    /// How the pairs were conditioned on the other candidates of their watch-list row, when the schema has an
    /// identifier key.
    public var identity: IdentityConstraint? = nil
}

extension LinkageReport {
    /// The threshold that maximises the expected F1 over candidate pairs with `weights` and match probabilities.
    /// `outside` true pairs are expected beyond the candidates, whatever the threshold.
    static func bestThreshold(weights: [Double], outside: Double = 0) -> Double {
        // Weights repeat (one per comparison pattern): work on the distinct values, highest first.
        let distinct = distinctWeights(weights)
        let expected =
            outside + distinct.reduce(0) { $0 + Double($1.count) * MatchWeightModel.probability(weight: $1.weight) }
        var truePositives = 0.0
        var reported = 0
        var best = (f1: -1.0, threshold: distinct.first?.weight ?? 0)
        for (weight, count) in distinct {
            truePositives += Double(count) * MatchWeightModel.probability(weight: weight)
            reported += count
            let f1 = 2 * truePositives / (Double(reported) + expected)
            if f1 > best.f1 { best = (f1, weight) }
        }
        return best.threshold
    }

    /// The distinct weights, highest first, with how often each occurs.
    static func distinctWeights(_ weights: [Double]) -> [(weight: Double, count: Int)] {
        var counts: [Double: Int] = [:]
        for weight in weights { counts[weight, default: 0] += 1 }
        return counts.map { (weight: $0.key, count: $0.value) }.sorted { $0.weight > $1.weight }
    }

    /// Estimates for reporting the pairs `reported` (indices into `weights`) out of all candidate pairs.
    /// `outside` true pairs are expected beyond the candidates (counted as missed, with Poisson variance).
    /// `outsideVariance` is their variance when known (capture–recapture), else Poisson's.
    static func estimate(
        weights: [Double], reported: [Int], outside: Double = 0, outsideVariance: Double? = nil
    ) -> Estimate {
        var expected = outside
        var variance = outsideVariance ?? max(outside, 0)
        for weight in weights {
            let p = MatchWeightModel.probability(weight: weight)
            expected += p
            variance += p * (1 - p)
        }
        var truePositives = 0.0
        var reportedVariance = 0.0
        for index in reported {
            let p = MatchWeightModel.probability(weight: weights[index])
            truePositives += p
            reportedVariance += p * (1 - p)
        }
        let count = Double(reported.count)
        let precision = count > 0 ? truePositives / count : 1
        let recall = expected > 0 ? truePositives / expected : 1
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        // Recall = X / (X + Y) with X the true pairs reported and Y those not: the delta method.
        let missed = max(expected - truePositives, 0)
        let missedVariance = max(variance - reportedVariance, 0)
        let recallError =
            expected > 0
            ? ((missed * missed * reportedVariance + truePositives * truePositives * missedVariance).squareRoot())
                / (expected * expected) : 0
        return Estimate(
            precision: precision, recall: recall, f1: f1, falseMatches: count - truePositives,
            precisionError: count > 0 ? reportedVariance.squareRoot() / count : 0, recallError: recallError,
            reported: reported.count, expectedTruePairs: expected - outside,
            expectedOutsideCandidates: outside > 0 ? outside : nil)
    }

    /// The histogram of weights in unit-wide bins, split by the model's probabilities.
    static func histogram(weights: [Double]) -> Histogram {
        guard let lowest = weights.min(), let highest = weights.max() else {
            return Histogram(edges: [0, 1], matches: [0], nonMatches: [0])
        }
        let first = max(floor(lowest), -60)
        let last = min(ceil(highest) + 1, 80)
        let count = max(Int(last - first), 1)
        var matches = [Double](repeating: 0, count: count)
        var others = matches
        for weight in weights {
            let bin = min(max(Int(floor(weight - first)), 0), count - 1)
            let p = MatchWeightModel.probability(weight: weight)
            matches[bin] += p
            others[bin] += 1 - p
        }
        return Histogram(edges: (0...count).map { first + Double($0) }, matches: matches, nonMatches: others)
    }

    /// Precision and recall at every whole-number threshold in the histogram's range (before the solver).
    static func curve(weights: [Double], histogram: Histogram, outside: Double = 0) -> [CurvePoint] {
        let distinct = distinctWeights(weights)
        let expected =
            outside + distinct.reduce(0) { $0 + Double($1.count) * MatchWeightModel.probability(weight: $1.weight) }
        var points: [CurvePoint] = []
        var index = 0
        var reported = 0
        var truePositives = 0.0
        for threshold in histogram.edges.reversed() {
            while index < distinct.count && distinct[index].weight >= threshold {
                truePositives +=
                    Double(distinct[index].count) * MatchWeightModel.probability(weight: distinct[index].weight)
                reported += distinct[index].count
                index += 1
            }
            let precision = reported > 0 ? truePositives / Double(reported) : 1
            let recall = expected > 0 ? truePositives / expected : 1
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            points.append(CurvePoint(threshold: threshold, precision: precision, recall: recall, f1: f1))
        }
        return points.reversed()
    }
}
