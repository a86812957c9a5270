import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Precision, recall and F1 of a match result against the true pairs.",
        discussion:
            "Maps row references back to record keys through both agencies' local maps (so it runs where those maps are, e.g. in a test or a joint evaluation), then compares with truth.csv (watch_id,bulk_id)."
    )

    @Option(
        help: ArgumentHelp(
            "The output of `blindmatch match`, or the watch-list party's `blindmatch results` (CSV).",
            valueName: "matches.csv"))
    var matches: String

    @Option(name: .customLong("map-a"), help: ArgumentHelp("The watch list's local map.", valueName: "A.map.csv"))
    var mapA: String

    @Option(name: .customLong("map-b"), help: ArgumentHelp("The bulk data's local map.", valueName: "B.map.csv"))
    var mapB: String

    @Option(help: ArgumentHelp("The true pairs (watch_id,bulk_id).", valueName: "truth.csv"))
    var truth: String

    @Option(
        help: ArgumentHelp(
            "The run's report (`match --report`): its estimates are shown beside the truth.", valueName: "report.json"))
    var report: String?

    func run() throws {
        try reportingErrors {
            let (matchesOnly, withPossible) = try Self.evaluate(matches: matches, mapA: mapA, mapB: mapB, truth: truth)
            var text = "matches:              \(matchesOnly)\nmatches and possible: \(withPossible)\n"
            if let report {
                let linkage = try LinkageReportOutput.readJSON(report)
                text += Self.comparison(estimate: linkage.estimate, truth: matchesOnly)
            }
            Console.output(text)
        }
    }

    /// The model's estimates beside the measured figures, one line each.
    static func comparison(estimate: LinkageReport.Estimate, truth: Evaluation) -> String {
        func row(_ name: String, _ estimated: Double, _ error: Double?, _ measured: Double) -> String {
            let spread = error.map { " ± " + Format.decimal($0, places: 4) } ?? "         "
            return name + Format.decimal(estimated, places: 4) + spread + "   true "
                + Format.decimal(measured, places: 4)
                + "   difference " + Format.decimal(estimated - measured, places: 4) + "\n"
        }
        return "estimated (no ground truth) beside the truth:\n"
            + row("  precision      ", estimate.precision, estimate.precisionError, truth.precision)
            + row("  recall         ", estimate.recall, estimate.recallError, truth.recall)
            + row("  F1             ", estimate.f1, nil, truth.f1)
            + "  false matches  \(Format.decimal(estimate.falseMatches, places: 1)) expected, \(truth.falsePositives) true\n"
    }

    /// (matches only, matches and possibles).
    static func evaluate(matches: String, mapA: String, mapB: String, truth: String) throws -> (Evaluation, Evaluation)
    {
        let keysA = try readMap(mapA)
        let keysB = try readMap(mapB)
        var certain = Set<Evaluation.KeyPair>()
        var all = Set<Evaluation.KeyPair>()
        // `match` writes row_a,row_b,…; the service gives the watch-list party row,counterpart_row,… (the same pairs).
        let header =
            try CSVReader(path: matches).header.starts(with: ["row", "counterpart_row"])
            ? ["row", "counterpart_row", "rule", "score", "status"] : ["row_a", "row_b", "rule", "score", "status"]
        try forEachRecord(matches, header: header) { fields, line in
            guard let rowA = Int(fields[0]), let rowB = Int(fields[1]), rowA >= 0, rowA < keysA.count, rowB >= 0,
                rowB < keysB.count
            else { throw ProtocolError(.invalidCSV, "\(matches):\(line): a row reference is not in the local maps") }
            let pair = Evaluation.KeyPair(keysA[rowA], keysB[rowB])
            all.insert(pair)
            if fields[4] == "match" { certain.insert(pair) }
        }
        var truePairs = Set<Evaluation.KeyPair>()
        try forEachRecord(truth, header: ["watch_id", "bulk_id"]) { fields, _ in
            truePairs.insert(Evaluation.KeyPair(fields[0], fields[1]))
        }
        return (Evaluation(predicted: certain, truth: truePairs), Evaluation(predicted: all, truth: truePairs))
    }

    /// A local map as an array: row → record key.
    static func readMap(_ path: String) throws -> [String] {
        var keys: [String] = []
        try forEachRecord(path, header: ["row", "record_key"]) { fields, line in
            guard Int(fields[0]) == keys.count else {
                throw ProtocolError(.invalidCSV, "\(path):\(line): rows must be numbered 0, 1, 2, … in order")
            }
            keys.append(fields[1])
        }
        return keys
    }

    static func forEachRecord(_ path: String, header: [String], _ body: ([String], Int) throws -> Void) throws {
        var reader = try CSVReader(path: path)
        try reader.checkHeader(expected: header)
        var batch = RecordBatch(width: header.count, capacity: 8192)
        while try reader.read(into: &batch, limit: 8192) {
            for record in 0..<batch.count {
                try body((0..<header.count).map { batch.string(record: record, column: $0) }, batch.lines[record])
            }
        }
    }
}
