import BlindmatchAssessment
import BlindmatchProtocol
import Testing

/// The Bloom-filter attacks must work where they should: on a deliberately weak encoding they recover most values,
/// and graph matching links most records when the reference is the encoded population (issue 15).
struct AttackTests {
    /// Pattern mining on field-level filters of one name field (no hardening) recovers most given names from a
    /// reference that shares nobody with the encoded records.
    @Test func patternMiningRecoversMostNamesOfAWeakEncoding() throws {
        let schema = try Fixture.schema(
            fields: ["given_name"], bits: 512,
            bloom: [#"{"field": "given_name", "tokens": {"type": "ngram", "n": 2}, "bitsPerToken": 6}"#])
        let encoded = Fixture.people(count: 2000, seed: 1)
        let reference = Fixture.people(count: 2000, seed: 2)
        let outcome = PatternMiningAttack.run(
            filters: try Fixture.encode(encoded, schema: schema), schema: schema,
            reference: Fixture.reference(reference, schema: schema))
        let guesses = try #require(outcome.fieldGuesses["given_name"])
        let right = Fixture.share(guesses, encoded.map(\.given))
        let baseline = Fixture.baseline(encoded.map(\.given), reference.map(\.given))
        #expect(right > 0.5, "recovered \(right), baseline \(baseline)")
        #expect(right > baseline + 0.3, "recovered \(right), baseline \(baseline)")
        #expect((outcome.notes["alignedFeatures"] ?? 0) > 20)
    }

    /// Two name fields in one key group share their positions in one record-level filter, with a date beside them:
    /// pattern mining still reads most given names and surnames.
    @Test func patternMiningDecodesARecordLevelFilter() throws {
        let schema = try Fixture.schema(
            fields: ["given_name", "surname", "dob"], bits: 1024,
            bloom: [
                #"{"field": "given_name", "tokens": {"type": "ngram", "n": 2}, "bitsPerToken": 6, "keyGroup": "names"}"#,
                #"{"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerToken": 6, "keyGroup": "names"}"#,
                #"{"field": "dob", "tokens": {"type": "ngram", "n": 1, "positional": true}, "bitsPerToken": 6}"#,
            ])
        let encoded = Fixture.people(count: 2000, seed: 3)
        let reference = Fixture.people(count: 2000, seed: 4)
        let outcome = PatternMiningAttack.run(
            filters: try Fixture.encode(encoded, schema: schema), schema: schema,
            reference: Fixture.reference(reference, schema: schema))
        let given = Fixture.share(try #require(outcome.fieldGuesses["given_name"]), encoded.map(\.given))
        let surnames = Fixture.share(try #require(outcome.fieldGuesses["surname"]), encoded.map(\.surname))
        #expect(given > 0.5, "given names \(given)")
        #expect(surnames > 0.5, "surnames \(surnames)")
    }

    /// Graph matching links most records to the right person when the reference is the encoded population
    /// (shuffled, and encoded by the attacker under its own key).
    @Test func graphMatchingLinksMostRecordsOfAFullOverlap() throws {
        let schema = try Fixture.schema(
            fields: ["given_name", "surname", "dob"], bits: 512,
            bloom: [
                #"{"field": "given_name", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}"#,
                #"{"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}"#,
                #"{"field": "dob", "tokens": {"type": "ngram", "n": 1, "positional": true}, "bitsPerFeature": 40}"#,
            ])
        let encoded = Fixture.people(count: 1000, seed: 5)
        var generator = Fixture.Generator(seed: 6)
        var order = Array(encoded.indices)
        for index in order.indices.reversed() { order.swapAt(index, generator.below(index + 1)) }
        let reference = order.map { encoded[$0] }
        let outcome = GraphMatchingAttack.run(
            filters: try Fixture.encode(encoded, schema: schema), schema: schema,
            reference: Fixture.reference(reference, schema: schema))
        var right = 0
        for (row, link) in outcome.recordLinks.enumerated() {
            if let link, reference[link] == encoded[row] { right += 1 }
        }
        let share = Double(right) / Double(encoded.count)
        #expect(share > 0.5, "linked \(share)")
        // The links' values are the field guesses.
        let surnames = Fixture.share(try #require(outcome.fieldGuesses["surname"]), encoded.map(\.surname))
        #expect(surnames >= share)
    }
}

/// Small people with fixed name lists and a fixed secret, tokenised with the project's own tokeniser.
enum Fixture {
    struct Person: Equatable {
        let given: String
        let surname: String
        let dob: String
    }

    /// Made-up names from syllables: many values sharing bigrams in many combinations, as real names do (a short
    /// list of whole names would make every bigram stand for one or two names).
    static let givenNames = madeUpNames(
        count: 300, syllables: ["an", "el", "ri", "jo", "ma", "li", "sa", "ta", "ke", "ro", "mi", "da", "le", "ne"],
        seed: 11)
    static let surnames = madeUpNames(
        count: 300, syllables: ["son", "ber", "ham", "wood", "ley", "ton", "car", "mor", "dal", "fin", "gra", "hol"],
        seed: 12)

    static func madeUpNames(count: Int, syllables: [String], seed: UInt64) -> [String] {
        var generator = Generator(seed: seed)
        var names: [String] = []
        var seen = Set<String>()
        while names.count < count {
            let length = 2 + generator.below(2)
            let name = (0..<length).map { _ in syllables[generator.below(syllables.count)] }.joined()
            if seen.insert(name).inserted { names.append(name) }
        }
        return names
    }

    /// A deterministic generator: ``SplitMix64`` from a spread seed, with the draws these tests need.
    struct Generator {
        var source: SplitMix64
        init(seed: UInt64) { source = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15) }
        mutating func next() -> UInt64 { source.next() }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        /// An index into a list of `count` drawn with weight 1/(rank + 2): a few common values, a long tail.
        mutating func zipf(_ count: Int) -> Int {
            let weights = (0..<count).map { 1.0 / Double($0 + 2) }
            var target = Double(next() >> 11) / Double(UInt64(1) << 53) * weights.reduce(0, +)
            for (index, weight) in weights.enumerated() {
                target -= weight
                if target <= 0 { return index }
            }
            return count - 1
        }
    }

    static func people(count: Int, seed: UInt64) -> [Person] {
        var generator = Generator(seed: seed)
        return (0..<count).map { _ in
            let year = 1930 + generator.below(75)
            let month = 1 + generator.below(12)
            let day = 1 + generator.below(28)
            return Person(
                given: givenNames[generator.zipf(givenNames.count)], surname: surnames[generator.zipf(surnames.count)],
                dob: "\(year)-\(month < 10 ? "0" : "")\(month)-\(day < 10 ? "0" : "")\(day)")
        }
    }

    static func schema(fields: [String], bits: Int, bloom: [String]) throws -> LinkageSchema {
        let kinds = ["given_name": "name", "surname": "name", "dob": "date"]
        let fieldList =
            (["{\"name\": \"id\", \"kind\": \"exact\"}"]
            + fields.map { "{\"name\": \"\($0)\", \"kind\": \"\(kinds[$0] ?? "exact")\"}" })
            .joined(separator: ", ")
        let text = """
            {"blindmatchSchema": 1, "name": "weak", "recordKey": "id", "fields": [\(fieldList)],
             "matchKeys": [{"name": "k", "parts": [{"field": "\(fields[0])"}]}],
             "bloom": {"bits": \(bits), "fields": [\(bloom.joined(separator: ", "))]}}
            """
        return try LinkageSchema(parsing: Array(text.utf8), source: "test schema")
    }

    static func values(_ person: Person, schema: LinkageSchema) -> [String] {
        schema.columns.map { column in
            switch column.name {
            case "given_name": return person.given
            case "surname": return person.surname
            case "dob": return person.dob
            default: return "x"
            }
        }
    }

    static func encode(_ people: [Person], schema: LinkageSchema) throws -> EncodedFilters {
        let secret = try LinkageSecret(importing: Array("a fixed test secret, not a real one".utf8))
        let context = try EncodingContext(schema: schema, secret: secret)
        var batch = RecordBatch(width: schema.columns.count)
        for (index, person) in people.enumerated() { batch.append(fields: values(person, schema: schema), line: index) }
        var rows: [UInt8] = []
        _ = try Tokeniser(context: context, workers: 2).encode(batch, into: &rows)
        let bits = schema.bloom?.filterBits ?? 0
        let offset = context.presenceBytes + schema.tokenKeys.count * EncodingContext.tokenBytes
        var words = [UInt64](repeating: 0, count: people.count * (bits / 64))
        for row in 0..<people.count {
            for position in 0..<bits
            where rows[row * context.rowWidth + offset + position / 8] & (0x80 >> UInt8(position % 8)) != 0 {
                words[row * (bits / 64) + position / 64] |= 1 << UInt64(position % 64)
            }
        }
        return EncodedFilters(filterBits: bits, count: people.count, words: words)
    }

    static func reference(_ people: [Person], schema: LinkageSchema) -> ReferencePopulation {
        ReferencePopulation(
            records: people.map { person in
                var record: [String: String] = [:]
                for (column, raw) in zip(schema.columns, values(person, schema: schema)) {
                    if case .normalised(let normaliser) = column.format,
                        case .value(let value) = normaliser.normalise(raw)
                    {
                        record[column.name] = value
                    }
                }
                return record
            })
    }

    static func share(_ guesses: [String?], _ truth: [String]) -> Double {
        Double(zip(guesses, truth).filter { $0.0 == $0.1 }.count) / Double(truth.count)
    }

    /// The share an attacker gets by always guessing the reference's most common value.
    static func baseline(_ truth: [String], _ reference: [String]) -> Double {
        var counts: [String: Int] = [:]
        for value in reference { counts[value, default: 0] += 1 }
        let common = counts.max { $0.value < $1.value }?.key
        return Double(truth.filter { $0 == common }.count) / Double(truth.count)
    }
}
