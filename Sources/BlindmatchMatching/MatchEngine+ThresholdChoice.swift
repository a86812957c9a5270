/// When the decision model may choose the threshold (``MatchEngine/Settings/chooseThreshold``), and why not when it
/// may not: the run then falls back to the fixed rule's Dice threshold and says so (``MatchEngine/Report``).
extension MatchEngine {
    /// The fewest candidate pairs a model is fitted to before it may choose: below it EM has nothing to separate
    /// (the score mixture does not start EM below 10 scores either).
    static let minimumCandidatesToChoose = 10

    /// Why `model` cannot choose the threshold, or nil when it can. Every case in which the fit is not a fit:
    /// no filters (no model at all), too few candidates, a weight that is not a number, a score mixture without EM
    /// or without a null sample above the floor.
    ///
    /// EM that stops at its iteration limit is not among them (the report's `converged` says so): its last steps
    /// move posteriors by more than 10⁻⁷ but not the decision. Measured on `synth` default seed 1, 2,000 × 50,000,
    /// three secrets: one Fellegi–Sunter fit stopped at 2,000 iterations and reached F1 0.9744 with its own
    /// threshold, the converged fits 0.9749 (docs/decision-model.md). The score mixture's EM, which stopped at its
    /// old limit of 300 on every clkhash-schema run, now runs to 10,000: 22 of 27 such runs converge (741–7,022).
    static func reasonNotToChoose(_ model: DecisionModel?, filterBits: Int) -> String? {
        guard let model else {
            return filterBits == 0
                ? "the files carry no Bloom filters, so there are no scores to fit a decision model to"
                : "no decision model was fitted"
        }
        if model.candidates.count < minimumCandidatesToChoose {
            return
                "only \(model.candidates.count) candidate pairs above Dice \(DecisionModel.decimal(model.floor)), fewer than the \(minimumCandidatesToChoose) a decision model needs"
        }
        if model.weights.contains(where: { !$0.isFinite }) {
            return "the fitted model gave a match weight that is not a finite number"
        }
        if let mixture = model.mixture {
            if mixture.iterations == 0 { return "EM did not run on the scores" }
            if mixture.nullShape.allSatisfy({ $0 == 0.5 }) {
                return
                    "no pair of two bulk records scored at or above the candidate floor (Dice \(DecisionModel.decimal(model.floor))), so the non-matches' scores have no shape to fit"
            }
        }
        return nil
    }
}
