import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol

struct MatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract:
            "Match a watch list's token file against a bulk token file (offline; the service runs the same engine).",
        discussion:
            "Exact stage: joins on match-key tokens in cascade order. Fuzzy stage: Dice coefficient on Bloom filters. By default (--threshold auto) a decision model fitted to the two files (Fellegi–Sunter over the whole cross product, estimated by EM without labels: identifier keys such as the NINO, the pattern of blocking keys that agree, and the Dice score given that pattern, with the pairs never compared as one aggregate and random pairs anchoring the non-matches' scores; for files without keys, a two-component mixture on the scores) scores every candidate pair and chooses the threshold that maximises the expected F1; a differing NINO is then evidence, not a veto. Where no model can be fitted (files without filters, too few candidate pairs, a fit that gives no usable weights) the fixed rule decides at its default threshold, and the output, standard error and --report say so. With --threshold t the fixed rule decides: pairs at or above the Dice score t match (decided in integers, so a pair exactly at the threshold is kept), pairs from --review-from up to it are possible (for clerical review by the agencies), a differing NINO vetoes a pair, and with --report or --report-html the model only estimates the result's quality. The estimated precision, recall and F1 are printed whenever a model was fitted and written in full by --report (JSON) and --report-html (a page with inline SVG charts); the README's Measured section says how far they are from the truth. Writes row references (token-file rows), the rule that matched, the rounded score and the status. The files must share schema fingerprint, key id and filter length. See docs/decision-model.md."
    )

    @Argument(help: ArgumentHelp("The watch list's token file (A).", valueName: "A.bmt"))
    var watch: String

    @Argument(help: ArgumentHelp("The bulk data's token file (B).", valueName: "B.bmt"))
    var bulk: String

    @OptionGroup var settings: MatchSettingsOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the matches (CSV).", valueName: "matches.csv"))
    var output: String

    @Option(help: "Worker threads (default: every core).")
    var threads: Int?

    @Option(
        help: ArgumentHelp(
            "Write the fitted model, threshold, estimates and histogram as JSON.", valueName: "report.json"))
    var report: String?

    @Option(
        name: .customLong("report-html"),
        help: ArgumentHelp(
            "Write the same as a self-contained page with charts (inline SVG).", valueName: "report.html"))
    var reportHTML: String?

    @Option(
        name: .customLong("second-score"),
        help: ArgumentHelp(
            "How the decision model uses the files' first extra filter (SPEC §5.6; e.g. Protocol/examples/uk-watchlist-names-dob.json) as a second score: joint (the default: each key pattern's Dice bins times the second score given the bin), conditional (the second given the first's quarter) or none (left out). Files without an extra filter (the example schema has none) or without match or blocking keys are matched without it whatever this says (docs/decision-model.md).",
            valueName: "joint|conditional|none"))
    var secondScore: String?

    func validate() throws {
        if let secondScore, secondScore != "none", SecondScoreModel(rawValue: secondScore) == nil {
            throw ValidationError("--second-score must be joint, conditional or none")
        }
    }

    func run() throws {
        try reportingErrors {
            let a = try TokenFile(contentsOf: watch)
            let b = try TokenFile(contentsOf: bulk)
            let vetoNames = self.settings.vetoNames(matchKeys: a.header.matchKeys)
            let vetoKeys = try vetoNames.map { name in
                guard let index = a.header.matchKeys.firstIndex(of: name) else {
                    throw ProtocolError(.invalidArgument, "--veto \(name): the files have no match key of that name")
                }
                return index
            }
            let options = self.settings
            let threshold = options.threshold(default: DefaultThreshold.text(for: a.header))
            if !options.isAutomatic { try options.checkReviewBand(below: threshold) }
            var settings = MatchEngine.Settings(
                threshold: try DiceThreshold(threshold),
                reviewFrom: try options.reviewFrom.map(DiceThreshold.init), solver: options.resolvedSolver,
                threads: threads ?? Machine.cores, vetoKeys: vetoKeys)
            settings.useBlocking = !options.noBlocking
            settings.chooseThreshold = options.isAutomatic
            settings.fitsModel = report != nil || reportHTML != nil
            if let secondScore { settings.secondScore = SecondScoreModel(rawValue: secondScore) }
            if secondScore != nil && secondScore != "none",
                a.header.extraFilters.first?.name != b.header.extraFilters.first?.name
                    || a.header.extraFilters.isEmpty
            {
                Console.error(
                    "blindmatch match: --second-score: the files share no extra filter (SPEC §5.6); "
                        + "the model decides without it\n")
            }
            let progress = Progress(label: "matching", totalBytes: nil)
            let start = Clock.now()
            let (results, report) = try MatchEngine(settings: settings).run(a, b) { _, fraction in
                progress.fraction(fraction)
            }
            progress.finish()
            try MatchOutput.write(results, header: a.header, to: output)
            let seconds = Clock.now() - start
            let matches = results.filter { $0.status == .match }.count
            let modelChose = settings.chooseThreshold && report.thresholdFallback == nil
            let thresholdText =
                modelChose
                ? "threshold chosen by the model: weight \(Format.decimal(report.linkage?.threshold ?? 0, places: 2))"
                : settings.chooseThreshold
                    ? "threshold \(threshold), the fixed rule's default for these filters: the model could not choose"
                    : "threshold \(threshold)"
            if let fallback = report.thresholdFallback {
                Console.error(
                    "blindmatch match: the decision model could not choose the threshold (\(fallback)); the fixed rule decided at its default Dice threshold \(threshold) for these filters (--threshold \(threshold) asks for it)\n"
                )
            }
            var lines = [
                "\(Format.count(a.recordCount)) × \(Format.count(b.recordCount)) records in \(Format.decimal(seconds, places: 2)) s: \(Format.count(matches)) matches, \(Format.count(results.count - matches)) possible (solver \(settings.solver.rawValue), \(thresholdText)\(options.reviewFrom.map { ", review from \($0)" } ?? ""))",
                "exact stage: \(Format.count(report.exactPairs)) pairs in \(Format.decimal(report.exactSeconds, places: 2)) s; fuzzy stage (\(report.blocked ? "blocking keys" : "all pairs")): \(Format.count(report.fuzzyPairs)) more pairs, \(Format.count(report.comparisons)) comparisons in \(Format.decimal(report.fuzzySeconds, places: 2)) s (\(DiceKernel.implementation))",
            ]
            for (index, name) in a.header.matchKeys.enumerated() {
                lines.append("  \(name): \(Format.count(report.pairsByRule[.matchKey(index)] ?? 0))")
            }
            lines.append("  bloom: \(Format.count(report.pairsByRule[.bloom] ?? 0))")
            if let linkage = report.linkage {
                lines.append(LinkageReportOutput.summary(linkage, seconds: report.modelSeconds))
                if let path = self.report { try LinkageReportOutput.writeJSON(linkage, to: path) }
                if let path = reportHTML { try LinkageReportOutput.writeHTML(linkage, to: path) }
            } else if let unfitted = report.unfitted {
                if let path = self.report { try LinkageReportOutput.writeJSON(unfitted, to: path) }
                if let path = reportHTML { try LinkageReportOutput.writeHTML(unfitted, to: path) }
            }
            if !vetoNames.isEmpty && !modelChose {
                lines.append(
                    "vetoed by \(vetoNames.joined(separator: ", ")): \(Format.count(report.vetoed)) candidate pairs")
            }
            lines.append("wrote \(output)")
            Console.output(lines.joined(separator: "\n") + "\n")
        }
    }
}

/// The defaults `match` uses beside its threshold, chosen by measurement (README, "Measured"). Without `--threshold`
/// the decision model chooses; the fixed rule's default Dice thresholds, which a run falls back to where the model
/// cannot choose, are ``DefaultThreshold``'s.
enum MatchDefaults {
    static let solver = Solver.manyToOne
    static let veto = ["nino"]

    /// The lower end of a review band 0.1 below `threshold` (the demo's).
    static func reviewFrom(below threshold: String) -> String {
        guard let value = Double(threshold) else { return threshold }
        return Format.decimal(max(0.01, value - 0.1), places: 2)
    }
}

/// The matches file: `row_a,row_b,rule,score,status`.
enum MatchOutput {
    static let header = "row_a,row_b,rule,score,status\n"

    static func write(_ results: [MatchResult], header: TokenFileHeader, to path: String) throws {
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(Self.header)
        var text = ""
        for result in results {
            let rule: String
            switch result.rule {
            case .matchKey(let index): rule = header.matchKeys[index]
            case .bloom: rule = "bloom"
            }
            text +=
                "\(result.rowA),\(result.rowB),\(rule),\(Format.decimal(result.score, places: 3)),\(result.status.rawValue)\n"
            if text.utf8.count > 1 << 16 {
                try file.write(text)
                text = ""
            }
        }
        try file.write(text)
        try file.commit()
    }
}
