import BlindmatchAgency
import BlindmatchProtocol

/// Attack 5, what the header and the presence bits give away (SPEC §1.4 items 6–8), as counts: the header's
/// per-field statistics and popcounts, how many rows have a pattern of missing identifiers (presence bits) or a
/// filter popcount that no other row has, and how many rows share every token with another row (duplicates, twins).
/// It guesses no values; its counts are reported beside the other attacks.
public struct DisclosureCounts: Attack {
    public let name = "header and presence bits"

    public init() {}

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        progress.show(name)
        var notes: [String: Double] = ["records (header)": Double(view.statistics.records)]
        for (index, column) in schema.columns.enumerated() where index < view.statistics.columns.count {
            let counts = view.statistics.columns[index]
            guard counts.present + counts.missing + counts.invalid > 0 else { continue }
            notes["\(column.name): missing or invalid (header)"] = Double(counts.missing + counts.invalid)
        }
        var patterns: [UInt64: Int] = [:]
        var popcounts: [Int: Int] = [:]
        var tokenRows: [[Int32]: Int] = [:]
        for row in 0..<view.count {
            patterns[view.presence(row: row), default: 0] += 1
            popcounts[view.popcount(row: row), default: 0] += 1
            if !view.tokenClasses.isEmpty { tokenRows[view.tokenClasses.map { $0[row] }, default: 0] += 1 }
        }
        notes["presence patterns"] = Double(patterns.count)
        notes["rows with a presence pattern of their own"] = Double(patterns.values.count { $0 == 1 })
        notes["rows with a presence pattern shared by fewer than 5"] = Double(
            patterns.values.filter { $0 < 5 }.reduce(0, +))
        notes["rows with an identifier missing"] = Double(
            patterns.filter { $0.key != (1 << UInt64(view.tokenKeys.count)) - 1 }.values.reduce(0, +))
        notes["distinct popcounts"] = Double(popcounts.count)
        notes["rows with a popcount of their own"] = Double(popcounts.values.count { $0 == 1 })
        notes["popcount min (header)"] = Double(
            view.statistics.popcountMin == Int.max ? 0 : view.statistics.popcountMin)
        notes["popcount max (header)"] = Double(view.statistics.popcountMax)
        if !view.additionalFilters.isEmpty {
            // Several filters: a row's popcounts together are more nearly its own than any one of them.
            let filters = view.allFilters
            var combinations: [[Int]: Int] = [:]
            for row in 0..<view.count { combinations[filters.map { $0.popcount(row: row) }, default: 0] += 1 }
            notes["distinct popcount combinations (every filter)"] = Double(combinations.count)
            notes["rows with a popcount combination of their own (every filter)"] = Double(
                combinations.values.count { $0 == 1 })
        }
        notes["rows sharing every token with another row"] = Double(
            tokenRows.values.filter { $0 > 1 }.reduce(0, +))
        return AttackOutcome(attack: name, notes: notes)
    }
}
