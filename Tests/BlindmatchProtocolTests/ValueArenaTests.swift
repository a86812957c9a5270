import BlindmatchTestSupport
import Testing

@testable import BlindmatchProtocol

/// The tokeniser's byte paths against the string functions they stand in for (the slow references).
struct ValueArenaTests {
    /// Fragments of values: names and nicknames, spaces, CR LF (one character), accents composed and combining,
    /// and characters outside ASCII.
    private static let fragments = [
        "bob", "robert", "Bob", "smith", "jo", " ", "  ", "lee", "1980-03-05", "-", "a", "\r\n", "\r", "\n", "é",
        "e\u{301}", "ß", "ﬁ", "\u{1F600}", "x", "mcdonald", "\u{212A}", "0",
    ]

    private static func randomValue(using generator: inout SplitMix64) -> String {
        var value = ""
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            value += fragments.randomElement(using: &generator) ?? ""
        }
        return value
    }

    @Test(
        "the arena's transforms agree with RecordEncoder.transform",
        arguments: [
            MatchKeyPart.Transform.value, .initial, .first, .canonical, .soundex, .year,
        ])
    func transformsAgree(_ transform: MatchKeyPart.Transform) {
        var generator = SplitMix64(seed: 0x5EED_0003)
        let arena = ValueArena(capacity: 8)
        for _ in 0..<3_000 {
            let value = Self.randomValue(using: &generator)
            arena.removeAll()
            let piece = arena.piece(of: arena.append(value), transform)
            let expected = RecordEncoder.transform(value, transform)
            #expect(piece.isPresent == (expected != nil), "\(transform) \(value.debugDescription)")
            if let expected, piece.isPresent {
                #expect(Array(arena[piece]) == Array(expected.utf8), "\(transform) \(value.debugDescription)")
            }
        }
    }

    @Test("normalising bytes into a buffer agrees with normalising a string", arguments: FieldKind.allCases)
    func normalisingBytesAgrees(_ kind: FieldKind) {
        var generator = SplitMix64(seed: 0x5EED_0004)
        let normaliser = Normaliser(kind: kind)
        let raws = ["  Mr Bob O'Brien ", "n/a", "05/03/1980", "sw1a1aa", "ab 12 34 56 c", "Male", "", "é", "Na"]
        for round in 0..<3_000 {
            var raw = raws.randomElement(using: &generator) ?? ""
            if round % 2 == 1 { raw += Self.randomValue(using: &generator) }
            let expected = normaliser.normalise(raw)
            let bytes = Array(raw.utf8)
            let capacity = Normaliser.outputCapacity(forInput: bytes.count)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { output in
                let written = bytes.withUnsafeBufferPointer { normaliser.normalise($0, into: output) }
                switch written {
                case nil:
                    #expect(bytes.contains { $0 >= 0x80 }, "only non-ASCII input leaves the byte path")
                case .value(let count)?:
                    let value = String(decoding: output[0..<count], as: UTF8.self)
                    #expect(expected == .value(value), "\(kind) \(raw.debugDescription)")
                case .missing?:
                    #expect(expected == .missing, "\(kind) \(raw.debugDescription)")
                case .invalid?:
                    #expect(expected == .invalid, "\(kind) \(raw.debugDescription)")
                }
            }
        }
    }
}
