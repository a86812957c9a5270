import CBlindmatchKernels
import Dispatch
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
/// A is cut into groups of 32 rows of neighbouring popcount; each group sweeps only the part of B whose popcounts
/// could reach the threshold (popcount bounds, exact: they lose nothing), in tiles that stay in L1 cache.
public enum DiceKernel {
    /// Counters of one run.
    public struct Statistics: Sendable {
        public var comparisons = 0
        public var pairsInRange = 0
        public var seconds = 0.0
    }

    static let groupSize = 32

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
        let groups = (a.count + groupSize - 1) / groupSize
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let workers = max(1, min(threads, groups))
        let results = ResultSlots(count: workers)
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var pairs: [ScoredPair] = []
            var comparisons = 0
            var buffer = [bm_candidate](repeating: bm_candidate(), count: 4096)
            while true {
                let group = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if group >= groups || cancellation?.isCancelled == true { break }
                let first = group * groupSize
                let last = min(a.count, first + groupSize)
                let lowest = threshold.admissiblePopcounts(for: a.popcounts[first]).lowerBound
                let highest = threshold.admissiblePopcounts(for: a.popcounts[last - 1]).upperBound
                let bFirst = popcountBounds ? b.firstRow(withPopcountAtLeast: lowest) : 0
                let bEnd =
                    !popcountBounds || highest == UInt32.max ? b.count : b.firstRow(withPopcountAtLeast: highest + 1)
                guard bFirst < bEnd else { continue }
                comparisons += (last - first) * (bEnd - bFirst)
                let pairsBefore = pairs.count
                var found = Int.max
                while true {
                    found = a.popcounts.withUnsafeBufferPointer { popA in
                        b.popcounts.withUnsafeBufferPointer { popB in
                            a.tailPopcounts.withUnsafeBufferPointer { tailsA in
                                b.tailPopcounts.withUnsafeBufferPointer { tailsB in
                                    buffer.withUnsafeMutableBufferPointer { out in
                                        // size_t comes through as Int: SIZE_MAX (no room) reads as -1.
                                        bm_dice_candidates(
                                            a.rows(from: first), popA.baseAddress.map { $0 + first },
                                            tailsA.baseAddress.map { $0 + first * BitMatrix.tailsPerRow },
                                            last - first, UInt32(first), b.rows(from: bFirst),
                                            popB.baseAddress.map { $0 + bFirst },
                                            tailsB.baseAddress.map { $0 + bFirst * BitMatrix.tailsPerRow },
                                            bEnd - bFirst, UInt32(bFirst),
                                            a.words, threshold.numerator, threshold.denominator, out.baseAddress,
                                            out.count)
                                    }
                                }
                            }
                        }
                    }
                    if found >= 0 { break }
                    buffer = [bm_candidate](repeating: bm_candidate(), count: buffer.count * 4)
                }
                for candidate in buffer[0..<found] {
                    pairs.append(
                        ScoredPair(
                            rowA: a.fileRow[Int(candidate.a)], rowB: b.fileRow[Int(candidate.b)],
                            common: candidate.common, popcountA: a.popcounts[Int(candidate.a)],
                            popcountB: b.popcounts[Int(candidate.b)]))
                }
                cancellation?.record(comparisons: (last - first) * (bEnd - bFirst), pairs: pairs.count - pairsBefore)
                let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
                if let progress, finished % 16 == 0 { progress(Double(finished) / Double(groups)) }
            }
            results.store(worker, pairs: pairs, comparisons: comparisons)
        }
        var statistics = Statistics()
        statistics.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var pairs: [ScoredPair] = []
        for worker in 0..<workers {
            let (found, comparisons) = results.take(worker)
            pairs.append(contentsOf: found)
            statistics.comparisons += comparisons
        }
        statistics.pairsInRange = a.count * b.count
        pairs.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        return (pairs, statistics)
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

/// Per-worker results, written once by each worker and read after all have finished.
private final class ResultSlots: @unchecked Sendable {
    private var pairs: [[ScoredPair]]
    private var comparisons: [Int]
    private let lock = Mutex<Void>(())

    init(count: Int) {
        pairs = Array(repeating: [], count: count)
        comparisons = Array(repeating: 0, count: count)
    }

    func store(_ worker: Int, pairs found: [ScoredPair], comparisons counted: Int) {
        lock.withLock { _ in
            pairs[worker] = found
            comparisons[worker] = counted
        }
    }

    func take(_ worker: Int) -> ([ScoredPair], Int) {
        lock.withLock { _ in (pairs[worker], comparisons[worker]) }
    }
}
