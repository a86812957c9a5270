import BlindmatchProtocol

/// Seeded mutations of valid inputs, for property tests of the parsers that read what others send (token files, CSV,
/// JSON bodies, audit logs): the same seed gives the same inputs on every machine, so a failure is a test case.
///
/// A mutation is one to four of: flipping a bit, writing an edge byte (0, 0x7f, 0x80, 0xff, a quote, a comma, a line
/// break, a brace), writing an edge integer as text (0, -1, 2³¹, 2⁶³ − 1, 1e999 and the like) in place of a run of
/// digits, inserting or deleting a range, duplicating a range, truncating, or splicing in a token of `dictionary`.
public struct Mutator {
    private var source: SplitMix64

    public init(seed: UInt64) { source = SplitMix64(seed: seed) }

    /// The next draw of its ``SplitMix64``.
    public mutating func next() -> UInt64 { source.next() }

    /// A number in 0..<bound (bound > 0).
    public mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }

    static let edgeBytes: [UInt8] = [0, 0x7f, 0x80, 0xff, 0x22, 0x2c, 0x0a, 0x0d, 0x7b, 0x7d, 0x5b, 0x5d, 0x5c, 0x3a]
    static let edgeNumbers = [
        "0", "-1", "1", "255", "65536", "2147483647", "2147483648", "4294967296", "9223372036854775807",
        "-9223372036854775808", "18446744073709551616", "1e999", "-0", "0.5", "1e-999", "NaN",
    ].map { Array($0.utf8) }

    /// `input` changed by one to four random mutations.
    public mutating func mutate(_ input: [UInt8], dictionary: [[UInt8]] = []) -> [UInt8] {
        var bytes = input
        for _ in 0...below(4) {
            let position = below(bytes.count + 1)
            switch below(dictionary.isEmpty ? 9 : 10) {
            case 0 where !bytes.isEmpty:
                bytes[min(position, bytes.count - 1)] ^= 1 << UInt8(below(8))
            case 1 where !bytes.isEmpty:
                bytes[min(position, bytes.count - 1)] = Self.edgeBytes[below(Self.edgeBytes.count)]
            case 2:
                // An edge number in place of the run of digits at or after the position.
                var start = position
                while start < bytes.count && !(0x30...0x39).contains(bytes[start]) { start += 1 }
                var end = start
                while end < bytes.count && (0x30...0x39).contains(bytes[end]) { end += 1 }
                bytes.replaceSubrange(start..<end, with: Self.edgeNumbers[below(Self.edgeNumbers.count)])
            case 3:
                let random = (0..<(1 + below(8))).map { _ in UInt8(truncatingIfNeeded: next()) }
                bytes.insert(contentsOf: random, at: position)
            case 4 where !bytes.isEmpty:
                let start = min(position, bytes.count - 1)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
            case 5 where !bytes.isEmpty:
                let start = min(position, bytes.count - 1)
                let chunk = Array(bytes[start..<min(bytes.count, start + 1 + below(32))])
                bytes.insert(contentsOf: chunk, at: below(bytes.count + 1))
            case 6:
                bytes.removeSubrange(min(position, bytes.count)...)
            case 7 where !bytes.isEmpty:
                bytes[min(position, bytes.count - 1)] = UInt8(truncatingIfNeeded: next())
            case 8:
                bytes.insert(Self.edgeBytes[below(Self.edgeBytes.count)], at: position)
            case 9:
                bytes.insert(contentsOf: dictionary[below(dictionary.count)], at: position)
            default:
                break
            }
        }
        return bytes
    }
}
