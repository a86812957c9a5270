import Glibc

/// A two-component mixture on Bloom-filter Dice scores, for projects with no match or blocking keys (a clkhash
/// schema), fitted by EM on the candidate pairs' scores (those at or above the floor), without labels.
///
/// - **Non-matches** have the *shape* of a null sample's scores: pairs of two different bulk records (``nullShape``),
///   which are non-matches whatever the watch list holds and share its structure (namesakes, families, a common
///   date of birth), binned like the candidates; EM fits only their level. A normal or exponential tail does not
///   describe them: on dense clkhash filters the log-count falls by 0.5–0.95 per 0.01 of Dice, unevenly, because the
///   tail is made of pairs that share one whole field.
/// - **Matches** are spread evenly over the scores above the floor (one rate per bin): on such filters they spread
///   from 0.6 to 1 with no peak a normal would fit (the previous mixture's recall estimate was off by 0.3–0.5).
///
/// The posterior of a score is then the matches' rate against the null's scaled count in its bin, and the threshold
/// that maximises the expected F1 lands where that posterior falls to about half the F1 (docs/decision-model.md).
public struct ScoreMixture: Codable, Sendable, Equatable {
    /// The candidate floor: scores below it were not collected.
    public var floor: Double
    /// The bins' width on the Dice scale, from the floor up.
    public var binWidth: Double
    /// The null sample's count per bin, its thin tail replaced by an exponential (``nullShape(_:floor:binWidth:count:)``).
    public var nullShape: [Double]
    /// Non-matches per bin = `nonMatchScale` × `nullShape`.
    public var nonMatchScale: Double
    /// Expected matches per bin above the floor.
    public var matchRate: Double
    public var iterations: Int

    /// The expected matches among the candidates (above the floor).
    public var expectedMatches: Double { matchRate * Double(nullShape.count) }

    /// The span of Dice below the floor over which the recall estimate assumes matches at the same rate as above it.
    /// Below the floor the non-matches are millions to one and the scores cannot show the matches: this is an
    /// assumption, not a measurement (on our data and the independent data the true pairs below the floor were
    /// 0.1–0.25 of Dice's worth at that rate; docs/decision-model.md).
    public static let belowFloorSpan = 0.1

    /// Matches below the floor for every match above it (``belowFloorSpan``).
    public var belowFloorRatio: Double { Self.belowFloorSpan / binWidth / Double(max(nullShape.count, 1)) }

    /// The bin of `score` (scores below the floor in the first bin, 1 in the last).
    public func bin(_ score: Double) -> Int {
        min(max(Int(((score - floor) / binWidth).rounded(.down)), 0), max(nullShape.count - 1, 0))
    }

    /// Posterior log₂ odds of a match for a pair with Dice `score`.
    public func weight(score: Double) -> Double {
        guard !nullShape.isEmpty else { return 0 }
        return log2(max(matchRate, 1e-300) / max(nonMatchScale * nullShape[bin(score)], 1e-300))
    }

    /// The number of bins above `floor` at width `width`.
    static func binCount(floor: Double, width: Double) -> Int { max(1, Int(((1 - floor) / width).rounded(.up))) }

    /// A null bin needs this many pairs to be used as counted; beyond the last such bin the count is at most the
    /// exponential fitted to the bins up to it.
    static let denseNullBin = 50.0

    /// The null sample's count per bin. Where the sample is thin (past the last bin with ``denseNullBin`` pairs) its
    /// count is capped by the exponential fitted (least squares on the log-counts, weighted by the counts) to the
    /// bins up to there: a bulk file's own duplicates score near 1 and are no model of the watch list's
    /// non-matches (with the raw counts the precision estimate ran 0.11–0.21 low on our data). With fewer than three
    /// dense bins, the raw counts with half a pair added to each.
    static func nullShape(_ scores: [Double], floor: Double, binWidth: Double, count: Int) -> [Double] {
        var raw = [Double](repeating: 0, count: count)
        for score in scores where score >= floor {
            raw[min(max(Int(((score - floor) / binWidth).rounded(.down)), 0), count - 1)] += 1
        }
        guard let last = raw.lastIndex(where: { $0 >= denseNullBin }), last >= 2 else { return raw.map { $0 + 0.5 } }
        var (sw, sx, sy, sxx, sxy) = (0.0, 0.0, 0.0, 0.0, 0.0)
        for bin in 0...last where raw[bin] > 0 {
            let (x, y, w) = (Double(bin), log(raw[bin]), raw[bin])
            sw += w
            sx += w * x
            sy += w * y
            sxx += w * x * x
            sxy += w * x * y
        }
        let slope = (sw * sxy - sx * sy) / max(sw * sxx - sx * sx, 1e-12)
        let intercept = (sy - slope * sx) / sw
        return raw.indices.map { bin in
            bin <= last ? raw[bin] : max(min(raw[bin], exp(intercept + slope * Double(bin))), 1e-3)
        }
    }

    /// Fits the mixture to `scores` (the candidates', each at least `floor`), with non-matches shaped as
    /// `nullScores` (scores of pairs known to be non-matches; those below the floor are ignored).
    public static func fit(
        scores: [Double], nullScores: [Double], floor: Double, binWidth: Double = 0.005, maximumIterations: Int = 1_000
    ) -> ScoreMixture {
        let count = binCount(floor: floor, width: binWidth)
        var model = ScoreMixture(
            floor: floor, binWidth: binWidth, nullShape: [Double](repeating: 0.5, count: count), nonMatchScale: 1,
            matchRate: 0, iterations: 0)
        model.nullShape = nullShape(nullScores, floor: floor, binWidth: binWidth, count: count)
        var observed = [Double](repeating: 0, count: count)
        for score in scores { observed[model.bin(score)] += 1 }
        let total = observed.reduce(0, +)
        let nullTotal = model.nullShape.reduce(0, +)
        // Start: the top tenth of the bins' mean count as the matches' rate, the rest non-matches.
        let top = max(1, count / 10)
        model.matchRate = max(observed.suffix(top).reduce(0, +) / Double(top), 0.5)
        model.nonMatchScale = max(total - model.matchRate * Double(count), 1) / nullTotal
        guard total >= 10 else { return model }
        for iteration in 1...maximumIterations {
            var matches = 0.0
            var others = 0.0
            for bin in 0..<count where observed[bin] > 0 {
                let nonMatch = model.nonMatchScale * model.nullShape[bin]
                let share = model.matchRate / (model.matchRate + nonMatch)
                matches += observed[bin] * share
                others += observed[bin] * (1 - share)
            }
            let rate = matches / Double(count)
            let scale = others / nullTotal
            let change = max(
                abs(rate - model.matchRate) / max(model.matchRate, 1e-9),
                abs(scale - model.nonMatchScale) / max(model.nonMatchScale, 1e-12))
            model.matchRate = rate
            model.nonMatchScale = scale
            model.iterations = iteration
            if change < 1e-9 { break }
        }
        return model
    }
}
