import BlindmatchMatching
import BlindmatchProtocol
import FoundationEssentials
import Glibc

/// A run's ``LinkageReport`` as a line of text, as JSON (`--report`) and as a self-contained HTML page with inline
/// SVG charts (`--report-html`). Files are written under a temporary name and renamed.
enum LinkageReportOutput {
    /// One line: the estimates, their standard errors and the expected false matches.
    static func summary(_ report: LinkageReport, seconds: Double) -> String {
        let estimate = report.estimate
        let model = report.model == "fellegi-sunter" ? "Fellegi–Sunter, EM" : "score mixture, EM"
        return
            "estimated without ground truth (\(model), \(Format.count(report.candidatePairs)) candidate pairs above Dice \(Format.decimal(report.candidateFloor, places: 2)), \(Format.decimal(seconds, places: 2)) s): precision \(Format.decimal(estimate.precision, places: 4)) ± \(Format.decimal(estimate.precisionError, places: 4)), recall \(Format.decimal(estimate.recall, places: 4)) ± \(Format.decimal(estimate.recallError, places: 4)), F1 \(Format.decimal(estimate.f1, places: 4)); \(Format.decimal(estimate.falseMatches, places: 1)) false matches expected among \(Format.count(estimate.reported))"
    }

    /// What decided the matches: `threshold chosen by the model: weight 0.68`, the fixed rule's Dice threshold as
    /// given, or the fixed rule the model fell back to and why.
    static func decision(_ report: LinkageReport) -> String {
        let dice = report.diceThreshold.map { Format.decimal($0, places: 2) } ?? "-"
        if report.thresholdChosen {
            return "threshold chosen by the model: weight \(Format.decimal(report.threshold, places: 2))"
        } else if let fallback = report.thresholdFallback {
            return "threshold \(dice), the fixed rule's default: the model could not choose (\(fallback))"
        }
        let lowest = Format.decimal(report.threshold, places: 2)
        return "threshold \(dice) (the fixed rule; lowest match weight reported \(lowest))"
    }

    static func writeJSON(_ report: LinkageReport, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(report)
        let file = try AtomicFile(destination: path)
        try file.write([UInt8](data) + [UInt8(ascii: "\n")])
        try file.commit()
    }

    /// What decided a run whose files carry no Bloom filters: the fixed rule, and why the model did not choose.
    static func decision(_ report: UnfittedReport) -> String {
        let dice = Format.decimal(report.diceThreshold, places: 2)
        if let fallback = report.thresholdFallback {
            return "threshold \(dice), the fixed rule's default: the model could not choose (\(fallback))"
        }
        return "threshold \(dice) (the fixed rule; no decision model: the files carry no Bloom filters)"
    }

    /// `--report` when no model could be fitted at all (files without filters): what decided instead, and why.
    static func writeJSON(_ report: UnfittedReport, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(report)
        let file = try AtomicFile(destination: path)
        try file.write([UInt8](data) + [UInt8(ascii: "\n")])
        try file.commit()
    }

    /// `--report-html` when no model could be fitted at all.
    static func writeHTML(_ report: UnfittedReport, to path: String) throws {
        let reason = report.thresholdFallback ?? "the files carry no Bloom filters, so there are no scores to fit it to"
        let file = try AtomicFile(destination: path)
        try file.write(
            """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Blindmatch run report</title></head><body>
            <h1>Blindmatch run report</h1>
            <p>No decision model was fitted: \(escaped(reason)). The fixed rule decided at Dice threshold \
            \(Format.decimal(report.diceThreshold, places: 2)), so there are no estimates.</p>
            </body></html>

            """)
        try file.commit()
    }

    /// `text` safe inside HTML.
    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    static func readJSON(_ path: String) throws -> LinkageReport {
        let bytes = try FileIO.readAll(path)
        do {
            return try JSONDecoder().decode(LinkageReport.self, from: Data(bytes))
        } catch {
            throw ProtocolError(.invalidArgument, "\(path): not a match report (\(error))")
        }
    }

    static func writeHTML(_ report: LinkageReport, to path: String) throws {
        let file = try AtomicFile(destination: path)
        try file.write(html(report))
        try file.commit()
    }

    /// The page: the estimates, the histogram (log scale) and precision and recall against the threshold.
    static func html(_ report: LinkageReport) -> String {
        let estimate = report.estimate
        func number(_ value: Double) -> String { Format.decimal(value, places: 4) }
        var rows = [
            ("threshold (match weight, log₂ odds)", Format.decimal(report.threshold, places: 2)),
            (
                "threshold chosen by the model",
                report.thresholdChosen
                    ? "yes"
                    : report.thresholdFallback.map {
                        "no: it could not (\(escaped($0))), so the fixed rule's default Dice threshold decided"
                    } ?? "no (Dice threshold given)"
            ),
            ("Dice threshold", report.diceThreshold.map { Format.decimal($0, places: 3) } ?? "none (the model chose)"),
            ("estimated precision", "\(number(estimate.precision)) ± \(number(estimate.precisionError))"),
            ("estimated recall", "\(number(estimate.recall)) ± \(number(estimate.recallError))"),
            ("estimated F1", number(estimate.f1)),
            ("expected false matches", Format.decimal(estimate.falseMatches, places: 1)),
            ("reported matches", Format.count(estimate.reported)),
            ("expected true pairs among candidates", Format.decimal(estimate.expectedTruePairs, places: 1)),
            ("candidate pairs", Format.count(report.candidatePairs)),
            ("candidate Dice floor", Format.decimal(report.candidateFloor, places: 2)),
            ("model", report.model),
        ]
        if let count = report.captureRecapture {
            let error = Format.decimal(count.variance.squareRoot(), places: 1)
            rows.append(
                (
                    "true pairs in A × B by capture–recapture on the identifier keys",
                    "\(Format.decimal(count.truePairs, places: 1)) ± \(error)"
                ))
        }
        if let identity = report.identity {
            rows.append(contentsOf: identityRows(identity))
        }
        let table = rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Blindmatch run report</title>
            <style>body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}th{text-align:left;\
            padding-right:2em;font-weight:normal;color:#555}svg{border:1px solid #ddd;background:#fff}\
            .m{fill:#1f77b4}.n{fill:#aaa}.t{stroke:#d62728;stroke-width:2}.p{stroke:#1f77b4;fill:none;stroke-width:2}\
            .r{stroke:#2ca02c;fill:none;stroke-width:2}text{font-size:11px}</style></head><body>
            <h1>Blindmatch run report</h1>
            <p>Estimates from the decision model fitted to the two token files, without ground truth. The recall \
            counts the true pairs the model expects outside the candidates (never compared, or below the floor) as \
            missed; where the schema has an identifier key (a NINO), the number of true pairs is counted by \
            capture–recapture instead (docs/decision-model.md). ± is one standard error of the count of true \
            matches under the model, not of the model itself.</p>
            <table>\(table)</table>
            <h2>Match weights of the candidate pairs (log scale)</h2>
            <p>Expected matches (blue) and non-matches (grey) per unit of weight, as the model separates them; the \
            red line is the threshold.</p>
            \(histogramSVG(report))
            <h2>Estimated precision and recall against the threshold</h2>
            <p>Precision (blue) and recall (green) if the threshold were each weight, before the solver.</p>
            \(curveSVG(report))
            </body></html>

            """
    }

    static let width = 720.0
    static let height = 260.0
    static let margin = 40.0

    /// What "one watch-list record is one person" did (``IdentityConstraint``): counts of pairs and expected matches,
    /// never a token.
    static func identityRows(_ identity: IdentityConstraint) -> [(String, String)] {
        let curve =
            identity.curveShares.map { shares in
                "fitted on \(Format.count(identity.agreeing + identity.conflicting)) labelled pairs "
                    + "(duplicate share \(Format.decimal(shares.first ?? 0, places: 3))–"
                    + "\(Format.decimal(shares.last ?? 0, places: 3)))"
            } ?? "not fitted (too few labelled pairs): those pairs keep their own probability"
        return [
            (
                "pairs beside a watch-list record's best pair: identifier agrees / differs / unknown",
                "\(Format.count(identity.agreeing)) / \(Format.count(identity.conflicting)) / "
                    + Format.count(identity.unknown)
            ),
            ("duplicate curve for the unknown ones", curve),
            ("identifier typo rate (fitted)", Format.decimal(identity.typoRate, places: 4)),
            (
                "expected matches among candidates before / after one record is one person",
                "\(Format.decimal(identity.expectedMatchesBefore, places: 1)) / "
                    + Format.decimal(identity.expectedMatchesAfter, places: 1)
            ),
        ]
    }

    static func x(_ weight: Double, _ edges: [Double]) -> Double {
        let first = edges.first ?? 0
        let last = edges.last ?? 1
        return margin + (weight - first) / max(last - first, 1) * (width - 2 * margin)
    }

    static func histogramSVG(_ report: LinkageReport) -> String {
        let histogram = report.histogram
        let edges = histogram.edges
        let highest = max(log10(1 + (zip(histogram.matches, histogram.nonMatches).map { max($0, $1) }.max() ?? 1)), 1)
        func y(_ count: Double) -> Double { height - margin - log10(1 + count) / highest * (height - 2 * margin) }
        var parts: [String] = []
        for bin in 0..<histogram.matches.count {
            let left = x(edges[bin], edges)
            let right = x(edges[bin + 1], edges)
            let half = (right - left) / 2
            let other = y(histogram.nonMatches[bin])
            let match = y(histogram.matches[bin])
            parts.append(
                "<rect class=\"n\" x=\"\(f(left))\" y=\"\(f(other))\" width=\"\(f(half))\" height=\"\(f(height - margin - other))\"/>"
            )
            parts.append(
                "<rect class=\"m\" x=\"\(f(left + half))\" y=\"\(f(match))\" width=\"\(f(half))\" height=\"\(f(height - margin - match))\"/>"
            )
        }
        for power in 0...Int(highest.rounded(.down)) {
            let count = pow(10, Double(power)) - 1
            parts.append("<text x=\"2\" y=\"\(f(y(count) + 4))\">\(power == 0 ? "0" : "1e\(power)")</text>")
        }
        parts.append(axis(edges))
        parts.append(thresholdLine(report.threshold, edges))
        return svg(parts)
    }

    static func curveSVG(_ report: LinkageReport) -> String {
        let edges = report.histogram.edges
        func y(_ value: Double) -> Double { height - margin - value * (height - 2 * margin) }
        let precision = report.curve.map { "\(f(x($0.threshold, edges))),\(f(y($0.precision)))" }
        let recall = report.curve.map { "\(f(x($0.threshold, edges))),\(f(y($0.recall)))" }
        var parts = [
            "<polyline class=\"p\" points=\"\(precision.joined(separator: " "))\"/>",
            "<polyline class=\"r\" points=\"\(recall.joined(separator: " "))\"/>",
        ]
        for tick in [0.0, 0.5, 0.9, 1.0] {
            parts.append("<text x=\"2\" y=\"\(f(y(tick) + 4))\">\(Format.decimal(tick, places: 1))</text>")
        }
        parts.append(axis(edges))
        parts.append(thresholdLine(report.threshold, edges))
        return svg(parts)
    }

    static func axis(_ edges: [Double]) -> String {
        var parts = [
            "<line x1=\"\(f(margin))\" y1=\"\(f(height - margin))\" x2=\"\(f(width - margin))\" y2=\"\(f(height - margin))\" stroke=\"#555\"/>"
        ]
        let first = Int(edges.first ?? 0)
        let last = Int(edges.last ?? 1)
        let step = max(1, (last - first) / 10)
        for weight in stride(from: first, through: last, by: step) {
            parts.append(
                "<text x=\"\(f(x(Double(weight), edges) - 6))\" y=\"\(f(height - margin + 14))\">\(weight)</text>")
        }
        parts.append("<text x=\"\(f(width / 2 - 60))\" y=\"\(f(height - 6))\">match weight (log₂ odds)</text>")
        return parts.joined(separator: "\n")
    }

    static func thresholdLine(_ threshold: Double, _ edges: [Double]) -> String {
        let position = f(x(threshold, edges))
        return
            "<line class=\"t\" x1=\"\(position)\" y1=\"\(f(margin / 2))\" x2=\"\(position)\" y2=\"\(f(height - margin))\"/>"
    }

    static func svg(_ parts: [String]) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\">\n"
            + parts.joined(separator: "\n") + "\n</svg>"
    }

    static func f(_ value: Double) -> String { Format.decimal(value, places: 1) }
}
