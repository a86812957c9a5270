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

extension RecordFilterTests {
    /// Surname and date of birth in a diffused first filter, and an extra filter holding `sex` alone as an exact
    /// token, a deliberately weak encoding that frequency alignment reads (WeakEncodingTests).
    static let twoFilters = """
        {"blindmatchSchema": 1, "name": "two-filters", \(WeakEncodingTests.fields),
         "bloom": {"bits": 1024, "fields": [
             {"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 100},
             {"field": "dob", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 100}],
           "hardening": {"diffusion": {"taps": 3}}},
         "extraFilters": [{"name": "sex-only", "bits": 512,
             "fields": [{"field": "sex", "tokens": {"type": "exact"}, "bitsPerToken": 10}]}]}
        """

    /// Two filters: a filter-reading attack runs once on each, given that filter alone and its settings; the report
    /// names the filter; the weak extra filter fails the verdict by name although the first filter gives nothing; the
    /// lint judges each filter; graph matching on every filter at once runs on both side by side.
    @Test func eachAttackReadsEachFilterAndTheVerdictCoversBoth() throws {
        let (schema, input) = try Self.input(schema: Self.twoFilters, records: 3000)
        let filters = input.recordFilters
        #expect(filters.map(\.name) == [RecordFilter.firstName, "sex-only"])
        #expect(filters.map { $0.schema.bloom?.filterBits } == [1024, 512])
        #expect(filters[1].schema.bloom?.fields.map(\.name) == ["sex"])
        #expect(filters[1].schema.columnNames == schema.columnNames)
        #expect(input.view.additionalFilters.map(\.filterBits) == [512])

        let calls = Calls()
        var recording = Assessment()
        recording.attacks = [Self.recording(calls)]
        let recorded = recording.run(
            schema: schema, input: input, reference: .given(input.truth), progress: SilentProgress())
        #expect(calls.all.map(\.schemaFingerprint) == filters.map(\.schema.fingerprint))
        #expect(calls.all.map(\.filterWords) == input.view.allFilters.map(\.words))
        #expect(calls.all.allSatisfy { $0.additionalFilters == 0 })
        let scores = recorded.scenarios.flatMap(\.scores)
        #expect(scores.map(\.attack) == ["reads filters (filter bloom)", "reads filters (filter sex-only)"])
        #expect(scores.map(\.filter) == ["bloom", "sex-only"])
        #expect(recorded.json.canonicalText.contains(#""filter":"sex-only""#))

        var assessment = Assessment()
        assessment.attacks = [FrequencyAlignmentAttack(), GraphMatchingOnEveryFilter(), DisclosureCounts()]
        let report = assessment.run(
            schema: schema, input: input, reference: .halvesAndWhole, progress: SilentProgress())
        for scenario in report.scenarios {
            #expect(
                scenario.scores.map(\.attack) == [
                    "frequency alignment (filter bloom)", "frequency alignment (filter sex-only)",
                    "graph matching (every filter at once)", "header and presence bits",
                ])
            let first = try #require(scenario.scores.first { $0.filter == "bloom" })
            #expect(first.measures.allSatisfy { $0.guessed == 0 })
            let sex = try #require(
                scenario.scores.first { $0.filter == "sex-only" }?.measures.first { $0.measure == "sex" })
            #expect(sex.combined > 0.95 || (sex.relabelled ?? 0) > 0.95, "\(scenario.name): \(sex.combined)")
            let every = try #require(scenario.scores.first { $0.attack == GraphMatchingOnEveryFilter().name })
            #expect(every.notes["filters"] == 2)
            let counts = try #require(scenario.scores.last)
            #expect(counts.notes["distinct popcount combinations (every filter)"] != nil)
        }
        #expect(!report.passes)
        #expect(report.failures.contains { $0.contains("frequency alignment (filter sex-only): sex +") })
        #expect(!report.failures.contains { $0.contains("(filter bloom)") })
        #expect(report.lint.contains { $0.subject == "filter sex-only: Bloom field sex" })
        #expect(!report.lint.contains { $0.subject == "Bloom hardening" })
        #expect(report.lint.contains { $0.subject == "filter sex-only: Bloom hardening" })
    }
}
