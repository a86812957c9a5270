import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol
import Foundation
import Testing

/// Each attack must be shown to work (issue 15): on a deliberately weak encoding it recovers most values, and the
/// verdict on a weak schema fails naming the attack and the field.
struct WeakEncodingTests {
    static let header = "id,given_name,surname,dob,sex"
    static let fields = """
        "recordKey": "id",
        "fields": [{"name": "id", "kind": "exact"}, {"name": "given_name", "kind": "name"},
                   {"name": "surname", "kind": "name"}, {"name": "dob", "kind": "date"}, {"name": "sex", "kind": "sex"}],
        "matchKeys": [{"name": "names-dob", "parts": [{"field": "given_name"}, {"field": "surname"}, {"field": "dob"}]}]
        """

    /// The `sex` field alone in the filter, with its exact token's 10 positions (as the example schema encodes it).
    static let sexAlone = """
        {"blindmatchSchema": 1, "name": "weak-sex-alone", \(fields),
         "bloom": {"bits": 1024, "fields": [{"field": "sex", "tokens": {"type": "exact"}, "bitsPerToken": 10}]}}
        """

    /// The date of birth alone in the filter, as positional digits (as the example schema encodes it).
    static let dateAlone = """
        {"blindmatchSchema": 1, "name": "weak-date-alone", \(fields),
         "bloom": {"bits": 1024, "fields": [{"field": "dob", "tokens": {"type": "ngram", "n": 1, "positional": true},
                   "bitsPerFeature": 100}]}}
        """

    /// A blocking key on the given name alone: one token per name, repeated by everyone of that name.
    static let givenNameBlocking = """
        {"blindmatchSchema": 1, "name": "weak-given-blocking", \(fields),
         "blockingKeys": [{"name": "block-given", "parts": [{"field": "given_name"}]}],
         "bloom": {"bits": 1024, "fields": [{"field": "surname", "tokens": {"type": "ngram", "n": 2},
                   "bitsPerFeature": 100}]}}
        """

    /// Records with names spread as in real lists (a few common names, a long tail) and 65% women.
    static func records(count: Int, seed: UInt8) -> String {
        var generator = SeededGenerator(seed: [seed, 1, 2, 3])
        let given = [
            "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace", "Freya",
            "Willow", "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte", "Oliver", "George", "Noah",
            "Arthur", "Leo", "Muhammad", "Harry", "Oscar", "Archie", "Henry", "Theodore", "Freddie", "Jack", "Charlie",
            "Theo", "Alfie", "Jacob", "Thomas", "Finley", "Arlo",
        ]
        let surnames = [
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
            "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
        ]
        func zipf(_ size: Int) -> Int {
            let total = (1...size).reduce(0.0) { $0 + 1 / Double($1) }
            var draw = Double.random(in: 0..<total, using: &generator)
            for rank in 1...size {
                draw -= 1 / Double(rank)
                if draw < 0 { return rank - 1 }
            }
            return size - 1
        }
        var lines = [header]
        for index in 0..<count {
            let year = 1940 + Int.random(in: 0..<60, using: &generator)
            let month = Int.random(in: 1...12, using: &generator)
            let day = Int.random(in: 1...28, using: &generator)
            let sex = Double.random(in: 0..<1, using: &generator) < 0.65 ? "F" : "M"
            let date = "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)"
            lines.append("R\(index),\(given[zipf(given.count)]),\(surnames[zipf(surnames.count)]),\(date),\(sex)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func assess(schema text: String, records count: Int = 3000) throws -> AssessmentReport {
        let folder = try TemporaryDirectory(prefix: "assess-test")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data(records(count: count, seed: 7).utf8).write(to: URL(fileURLWithPath: path))
        let schema = try LinkageSchema(parsing: Array(text.utf8), source: "weak.json")
        let secret = try LinkageSecret(importing: Array(0..<32))
        let input = try AgencyInput.tokenise(
            schema: schema, secret: secret, input: path, threads: 2, progress: SilentProgress())
        return Assessment().run(schema: schema, input: input, reference: .halvesAndWhole, progress: SilentProgress())
    }

    static func measure(_ report: AssessmentReport, _ scenario: String, _ attack: String, _ name: String) throws
        -> MeasureScore
    {
        let found = report.scenarios.first { $0.name == scenario }?.scores.first { $0.attack == attack }?
            .measures.first { $0.measure == name }
        return try #require(found)
    }

    @Test func frequencyAlignmentReadsTheSexFieldAlone() throws {
        let report = try Self.assess(schema: Self.sexAlone)
        for scenario in ["disjoint reference", "full-overlap reference"] {
            let sex = try Self.measure(report, scenario, "frequency alignment", "sex")
            // Every record's sex is read (the baseline, always guessing F, gets 65%).
            #expect(sex.combined > 0.95, "\(scenario): \(sex.combined)")
            #expect(sex.baseline < 0.7)
        }
        #expect(!report.passes)
        #expect(report.failures.contains { $0.contains("frequency alignment: sex +") })
    }

    @Test func frequencyAlignmentReadsTheYearFromPositionalDigits() throws {
        let report = try Self.assess(schema: Self.dateAlone)
        let year = try Self.measure(report, "full-overlap reference", "frequency alignment", "dob year")
        // Years are spread evenly over 1940-1999 (baseline under 3%); their digits' counts give them away.
        #expect(year.combined > 0.5, "\(year.combined)")
        #expect(year.baseline < 0.03)
        #expect(report.failures.contains { $0.contains("frequency alignment: dob year +") })
    }

    @Test func tokenFrequencyReadsASingleFieldBlockingKey() throws {
        let report = try Self.assess(schema: Self.givenNameBlocking)
        let full = try Self.measure(report, "full-overlap reference", "token frequency", "given_name")
        #expect(full.combined > 0.8, "\(full.combined)")
        let disjoint = try Self.measure(report, "disjoint reference", "token frequency", "given_name")
        #expect(disjoint.gainPoints > 20, "\(disjoint.gainPoints)")
        #expect(report.failures.contains { $0.contains("token frequency: given_name +") })
        #expect(report.lint.contains { $0.subject == "blocking key block-given" })
    }

    @Test func attacksFindNothingWhereTheFileHoldsNothingOfAField() throws {
        // The given-name blocking schema encodes no sex anywhere and no small field in its filter: no attack may claim
        // to read sex, and frequency alignment has nothing to read.
        let report = try Self.assess(schema: Self.givenNameBlocking, records: 1000)
        for scenario in report.scenarios {
            for score in scenario.scores {
                for measure in score.measures where measure.measure == "sex" || score.attack == "frequency alignment" {
                    #expect(measure.guessed == 0, "\(score.attack) guessed \(measure.measure)")
                }
            }
        }
    }
}
