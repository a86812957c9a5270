extension MatchResult {
    /// A pair as the engine makes it, for measuring what consumes pairs (`blindmatch bench store`).
    public static func make(rowA: UInt32, rowB: UInt32, rule: Rule, score: Double, status: Status) -> MatchResult {
        MatchResult(rowA: rowA, rowB: rowB, rule: rule, score: score, status: status)
    }
}

extension MatchEngine.Report {
    /// A report of nothing counted, for measuring what consumes reports (`blindmatch bench store`).
    public static var empty: Self { Self() }
}
