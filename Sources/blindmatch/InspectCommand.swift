import ArgumentParser
import BlindmatchProtocol

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a token file's header and aggregate statistics (never its tokens).")

    @Argument(help: ArgumentHelp("The token file.", valueName: "file"))
    var file: String

    @Flag(help: "Print the header as canonical JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let tokens = try TokenFile(contentsOf: file)
            let header = tokens.header
            if json {
                Console.output(Terminal.printable(header.jsonValue.canonicalText, json: true) + "\n")
                return
            }
            var lines = [
                "file:               \(file)",
                "format:             \(TokenFileHeader.formatName) v\(header.formatVersion), protocol \(TokenFileHeader.protocolName)",
                "party:              \(header.party)",
                "records:            \(header.recordCount)",
                "schema:             \(header.schemaFlavour.rawValue), fingerprint \(header.schemaFingerprint)",
                "key id:             \(header.keyID)",
                "match keys:         \(header.matchKeys.isEmpty ? "none" : header.matchKeys.joined(separator: ", "))",
                "Bloom filters:      \(header.filterBits == 0 ? "none" : "\(header.filterBits) bits")",
                "hardening:          \(header.hardening.canonicalText)",
                "created:            \(header.createdAt) by \(header.tool)",
                "signed:             \(tokens.trailer.publicKey.map { "yes, key \($0.fingerprint)" } ?? "no")",
                "SHA-256:            \(Hex.encode(tokens.trailer.digest))",
            ]
            let statistics = header.statistics
            if let popcount = statistics["popcount"] {
                lines.append(
                    "filter popcount:    min \(popcount["min"]?.intValue ?? 0), mean \(popcount["mean"]?.intValue ?? 0), max \(popcount["max"]?.intValue ?? 0)"
                )
            }
            for filter in header.extraFilters {
                let popcount = filter.popcount
                lines.append(
                    "extra filter:       \(filter.name), \(filter.filterBits) bits, hardening \(filter.hardening.canonicalText), popcount min \(popcount["min"]?.intValue ?? 0), mean \(popcount["mean"]?.intValue ?? 0), max \(popcount["max"]?.intValue ?? 0)"
                )
            }
            if let keys = statistics["matchKeysPresent"]?.objectValue, !keys.isEmpty {
                lines.append("tokens present per match key:")
                for key in keys { lines.append("  \(key.key): \(key.value.intValue ?? 0)") }
            }
            if let fields = statistics["fields"]?.objectValue {
                lines += QualityReport.render(fields: fields, records: header.recordCount).split(separator: "\n")
                    .map(String.init)
            }
            // The header's strings are the file's, and the file may be hostile: no line may drive the terminal.
            Console.output(lines.map { Terminal.printable($0) }.joined(separator: "\n") + "\n")
        }
    }
}

/// The per-field data-quality table printed after tokenising and by inspect.
enum QualityReport {
    static func render(fields: [(key: String, value: JSONValue)], records: Int) -> String {
        func cell(_ count: Int) -> String {
            let share = records > 0 ? Format.decimal(100 * Double(count) / Double(records), places: 1) : "0.0"
            return "\(Format.count(count)) (\(share)%)".padding(18)
        }
        let width = max(10, (fields.map(\.key.count).max() ?? 0) + 2)
        var lines = [
            "data quality per field:",
            "  " + "field".padding(width) + "present".padding(18) + "missing".padding(18) + "invalid".padding(18)
                + "changed by normalisation",
        ]
        for field in fields {
            let value = field.value
            lines.append(
                "  " + field.key.padding(width) + cell(value["present"]?.intValue ?? 0)
                    + cell(value["missing"]?.intValue ?? 0) + cell(value["invalid"]?.intValue ?? 0)
                    + cell(value["changed"]?.intValue ?? 0))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
