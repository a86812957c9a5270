/// One reported pair: rows of A and B (token-file rows), the rule that matched, the rounded score and the status.
public struct MatchResult: Sendable, Equatable {
    /// What made the pair: a match key (by index in the cascade) or the Bloom-filter score.
    public enum Rule: Sendable, Equatable, Hashable {
        case matchKey(Int)
        case bloom
    }

    /// `match` at or above the threshold; `possible` in the clerical band below it, for review by the agencies.
    public enum Status: String, Sendable, Equatable {
        case match, possible
    }

    public let rowA: UInt32
    public let rowB: UInt32
    public let rule: Rule
    /// Rounded to three decimals; 1 for match-key rules.
    public let score: Double
    public let status: Status
    /// The decision model's match weight (log₂ odds), when the model chose the pair; the solvers then prefer higher
    /// weights.
    public var weight: Double? = nil

    /// Order of preference for the solvers: match keys in cascade order first, then higher scores, then rows.
    static func isPreferred(_ lhs: MatchResult, over rhs: MatchResult) -> Bool {
        if let left = lhs.weight, let right = rhs.weight, left != right { return left > right }
        switch (lhs.rule, rhs.rule) {
        case (.matchKey(let x), .matchKey(let y)) where x != y: return x < y
        case (.matchKey, .bloom): return true
        case (.bloom, .matchKey): return false
        default: break
        }
        if lhs.score != rhs.score { return lhs.score > rhs.score }
        if lhs.rowA != rhs.rowA { return lhs.rowA < rhs.rowA }
        return lhs.rowB < rhs.rowB
    }
}
