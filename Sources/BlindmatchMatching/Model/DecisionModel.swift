import BlindmatchProtocol
import Dispatch
import Glibc

/// The decision model of one run: every candidate pair (the exact joins and the fuzzy candidates above the floor),
/// its comparison vector and its match weight under a model fitted to these files (DESIGN "Engine").
///
/// With token keys, each pair is compared on every match key and blocking key (agree, disagree, or missing on either
/// side) and on its Dice score in 20 bins above the floor: a Fellegi–Sunter model (``MatchWeightModel``). A
/// disagreeing identifier is then evidence against a pair, not a veto. Without token keys (a clkhash schema) the
/// Dice score alone: a two-component mixture (``ScoreMixture``).
struct DecisionModel: Sendable {
    struct Candidate: Sendable {
        let rowA: UInt32
        let rowB: UInt32
        /// The first match key that joins the pair, or -1 for a fuzzy candidate.
        let key: Int32
        let score: Double
    }

    static let diceBins = 20

    let candidates: [Candidate]
    let weights: [Double]
    /// Candidate index by pair (rowA << 32 | rowB).
    let index: [UInt64: Int]
    let floor: Double
    let fellegiSunter: MatchWeightModel?
    let mixture: ScoreMixture?

    init(
        _ a: TokenFile, _ b: TokenFile, exact: [ExactJoin.Pair], fuzzy: [ScoredPair], floor: Double, threads: Int
    ) {
        var gathered: [Candidate] = []
        gathered.reserveCapacity(exact.count + fuzzy.count)
        for pair in exact {
            let (common, countA, countB) = BlockingJoin.commonBits(a, Int(pair.rowA), b, Int(pair.rowB))
            gathered.append(
                Candidate(
                    rowA: pair.rowA, rowB: pair.rowB, key: Int32(pair.key),
                    score: roundedDice(common: common, popcountA: countA, popcountB: countB)))
        }
        for pair in fuzzy {
            gathered.append(Candidate(rowA: pair.rowA, rowB: pair.rowB, key: -1, score: pair.score))
        }
        let candidates = gathered
        self.candidates = candidates
        self.floor = floor
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(candidates.count)
        for (position, candidate) in candidates.enumerated() {
            index[UInt64(candidate.rowA) << 32 | UInt64(candidate.rowB)] = position
        }
        self.index = index
        let keyCount = a.header.tokenKeys.count
        if keyCount == 0 {
            let mixture = ScoreMixture.fit(scores: candidates.map(\.score), floor: floor)
            self.mixture = mixture
            fellegiSunter = nil
            weights = candidates.map { mixture.weight(score: $0.score) }
            return
        }
        // Comparison vectors, on every thread; then EM on the distinct vectors.
        let width = keyCount + 1
        var levels = [UInt8](repeating: 0, count: candidates.count * width)
        levels.withUnsafeMutableBufferPointer { output in
            let slots = UnsafeSendable(output)
            let workers = max(1, threads)
            let chunk = max(1, (candidates.count + workers - 1) / workers)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk
                let end = min(candidates.count, start + chunk)
                guard start < end else { return }
                for position in start..<end {
                    let candidate = candidates[position]
                    for column in 0..<keyCount {
                        slots.value[position * width + column] = BlockingJoin.comparison(
                            a, Int(candidate.rowA), b, Int(candidate.rowB), column: column)
                    }
                    slots.value[position * width + keyCount] = Self.diceBin(candidate.score, floor: floor)
                }
            }
        }
        // Comparisons: the joint pattern of the match keys, that of the blocking keys, and the Dice bin. Keys share
        // fields, so each group is one comparison with a level per observed pattern, its probabilities shrunk
        // towards the product of its keys' (MatchWeightModel.shrunk).
        let matchKeys = a.header.matchKeys.count
        let groups = [Array(0..<matchKeys), Array(matchKeys..<keyCount)].filter { !$0.isEmpty }
        var groupLevels = groups.map { _ in [UInt64: UInt16]() }
        var groupCodes = groups.map { _ in [UInt64]() }
        // Patterns are packed 16 bits per comparison into one word for the lookup (at most three comparisons);
        // the arrays EM needs are made once per distinct pattern.
        var patternIndex: [UInt64: Int] = [:]
        var patterns: [[UInt16]] = []
        var counts: [Int] = []
        var patternOf = [Int](repeating: 0, count: candidates.count)
        var pattern = [UInt16](repeating: 0, count: groups.count + 1)
        for position in 0..<candidates.count {
            var packed: UInt64 = 0
            for (group, columns) in groups.enumerated() {
                var code: UInt64 = 0
                for column in columns { code = code * 3 + UInt64(levels[position * width + column]) }
                let level: UInt16
                if let known = groupLevels[group][code] {
                    level = known
                } else {
                    level = UInt16(truncatingIfNeeded: groupCodes[group].count)
                    groupLevels[group][code] = level
                    groupCodes[group].append(code)
                }
                pattern[group] = level
                packed = packed << 16 | UInt64(level)
            }
            let bin = UInt16(levels[position * width + keyCount])
            pattern[groups.count] = bin
            packed = packed << 16 | UInt64(bin)
            if let known = patternIndex[packed] {
                counts[known] += 1
                patternOf[position] = known
            } else {
                patternIndex[packed] = patterns.count
                patternOf[position] = patterns.count
                patterns.append(pattern)
                counts.append(1)
            }
        }
        let names = a.header.tokenKeys
        let parts: [[[UInt8]]?] =
            groups.enumerated().map { group, columns in
                groupCodes[group].map { Self.digits($0, count: columns.count) }
            } + [nil]
        // A first guess: a pair joined by a match key is a match; a high score makes one likely.
        let initial = patterns.map { pattern -> Double in
            if matchKeys > 0, parts[0]?[Int(pattern[0])].contains(1) == true { return 0.9 }
            return Int(pattern[pattern.count - 1]) >= Self.diceBins * 3 / 4 ? 0.6 : 0.02
        }
        var features: [(String, [String])] = groups.enumerated().map { group, columns in
            (
                group == 0 && matchKeys > 0 ? "match keys" : "blocking keys",
                groupCodes[group].map { code in
                    let digits = Self.digits(code, count: columns.count)
                    let text = zip(columns, digits).compactMap { column, level in
                        level == 1 ? "+" + names[column] : level == 2 ? "-" + names[column] : nil
                    }
                    return text.isEmpty ? "none present on both sides" : text.joined(separator: " ")
                }
            )
        }
        let step = (1 - floor) / Double(Self.diceBins)
        features.append(
            (
                "dice",
                ["below \(Self.decimal(floor))"]
                    + (0..<Self.diceBins).map { "\(Self.decimal(floor + Double($0) * step))+" }
            ))
        let model = MatchWeightModel.fit(
            patterns: patterns, counts: counts, features: features, parts: parts, initial: initial)
        let patternWeights = patterns.map { model.weight(levels: $0) }
        fellegiSunter = model
        mixture = nil
        weights = patternOf.map { patternWeights[$0] }
    }

    /// The base-3 digits of `code`, most significant first: one level per key of a group.
    static func digits(_ code: UInt64, count: Int) -> [UInt8] {
        var code = code
        var digits = [UInt8](repeating: 0, count: count)
        for index in stride(from: count - 1, through: 0, by: -1) {
            digits[index] = UInt8(code % 3)
            code /= 3
        }
        return digits
    }

    /// The Dice bin of `score`: 0 below the floor, then `diceBins` equal bins up to 1.
    static func diceBin(_ score: Double, floor: Double) -> UInt8 {
        guard score >= floor else { return 0 }
        let bin = Int((score - floor) / max(1 - floor, 1e-9) * Double(diceBins))
        return UInt8(1 + min(max(bin, 0), diceBins - 1))
    }

    static func decimal(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }

    /// The candidates with weight at least `threshold`, as results.
    func results(atOrAbove threshold: Double) -> [(index: Int, result: MatchResult)] {
        var chosen: [(index: Int, result: MatchResult)] = []
        for (position, candidate) in candidates.enumerated() where weights[position] >= threshold {
            let rule: MatchResult.Rule = candidate.key >= 0 ? .matchKey(Int(candidate.key)) : .bloom
            var result = MatchResult(
                rowA: candidate.rowA, rowB: candidate.rowB, rule: rule, score: candidate.key >= 0 ? 1 : candidate.score,
                status: .match)
            result.weight = weights[position]
            chosen.append((position, result))
        }
        return chosen
    }

    /// The report for the candidates at `reported` (indices), chosen at `threshold` or by a Dice threshold.
    func report(threshold: Double?, chosen: Bool, diceThreshold: Double?, reported: [Int]) -> LinkageReport {
        let histogram = LinkageReport.histogram(weights: weights)
        let lowestReported = reported.map { weights[$0] }.min() ?? (weights.max() ?? 0)
        return LinkageReport(
            model: fellegiSunter == nil ? "score-mixture" : "fellegi-sunter", threshold: threshold ?? lowestReported,
            thresholdChosen: chosen, diceThreshold: diceThreshold, candidateFloor: floor,
            candidatePairs: candidates.count, estimate: LinkageReport.estimate(weights: weights, reported: reported),
            histogram: histogram, curve: LinkageReport.curve(weights: weights, histogram: histogram),
            fellegiSunter: fellegiSunter, scoreMixture: mixture)
    }
}
