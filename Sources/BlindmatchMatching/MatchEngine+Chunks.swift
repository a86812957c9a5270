import BlindmatchProtocol

/// A run in three phases, so that its middle can be cut into chunks and computed by any number of workers
/// (docs/scale.md, "Chunks"): ``plan(_:_:)`` decides what must be decided over the whole files, once;
/// ``candidates(_:_:plan:rowsA:rowsB:progress:)`` finds the pairs of one range of watch-list rows against one range
/// of bulk rows; ``finish(_:_:plan:chunks:)`` merges the chunks in a canonical order, fits the model and solves.
/// ``run(_:_:progress:)`` is the three with one chunk over everything, so a chunked run gives the same results.
extension MatchEngine {
    /// What every chunk needs decided first: the fuzzy floor (chosen by sampling when the model is fitted), whether
    /// blocking is used and the model's sample of pairs below the floor.
    public func plan(_ a: TokenFile, _ b: TokenFile) throws -> MatchPlan {
        do {
            try a.checkCompatible(with: b)
        } catch let error as ProtocolError {
            throw MatchingError(.invalidInput, error.reason)
        }
        try settings.cancellation?.check()
        let fitsModel = (settings.fitsModel || settings.chooseThreshold) && a.header.filterBits > 0
        var plan = MatchPlan(
            recordsA: a.recordCount, recordsB: b.recordCount, blocked: false, fitsModel: fitsModel, floor: nil,
            candidateFloor: 1, floorSample: [])
        guard a.header.filterBits > 0 else { return plan }
        let blockingColumns = Array(a.header.matchKeys.count..<a.header.tokenKeys.count)
        let matchColumns = Array(0..<a.header.matchKeys.count)
        let readable = BlockingJoin.canReadInPlace(a) && BlockingJoin.canReadInPlace(b)
        plan.blocked = settings.useBlocking && !blockingColumns.isEmpty && readable
        var floor = settings.reviewFrom ?? settings.threshold
        if fitsModel {
            let (chosenFloor, sample) = try CandidateFloor.choose(
                a, b, blockingColumns: plan.blocked ? blockingColumns : nil, matchColumns: matchColumns,
                budget: max(10_000, settings.candidatesPerRow * a.recordCount), threads: settings.threads,
                cancellation: settings.cancellation)
            let chosen = DiceThreshold(numerator: UInt64((chosenFloor * 100).rounded()), denominator: 100)
            // Never above the fixed rule's floor: a run whose model cannot choose falls back to the fixed rule and
            // needs its candidates.
            if chosen < floor { floor = chosen }
            plan.candidateFloor = Double(floor.numerator) / Double(floor.denominator)
            plan.floorSample = sample
            if !plan.blocked && !blockingColumns.isEmpty && readable {
                // Without blocking the pairs below the floor that share a blocking key come from a sample of the
                // blocking join: every `sampleStride`-th watch-list row (``finish(_:_:plan:chunks:)``).
                (plan.floorSample, _) = try BlockingJoin.candidates(
                    between: a, and: b, blockingColumns: blockingColumns, matchColumns: matchColumns,
                    threshold: DiceThreshold(numerator: 1, denominator: 100), threads: settings.threads,
                    rowStrideA: Self.sampleStride(a), cancellation: settings.cancellation)
            }
        }
        plan.floor = floor
        return plan
    }

    /// The pairs of watch-list rows `rowsA` against bulk rows `rowsB`: the exact stage's pairs and the fuzzy
    /// candidates at the plan's floor that no match key joins. The same for any cut of the rows: a pair is found,
    /// compared and counted in the chunk that holds it exactly as in one chunk over everything.
    public func candidates(
        _ a: TokenFile, _ b: TokenFile, plan: MatchPlan, rowsA: Range<Int>, rowsB: Range<Int>,
        progress: (@Sendable (String, Double) -> Void)? = nil
    ) throws -> ChunkCandidates {
        try plan.check(a, b)
        guard rowsA.lowerBound >= 0, rowsA.upperBound <= a.recordCount, rowsB.lowerBound >= 0,
            rowsB.upperBound <= b.recordCount
        else {
            throw MatchingError(
                .invalidArgument, "chunk rows \(rowsA) × \(rowsB) lie outside \(a.recordCount) × \(b.recordCount)")
        }
        var chunk = ChunkCandidates(rowsA: rowsA, rowsB: rowsB)
        var clock = ContinuousClock.now
        try settings.cancellation?.check()
        let hashKey = settings.hashKey ?? .random()
        let (exact, exactStatistics) = try ExactJoin.pairs(
            between: a, and: b, rowsA: rowsA, rowsB: rowsB, hashKey: hashKey, cancellation: settings.cancellation)
        chunk.exact = exact.sorted { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        chunk.exactProbes = exactStatistics.probes
        chunk.exactSeconds = Self.seconds(since: clock)
        guard let floor = plan.floor, !rowsA.isEmpty, !rowsB.isEmpty else { return chunk }
        clock = ContinuousClock.now
        let reportFraction = progress.map { report in
            { @Sendable fraction in report("comparing filters", fraction) }
        }
        var fuzzy: [ScoredPair]
        if plan.blocked {
            (fuzzy, chunk.comparisons) = try BlockingJoin.candidates(
                between: a, and: b, rowsA: rowsA, rowsB: rowsB,
                blockingColumns: Array(a.header.matchKeys.count..<a.header.tokenKeys.count),
                matchColumns: Array(0..<a.header.matchKeys.count), exact: exact, threshold: floor,
                threads: settings.threads,
                hashKey: hashKey, cancellation: settings.cancellation, progress: reportFraction)
        } else {
            let whole = rowsA.count == a.recordCount && rowsB.count == b.recordCount
            let matrixA = try whole ? BitMatrix(file: a) : BitMatrix(file: a, rows: rowsA)
            let matrixB = try whole ? BitMatrix(file: b) : BitMatrix(file: b, rows: rowsB)
            (fuzzy, _) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: floor, threads: settings.threads,
                cancellation: settings.cancellation, progress: reportFraction)
            if !whole {
                let offsetA = UInt32(rowsA.lowerBound)
                let offsetB = UInt32(rowsB.lowerBound)
                fuzzy = fuzzy.map {
                    ScoredPair(
                        rowA: $0.rowA + offsetA, rowB: $0.rowB + offsetB, common: $0.common,
                        popcountA: $0.popcountA, popcountB: $0.popcountB)
                }
            }
            chunk.comparisons = Self.admittedPairs(matrixA, matrixB, threshold: floor)
        }
        if !plan.blocked {
            // The blocking join left the exact pairs out itself; the kernel compares every pair.
            var joined = Set<UInt64>(minimumCapacity: exact.count)
            for pair in exact { joined.insert(UInt64(pair.rowA) << 32 | UInt64(pair.rowB)) }
            fuzzy.removeAll { joined.contains(UInt64($0.rowA) << 32 | UInt64($0.rowB)) }
        }
        chunk.fuzzy = fuzzy
        chunk.fuzzySeconds = Self.seconds(since: clock)
        return chunk
    }

    /// Merges chunks that cover A × B once (in any order, cut in any way), fits the decision model when the plan
    /// says so, solves and applies the veto keys.
    public func finish(
        _ a: TokenFile, _ b: TokenFile, plan: MatchPlan, chunks: [ChunkCandidates]
    ) throws -> ([MatchResult], Report) {
        try plan.check(a, b)
        try Self.checkCover(chunks, recordsA: a.recordCount, recordsB: b.recordCount)
        try settings.cancellation?.check()
        var report = Report()
        report.blocked = plan.blocked
        var exact: [ExactJoin.Pair] = []
        var fuzzy: [ScoredPair] = []
        exact.reserveCapacity(chunks.reduce(0) { $0 + $1.exact.count })
        fuzzy.reserveCapacity(chunks.reduce(0) { $0 + $1.fuzzy.count })
        for chunk in chunks {
            exact.append(contentsOf: chunk.exact)
            fuzzy.append(contentsOf: chunk.fuzzy)
            report.comparisons += chunk.comparisons
            report.exactProbes += chunk.exactProbes
            report.exactSeconds += chunk.exactSeconds
            report.fuzzySeconds += chunk.fuzzySeconds
        }
        // The canonical order: whatever the chunks, the model and the solver see the same list.
        if chunks.count > 1 {
            exact.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
            fuzzy.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        }
        report.exactPairs = exact.count
        report.fuzzyPairs = fuzzy.count
        var candidates = exact.map {
            MatchResult(rowA: $0.rowA, rowB: $0.rowB, rule: .matchKey($0.key), score: 1, status: .match)
        }
        var model: DecisionModel?
        if plan.fitsModel {
            let clock = ContinuousClock.now
            model = modelOf(a, b, plan: plan, exact: exact, fuzzy: fuzzy, comparisons: report.comparisons)
            report.modelSeconds = Self.seconds(since: clock)
        }
        if settings.chooseThreshold {
            report.thresholdFallback = Self.reasonNotToChoose(model, filterBits: a.header.filterBits)
        }
        if settings.chooseThreshold, report.thresholdFallback == nil, let model {
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
            report.linkage?.thresholdFallback = report.thresholdFallback
        } else if settings.fitsModel || settings.chooseThreshold {
            report.unfitted = UnfittedReport(
                diceThreshold: Double(threshold.numerator) / Double(threshold.denominator),
                thresholdFallback: report.thresholdFallback)
        }
        return (solved, report)
    }

    /// The decision model over the whole cross product. The population is every pair of A × B: the pairs that share
    /// a blocking key but fall below the floor enter from the plan's sample (the floor's own with blocking, a stride
    /// of the blocking join without); the rest are one aggregate in which no key agrees: never compared with
    /// blocking, below the floor without.
    private func modelOf(
        _ a: TokenFile, _ b: TokenFile, plan: MatchPlan, exact: [ExactJoin.Pair], fuzzy: [ScoredPair],
        comparisons: Int
    ) -> DecisionModel {
        let population = Double(a.recordCount) * Double(b.recordCount)
        var belowFloor = DecisionModel.BelowFloor.none
        var uncompared = population - Double(exact.count) - Double(fuzzy.count)
        let below = plan.floorSample.filter { $0.score < plan.candidateFloor }
        if plan.blocked {
            let belowCount = Double(max(comparisons - fuzzy.count, 0))
            if !below.isEmpty { belowFloor = .init(pairs: below, scale: belowCount / Double(below.count)) }
            uncompared = population - Double(exact.count) - Double(comparisons)
        } else if !below.isEmpty {
            let stride = Self.sampleStride(a)
            belowFloor = .init(pairs: below, scale: Double(stride))
            uncompared -= Double(below.count * stride)
        }
        return DecisionModel(
            a, b, exact: exact, fuzzy: fuzzy, floor: plan.candidateFloor, belowFloor: belowFloor,
            uncompared: uncompared, blocked: plan.blocked, secondScore: settings.secondScore, threads: settings.threads)
    }

    /// The watch-list rows the model's sample of the blocking join takes: every `sampleStride`-th.
    static func sampleStride(_ a: TokenFile) -> Int { max(1, a.recordCount / 512) }

    /// Pairs of the two matrices whose popcounts could reach `threshold`, counted row by row of A: what the popcount
    /// bounds admit (the kernel, working on blocks of rows, looks at somewhat more), the same whatever the chunking.
    static func admittedPairs(_ a: BitMatrix, _ b: BitMatrix, threshold: DiceThreshold) -> Int {
        var total = 0
        var index = 0
        while index < a.count {
            let popcount = a.popcounts[index]
            var end = index
            while end < a.count && a.popcounts[end] == popcount { end += 1 }
            let admissible = threshold.admissiblePopcounts(for: popcount)
            let first = b.firstRow(withPopcountAtLeast: admissible.lowerBound)
            let last =
                admissible.upperBound == UInt32.max
                ? b.count : b.firstRow(withPopcountAtLeast: admissible.upperBound + 1)
            total += (end - index) * max(0, last - first)
            index = end
        }
        return total
    }

    /// Throws unless `chunks` cover rows 0..<recordsA × 0..<recordsB exactly once.
    static func checkCover(_ chunks: [ChunkCandidates], recordsA: Int, recordsB: Int) throws {
        var area = 0
        for chunk in chunks {
            guard chunk.rowsA.lowerBound >= 0, chunk.rowsA.upperBound <= recordsA, chunk.rowsB.lowerBound >= 0,
                chunk.rowsB.upperBound <= recordsB
            else {
                throw MatchingError(.invalidInput, "chunk \(chunk.rowsA) × \(chunk.rowsB) lies outside the files")
            }
            area += chunk.rowsA.count * chunk.rowsB.count
        }
        let cells = chunks.filter { !$0.rowsA.isEmpty && !$0.rowsB.isEmpty }.sorted {
            ($0.rowsA.lowerBound, $0.rowsB.lowerBound) < ($1.rowsA.lowerBound, $1.rowsB.lowerBound)
        }
        for (index, chunk) in cells.enumerated() {
            for other in cells[(index + 1)...] {
                if other.rowsA.lowerBound >= chunk.rowsA.upperBound { break }
                if chunk.rowsA.overlaps(other.rowsA) && chunk.rowsB.overlaps(other.rowsB) {
                    throw MatchingError(
                        .invalidInput,
                        "chunks \(chunk.rowsA) × \(chunk.rowsB) and \(other.rowsA) × \(other.rowsB) overlap")
                }
            }
        }
        guard area == recordsA * recordsB else {
            throw MatchingError(
                .invalidInput, "the chunks cover \(area) of the \(recordsA * recordsB) pairs of the two files")
        }
    }
}
