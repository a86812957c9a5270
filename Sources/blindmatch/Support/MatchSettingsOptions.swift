import ArgumentParser
import BlindmatchMatching

/// The engine's settings as options, shared by `match` (offline) and `project create` (the service's copy), so that
/// both take the same flags with the same defaults and checks.
struct MatchSettingsOptions: ParsableArguments {
    @Option(
        name: .customLong("threshold"),
        help: ArgumentHelp(
            "`auto` (the default): the decision model fitted to the two files chooses which pairs match; where no model can be fitted (files without filters, too few candidate pairs, a fit that gives no usable weights) the fixed rule decides at its default, and the output says so. Or a Dice score t: the fixed rule, pairs at or above t match and a differing NINO vetoes a pair (its default: \(DefaultThreshold.withoutDiffusion) for filters without diffusion; with diffusion, as the files' header says, \(DefaultThreshold.text(diffusionTaps: 3)) for 2–3 taps as the example schema's, \(DefaultThreshold.text(diffusionTaps: 4)) for 4–5, \(DefaultThreshold.text(diffusionTaps: 6)) for more).",
            valueName: "t"))
    var givenThreshold: String?

    /// The Dice threshold given, or `defaultThreshold` (the fixed rule's, also for `auto`, where it decides only
    /// if the model cannot).
    func threshold(default defaultThreshold: String) -> String {
        guard let givenThreshold, givenThreshold != NamedMatchSettings.automatic else { return defaultThreshold }
        return givenThreshold
    }

    /// Whether the decision model is to choose the threshold: without `--threshold`, or with `--threshold auto`.
    var isAutomatic: Bool { givenThreshold == nil || givenThreshold == NamedMatchSettings.automatic }

    @Option(
        name: .customLong("review-from"),
        help: ArgumentHelp(
            "Lower end of the clerical band (possible matches), a Dice score below --threshold t; needs the fixed rule (a Dice --threshold), since the decision model has no band; default: no band.",
            valueName: "l"))
    var reviewFrom: String?

    @Option(help: ArgumentHelp("one-to-one, many-to-one or all (default: many-to-one).", valueName: "solver"))
    var solver: String?

    @Option(
        help: ArgumentHelp(
            "A match key whose disagreement (both tokens present, different) vetoes a pair; repeatable (default: nino, when the files have it).",
            valueName: "key"))
    var veto: [String] = []

    @Flag(name: .customLong("no-veto"), help: "Let no match key veto a pair.")
    var noVeto = false

    @Flag(
        name: .customLong("no-blocking"),
        help: "Compare every pair of Bloom filters (popcount bounds only), even when the files carry blocking keys.")
    var noBlocking = false

    func validate() throws {
        if let solver, Solver(rawValue: solver) == nil {
            throw ValidationError("--solver must be one-to-one, many-to-one or all")
        }
        if noVeto && !veto.isEmpty { throw ValidationError("--veto and --no-veto cannot be combined") }
        if reviewFrom != nil && isAutomatic {
            throw ValidationError(
                "--review-from needs the fixed rule's --threshold (a Dice score, e.g. --threshold \(DefaultThreshold.text(diffusionTaps: 3)) --review-from \(MatchDefaults.reviewFrom(below: DefaultThreshold.text(diffusionTaps: 3)))): with --threshold auto, the default, the decision model decides and has no clerical band"
            )
        }
        do {
            if let givenThreshold, !isAutomatic {
                _ = try DiceThreshold(givenThreshold)
                try checkReviewBand(below: givenThreshold)
            }
        } catch let error as MatchingError {
            throw ValidationError(error.reason)
        }
    }

    /// Refuses a `--review-from` that is not below `threshold` (the given or the default threshold, which depends
    /// on the files' hardening and is known only once they are read).
    func checkReviewBand(below threshold: String) throws {
        guard let reviewFrom else { return }
        guard try DiceThreshold(reviewFrom) < DiceThreshold(threshold) else {
            throw MatchingError(.invalidThreshold, "--review-from must be below the threshold (\(threshold))")
        }
    }

    /// The solver asked for, or the default.
    var resolvedSolver: Solver { solver.flatMap(Solver.init(rawValue:)) ?? MatchDefaults.solver }

    /// The veto keys for files with these match keys: none with `--no-veto`, the `--veto` keys, or the default keys
    /// the files have.
    func vetoNames(matchKeys: [String]) -> [String] {
        noVeto ? [] : (veto.isEmpty ? MatchDefaults.veto.filter(matchKeys.contains) : veto)
    }
}
