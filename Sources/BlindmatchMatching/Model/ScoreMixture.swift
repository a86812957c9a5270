import Glibc

/// A two-component mixture on Bloom-filter Dice scores, for projects with no match or blocking keys (a clkhash
/// schema), fitted by EM on the candidate pairs' scores (those at or above the floor), without labels.
///
/// - **Non-matches** have the *shape* of a null sample's scores: pairs of two different bulk records (``nullShape``),
///   which are non-matches whatever the watch list holds and share its structure (namesakes, families, a common
///   date of birth), binned like the candidates; EM fits only their level. A normal or exponential tail does not
///   describe them: on dense clkhash filters the log-count falls by 0.5–0.95 per 0.01 of Dice, unevenly, because the
///   tail is made of pairs that share one whole field.
/// - **Matches** have a rate per bin constrained to be **unimodal** (rising to one mode, then falling; least squares
///   on EM's expected match counts per bin, by pool-adjacent-violators on each side of the best mode), the mode no
///   lower than the first bin where they are half the pairs (``modePosterior``): no parametric shape, since on
///   dense filters they spread from 0.6 to 1 with no peak a normal would fit (the previous mixture's recall estimate
///   was off by 0.3–0.5), peaking at 0.85 on some data and falling above 0.86 on other.
///
/// The posterior of a score is then the matches' rate against the null's scaled count in its bin (``weight(score:)``),
/// made non-decreasing in the score for the decision (``monotoneWeights()``), and the threshold that maximises the
/// expected F1 lands where that posterior falls to about half the F1 (docs/decision-model.md).
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
    public var matchRates: [Double]
    public var iterations: Int

    /// The expected matches among the candidates (above the floor).
    public var expectedMatches: Double { matchRates.reduce(0, +) }

    /// The median Dice score of random pairs of A × B (``DecisionModel``): where a true pair is no better than a
    /// random one. Nil when not measured (the span below the floor is then ``belowFloorSpan``).
    public var chanceScore: Double? = nil

    /// Without ``chanceScore``, the span of Dice below the floor over which the matches' rate tapers to zero.
    public static let belowFloorSpan = 0.1

    /// The posterior from which the matches' rate is measured rather than assumed: below it the matches are fewer
    /// than a tenth of a bin's pairs, within the null shape's own error against the true non-matches (its level
    /// drifts by 10–20% over the candidates' range, docs/decision-model.md), and EM can put them at zero there
    /// (on `synth` and independent data it did: rate 0 next to the floor where 17–35 true pairs per bin lay).
    public static let identifiedPosterior = 0.1

    /// The lowest bin whose (monotone) posterior reaches ``identifiedPosterior``: the matches' rate is measured
    /// from here up. `nullShape.count` when no bin does.
    public var identifiedBin: Int {
        monotoneWeights().firstIndex { MatchWeightModel.probability(weight: $0) >= Self.identifiedPosterior }
            ?? nullShape.count
    }

    /// The true pairs the fit does not count: those below ``identifiedBin``, where the scores cannot show them (the
    /// non-matches are tens to millions to one), less the few the fit put there. Assumed, not measured: the matches'
    /// rate at the identified bins (``identifiedSpanBins``) falls linearly to zero at ``chanceScore``, where a
    /// true pair whose fields all differ scores like a random pair. It replaces a flat rate over 0.1 below the
    /// floor taken at the first bin's fitted rate, which EM puts near zero, so that the recall estimate ran +0.17 to
    /// +0.44 high (docs/decision-model.md, "Bloom-only projects").
    public var unseenMatches: Double { unseenMatchesSpan.assumed }

    /// The variance of ``unseenMatches``, mostly the assumption's rather than chance's: the matches' rate below
    /// ``identifiedBin`` is anywhere between stopping there (none unseen) and staying level down to ``chanceScore``
    /// (twice the ramp's count), taken as uniform over that range, plus the assumed count's Poisson variance. With
    /// Poisson's alone the recall's standard error was about 0.01 while the estimate was 0.05–0.17 off on harsh and
    /// independent data, where the true rate stays level below the floor; with this it is 0.07–0.12 and the truth
    /// lies within two of them on 32 of 33 runs (docs/decision-model.md, "The recall's uncertainty").
    public var unseenMatchesVariance: Double {
        let span = unseenMatchesSpan
        return span.level * span.level / 12 + span.assumed
    }

    /// The true pairs below ``identifiedBin`` the fit did not count, with the rate there falling linearly to zero at
    /// the chance score (`assumed`) and level down to it (`level`).
    private var unseenMatchesSpan: (assumed: Double, level: Double) {
        let first = identifiedBin
        guard first < matchRates.count else { return (0, 0) }
        let measured = matchRates[first..<min(first + Self.identifiedSpanBins, matchRates.count)].sorted()
        let rate = (measured[(measured.count - 1) / 2] + measured[measured.count / 2]) / 2
        let edge = floor + Double(first) * binWidth
        let chance = min(chanceScore ?? (floor - Self.belowFloorSpan), edge)
        let counted = matchRates[..<first].reduce(0, +)
        let level = rate * (edge - chance) / binWidth
        return (max(level / 2 - counted, 0), max(level - counted, 0))
    }

    /// The bins whose median rate is the rate at ``identifiedBin`` (0.04 of Dice at the default width). The median,
    /// not the mean: the unimodal fit can put its mode in one bin there (103 against 53 either side on `synth`
    /// default seed 3 with one secret, which made the mean over 0.02 count 400 true pairs too many).
    static let identifiedSpanBins = 8

    /// The bin of `score` (scores below the floor in the first bin, 1 in the last).
    public func bin(_ score: Double) -> Int {
        min(max(Int(((score - floor) / binWidth).rounded(.down)), 0), max(nullShape.count - 1, 0))
    }

    /// Posterior log₂ odds of a match for a pair with Dice `score`.
    public func weight(score: Double) -> Double {
        guard !nullShape.isEmpty else { return 0 }
        let bin = bin(score)
        return log2(max(matchRates[bin], 1e-300) / max(nonMatchScale * nullShape[bin], 1e-300))
    }

    /// Posterior log₂ odds of a match per bin, non-decreasing in the score: where a higher bin's posterior falls below
    /// a lower one's, the bins are pooled (pool-adjacent-violators on the posteriors, weighted by each bin's expected
    /// count, so the expected matches stay as fitted) and share the pool's odds. A pair with the higher Dice is never
    /// the less likely match, and the F1-maximising choice is a Dice threshold. Without it the unimodal rate's steps
    /// against the null's made the posterior dip above its mode (rate 100 at 0.775, 51 at 0.78–0.80 on `synth`
    /// default seed 2, one secret): the run took 0.775 and left 0.78, F1 0.695 against 0.732 at the best fixed
    /// threshold (docs/decision-model.md). Index with ``bin(_:)``.
    public func monotoneWeights() -> [Double] {
        guard !nullShape.isEmpty else { return [] }
        var blocks: [(matches: Double, others: Double, count: Int)] = []
        for bin in nullShape.indices {
            blocks.append((matchRates[bin], nonMatchScale * nullShape[bin], 1))
            // Pool while the block before has the higher posterior (m / (m + o), compared as m·o' > m'·o).
            while blocks.count > 1,
                blocks[blocks.count - 2].matches * blocks[blocks.count - 1].others
                    > blocks[blocks.count - 1].matches * blocks[blocks.count - 2].others
            {
                let last = blocks.removeLast()
                let previous = blocks.removeLast()
                blocks.append(
                    (previous.matches + last.matches, previous.others + last.others, previous.count + last.count))
            }
        }
        return blocks.flatMap { block in
            [Double](
                repeating: log2(max(block.matches, 1e-300) / max(block.others, 1e-300)), count: block.count)
        }
    }

    /// The number of bins above `floor` at width `width`.
    static func binCount(floor: Double, width: Double) -> Int { max(1, Int(((1 - floor) / width).rounded(.up))) }

    /// A null bin needs this many pairs to be used as counted; beyond the last such bin the count is at most the
    /// exponential fitted to the bins up to it.
    static let denseNullBin = 50.0

    /// The null sample's count per bin. Where the sample is thin (past the run of bins with ``denseNullBin`` pairs
    /// that starts at the first such bin) its count is capped by the exponential fitted (least squares on the
    /// log-counts, weighted by the counts) to the bins up to there: a bulk file's own duplicates score near 1 and are
    /// no model of the watch list's non-matches (with the raw counts the precision estimate ran 0.11–0.21 low on our
    /// data). The run, not the last dense bin: exact duplicates all land in the top bin, and where a sample holds 50
    /// of them (by which rows it drew) the raw counts stood up to 1, the matches' rate moved to the floor and the
    /// threshold with it (docs/decision-model.md; recall 0.54 on one row order in 40 of the engine test's files).
    /// With fewer than three dense bins, the raw counts with half a pair added to each.
    static func nullShape(_ scores: [Double], floor: Double, binWidth: Double, count: Int) -> [Double] {
        var raw = [Double](repeating: 0, count: count)
        for score in scores where score >= floor {
            raw[min(max(Int(((score - floor) / binWidth).rounded(.down)), 0), count - 1)] += 1
        }
        // The dense run that starts at the first dense bin (the floor's, as a rule): a bin past it that is dense again
        // holds a bulk file's duplicates (exact ones all score 1), not the tail.
        guard let first = raw.firstIndex(where: { $0 >= denseNullBin }) else { return raw.map { $0 + 0.5 } }
        let last = (raw[first...].firstIndex(where: { $0 < denseNullBin }) ?? raw.count) - 1
        guard last >= 2 else { return raw.map { $0 + 0.5 } }
        let fit = logLinearSums(raw, bins: 0...last)
        let slope = fit.numerator / max(fit.denominator, 1e-12)
        let intercept = (fit.sy - slope * fit.sx) / fit.sw
        let smoothed = smoothedTail(raw)
        return raw.indices.map { bin in
            let cap = exp(intercept + slope * Double(bin))
            return bin <= last || cap >= raw[bin] ? max(smoothed[bin], 1e-3) : max(min(smoothed[bin], cap), 1e-3)
        }
    }

    /// The sums of a least-squares line through the log-counts of `bins`' non-empty bins of `raw`, weighted by their
    /// counts (Poisson): the slope is `numerator / denominator`, the intercept `(sy − slope · sx) / sw`.
    static func logLinearSums(
        _ raw: [Double], bins: ClosedRange<Int>
    ) -> (sw: Double, sx: Double, sy: Double, numerator: Double, denominator: Double, used: Int) {
        var (sw, sx, sy, sxx, sxy, used) = (0.0, 0.0, 0.0, 0.0, 0.0, 0)
        for bin in bins where raw[bin] > 0 {
            let (x, y, w) = (Double(bin), log(raw[bin]), raw[bin])
            sw += w
            sx += w * x
            sy += w * y
            sxx += w * x * x
            sxy += w * x * y
            used += 1
        }
        return (sw, sx, sy, sw * sxy - sx * sy, sw * sxx - sx * sx, used)
    }

    /// A null bin with fewer pairs than this is counted with sampling noise that moves the posterior (a relative
    /// error of 1/√n: 5% at 400, 15% at 50), and is smoothed (``smoothedTail(_:)``) from the first such bin up.
    static let thinNullBin = 400.0

    /// The bins on either side of a thin null bin in its smoothing window.
    static let smoothingHalfWidth = 3

    /// `raw` with the bins from the first thin one up (``thinNullBin``) replaced by a local log-linear fit: least
    /// squares on the log-counts of the ``smoothingHalfWidth`` bins either side, weighted by their counts (Poisson),
    /// evaluated at the bin; a bin whose window holds fewer than three non-empty bins keeps its count.
    ///
    /// The null's expected count falls smoothly with the score, but the sample holds 20–100 pairs per 0.005 bin where
    /// the matches and non-matches overlap (Dice 0.77–0.82 on clkhash-schema filters at 2,000 × 50,000), so each
    /// bin's count is off by 10–20% by chance; the posterior is the matches' rate against it, its pool-adjacent-
    /// violators pass keeps the chance dips, and the expected-F1 threshold, which sits where the posterior crosses
    /// half the F1, moved a bin or two with them (docs/decision-model.md, "Smoothing the null's thin tail").
    static func smoothedTail(_ raw: [Double]) -> [Double] {
        guard let first = raw.firstIndex(where: { $0 < thinNullBin }) else { return raw }
        var smoothed = raw
        for bin in first..<raw.count {
            let fit = logLinearSums(
                raw, bins: max(0, bin - smoothingHalfWidth)...min(raw.count - 1, bin + smoothingHalfWidth))
            guard fit.used >= 3, fit.denominator > 1e-12 else { continue }
            let slope = fit.numerator / fit.denominator
            smoothed[bin] = exp((fit.sy - slope * fit.sx) / fit.sw + slope * Double(bin))
        }
        return smoothed
    }

    /// The matches' rate may peak only where they are at least this share of a bin's pairs (by the previous EM step),
    /// and rises or stays level below it. Where non-matches are hundreds to one, a few per cent of error in the null's
    /// shape is thousands of pairs, which an unconstrained mode took as matches: on `synth` default data at
    /// 20,000 × 200,000 (candidate floor 0.74, about 115,000 pairs in the floor's bin, 239 of them true) the fit put
    /// 5,500 matches in that bin, falling from there, and chose Dice 0.775 (F1 0.533 against 0.671 at the best fixed
    /// threshold); with the mode held up, 0.805 (0.666). The assumption: the matches' scores peak where the filter
    /// separates them, not in their lower tail next to the floor, where they are one pair in hundreds. On the data
    /// measured the true pairs' count per bin changes little from the floor to 0.81–0.88 (rising on default data,
    /// level on independent data, down by a quarter at most on harsh data) and falls above; it never peaks in the
    /// floor's bin the way the free fit had it (docs/decision-model.md, "The matches' peak where they are the many").
    static let modePosterior = 0.5

    /// Fits the mixture to `scores` (the candidates', each at least `floor`), with non-matches shaped as
    /// `nullScores` (scores of pairs known to be non-matches; those below the floor are ignored).
    ///
    /// EM is slow here because the two components overlap next to the floor: there the null's level and the
    /// matches' rate trade against each other at almost no cost in likelihood, and each step moves them a little.
    /// The old limit of 300 stopped every clkhash-schema fit (2,000 × 50,000) short; at 10,000, 22 of 27 converge
    /// (741–7,022 steps, each one pass over about 60 bins: a few tens of milliseconds at most). In a prototype of the
    /// fit on the same scores, running on moved the threshold on 1 of 27 runs; it makes the fit depend less on where
    /// EM happened to stop.
    public static func fit(
        scores: [Double], nullScores: [Double], floor: Double, binWidth: Double = 0.005, maximumIterations: Int = 10_000
    ) -> ScoreMixture {
        let count = binCount(floor: floor, width: binWidth)
        var model = ScoreMixture(
            floor: floor, binWidth: binWidth, nullShape: [Double](repeating: 0.5, count: count), nonMatchScale: 1,
            matchRates: [], iterations: 0)
        model.nullShape = nullShape(nullScores, floor: floor, binWidth: binWidth, count: count)
        var observed = [Double](repeating: 0, count: count)
        for score in scores { observed[model.bin(score)] += 1 }
        let total = observed.reduce(0, +)
        let nullTotal = model.nullShape.reduce(0, +)
        // Start: the top tenth of the bins' mean count as the matches' rate, the rest non-matches.
        let top = max(1, count / 10)
        let start = max(observed.suffix(top).reduce(0, +) / Double(top), 0.5)
        model.matchRates = [Double](repeating: start, count: count)
        model.nonMatchScale = max(total - start * Double(count), 1) / nullTotal
        guard total >= 10 else { return model }
        var matches = [Double](repeating: 0, count: count)
        for iteration in 1...maximumIterations {
            var others = 0.0
            var lowestMode = count
            for bin in 0..<count {
                let nonMatch = model.nonMatchScale * model.nullShape[bin]
                let share = model.matchRates[bin] / max(model.matchRates[bin] + nonMatch, 1e-300)
                matches[bin] = observed[bin] * share
                others += observed[bin] * (1 - share)
                if share >= modePosterior { lowestMode = min(lowestMode, bin) }
            }
            let rates = unimodal(matches, lowestMode: lowestMode).map { max($0, 1e-9) }
            let scale = others / nullTotal
            var change = abs(scale - model.nonMatchScale) / max(model.nonMatchScale, 1e-12)
            for bin in 0..<count {
                change = max(change, abs(rates[bin] - model.matchRates[bin]) / max(model.matchRates[bin], 1e-9))
            }
            model.matchRates = rates
            model.nonMatchScale = scale
            model.iterations = iteration
            if change < 1e-6 { break }
        }
        return model
    }

    /// The least-squares fit to `values` that rises to one mode and then falls: the non-decreasing fit
    /// (pool-adjacent-violators) of the values before the mode and the non-increasing fit of the rest, at the mode
    /// (at `lowestMode` or above) whose two fits' squared errors add up least. One pass each way gives every prefix's
    /// and suffix's error.
    static func unimodal(_ values: [Double], lowestMode: Int = 0) -> [Double] {
        let rising = increasingErrors(values)
        let falling = Array(increasingErrors(values.reversed()).reversed())
        var mode = min(max(lowestMode, 0), values.count)
        for split in mode...values.count where rising[split] + falling[split] < rising[mode] + falling[mode] {
            mode = split
        }
        return increasing(Array(values[..<mode])) + increasing(values[mode...].reversed()).reversed()
    }

    /// The squared error of the non-decreasing fit to each prefix of `values` (`values.count + 1` entries, the
    /// empty prefix first).
    static func increasingErrors(_ values: [Double]) -> [Double] {
        var blocks: [(sum: Double, count: Double)] = []
        var squares = 0.0
        var fitted = 0.0
        var errors = [0.0]
        for value in values {
            squares += value * value
            blocks.append((value, 1))
            fitted += value * value
            while blocks.count > 1
                && blocks[blocks.count - 2].sum / blocks[blocks.count - 2].count
                    > blocks[blocks.count - 1].sum / blocks[blocks.count - 1].count
            {
                let last = blocks.removeLast()
                let previous = blocks.removeLast()
                fitted -= last.sum * last.sum / last.count + previous.sum * previous.sum / previous.count
                let merged = (sum: previous.sum + last.sum, count: previous.count + last.count)
                fitted += merged.sum * merged.sum / merged.count
                blocks.append(merged)
            }
            errors.append(max(squares - fitted, 0))
        }
        return errors
    }

    /// The non-decreasing least-squares fit to `values` (pool-adjacent-violators, equal weights).
    static func increasing(_ values: [Double]) -> [Double] {
        var blocks: [(sum: Double, count: Int)] = []
        for value in values {
            blocks.append((value, 1))
            while blocks.count > 1
                && blocks[blocks.count - 2].sum / Double(blocks[blocks.count - 2].count)
                    > blocks[blocks.count - 1].sum / Double(blocks[blocks.count - 1].count)
            {
                let last = blocks.removeLast()
                let previous = blocks.removeLast()
                blocks.append((previous.sum + last.sum, previous.count + last.count))
            }
        }
        return blocks.flatMap { [Double](repeating: $0.sum / Double($0.count), count: $0.count) }
    }
}
