import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

/// Protocol/vectors/normalisation.json, as written.
private struct NormalisationVectors: Decodable {
    struct Group: Decodable {
        let kind: String
        let dateOrder: DateOrder
        let tests: [Test]
    }

    struct Test: Decodable {
        let tcId: Int
        let comment: String
        let input: String
        let result: String
        let expected: String?
    }

    let algorithm: String
    let version: Int
    let testGroups: [Group]

    static let path = "Protocol/vectors/normalisation.json"

    static func load() throws -> NormalisationVectors {
        try RepositoryFile.decode(NormalisationVectors.self, from: path)
    }
}

/// One vector with its group's settings, as a test argument.
struct NormalisationCase: Sendable, CustomTestStringConvertible {
    let tcId: Int
    let kind: String
    let dateOrder: DateOrder
    let comment: String
    let input: String
    let result: String
    let expected: String?

    var testDescription: String { "tcId \(tcId) (\(kind)): \(comment)" }

    /// The outcome the vector asks for.
    var expectedValue: NormalisedValue {
        switch result {
        case "valid": .value(expected ?? "")
        case "missing": .missing
        default: .invalid
        }
    }

    static func all() throws -> [NormalisationCase] {
        try NormalisationVectors.load().testGroups.flatMap { group in
            group.tests.map {
                NormalisationCase(
                    tcId: $0.tcId, kind: group.kind, dateOrder: group.dateOrder, comment: $0.comment,
                    input: $0.input, result: $0.result, expected: $0.expected)
            }
        }
    }

    static func fieldCases() throws -> [NormalisationCase] { try all().filter { $0.kind != "soundex" } }
    static func soundexCases() throws -> [NormalisationCase] { try all().filter { $0.kind == "soundex" } }
}

@Suite("Normalisation vectors")
struct NormalisationVectorTests {
    @Test("the vectors file is well formed")
    func vectorsFileIsWellFormed() throws {
        let vectors = try NormalisationVectors.load()
        #expect(vectors.algorithm == "blindmatch normalisation")
        #expect(vectors.version == 1)
        let cases = try NormalisationCase.all()
        #expect(Set(cases.map(\.tcId)).count == cases.count, "tcIds are unique")
        for test in cases {
            #expect(["valid", "missing", "invalid"].contains(test.result), "tcId \(test.tcId)")
            #expect((test.result == "valid") == (test.expected != nil), "tcId \(test.tcId)")
        }
        let kinds = FieldKind.allCases.map(\.rawValue) + ["soundex"]
        #expect(Set(vectors.testGroups.map(\.kind)) == Set(kinds))
        for kind in kinds {
            #expect(cases.filter { $0.kind == kind }.count >= 15, "\(kind) has at least 15 vectors")
        }
        #expect(vectors.testGroups.contains { $0.kind == "date" && $0.dateOrder == .monthFirst })
    }

    @Test("each field vector gives its expected outcome", arguments: try NormalisationCase.fieldCases())
    func fieldVector(_ test: NormalisationCase) throws {
        let kind = try #require(FieldKind(rawValue: test.kind))
        let normaliser = Normaliser(kind: kind, dateOrder: test.dateOrder)
        #expect(normaliser.normalise(test.input) == test.expectedValue)
        #expect(normaliser.normalise(test.input[...]) == test.expectedValue, "Substring entry point")
        #expect(normaliser.normaliseUnicode(test.input[...]) == test.expectedValue, "the slow Unicode path")
        if case .value(let output) = test.expectedValue {
            #expect(normaliser.normalise(output) == .value(output), "idempotent")
        }
    }

    @Test("each soundex vector gives its expected code", arguments: try NormalisationCase.soundexCases())
    func soundexVector(_ test: NormalisationCase) {
        #expect(Phonetic.soundex(test.input) == test.expected)
    }
}

@Suite("Normalisation properties")
struct NormalisationPropertyTests {
    /// Fragments that random ASCII values are built from: enough structure to reach every rule, and raw bytes for
    /// everything else.
    private static let fragments: [String] = [
        "a", "B", "z", "Mr", "mrs", "DR", "prof", "jr", "na", "N/A", "none", "null", "unknown", "-", "?", "'", "`",
        " ", "  ", "\t", "\n", ".", ",", "/", ":", "T", "Z", "+", "0", "1", "2", "9", "05", "12", "13", "29", "31",
        "1980", "2000", "1900", "19800305", "Mar", "march", "Sept", "SW1A", "1AA", "M1", "GIR", "0AA", "AB", "123456",
        "C", "D", "O'Brien", "Smith", "male", "F", "x", "not known",
    ]

    /// A random ASCII value: fragments and single bytes 0...127.
    private static func randomASCII(using generator: inout SplitMix64) -> String {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...6, using: &generator) {
            if Int.random(in: 0..<4, using: &generator) == 0 {
                bytes.append(UInt8.random(in: 0...127, using: &generator))
            } else {
                bytes.append(contentsOf: fragments.randomElement(using: &generator)?.utf8 ?? "".utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let normalisers: [Normaliser] =
        FieldKind.allCases.map { Normaliser(kind: $0) } + [Normaliser(kind: .date, dateOrder: .monthFirst)]

    @Test("the ASCII fast path agrees with the Unicode path on random ASCII", arguments: normalisers)
    func fastPathAgreesWithUnicodePath(_ normaliser: Normaliser) {
        var generator = SplitMix64(seed: 0x5EED_0001)
        for _ in 0..<3_000 {
            let raw = Self.randomASCII(using: &generator)
            let fast = normaliser.normalise(raw)
            let slow = normaliser.normaliseUnicode(raw[...])
            #expect(fast == slow, "\(normaliser.kind) \(raw.debugDescription)")
        }
    }

    @Test("the two paths agree on every ASCII byte around and inside a value", arguments: normalisers)
    func pathsAgreeOnEveryByte(_ normaliser: Normaliser) {
        for byte in UInt8(0)..<0x80 {
            let character = String(decoding: [byte], as: UTF8.self)
            for raw in [character, "\(character)a\(character)", "M\(character)1\(character)1AE", "O\(character)Neill"] {
                let slow = normaliser.normaliseUnicode(raw[...])
                #expect(normaliser.normalise(raw) == slow, "\(normaliser.kind) \(raw.debugDescription)")
            }
        }
    }

    @Test("normalising an output again gives the same output", arguments: normalisers)
    func idempotent(_ normaliser: Normaliser) {
        var generator = SplitMix64(seed: 0x5EED_0002)
        let unicode = ["é", "Ø", "ß", "ẞ", "ﬁ", "Ł", "’", "´", "\u{A0}", "\u{301}", "Ｍ", "１", "ǅ", "İ", "·", "Æ", "и"]
        for round in 0..<3_000 {
            var raw = Self.randomASCII(using: &generator)
            if round % 2 == 1 {
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    let offset = Int.random(in: 0...raw.count, using: &generator)
                    let index = raw.index(raw.startIndex, offsetBy: offset)
                    raw.insert(contentsOf: unicode.randomElement(using: &generator) ?? "", at: index)
                }
            }
            guard case .value(let output) = normaliser.normalise(raw) else { continue }
            #expect(normaliser.normalise(output) == .value(output), "\(normaliser.kind) \(raw.debugDescription)")
        }
    }

    @Test("name and text outputs hold only a–z and single spaces")
    func nameAlphabet() {
        var generator = SplitMix64(seed: 0x5EED_0003)
        for kind in [FieldKind.name, .text] {
            let normaliser = Normaliser(kind: kind)
            for _ in 0..<3_000 {
                let raw = Self.randomASCII(using: &generator)
                guard case .value(let output) = normaliser.normalise(raw) else { continue }
                let bytes = Array(output.utf8)
                let isWellFormed =
                    bytes.allSatisfy { $0 == 0x20 || (0x61...0x7A).contains($0) } && bytes.first != 0x20
                    && bytes.last != 0x20 && !output.contains("  ")
                #expect(isWellFormed, "\(kind) \(raw.debugDescription) → \(output.debugDescription)")
            }
        }
    }

    @Test("soundex codes are a letter and three digits, and depend only on the letters")
    func soundexShape() {
        var generator = SplitMix64(seed: 0x5EED_0004)
        let normaliser = Normaliser(kind: .name)
        for _ in 0..<3_000 {
            let raw = Self.randomASCII(using: &generator)
            guard case .value(let name) = normaliser.normalise(raw) else { continue }
            let code = Phonetic.soundex(name)
            let bytes = Array((code ?? "").utf8)
            let isWellFormed =
                bytes.count == 4 && (0x41...0x5A).contains(bytes[0])
                && bytes.dropFirst().allSatisfy { (0x30...0x36).contains($0) }
            #expect(isWellFormed, "\(name.debugDescription) → \(code ?? "nil")")
            #expect(Phonetic.soundex(name.replacingOccurrences(of: " ", with: "")) == code)
        }
    }
}
