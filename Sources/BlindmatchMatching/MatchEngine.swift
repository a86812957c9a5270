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
        /// Let the fitted decision model choose which pairs match (`reviewFrom` and the veto keys are then not
        /// used); when false the Dice threshold decides. `match` and the service's runs set it unless a threshold
        /// is given: it reaches more recall and F1 than the fixed threshold but less precision
        /// (docs/decision-model.md). Where no model can be fitted (``Report/thresholdFallback`` says why) the Dice
        /// `threshold` and the veto keys decide as if it were false, so set `threshold` to the fixed rule's default
        /// (``DefaultThreshold``).
        public var chooseThreshold = false
        /// Fit the decision model and report its estimates (``Report/linkage``) even when the Dice threshold
        /// decides. Costs a sampling pass and the candidates at a lower Dice floor (docs/decision-model.md).
        public var fitsModel = false
        /// The fuzzy candidates the model may consider, on average per watch-list row: sets the candidate floor.
        public var candidatesPerRow = 40
        /// Whether and how the decision model uses the second score, the Dice of the files' first extra filter
        /// (SPEC §5.6, ``SecondScoreModel``). Joint by default: files that carry an extra filter were tokenised
        /// for it, and measured it is above the model without it on harsh, independent and population data, level
        /// on `synth` default data and at 100,000 × 10,000,000, its estimates as close (docs/decision-model.md,
        /// "Joint by default"). Nil leaves it out; files without an extra filter are matched as before either way.
        /// The candidates are the same either way; chunked runs read it in `finish`.
        public var secondScore: SecondScoreModel? = .joint

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
        /// Why the decision model did not choose the threshold although ``Settings/chooseThreshold`` asked it to (no
        /// filters, too few candidates, EM that did not converge, …): the Dice threshold decided instead. Nil when
        /// the model chose, or was not asked to.
        public var thresholdFallback: String?
        /// What decided, when a model was asked for (``Settings/fitsModel`` or ``Settings/chooseThreshold``) but the
        /// files carry no Bloom filters to fit one to (``linkage`` is then nil).
        public var unfitted: UnfittedReport?

        /// The run's quality report: the fitted model's, else the unfitted one; nil when no model was asked for.
        public var quality: RunQualityReport? {
            linkage.map(RunQualityReport.fitted) ?? unfitted.map(RunQualityReport.unfitted)
        }
    }

    public let settings: Settings

    public init(settings: Settings) throws {
        if let reviewFrom = settings.reviewFrom, !(reviewFrom < settings.threshold) {
            throw MatchingError(.invalidThreshold, "the review band must start below the match threshold")
        }
        self.settings = settings
    }

    /// Matches watch list `a` against bulk data `b`: ``plan(_:_:)``, one chunk that covers both files
    /// (``candidates(_:_:plan:rowsA:rowsB:progress:)``), then ``finish(_:_:plan:chunks:)``: the path a chunked run
    /// takes too, so both give the same results.
    public func run(
        _ a: TokenFile, _ b: TokenFile, progress: (@Sendable (String, Double) -> Void)? = nil
    ) throws -> ([MatchResult], Report) {
        let plan = try plan(a, b)
        let chunk = try candidates(
            a, b, plan: plan, rowsA: 0..<a.recordCount, rowsB: 0..<b.recordCount, progress: progress)
        return try finish(a, b, plan: plan, chunks: [chunk])
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
