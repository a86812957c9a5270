import BlindmatchProtocol

/// The lowest Dice score a fuzzy pair needs to become a candidate for the decision model, chosen from the files'
/// own score distribution: the lowest score at which the candidates stay within a budget per watch-list row,
/// estimated on a sample. Hardening that moves every score (balancing, diffusion) moves the floor with it.
enum CandidateFloor {
    /// The floor is looked for in [lowest, highest] in steps of 0.01.
    static let lowest = 0.30
    static let highest = 0.85

    /// The floor for the blocked comparisons (`blockingColumns`), or for every pair when `blockingColumns` is nil;
    /// with blocking, also the sampled blocked pairs (every `stride`-th watch-list row), which the model uses for
    /// the compared pairs below the floor.
    static func choose(
        _ a: TokenFile, _ b: TokenFile, blockingColumns: [Int]?, matchColumns: [Int], budget: Int, threads: Int,
        cancellation: RunCancellation?
    ) throws -> (floor: Double, sample: [ScoredPair]) {
        var scores: [Double]
        var scale: Double
        var sampled: [ScoredPair] = []
        let floor = DiceThreshold(numerator: 1, denominator: 100)
        if let blockingColumns {
            let stride = max(1, a.recordCount / 512)
            let (pairs, _) = try BlockingJoin.candidates(
                between: a, and: b, blockingColumns: blockingColumns, matchColumns: matchColumns, threshold: floor,
                threads: threads, rowStrideA: stride, cancellation: cancellation)
            scores = pairs.map(\.score)
            scale = Double(stride)
            sampled = pairs
        } else {
            let sampleA = try sample(a, rows: 64)
            let sampleB = try sample(b, rows: 65_536)
            let (pairs, _) = try DiceKernel.candidates(
                between: sampleA.matrix, and: sampleB.matrix, threshold: floor, threads: threads,
                cancellation: cancellation)
            scores = pairs.map(\.score)
            scale = Double(a.recordCount) / Double(sampleA.rows) * Double(b.recordCount) / Double(sampleB.rows)
        }
        scores.sort(by: >)
        var choice = highest
        var step = Int((highest * 100).rounded())
        var index = 0
        // Walk down from the highest floor while the estimated candidates stay within the budget.
        while step >= Int((lowest * 100).rounded()) {
            let bound = Double(step) / 100
            while index < scores.count && scores[index] >= bound { index += 1 }
            if Double(index) * scale > Double(budget) { break }
            choice = bound
            step -= 1
        }
        return (choice, sampled)
    }

    /// Every k-th filter of `file`, at most `rows` of them, as a matrix.
    static func sample(_ file: TokenFile, rows: Int) throws -> (matrix: BitMatrix, rows: Int) {
        let count = file.recordCount
        let stride = max(1, (count + rows - 1) / max(rows, 1))
        let bytes = file.layout.filterBytes
        let picked = Array(Swift.stride(from: 0, to: count, by: stride))
        var copy = [UInt8](repeating: 0, count: max(picked.count * bytes, 1))
        for (index, row) in picked.enumerated() {
            for offset in 0..<bytes { copy[index * bytes + offset] = file.filters[row * bytes + offset] }
        }
        let matrix = try copy.withUnsafeBytes {
            try BitMatrix(filters: $0, count: picked.count, filterBits: file.header.filterBits)
        }
        return (matrix, max(picked.count, 1))
    }
}
