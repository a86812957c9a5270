import BlindmatchProtocol

/// A fast generator (xoshiro256**) for synthetic data, seeded through ``SeededGenerator``.
///
/// Each independent stream of a synthetic population (the plan, one chunk of the watch list, one chunk of the bulk
/// file) is named, and its state is the first four words of `SeededGenerator("blindmatch synth 1 <seed> <name>")`.
/// Chunks therefore do not depend on each other or on the number of threads, and the same seed gives the same bytes
/// on any machine. `SeededGenerator` (HMAC-SHA256 per 32 bytes) would be too slow to draw the ~100 numbers each
/// record needs; xoshiro256** is fast and statistically sound. Never use it for anything secret: it is predictable.
struct SyntheticRandom: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// The stream called `name` of the population with seed `seed`.
    init(seed: UInt64, stream name: String) {
        var source = SeededGenerator(seed: Array("blindmatch synth 1 \(seed) \(name)".utf8))
        state = (source.next(), source.next(), source.next(), source.next())
        if state == (0, 0, 0, 0) { state.0 = 0x9E37_79B9_7F4A_7C15 }  // the one state xoshiro cannot leave
    }

    mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    /// A value in `0..<bound` (multiply-shift; the bias, below bound / 2⁶⁴, is immaterial here).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A value in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.count)
    }

    /// True with probability `chance`.
    mutating func happens(_ chance: Probability) -> Bool {
        next() >> 32 < chance.threshold
    }

    /// An element of a non-empty array, uniformly.
    mutating func element<T>(of values: [T]) -> T {
        values[below(values.count)]
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 {
        (value << count) | (value >> (64 - count))
    }
}

/// A probability held as a 32-bit threshold, so that every decision is integer arithmetic and the same everywhere.
struct Probability: Sendable, Equatable {
    /// A random 32-bit value below this happens: 0 never, 2³² always.
    let threshold: UInt64

    init(_ rate: Double) {
        threshold = UInt64((min(max(rate, 0), 1) * 4_294_967_296).rounded())
    }
}

/// Stateless mixing of integers (the SplitMix64 finaliser), for attributes derived from a person's number.
enum Mix {
    static func hash(_ value: UInt64) -> UInt64 {
        var value = value &+ 0x9E37_79B9_7F4A_7C15
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

    static func hash(_ first: UInt64, _ second: UInt64) -> UInt64 {
        hash(hash(first) ^ second)
    }
}

/// Samples indices `0..<count` in proportion to integer weights: cumulative sums and a binary search.
struct WeightedTable: Sendable {
    private let cumulative: [UInt64]

    var count: Int { cumulative.count }
    var total: UInt64 { cumulative.last ?? 0 }

    init(weights: [UInt64]) {
        var sum: UInt64 = 0
        cumulative = weights.map {
            sum += $0
            return sum
        }
        precondition(sum > 0, "a weighted table needs a positive weight")
    }

    /// Zipf–Mandelbrot weights: the item of rank r (from 1) has weight 1 / (r + offset). A larger offset flattens
    /// the head, so that with a short list the commonest item is not implausibly common.
    init(zipfCount count: Int, offset: Double) {
        self.init(weights: (0..<count).map { UInt64(1e12 / (Double($0 + 1) + offset)) })
    }

    /// An index drawn from `random`.
    func sample(_ random: inout SyntheticRandom) -> Int {
        index(for: random.next().multipliedFullWidth(by: total).high)
    }

    /// An index fixed by a hash value, for attributes that must be the same every time they are derived.
    func sample(hash: UInt64) -> Int {
        index(for: hash.multipliedFullWidth(by: total).high)
    }

    /// The first index whose cumulative weight exceeds `point` (`0 ≤ point < total`).
    private func index(for point: UInt64) -> Int {
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > point { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
