/// How candidate pairs become the reported result (DESIGN "Engine").
public enum Solver: String, Sendable, CaseIterable {
    /// Greedy by score: each row of A and each row of B in at most one pair.
    case oneToOne = "one-to-one"
    /// Each bulk row (B) to its best watch-list row (A); one watch-list row may take several bulk rows.
    case manyToOne = "many-to-one"
    /// Every candidate pair.
    case all

    /// Applies the solver to candidates; the result is in preference order.
    public func solve(_ candidates: [MatchResult]) -> [MatchResult] {
        let ordered = candidates.sorted(by: MatchResult.isPreferred)
        switch self {
        case .all:
            return ordered
        case .manyToOne:
            var takenB = Set<UInt32>()
            return ordered.filter { takenB.insert($0.rowB).inserted }
        case .oneToOne:
            var takenA = Set<UInt32>()
            var takenB = Set<UInt32>()
            return ordered.filter { pair in
                guard !takenA.contains(pair.rowA), !takenB.contains(pair.rowB) else { return false }
                takenA.insert(pair.rowA)
                takenB.insert(pair.rowB)
                return true
            }
        }
    }
}
