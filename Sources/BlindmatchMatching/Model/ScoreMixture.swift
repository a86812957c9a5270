import Glibc

/// A two-component mixture on Bloom-filter Dice scores, for projects with no match or blocking keys (a clkhash
/// schema): non-matches as a truncated exponential falling from the candidate floor, matches as a normal
/// distribution; fitted by EM on the scores of the candidate pairs, without labels.
///
/// The shapes are assumptions, not measurements: the tail of the non-match scores above the floor falls off
/// roughly exponentially for filters of any density, and the matches' scores gather near the top. Where the two
/// overlap the weights are only as good as those shapes.
public struct ScoreMixture: Codable, Sendable, Equatable {
    /// The candidate floor: scores below it were not collected.
    public var floor: Double
    /// The share of matches among the candidate pairs.
    public var matchShare: Double
    /// Mean and standard deviation of the matches' scores.
    public var matchMean: Double
    public var matchDeviation: Double
    /// The non-matches' density ∝ exp(−decay·(score − floor)) on [floor, 1].
    public var decay: Double
    public var iterations: Int

    /// Matches below the floor for every match above it, by the fitted normal distribution: the candidates do not
    /// show them, but the recall estimate must count them.
    public var belowFloorRatio: Double {
        let below = 0.5 * erfc((matchMean - floor) / (matchDeviation * 2.0.squareRoot()))
        return below / max(1 - below, 1e-9)
    }

    /// Posterior log₂ odds of a match for a pair with Dice `score`.
    public func weight(score: Double) -> Double {
        let match = matchShare * Self.normal(score, matchMean, matchDeviation)
        let other = (1 - matchShare) * Self.exponential(score - floor, decay, width: 1 - floor)
        return log2(max(match, 1e-300) / max(other, 1e-300))
    }

    /// Fits the mixture to `scores` (each at least `floor`).
    public static func fit(scores: [Double], floor: Double, maximumIterations: Int = 300) -> ScoreMixture {
        let width = max(1 - floor, 1e-6)
        let sorted = scores.sorted()
        let upper = sorted.isEmpty ? 1 : sorted[sorted.count * 9 / 10]
        var model = ScoreMixture(
            floor: floor, matchShare: 0.1, matchMean: max(upper, floor + 0.5 * width),
            matchDeviation: 0.05 * max(width, 0.1), decay: 10 / width, iterations: 0)
        guard scores.count >= 10 else { return model }
        var posterior = [Double](repeating: 0, count: scores.count)
        for iteration in 1...maximumIterations {
            for (index, score) in scores.enumerated() {
                posterior[index] = MatchWeightModel.probability(weight: model.weight(score: score))
            }
            let matches = posterior.reduce(0, +)
            let others = Double(scores.count) - matches
            var mean = 0.0
            var otherMean = 0.0
            for (index, score) in scores.enumerated() {
                mean += posterior[index] * score
                otherMean += (1 - posterior[index]) * (score - floor)
            }
            mean /= max(matches, 1e-9)
            otherMean /= max(others, 1e-9)
            var variance = 0.0
            for (index, score) in scores.enumerated() { variance += posterior[index] * (score - mean) * (score - mean) }
            variance /= max(matches, 1e-9)
            let next = ScoreMixture(
                floor: floor, matchShare: min(max(matches / Double(scores.count), 1e-9), 1 - 1e-9),
                matchMean: mean, matchDeviation: max(variance.squareRoot(), 0.002),
                decay: decay(forMean: otherMean, width: width), iterations: iteration)
            let change = max(
                abs(next.matchShare - model.matchShare), abs(next.matchMean - model.matchMean),
                abs(next.matchDeviation - model.matchDeviation), abs(next.decay - model.decay) / 100)
            model = next
            if change < 1e-7 { break }
        }
        return model
    }

    /// The rate of a truncated exponential on [0, width] whose mean is `mean` (bisection; 0 for a flat density).
    static func decay(forMean mean: Double, width: Double) -> Double {
        func meanOf(_ rate: Double) -> Double {
            rate < 1e-9 ? width / 2 : 1 / rate - width / (exp(rate * width) - 1)
        }
        guard mean < width / 2 else { return 0 }
        var low = 0.0
        var high = 1.0
        while meanOf(high) > mean && high < 1e6 { high *= 2 }
        for _ in 0..<100 {
            let middle = (low + high) / 2
            if meanOf(middle) > mean { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    static func normal(_ x: Double, _ mean: Double, _ deviation: Double) -> Double {
        let z = (x - mean) / deviation
        return exp(-0.5 * z * z) / (deviation * (2 * Double.pi).squareRoot())
    }

    static func exponential(_ x: Double, _ rate: Double, width: Double) -> Double {
        rate < 1e-9 ? 1 / width : rate * exp(-rate * x) / (1 - exp(-rate * width))
    }
}
