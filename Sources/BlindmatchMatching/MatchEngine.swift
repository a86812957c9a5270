import BlindmatchProtocol

/// The matcher: the exact stage, then the fuzzy stage on Bloom filters, then a solver (DESIGN "Engine").
///
/// Runs on token files only; it never sees a raw value or the linkage secret.
public struct MatchEngine: Sendable {
    /// What a run is asked to do.
    public struct Settings: Sendable {
        /// Pairs at or above this Dice score are matches.
        public var threshold: DiceThreshold
        /// Pairs from here up to the threshold are "possible" (the clerical band); nil for no band.
        public var reviewFrom: DiceThreshold?
        public var solver: Solver
        public var threads: Int
        /// Match keys (by cascade index) that veto a pair when both rows have a token and the tokens differ, e.g.
        /// two different National Insurance numbers: negative evidence that outweighs similar names.
        public var vetoKeys: [Int]

        public init(
            threshold: DiceThreshold, reviewFrom: DiceThreshold? = nil, solver: Solver, threads: Int,
            vetoKeys: [Int] = []
        ) {
            self.threshold = threshold
            self.reviewFrom = reviewFrom
            self.solver = solver
            self.threads = threads
            self.vetoKeys = vetoKeys
        }
    }

    /// What a run did.
    public struct Report: Sendable {
        public var exactPairs = 0
        public var fuzzyPairs = 0
        public var comparisons = 0
        public var fuzzySeconds = 0.0
        public var exactSeconds = 0.0
        public var pairsByRule: [MatchResult.Rule: Int] = [:]
        /// Candidate pairs dropped because a veto key disagreed.
        public var vetoed = 0
    }

    public let settings: Settings

    public init(settings: Settings) throws {
        if let reviewFrom = settings.reviewFrom, !(reviewFrom < settings.threshold) {
            throw MatchingError(.invalidThreshold, "the review band must start below the match threshold")
        }
        self.settings = settings
    }

    /// Matches watch list `a` against bulk data `b`.
    public func run(
        _ a: TokenFile, _ b: TokenFile, progress: (@Sendable (String, Double) -> Void)? = nil
    ) throws -> ([MatchResult], Report) {
        do {
            try a.checkCompatible(with: b)
        } catch let error as ProtocolError {
            throw MatchingError(.invalidInput, error.reason)
        }
        var report = Report()
        var candidates: [MatchResult] = []
        var clock = ContinuousClock.now
        let exact = ExactJoin.pairs(between: a, and: b)
        report.exactPairs = exact.count
        report.exactSeconds = Self.seconds(since: clock)
        var joined = Set<UInt64>(minimumCapacity: exact.count)
        for pair in exact {
            joined.insert(UInt64(pair.rowA) << 32 | UInt64(pair.rowB))
            candidates.append(
                MatchResult(rowA: pair.rowA, rowB: pair.rowB, rule: .matchKey(pair.key), score: 1, status: .match))
        }
        if a.header.filterBits > 0 {
            clock = ContinuousClock.now
            let matrixA = try BitMatrix(file: a)
            let matrixB = try BitMatrix(file: b)
            let lowest = settings.reviewFrom ?? settings.threshold
            let (pairs, statistics) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: lowest, threads: settings.threads,
                progress: progress.map { report in { @Sendable fraction in report("comparing filters", fraction) } })
            report.comparisons = statistics.comparisons
            for pair in pairs where !joined.contains(UInt64(pair.rowA) << 32 | UInt64(pair.rowB)) {
                let status: MatchResult.Status =
                    settings.threshold.isReached(
                        common: pair.common, popcountA: pair.popcountA, popcountB: pair.popcountB) ? .match : .possible
                candidates.append(
                    MatchResult(rowA: pair.rowA, rowB: pair.rowB, rule: .bloom, score: pair.score, status: status))
                report.fuzzyPairs += 1
            }
            report.fuzzySeconds = Self.seconds(since: clock)
        }
        if !settings.vetoKeys.isEmpty {
            let before = candidates.count
            candidates.removeAll { candidate in
                settings.vetoKeys.contains { key in
                    candidate.rule != .matchKey(key)
                        && Self.disagree(a, Int(candidate.rowA), b, Int(candidate.rowB), column: key)
                }
            }
            report.vetoed = before - candidates.count
        }
        let solved = settings.solver.solve(candidates)
        for result in solved { report.pairsByRule[result.rule, default: 0] += 1 }
        return (solved, report)
    }

    /// Both rows have a token in `column` and the tokens differ.
    static func disagree(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int, column: Int) -> Bool {
        a.hasToken(row: rowA, key: column) && b.hasToken(row: rowB, key: column)
            && !BlockingJoin.sharesToken(a, rowA, b, rowB, columns: [column])
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
