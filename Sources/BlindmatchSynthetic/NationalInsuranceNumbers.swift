/// Unique, valid-looking National Insurance numbers for synthetic people.
///
/// Person number p gets the NINO at index π(p) of the space of valid numbers, where π is a keyed permutation of
/// that space (a 4-round Feistel network on 30 bits with cycle walking), so numbers are unique, look random, and
/// need no coordination between chunks. Valid means valid by SPEC §3.6 (`Normaliser.normaliseNINO`): two prefix
/// letters (first not D F I Q U V; second not D F I O Q U V; not BG GB KN NK NT TN ZZ), six digits and a suffix
/// A–D. Real allocation rules are stricter (HMRC never issued some of these prefixes); a matcher must not rely on
/// them.
struct NationalInsuranceNumbers: Sendable {
    /// The allowed two-letter prefixes, in alphabetical order.
    static let prefixes: [String] = {
        let first = Array("ABCEGHJKLMNOPRSTWXYZ")
        let second = Array("ABCEGHJKLMNPRSTWXYZ")
        let unallocated: Set<String> = ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]
        return first.flatMap { a in second.map { b in String([a, b]) } }.filter { !unallocated.contains($0) }
    }()

    /// How many distinct numbers there are (suffixes aside): 373 prefixes × 10⁶.
    static let capacity = prefixes.count * 1_000_000

    private let roundKeys: [UInt64]

    init(seed: UInt64) {
        roundKeys = (0..<4).map { Mix.hash(seed, 0x4E49_4E4F_0000 + UInt64($0)) }
    }

    /// The number of person `person` (`0 ..< capacity`), with its suffix letter: `AB123456C`.
    func number(of person: Int) -> String {
        precondition(person >= 0 && person < Self.capacity, "person number outside the NINO space")
        let index = permute(UInt64(person))
        let digits = Int(index % 1_000_000)
        var text = Self.prefixes[Int(index / 1_000_000)]
        let digitText = String(digits)
        text += String(repeating: "0", count: 6 - digitText.count) + digitText
        text.append(Character(Unicode.Scalar(UInt8(ascii: "A") + UInt8(Mix.hash(UInt64(person), 0x5355) % 4))))
        return text
    }

    /// The Feistel permutation of `0 ..< 2³⁰`, walked until it lands inside the NINO space.
    private func permute(_ value: UInt64) -> UInt64 {
        var value = value
        repeat {
            var left = value >> 15
            var right = value & 0x7FFF
            for key in roundKeys {
                (left, right) = (right, left ^ (Mix.hash(right ^ key) & 0x7FFF))
            }
            value = left << 15 | right
        } while value >= UInt64(Self.capacity)
        return value
    }
}
