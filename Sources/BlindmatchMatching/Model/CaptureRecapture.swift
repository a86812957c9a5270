import Glibc

/// How many true pairs A × B holds, counted by capture–recapture rather than by the model's own expectations.
///
/// The fitted model undercounts the true pairs whose evidence is weak (a salted filter made unrelated by a year of
/// birth that differs, several fields changed at once): it calls most of them non-matches, so a recall estimate
/// over its own expected count runs high (up to +0.047 on harsh and independent data, docs/decision-model.md). Two
/// "captures" of the true pairs that do not depend on each other's evidence give a count that does not rely on the
/// model's shape: **capture 1**, an identifier key agrees (the example schema's NINO, missing on about half the
/// records of a watch list); **capture 2**, the pair would be a match without the identifier (its weight with the
/// identifier set to "missing" is at least 0). With `n1` and `n2` the true pairs in each and `m` in both (a pair
/// whose identifier agrees counted as true, the others by their match probability),
/// Chapman's form of the Lincoln–Petersen estimator gives the total, `(n1 + 1)(n2 + 1)/(m + 1) − 1`, with variance
/// `(n1 + 1)(n2 + 1)(n1 − m)(n2 − m)/((m + 1)²(m + 2))`. It assumes that whether an identifier agrees is independent,
/// among true pairs, of whether the other evidence suffices; a watch list whose records without a NINO are also
/// the poorest in every other field breaks that, and the count is then too low (the recall estimate too high).
public struct CaptureRecapture: Codable, Sendable, Equatable {
    /// Expected true pairs with an agreeing identifier (n1), that would match without it (n2), and both (m).
    public var identifierAgrees: Double
    public var matchesWithoutIdentifier: Double
    public var both: Double
    /// The estimated true pairs in A × B and the variance of that estimate.
    public var truePairs: Double
    public var variance: Double

    /// The fewest pairs in both captures for the count to be used.
    static let minimumRecaptured = 20.0

    /// - Parameters:
    ///   - weights: every candidate pair's match weight: its probability counts it.
    ///   - captureWeights: the weights that decide capture 2 (the weight less the identifier's evidence), when they
    ///     differ from `weights`: they must not use the identifier in any other way.
    ///   - identifierLevels: a candidate's identifier levels (0 missing, 1 agree, 2 disagree), in the order of
    ///     `identifierFeatures`.
    ///   - identifierFeatures: the identifier comparisons of the fitted model.
    /// - Returns: nil without identifier keys, or when fewer than ``minimumRecaptured`` pairs are in both captures.
    static func estimate(
        weights: [Double], captureWeights: [Double]? = nil, identifierLevels: (Int) -> [UInt8],
        identifierFeatures: [MatchWeightModel.Feature]
    ) -> CaptureRecapture? {
        guard !identifierFeatures.isEmpty else { return nil }
        let featureWeights = identifierFeatures.map(\.weights)
        var first = 0.0
        var second = 0.0
        var both = 0.0
        for (index, weight) in weights.enumerated() {
            let levels = identifierLevels(index)
            var withoutIdentifier = captureWeights?[index] ?? weight
            var agrees = false
            for (feature, level) in zip(featureWeights, levels) {
                withoutIdentifier += feature[0] - feature[Int(level)]
                if level == 1 { agrees = true }
            }
            // A pair whose identifier agrees counts as a true pair whatever the model says (an agreeing NINO is
            // another person's by chance about never; the model's posterior puts some at less than 1 when all else
            // differs, which would shrink capture 1 and the count).
            let probability = agrees ? 1 : MatchWeightModel.probability(weight: weight)
            let matchesWithout = withoutIdentifier >= 0
            if agrees { first += probability }
            if matchesWithout { second += probability }
            if agrees && matchesWithout { both += probability }
        }
        guard both >= minimumRecaptured else { return nil }
        let total = (first + 1) * (second + 1) / (both + 1) - 1
        let unmatched = max(first - both, 0) * max(second - both, 0)
        let variance = (first + 1) * (second + 1) * unmatched / ((both + 1) * (both + 1) * (both + 2))
        return CaptureRecapture(
            identifierAgrees: first, matchesWithoutIdentifier: second, both: both, truePairs: total,
            variance: variance)
    }
}
