import BlindmatchProtocol
import Foundation
import Hummingbird

/// How the console writes numbers, JSON settings and page cursors.
enum ConsoleFormat {
    /// `1,234,567`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// A count, or what its absence means: `withheld` when the reply had a summary without it (outside the viewer's
    /// grant), `—` when there is none yet.
    static func count(_ value: Int?, withheld: Bool) -> String {
        value.map(count) ?? (withheld ? "withheld" : "—")
    }

    static func decimal(_ value: Double, _ places: Int) -> String {
        value.isFinite ? String(format: "%.\(places)f", value) : "—"
    }

    /// The members of a JSON object as name and value, nested members as `a.b`; strings without quotes.
    static func rows(of value: JSONValue?) -> [[String: String]] {
        guard let members = value?.objectValue else { return [] }
        var found: [[String: String]] = []
        for member in members {
            switch member.value {
            case .object:
                found += rows(of: member.value).map {
                    ["name": member.key + "." + ($0["name"] ?? ""), "value": $0["value"] ?? ""]
                }
            case .string(let text): found.append(["name": member.key, "value": text])
            case .null: found.append(["name": member.key, "value": "none"])
            default: found.append(["name": member.key, "value": member.value.canonicalText])
            }
        }
        return found
    }

    /// The console's own newest-first cursor: `?cursor=ORDINAL`, 50 items a page.
    static func page(_ request: Request) throws -> PageRequest {
        guard let text = request.query("cursor") else { return PageRequest(limit: 50, before: nil) }
        guard let before = Int(text), before > 0 else { throw APIError.malformed("cursor must be a positive integer") }
        return PageRequest(limit: 50, before: before)
    }
}
