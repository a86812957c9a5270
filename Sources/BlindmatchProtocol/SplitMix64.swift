/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast, seeded generator whose output is fixed by its seed, for
/// draws that must repeat exactly on every machine (the decision model's samples of A × B, the assessment's
/// projections, the tests' random data).
///
/// Not for anything secret: its output is predictable from one draw. Token files shuffle rows with
/// ``SecureRandomGenerator``; test vectors use ``SeededGenerator``.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose output is fixed by `seed`: the first draw mixes `seed + 0x9E3779B97F4A7C15`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1) from the top 53 bits of one output.
    public mutating func nextUniform() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}
