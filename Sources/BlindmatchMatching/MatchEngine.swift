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
        /// A veto is overruled when at least this many match keys agree (a mistyped identifier on an otherwise
        /// identical record is not another person). Keys share fields, so the count must exceed what a namesake
        /// with the same names and date of birth reaches (three keys in the example schema) without an address.
        public var vetoOverruledBy: Int = 4
        /// Compare only pairs that share a blocking-key token, when the files have blocking keys (SPEC §4.5);
        /// false compares every pair the popcount bounds allow (brute force).
        public var useBlocking = true
        /// When set and cancelled, the run stops early and throws `MatchingError.cancelled`; its budgets bound the
        /// pairs the run joins, compares and keeps.
        public var cancellation: RunCancellation?
        /// The key that slots tokens in the join tables; nil draws a new random one for each run, so that no upload
        /// can choose tokens that collide (``TokenHashKey``). Results do not depend on it.
        public var hashKey: TokenHashKey?
        /// Let the fitted decision model choose which pairs match (`threshold`, `reviewFrom` and the veto keys are
        /// then not used); when false the Dice threshold decides. Experimental: it reaches more recall and F1 than
        /// the fixed threshold but less precision, short of issue 12's targets (docs/decision-model.md).
        public var chooseThreshold = false
        /// Fit the decision model and report its estimates (``Report/linkage``) even when the Dice threshold
        /// decides. Costs a sampling pass and the candidates at a lower Dice floor (docs/decision-model.md).
        public var fitsModel = false
        /// The fuzzy candidates the model may consider, on average per watch-list row: sets the candidate floor.
        public var candidatesPerRow = 40

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
        /// Join-table slots the exact stage looked at (about one per token, whatever the tokens).
        public var exactProbes = 0
        /// Whether the fuzzy stage used blocking keys (rather than every pair).
        public var blocked = false
        public var fuzzySeconds = 0.0
        public var exactSeconds = 0.0
        public var pairsByRule: [MatchResult.Rule: Int] = [:]
        /// Candidate pairs dropped because a veto key disagreed.
        public var vetoed = 0
        /// The fitted model, its threshold and its estimates of precision and recall; nil when no model was fitted.
        public var linkage: LinkageReport?
        public var modelSeconds = 0.0
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
        try settings.cancellation?.check()
        let hashKey = settings.hashKey ?? .random()
        let (exact, exactStatistics) = try ExactJoin.pairs(
            between: a, and: b, hashKey: hashKey, cancellation: settings.cancellation)
        report.exactPairs = exact.count
        report.exactProbes = exactStatistics.probes
        report.exactSeconds = Self.seconds(since: clock)
        var joined = Set<UInt64>(minimumCapacity: exact.count)
        for pair in exact {
            joined.insert(UInt64(pair.rowA) << 32 | UInt64(pair.rowB))
            candidates.append(
                MatchResult(rowA: pair.rowA, rowB: pair.rowB, rule: .matchKey(pair.key), score: 1, status: .match))
        }
        let fitsModel = (settings.fitsModel || settings.chooseThreshold) && a.header.filterBits > 0
        var fuzzy: [ScoredPair] = []
        var candidateFloor = 1.0
        var floorSample: [ScoredPair] = []
        let blockingColumns = Array(a.header.matchKeys.count..<a.header.tokenKeys.count)
        let matchColumns = Array(0..<a.header.matchKeys.count)
        if a.header.filterBits > 0 {
            clock = ContinuousClock.now
            let lowest = settings.reviewFrom ?? settings.threshold
            let reportFraction = progress.map { report in
                { @Sendable fraction in report("comparing filters", fraction) }
            }
            let blocked =
                settings.useBlocking && !blockingColumns.isEmpty && BlockingJoin.canReadInPlace(a)
                && BlockingJoin.canReadInPlace(b)
            var floor = lowest
            if fitsModel {
                (candidateFloor, floorSample) = try CandidateFloor.choose(
                    a, b, blockingColumns: blocked ? blockingColumns : nil, matchColumns: matchColumns,
                    budget: max(10_000, settings.candidatesPerRow * a.recordCount), threads: settings.threads,
                    cancellation: settings.cancellation)
                let chosen = DiceThreshold(numerator: UInt64((candidateFloor * 100).rounded()), denominator: 100)
                if settings.chooseThreshold || chosen < floor { floor = chosen }
                candidateFloor = Double(floor.numerator) / Double(floor.denominator)
            }
            if blocked {
                (fuzzy, report.comparisons) = try BlockingJoin.candidates(
                    between: a, and: b, blockingColumns: blockingColumns, matchColumns: matchColumns,
                    threshold: floor, threads: settings.threads, hashKey: hashKey, cancellation: settings.cancellation,
                    progress: reportFraction)
                report.blocked = true
            } else {
                let (found, statistics) = try DiceKernel.candidates(
                    between: try BitMatrix(file: a), and: try BitMatrix(file: b), threshold: floor,
                    threads: settings.threads, cancellation: settings.cancellation, progress: reportFraction)
                fuzzy = found
                report.comparisons = statistics.comparisons
            }
            fuzzy.removeAll { joined.contains(UInt64($0.rowA) << 32 | UInt64($0.rowB)) }
            report.fuzzyPairs = fuzzy.count
            report.fuzzySeconds = Self.seconds(since: clock)
        }
        try settings.cancellation?.check()
        var model: DecisionModel?
        if fitsModel {
            clock = ContinuousClock.now
            // The population: every pair of A × B. The pairs that share a blocking key but fall below the floor enter
            // from a sample of the blocking join (the floor's own, with blocking); the rest are one aggregate in which
            // no key agrees: never compared with blocking, below the floor without.
            let population = Double(a.recordCount) * Double(b.recordCount)
            var belowFloor = DecisionModel.BelowFloor.none
            var uncompared = population - Double(exact.count) - Double(fuzzy.count)
            let sampleStride = max(1, a.recordCount / 512)
            if !report.blocked && !blockingColumns.isEmpty && BlockingJoin.canReadInPlace(a)
                && BlockingJoin.canReadInPlace(b)
            {
                (floorSample, _) = try BlockingJoin.candidates(
                    between: a, and: b, blockingColumns: blockingColumns, matchColumns: matchColumns,
                    threshold: DiceThreshold(numerator: 1, denominator: 100), threads: settings.threads,
                    rowStrideA: sampleStride, cancellation: settings.cancellation)
            }
            let below = floorSample.filter { $0.score < candidateFloor }
            if report.blocked {
                let belowCount = Double(max(report.comparisons - fuzzy.count, 0))
                if !below.isEmpty { belowFloor = .init(pairs: below, scale: belowCount / Double(below.count)) }
                uncompared = population - Double(exact.count) - Double(report.comparisons)
            } else if !below.isEmpty {
                belowFloor = .init(pairs: below, scale: Double(sampleStride))
                uncompared -= Double(below.count * sampleStride)
            }
            model = DecisionModel(
                a, b, exact: exact, fuzzy: fuzzy, floor: candidateFloor, belowFloor: belowFloor,
                uncompared: uncompared, blocked: report.blocked, threads: settings.threads)
            report.modelSeconds = Self.seconds(since: clock)
        }
        if settings.chooseThreshold, let model {
            let threshold = LinkageReport.bestThreshold(weights: model.weights, outside: model.expectedOutside)
            let chosen = model.results(atOrAbove: threshold)
            let solved = settings.solver.solve(chosen.map(\.result))
            let reported = Set(solved.map(Self.pairKey))
            let indices = chosen.filter { reported.contains(Self.pairKey($0.result)) }.map(\.index)
            report.linkage = model.report(threshold: threshold, chosen: true, diceThreshold: nil, reported: indices)
            report.fuzzyPairs = solved.filter { $0.rule == .bloom }.count
            for result in solved { report.pairsByRule[result.rule, default: 0] += 1 }
            return (solved, report)
        }
        let threshold = settings.threshold
        let lowest = settings.reviewFrom ?? settings.threshold
        var fuzzyKept = 0
        for pair in fuzzy
        where lowest.isReached(common: pair.common, popcountA: pair.popcountA, popcountB: pair.popcountB) {
            let status: MatchResult.Status =
                threshold.isReached(common: pair.common, popcountA: pair.popcountA, popcountB: pair.popcountB)
                ? .match : .possible
            candidates.append(
                MatchResult(rowA: pair.rowA, rowB: pair.rowB, rule: .bloom, score: pair.score, status: status))
            fuzzyKept += 1
        }
        report.fuzzyPairs = fuzzyKept
        try settings.cancellation?.check()
        var solved = settings.solver.solve(candidates)
        if !settings.vetoKeys.isEmpty {
            let consistent = Self.keepConsistentIdentities(solved, a, b, vetoKeys: settings.vetoKeys)
            if consistent.count < solved.count {
                // Solve again without the dropped pairs, so a bulk row that lost its pair can take its next best.
                let droppedPairs = Set(solved.map(Self.pairKey)).subtracting(consistent.map(Self.pairKey))
                report.vetoed += droppedPairs.count
                candidates.removeAll { droppedPairs.contains(Self.pairKey($0)) }
                solved = Self.keepConsistentIdentities(
                    settings.solver.solve(candidates), a, b, vetoKeys: settings.vetoKeys)
            }
        }
        for result in solved { report.pairsByRule[result.rule, default: 0] += 1 }
        if let model {
            let reported = solved.filter { $0.status == .match }.compactMap { model.index[Self.pairKey($0)] }
            report.linkage = model.report(
                threshold: nil, chosen: false,
                diceThreshold: Double(threshold.numerator) / Double(threshold.denominator), reported: reported)
        }
        return (solved, report)
    }

    /// Two bulk rows with different identifiers (veto-key tokens) cannot both be the same watch-list person: of the
    /// rows matched to one watch-list row, those whose identifier differs from the best-supported row's (most match
    /// keys in agreement, then score) are dropped.
    static func keepConsistentIdentities(
        _ results: [MatchResult], _ a: TokenFile, _ b: TokenFile, vetoKeys: [Int]
    ) -> [MatchResult] {
        var byWatchRow: [UInt32: [Int]] = [:]
        for (index, result) in results.enumerated() { byWatchRow[result.rowA, default: []].append(index) }
        var dropped = Set<Int>()
        let keyCount = a.header.matchKeys.count
        for (_, indices) in byWatchRow where indices.count > 1 {
            func support(_ index: Int) -> (Int, Double) {
                let result = results[index]
                let agreeing = (0..<keyCount).filter {
                    BlockingJoin.sharesToken(a, Int(result.rowA), b, Int(result.rowB), columns: [$0])
                }.count
                return (agreeing, result.score)
            }
            let ranked = indices.sorted { support($0) > support($1) }
            for key in vetoKeys {
                let kept = ranked.filter { !dropped.contains($0) && b.hasToken(row: Int(results[$0].rowB), key: key) }
                // The identity to keep: the watch-list row's own identifier when a bulk row carries it, otherwise
                // that of the best-supported bulk row.
                let sharingA = kept.filter {
                    BlockingJoin.sharesToken(a, Int(results[$0].rowA), b, Int(results[$0].rowB), columns: [key])
                }
                guard let anchor = sharingA.first ?? kept.first else { continue }
                for other in kept where other != anchor {
                    let conflicts = !BlockingJoin.sharesToken(
                        b, Int(results[anchor].rowB), b, Int(results[other].rowB), columns: [key])
                    if conflicts && (!sharingA.isEmpty || support(other) < support(anchor)) {
                        dropped.insert(other)
                    }
                }
            }
        }
        return results.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
    }

    static func pairKey(_ result: MatchResult) -> UInt64 { UInt64(result.rowA) << 32 | UInt64(result.rowB) }

    /// Both rows have a token in `column` and the tokens differ.
    static func disagree(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int, column: Int) -> Bool {
        a.hasToken(row: rowA, key: column) && b.hasToken(row: rowB, key: column)
            && !BlockingJoin.sharesToken(a, rowA, b, rowB, columns: [column])
    }

    /// Seconds elapsed since `start`.
    public static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
