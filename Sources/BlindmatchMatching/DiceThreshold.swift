/// A Dice threshold as an exact fraction p/q, so "score ≥ threshold" is decided in integers:
/// 2·|A∩B| / (|A| + |B|) ≥ p/q  ⇔  2·q·|A∩B| ≥ p·(|A| + |B|). A pair exactly at the threshold is kept.
public struct DiceThreshold: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let numerator: UInt64
    public let denominator: UInt64

    /// A threshold from decimal text such as "0.8" or "0.875" (at most 6 decimals), between 0 and 1.
    public init(_ text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let whole = UInt64(parts[0].isEmpty ? "0" : parts[0])
        else { throw MatchingError(.invalidThreshold, "\"\(text)\" is not a threshold between 0 and 1") }
        guard whole <= 1 else {
            throw MatchingError(.invalidThreshold, "\"\(text)\": a threshold must be above 0 and at most 1")
        }
        let decimals = parts.count == 2 ? String(parts[1]) : ""
        guard decimals.count <= 6, decimals.isEmpty || UInt64(decimals) != nil else {
            throw MatchingError(.invalidThreshold, "\"\(text)\": at most 6 decimals")
        }
        var denominator: UInt64 = 1
        for _ in decimals { denominator *= 10 }
        let numerator = whole * denominator + (UInt64(decimals) ?? 0)
        guard numerator <= denominator, numerator > 0 else {
            throw MatchingError(.invalidThreshold, "\"\(text)\": a threshold must be above 0 and at most 1")
        }
        self.init(numerator: numerator, denominator: denominator)
    }

    /// A threshold of `numerator / denominator`, which must lie in (0, 1] (the kernel divides by the denominator).
    public init(numerator: UInt64, denominator: UInt64) {
        precondition(numerator > 0 && numerator <= denominator, "a Dice threshold lies in (0, 1]")
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Whether a pair with `common` shared bits and these popcounts reaches the threshold. Filters with no bit in
    /// common never do (two empty filters have Dice 0, not 0/0).
    @inline(__always)
    public func isReached(common: UInt32, popcountA: UInt32, popcountB: UInt32) -> Bool {
        common > 0 && 2 * denominator * UInt64(common) >= numerator * (UInt64(popcountA) + UInt64(popcountB))
    }

    /// The popcounts of B that could reach the threshold with a row of popcount `a`: Dice ≤ 2·min/(sum).
    public func admissiblePopcounts(for a: UInt32) -> ClosedRange<UInt32> {
        let p = numerator
        let q = denominator
        let popcount = UInt64(a)
        let lower = (p * popcount + (2 * q - p) - 1) / (2 * q - p)
        let upper = p == 0 ? UInt64(UInt32.max) : (2 * q - p) * popcount / p
        return UInt32(min(lower, UInt64(UInt32.max)))...UInt32(min(max(upper, lower), UInt64(UInt32.max)))
    }

    public var description: String { "\(Double(numerator) / Double(denominator))" }

    public static func < (lhs: DiceThreshold, rhs: DiceThreshold) -> Bool {
        lhs.numerator * rhs.denominator < rhs.numerator * lhs.denominator
    }
}

/// The Dice coefficient rounded to three decimals, for output (scores are never handed out unrounded).
public func roundedDice(common: UInt32, popcountA: UInt32, popcountB: UInt32) -> Double {
    let total = Double(popcountA) + Double(popcountB)
    guard total > 0 else { return 0 }
    return (2000 * Double(common) / total).rounded() / 1000
}
