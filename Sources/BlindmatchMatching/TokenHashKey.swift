/// The random key that places tokens in a join table's slots, new for every run (DESIGN "Engine").
///
/// Tokens are chosen by the parties: a party that holds the linkage secret, or that writes a token file by hand, can
/// give many rows tokens that share their first 8 bytes, or any other bits a fixed slotting function looks at, and
/// so make every lookup walk one long cluster (a hash-flooding attack: the exact and blocking stages become
/// quadratic). Slots are therefore chosen by a keyed hash whose key the parties never see.
///
/// Two steps, each keyed. First Thorup's vector multiply-shift ("High Speed Hashing for Integers and Strings",
/// §3.4) folds a token (x₀, x₁) of two 64-bit words into 64 bits, h(x) = ⌊((a₀ + a₁x₀ + a₂x₁) mod 2¹²⁸) / 2⁶⁴⌋ with
/// a₀, a₁, a₂ uniform 128-bit values: strongly universal, so two different tokens chosen before the key is drawn
/// fold to the same value with chance 2⁻⁶⁴. Then simple tabulation (eight random tables of 256 words, one per byte,
/// XORed) spreads the folded values over the slots: with it, linear probing takes O(1) expected probes per token for
/// any set of keys (Pătraşcu and Thorup, "The Power of Simple Tabulation Hashing", 2012), where multiply-shift alone
/// lets structured inputs such as arithmetic progressions form long clusters. About 16 KiB of tables, which stay in
/// the L1 cache; a few nanoseconds per token.
///
/// Not a MAC and not for anything that leaves the process: its only job is to make the slots unpredictable.
public struct TokenHashKey: Sendable, Equatable {
    let a0: UInt128
    let a1: UInt128
    let a2: UInt128
    /// Eight tables of 256 random words, one per byte of the folded value.
    let tables: [UInt64]

    /// A key from the system's random number generator: what every run uses.
    public static func random() -> TokenHashKey {
        var generator = SystemRandomNumberGenerator()
        return TokenHashKey(using: &generator)
    }

    /// A key drawn from `generator` (tests pass a seeded one to repeat a layout).
    public init<Generator: RandomNumberGenerator>(using generator: inout Generator) {
        func draw() -> UInt128 { UInt128(generator.next() as UInt64) << 64 | UInt128(generator.next() as UInt64) }
        a0 = draw()
        a1 = draw()
        a2 = draw()
        tables = (0..<8 * 256).map { _ in generator.next() }
    }

    /// The top `bits` bits (1–64) of the token's hash: its home slot in a table of 2^`bits` slots.
    @inline(__always)
    func slot(low: UInt64, high: UInt64, bits: Int) -> Int {
        let folded = UInt64(truncatingIfNeeded: (a0 &+ a1 &* UInt128(low) &+ a2 &* UInt128(high)) >> 64)
        let hash = tables.withUnsafeBufferPointer { table in
            var hash: UInt64 = 0
            for byte in 0..<8 { hash ^= table[byte << 8 | Int(truncatingIfNeeded: folded >> UInt64(byte << 3) & 0xff)] }
            return hash
        }
        return Int(truncatingIfNeeded: hash >> UInt64(64 - bits))
    }
}
