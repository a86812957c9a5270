import CBlindmatchKernels
import Dispatch
import Glibc
import Synchronization

/// One pair the fuzzy stage found: token-file rows of A and B and their Dice inputs.
public struct ScoredPair: Sendable, Equatable {
    public let rowA: UInt32
    public let rowB: UInt32
    public let common: UInt32
    public let popcountA: UInt32
    public let popcountB: UInt32

    /// The rounded Dice coefficient.
    public var score: Double { roundedDice(common: common, popcountA: popcountA, popcountB: popcountB) }
}

/// Finds every pair of filters whose Dice coefficient reaches a threshold, on every core.
///
/// A is cut into blocks of 32 rows of neighbouring popcount; each block sweeps only the part of B whose popcounts
/// could reach the threshold (popcount bounds, exact: they lose nothing), in tiles that stay in L1 cache while up to
/// eight blocks sweep them.
public enum DiceKernel {
    /// Counters of one run.
    public struct Statistics: Sendable {
        public var comparisons = 0
        public var pairsInRange = 0
        /// Wall-clock time of the run.
        public var seconds = 0.0
        /// Processor time the workers spent, summed: what the run cost whatever else the machine was doing.
        public var processorSeconds = 0.0
    }

    /// The implementations by level: portable C, POPCNT, AVX2 with POPCNT, AVX-512 VPOPCNTDQ.
    public static let implementations = ["portable", "popcnt", "avx2", "avx512-vpopcntdq"]

    /// The implementation in use: one of `implementations`.
    public static var implementation: String { implementations[Int(bm_kernel_level())] }

    /// The best level this processor can run (the one used unless another is forced).
    public static var availableLevel: Int { Int(bm_kernel_available_level()) }

    /// Forces an implementation level (an index into `implementations`) for tests and benchmarks; a level the
    /// processor lacks is lowered to one it has. Returns the level now in force.
    @discardableResult
    public static func setImplementationLevel(_ level: Int) -> Int { Int(bm_kernel_set_level(Int32(level))) }

    /// Every pair of rows (a in `a`, b in `b`) with Dice ≥ `threshold`, using `threads` threads.
    /// `progress` is called now and then with the fraction done.
    public static func candidates(
        between a: BitMatrix, and b: BitMatrix, threshold: DiceThreshold, threads: Int,
        popcountBounds: Bool = true, cancellation: RunCancellation? = nil,
        progress: (@Sendable (Double) -> Void)? = nil
    ) throws -> ([ScoredPair], Statistics) {
        guard a.words == b.words else {
            throw MatchingError(
                .invalidArgument, "filters of \(a.filterBits) and \(b.filterBits) bits cannot be compared")
        }
        // A is handed out in chunks of up to eight blocks of 32 rows: the kernel sweeps each tile of B with all of a
        // chunk's blocks while the tile is in cache, and each block only over the part of B its popcounts can reach.
        // Smaller chunks when A is small, so every thread has work.
        let blockRows = Int(BM_BLOCK_ROWS)
        let blocks = (a.count + blockRows - 1) / blockRows
        let blocksPerChunk = max(1, min(8, blocks / max(1, 4 * threads)))
        let chunks = (blocks + blocksPerChunk - 1) / blocksPerChunk
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let workers = max(1, min(threads, chunks))
        let results = ResultSlots(count: workers)
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let processorStart = threadProcessorSeconds()
            var pairs: [ScoredPair] = []
            var comparisons = 0
            var buffer = [bm_candidate](repeating: bm_candidate(), count: 4096)
            var ranges = [UInt32](repeating: 0, count: 2 * blocksPerChunk)
            while true {
                let chunk = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if chunk >= chunks || cancellation?.isCancelled == true { break }
                let first = chunk * blocksPerChunk * blockRows
                let last = min(a.count, first + blocksPerChunk * blockRows)
                // What this chunk compares and keeps is counted against the run's budgets once it is done.
                let comparisonsBefore = comparisons
                let pairsBefore = pairs.count
                // Each block's rows of B; the kernel is given the span of them all, and each block's part of it.
                var bFirst = b.count
                var bEnd = 0
                var spans: [Range<Int>] = []
                for blockFirst in stride(from: first, to: last, by: blockRows) {
                    let blockLast = min(last, blockFirst + blockRows)
                    var span = 0..<b.count
                    if popcountBounds {
                        let lowest = threshold.admissiblePopcounts(for: a.popcounts[blockFirst]).lowerBound
                        let highest = threshold.admissiblePopcounts(for: a.popcounts[blockLast - 1]).upperBound
                        let rowFirst = b.firstRow(withPopcountAtLeast: lowest)
                        let rowEnd = highest == UInt32.max ? b.count : b.firstRow(withPopcountAtLeast: highest + 1)
                        span = rowFirst..<max(rowFirst, rowEnd)
                    }
                    spans.append(span)
                    guard !span.isEmpty else { continue }
                    comparisons += (blockLast - blockFirst) * span.count
                    bFirst = min(bFirst, span.lowerBound)
                    bEnd = max(bEnd, span.upperBound)
                }
                if bFirst < bEnd {
                    for (index, span) in spans.enumerated() {
                        ranges[2 * index] = UInt32(span.isEmpty ? 0 : span.lowerBound - bFirst)
                        ranges[2 * index + 1] = UInt32(span.isEmpty ? 0 : span.upperBound - bFirst)
                    }
                    let found = compare(
                        a, rows: first..<last, with: b, rows: bFirst..<bEnd, ranges: ranges, threshold: threshold,
                        buffer: &buffer)
                    for candidate in buffer[0..<found] {
                        pairs.append(
                            ScoredPair(
                                rowA: a.fileRow[Int(candidate.a)], rowB: b.fileRow[Int(candidate.b)],
                                common: candidate.common, popcountA: a.popcounts[Int(candidate.a)],
                                popcountB: b.popcounts[Int(candidate.b)]))
                    }
                }
                cancellation?.record(comparisons: comparisons - comparisonsBefore, pairs: pairs.count - pairsBefore)
                let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
                if let progress, finished % 4 == 0 { progress(Double(finished) / Double(chunks)) }
            }
            results.store(
                worker, pairs: pairs, comparisons: comparisons,
                processorSeconds: threadProcessorSeconds() - processorStart)
        }
        var statistics = Statistics()
        statistics.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var pairs: [ScoredPair] = []
        for worker in 0..<workers {
            let (found, comparisons, processorSeconds) = results.take(worker)
            pairs.append(contentsOf: found)
            statistics.comparisons += comparisons
            statistics.processorSeconds += processorSeconds
        }
        statistics.pairsInRange = a.count * b.count
        pairs.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        return (pairs, statistics)
    }

    /// Runs the C kernel on rows `rowsA` of A against rows `rowsB` of B, each block of A limited to its part of B
    /// (`ranges`, relative to `rowsB`), growing `buffer` until the pairs fit; returns how many it holds.
    private static func compare(
        _ a: BitMatrix, rows rowsA: Range<Int>, with b: BitMatrix, rows rowsB: Range<Int>, ranges: [UInt32],
        threshold: DiceThreshold, buffer: inout [bm_candidate]
    ) -> Int {
        while true {
            let found = a.popcounts.withUnsafeBufferPointer { popA in
                b.popcounts.withUnsafeBufferPointer { popB in
                    a.tailPopcounts.withUnsafeBufferPointer { tailsA in
                        b.tailPopcounts.withUnsafeBufferPointer { tailsB in
                            ranges.withUnsafeBufferPointer { ranges in
                                buffer.withUnsafeMutableBufferPointer { out in
                                    // size_t comes through as Int: SIZE_MAX (no room) reads as -1.
                                    bm_dice_candidates(
                                        a.rows(from: rowsA.lowerBound), popA.baseAddress.map { $0 + rowsA.lowerBound },
                                        tailsA.baseAddress.map { $0 + rowsA.lowerBound * BitMatrix.tailsPerRow },
                                        rowsA.count, UInt32(rowsA.lowerBound), b.rows(from: rowsB.lowerBound),
                                        popB.baseAddress.map { $0 + rowsB.lowerBound },
                                        tailsB.baseAddress.map { $0 + rowsB.lowerBound * BitMatrix.tailsPerRow },
                                        rowsB.count, UInt32(rowsB.lowerBound), ranges.baseAddress, a.words,
                                        threshold.numerator, threshold.denominator, out.baseAddress, out.count)
                                }
                            }
                        }
                    }
                }
            }
            if found >= 0 { return found }
            buffer = [bm_candidate](repeating: bm_candidate(), count: buffer.count * 4)
        }
    }

    /// The slow reference: every pair, bit by bit, in Swift. For tests only.
    public static func referenceCandidates(between a: BitMatrix, and b: BitMatrix, threshold: DiceThreshold)
        -> [ScoredPair]
    {
        var pairs: [ScoredPair] = []
        for i in 0..<a.count {
            let rowA = a.filter(row: i)
            for j in 0..<b.count {
                let rowB = b.filter(row: j)
                var common: UInt32 = 0
                for word in 0..<a.words { common += UInt32((rowA[word] & rowB[word]).nonzeroBitCount) }
                if threshold.isReached(common: common, popcountA: a.popcounts[i], popcountB: b.popcounts[j]) {
                    pairs.append(
                        ScoredPair(
                            rowA: a.fileRow[i], rowB: b.fileRow[j], common: common, popcountA: a.popcounts[i],
                            popcountB: b.popcounts[j]))
                }
            }
        }
        pairs.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        return pairs
    }
}

/// The processor time the calling thread has used, in seconds.
private func threadProcessorSeconds() -> Double {
    var time = timespec()
    guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Per-worker results, written once by each worker and read after all have finished.
private final class ResultSlots: @unchecked Sendable {
    private var pairs: [[ScoredPair]]
    private var comparisons: [Int]
    private var processorSeconds: [Double]
    private let lock = Mutex<Void>(())

    init(count: Int) {
        pairs = Array(repeating: [], count: count)
        comparisons = Array(repeating: 0, count: count)
        processorSeconds = Array(repeating: 0, count: count)
    }

    func store(_ worker: Int, pairs found: [ScoredPair], comparisons counted: Int, processorSeconds spent: Double) {
        lock.withLock { _ in
            pairs[worker] = found
            comparisons[worker] = counted
            processorSeconds[worker] = spent
        }
    }

    func take(_ worker: Int) -> ([ScoredPair], Int, Double) {
        lock.withLock { _ in (pairs[worker], comparisons[worker], processorSeconds[worker]) }
    }
}
