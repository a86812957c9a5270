import Testing

@testable import BlindmatchMatching

struct SolverTests {
    static func bloom(_ a: UInt32, _ b: UInt32, _ score: Double) -> MatchResult {
        MatchResult(rowA: a, rowB: b, rule: .bloom, score: score, status: .match)
    }

    static let candidates = [
        bloom(0, 0, 0.90), bloom(0, 1, 0.95), bloom(1, 1, 0.95), bloom(1, 2, 0.85),
        MatchResult(rowA: 2, rowB: 0, rule: .matchKey(1), score: 1, status: .match),
        bloom(2, 3, 0.85), bloom(3, 3, 0.85),
    ]

    @Test func oneToOneIsGreedyByRuleThenScoreThenRow() {
        let solved = Solver.oneToOne.solve(Self.candidates).map { [$0.rowA, $0.rowB] }
        // (2,0) by match key first; then 0.95 ties broken by row: (0,1); (1,1) blocked; (1,2) next; (2,3) blocked
        // since A2 is taken; (3,3).
        #expect(solved == [[2, 0], [0, 1], [1, 2], [3, 3]])
    }

    @Test func manyToOneGivesEachBulkRowItsBestWatchRow() {
        let solved = Solver.manyToOne.solve(Self.candidates).map { [$0.rowA, $0.rowB] }
        #expect(solved == [[2, 0], [0, 1], [1, 2], [2, 3]])
        // A watch row may take several bulk rows.
        #expect(solved.filter { $0[0] == 2 }.count == 2)
    }

    @Test func allKeepsEveryPairInPreferenceOrder() {
        let solved = Solver.all.solve(Self.candidates)
        #expect(solved.count == Self.candidates.count)
        #expect(solved.first?.rule == .matchKey(1))
    }
}
