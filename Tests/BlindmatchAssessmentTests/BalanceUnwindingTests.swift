import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol
import Foundation
import Testing

/// Balancing (SPEC §5.5.3) is undone from the filters alone: every position pairs with its complement's, and the
/// rarer of the two is the bit. The recovered filters are the unbalanced ones with their positions in another order.
struct BalanceUnwindingTests {
    static func schema(balance: Bool, flip: Double? = nil) -> String {
        let noise = flip.map { ", \"randomisedResponse\": {\"flipProbability\": \($0)}" } ?? ""
        return """
            {"blindmatchSchema": 1, "name": "balance-test", \(WeakEncodingTests.fields),
             "bloom": {"bits": 256, "fields": [
                {"field": "given_name", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40},
                {"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40},
                {"field": "dob", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}],
              "hardening": {"xorFolds": 0, "balance": \(balance)\(noise)}}}
            """
    }

    /// The records tokenised under `text`, and each row's filter as bits in input order.
    static func encode(_ text: String, records: Int = 2000) throws -> (AgencyInput, LinkageSchema) {
        let folder = try TemporaryDirectory(prefix: "balance-test")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data(WeakEncodingTests.records(count: records, seed: 3).utf8).write(to: URL(fileURLWithPath: path))
        let schema = try LinkageSchema(parsing: Array(text.utf8), source: "balance.json")
        let secret = try LinkageSecret(importing: Array(0..<32))
        let input = try AgencyInput.tokenise(
            schema: schema, secret: secret, input: path, threads: 2, progress: SilentProgress())
        return (input, schema)
    }

    /// Column `position` of `filters` (which rows set it), with rows put back in input order.
    static func columns(_ filters: EncodedFilters, inputIndex: [Int]) -> [[Bool]] {
        (0..<filters.filterBits).map { position in
            var column = [Bool](repeating: false, count: filters.count)
            for row in 0..<filters.count { column[inputIndex[row]] = filters.isSet(row: row, position: position) }
            return column
        }
    }

    @Test func balancedFiltersGiveBackTheUnbalancedOnes() throws {
        let (balanced, _) = try Self.encode(Self.schema(balance: true))
        let (plain, _) = try Self.encode(Self.schema(balance: false))
        #expect(balanced.view.filters.filterBits == 512)
        let result = try #require(BalanceUnwinding().unwind(balanced.view.filters))
        #expect(result.pairs == 256)
        #expect(result.exactPairs == 256)
        // Every recovered position is one of the unbalanced filter's positions or its complement (the rarer of a
        // pair is kept: a position set in most rows comes out complemented), each exactly once.
        let recovered = Self.columns(result.filters, inputIndex: balanced.inputIndex)
        let original = Self.columns(plain.view.filters, inputIndex: plain.inputIndex)
        var remaining: [[Bool]: Int] = [:]
        for column in original { remaining[column, default: 0] += 1 }
        var found = 0
        var complemented = 0
        for column in recovered {
            let complement = column.map { !$0 }
            if (remaining[column] ?? 0) > 0 {
                remaining[column]? -= 1
                found += 1
            } else if (remaining[complement] ?? 0) > 0 {
                remaining[complement]? -= 1
                complemented += 1
            }
        }
        #expect(found + complemented == 256, "\(found) + \(complemented) of 256 positions recovered")
        // The kept position is the bit wherever the bit is set in at most half of the rows.
        let dense = original.count { column in 2 * column.count { $0 } > column.count }
        #expect(complemented <= dense, "\(complemented) complemented, \(dense) positions set in most rows")
    }

    @Test func randomisedResponseAfterBalancingLeavesThePairs() throws {
        let (balanced, _) = try Self.encode(Self.schema(balance: true, flip: 0.05))
        let result = try #require(BalanceUnwinding().unwind(balanced.view.filters))
        // Each pair now disagrees in about 90% of rows instead of all; nearly every pair is still found.
        #expect(result.pairs >= 250, "\(result.pairs)")
        #expect(result.exactPairs == 0)
    }

    @Test func unbalancedFiltersHoldNoPairs() throws {
        let (plain, schema) = try Self.encode(Self.schema(balance: false))
        // No filter-wide structure of complements: a few positions that happen to disagree (a date bigram every
        // record has against one no record has), nowhere near one pair per position.
        #expect((BalanceUnwinding().unwind(plain.view.filters)?.pairs ?? 0) < 256 / 10)
        #expect(!AfterBalanceUnwinding(FrequencyAlignmentAttack()).applies(to: schema))
    }
}
