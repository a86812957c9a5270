import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol
import Foundation
import Synchronization
import Testing

/// `assess` attacks every record-level filter of a schema (issue 12): each filter-reading attack runs on each filter,
/// named in the report, the verdict covers them all, and a schema with one filter is reported exactly as before.
struct RecordFilterTests {
    /// What a filter-reading attack was given, call by call.
    final class Calls: Sendable {
        struct Call: Sendable, Equatable {
            let schemaFingerprint: String
            let filterBits: Int
            let filterWords: [UInt64]
            let additionalFilters: Int
        }
        let calls = Mutex<[Call]>([])
        var all: [Call] { calls.withLock { $0 } }
    }

    static func recording(_ calls: Calls) -> AttackFunction {
        AttackFunction("reads filters", readsFilters: true) { view, schema, _, _ in
            calls.calls.withLock {
                $0.append(
                    Calls.Call(
                        schemaFingerprint: schema.fingerprint, filterBits: view.filters.filterBits,
                        filterWords: view.filters.words, additionalFilters: view.additionalFilters.count))
            }
            return AttackOutcome(attack: "reads filters")
        }
    }

    static func input(schema text: String, records: Int) throws -> (LinkageSchema, AgencyInput) {
        let folder = try TemporaryDirectory(prefix: "assess-filters")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data(WeakEncodingTests.records(count: records, seed: 5).utf8).write(to: URL(fileURLWithPath: path))
        let schema = try LinkageSchema(parsing: Array(text.utf8), source: "filters.json")
        let input = try AgencyInput.tokenise(
            schema: schema, secret: try LinkageSecret(importing: Array(0..<32)), input: path, threads: 2,
            progress: SilentProgress())
        return (schema, input)
    }

    /// One filter: the attack sees the schema itself and the file's filters, once per reference; the report names no
    /// filter (no `filter` member, no label), its attacks are the standard list's names, and no attack on every
    /// filter at once runs.
    @Test func aSchemaWithOneFilterIsReportedAsBefore() throws {
        let (schema, input) = try Self.input(schema: WeakEncodingTests.sexAlone, records: 600)
        #expect(input.recordFilters.map(\.name) == [RecordFilter.firstName])
        #expect(input.view.additionalFilters.isEmpty)
        let calls = Calls()
        var assessment = Assessment()
        assessment.attacks = [Self.recording(calls), DisclosureCounts()]
        let recorded = assessment.run(
            schema: schema, input: input, reference: .given(input.truth), progress: SilentProgress())
        #expect(calls.all.count == 1)
        #expect(calls.all.first?.schemaFingerprint == schema.fingerprint)
        #expect(calls.all.first?.filterWords == input.view.filters.words)
        #expect(calls.all.first?.additionalFilters == 0)
        #expect(recorded.scenarios.flatMap(\.scores).map(\.attack) == ["reads filters", "header and presence bits"])

        let report = Assessment().run(
            schema: schema, input: input, reference: .halvesAndWhole, progress: SilentProgress())
        let expected = Attacks.standard.filter { $0.applies(to: schema) }.map(\.name)
        #expect(!expected.contains(GraphMatchingOnEveryFilter().name))
        for scenario in report.scenarios {
            #expect(scenario.scores.map(\.attack) == expected)
            #expect(scenario.scores.allSatisfy { $0.filter == nil })
        }
        let json = report.json.canonicalText
        #expect(!json.contains("\"filter\""))
        #expect(!json.contains("every filter"))
        #expect(!report.lint.contains { $0.subject.hasPrefix("filter ") })
    }
}
