import BlindmatchProtocol
import CBlindmatchKernels
import Dispatch
import Synchronization

/// Blocking for the fuzzy stage: only pairs that share a blocking-key token are compared (DESIGN "Engine").
///
/// Each blocking key is a hash join like the exact stage's. A pair is scored once: when it also shares an earlier
/// blocking key it was scored there, and when it shares any match-key token the exact stage already reported it.
/// Both are decided by comparing the two rows' tokens directly, so no set of seen pairs is kept. Dice is computed
/// on the token files' own filters (no sorted copy), 64-byte-aligned rows in the mapping.
///
/// Blocking trades recall for speed: a true pair that shares no blocking token is never compared. Comparing
/// `blindmatch match` with and without `--no-blocking` measures that loss (README, "Measured").
public enum BlockingJoin {
    /// Whether the filters of `file` can be read in place as 64-bit words.
    static func canReadInPlace(_ file: TokenFile) -> Bool {
        file.layout.filterBytes % 8 == 0 && Int(bitPattern: file.filters.baseAddress) % 8 == 0
    }

    /// Popcounts of the filters of `rows` of `file` (every row when nil), on `threads` threads; element `i` is row
    /// `rows.lowerBound + i`'s.
    static func popcounts(_ file: TokenFile, rows: Range<Int>? = nil, threads: Int) -> [UInt32] {
        let rows = rows ?? 0..<file.recordCount
        let count = rows.count
        let firstRow = rows.lowerBound
        let filterBytes = file.layout.filterBytes
        var result = [UInt32](repeating: 0, count: count)
        let filters = UnsafeSendable(file.filters)
        result.withUnsafeMutableBufferPointer { output in
            let slots = UnsafeSendable(output)
            let chunk = max(1, (count + threads - 1) / threads)
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                let start = worker * chunk
                let end = min(count, start + chunk)
                guard start < end else { return }
                for row in start..<end {
                    var total = 0
                    let base = (firstRow + row) * filterBytes
                    var offset = 0
                    while offset + 8 <= filterBytes {
                        total +=
                            filters.value.loadUnaligned(fromByteOffset: base + offset, as: UInt64.self).nonzeroBitCount
                        offset += 8
                    }
                    while offset < filterBytes {
                        total += filters.value[base + offset].nonzeroBitCount
                        offset += 1
                    }
                    slots.value[row] = UInt32(total)
                }
            }
        }
        return result
    }

    /// Every pair sharing a token of one of `blockingColumns` (token-column indices, in order), sharing no token of
    /// `matchColumns`, with Dice ≥ `threshold`; and how many pairs were compared. With `rowStrideA` above 1 only
    /// every `rowStrideA`-th row of A takes part (a sample). With `rowsA` and `rowsB`, only the pairs of those rows:
    /// a pair is compared, counted and kept in a chunk exactly as in the whole join, so chunks add up to it.
    public static func candidates(
        between a: TokenFile, and b: TokenFile, rowsA: Range<Int>? = nil, rowsB: Range<Int>? = nil,
        blockingColumns: [Int], matchColumns: [Int], threshold: DiceThreshold, threads: Int, rowStrideA: Int = 1,
        hashKey: TokenHashKey = .random(), cancellation: RunCancellation? = nil,
        progress: (@Sendable (Double) -> Void)? = nil
    ) throws -> ([ScoredPair], Int) {
        guard canReadInPlace(a), canReadInPlace(b) else {
            throw MatchingError(.invalidArgument, "blocking needs filters whose length is a multiple of 64 bits")
        }
        let rowsA = rowsA ?? 0..<a.recordCount
        let rowsB = rowsB ?? 0..<b.recordCount
        let firstA = rowsA.lowerBound
        let firstB = rowsB.lowerBound
        let workers = max(1, threads)
        let popcountsA = popcounts(a, rows: rowsA, threads: workers)
        let popcountsB = popcounts(b, rows: rowsB, threads: workers)
        let words = a.layout.filterBytes / 8
        let results = Mutex<([ScoredPair], Int)>(([], 0))
        let chunks = max(1, min(4096, rowsB.count / 4096 + 1))
        let total = blockingColumns.count * chunks
        let done = Atomic<Int>(0)
        for (position, column) in blockingColumns.enumerated() {
            let table = TokenTable(file: a, key: column, rows: rowsA, rowStride: rowStrideA, hashKey: hashKey)
            let earlier = Array(blockingColumns[..<position])
            let next = Atomic<Int>(0)
            DispatchQueue.concurrentPerform(iterations: min(workers, chunks)) { _ in
                var pairs: [ScoredPair] = []
                var compared = 0
                // Counted against the run's budgets now and then (a block of B's rows, or sooner when one token is
                // shared by many rows), so that a large block does not outrun the flag.
                var pendingComparisons = 0
                var pendingPairs = 0
                let tokensB = b.tokens(key: column)
                guard let filtersA = a.filters.baseAddress, let filtersB = b.filters.baseAddress else { return }
                while true {
                    let chunk = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if chunk >= chunks || cancellation?.isCancelled == true { break }
                    let start = firstB + chunk * rowsB.count / chunks
                    let end = firstB + (chunk + 1) * rowsB.count / chunks
                    for rowB in start..<end where b.hasToken(row: rowB, key: column) {
                        if pendingComparisons >= 65_536 {
                            let goOn = cancellation?.record(
                                comparisons: pendingComparisons, pairs: pairs.count - pendingPairs)
                            pendingComparisons = 0
                            pendingPairs = pairs.count
                            if goOn == false { break }
                        }
                        let low = tokensB.loadUnaligned(fromByteOffset: rowB * 16, as: UInt64.self)
                        let high = tokensB.loadUnaligned(fromByteOffset: rowB * 16 + 8, as: UInt64.self)
                        table.forEachRow(matching: low, high) { rowA in
                            let a32 = Int(rowA)
                            if sharesToken(a, a32, b, rowB, columns: earlier)
                                || sharesToken(a, a32, b, rowB, columns: matchColumns)
                            {
                                return
                            }
                            compared += 1
                            pendingComparisons += 1
                            let common = bm_common_bits(
                                (filtersA + a32 * words * 8).assumingMemoryBound(to: UInt64.self),
                                (filtersB + rowB * words * 8).assumingMemoryBound(to: UInt64.self), words)
                            let popcountA = popcountsA[a32 - firstA]
                            let popcountB = popcountsB[rowB - firstB]
                            if threshold.isReached(common: common, popcountA: popcountA, popcountB: popcountB) {
                                pairs.append(
                                    ScoredPair(
                                        rowA: rowA, rowB: UInt32(rowB), common: common, popcountA: popcountA,
                                        popcountB: popcountB))
                            }
                        }
                    }
                    cancellation?.record(comparisons: pendingComparisons, pairs: pairs.count - pendingPairs)
                    pendingComparisons = 0
                    pendingPairs = pairs.count
                    let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
                    progress?(Double(finished) / Double(total))
                }
                results.withLock { state in
                    state.0.append(contentsOf: pairs)
                    state.1 += compared
                }
            }
        }
        try cancellation?.check()
        var (pairs, compared) = results.withLock { $0 }
        pairs.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        return (pairs, compared)
    }

    /// How rows `rowA` and `rowB` compare on one token column: 0 a token missing on either side, 1 equal tokens,
    /// 2 different tokens.
    @inline(__always)
    static func comparison(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int, column: Int) -> UInt8 {
        guard a.hasToken(row: rowA, key: column) && b.hasToken(row: rowB, key: column) else { return 0 }
        let tokensA = a.tokens(key: column)
        let tokensB = b.tokens(key: column)
        let equal =
            tokensA.loadUnaligned(fromByteOffset: rowA * 16, as: UInt64.self)
            == tokensB.loadUnaligned(fromByteOffset: rowB * 16, as: UInt64.self)
            && tokensA.loadUnaligned(fromByteOffset: rowA * 16 + 8, as: UInt64.self)
                == tokensB.loadUnaligned(fromByteOffset: rowB * 16 + 8, as: UInt64.self)
        return equal ? 1 : 2
    }

    /// Shared bits of row `rowA`'s and row `rowB`'s filters, and their popcounts.
    static func commonBits(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int) -> (UInt32, UInt32, UInt32) {
        commonBits(a.filters, rowA, b.filters, rowB, bytes: a.layout.filterBytes)
    }

    /// Common bits and both popcounts of row `rowA` of `filtersA` and row `rowB` of `filtersB`, filters of `bytes`
    /// bytes each (the first filter's region or an extra filter's, SPEC §5.6).
    static func commonBits(
        _ filtersA: UnsafeRawBufferPointer, _ rowA: Int, _ filtersB: UnsafeRawBufferPointer, _ rowB: Int, bytes: Int
    ) -> (UInt32, UInt32, UInt32) {
        var common = 0
        var countA = 0
        var countB = 0
        var offset = 0
        while offset + 8 <= bytes {
            let x = filtersA.loadUnaligned(fromByteOffset: rowA * bytes + offset, as: UInt64.self)
            let y = filtersB.loadUnaligned(fromByteOffset: rowB * bytes + offset, as: UInt64.self)
            common += (x & y).nonzeroBitCount
            countA += x.nonzeroBitCount
            countB += y.nonzeroBitCount
            offset += 8
        }
        while offset < bytes {
            let x = filtersA[rowA * bytes + offset]
            let y = filtersB[rowB * bytes + offset]
            common += (x & y).nonzeroBitCount
            countA += x.nonzeroBitCount
            countB += y.nonzeroBitCount
            offset += 1
        }
        return (UInt32(common), UInt32(countA), UInt32(countB))
    }

    /// Whether rows `rowA` and `rowB` have equal tokens in one of `columns`.
    @inline(__always)
    static func sharesToken(_ a: TokenFile, _ rowA: Int, _ b: TokenFile, _ rowB: Int, columns: [Int]) -> Bool {
        for column in columns where a.hasToken(row: rowA, key: column) && b.hasToken(row: rowB, key: column) {
            let tokensA = a.tokens(key: column)
            let tokensB = b.tokens(key: column)
            if tokensA.loadUnaligned(fromByteOffset: rowA * 16, as: UInt64.self)
                == tokensB.loadUnaligned(fromByteOffset: rowB * 16, as: UInt64.self)
                && tokensA.loadUnaligned(fromByteOffset: rowA * 16 + 8, as: UInt64.self)
                    == tokensB.loadUnaligned(fromByteOffset: rowB * 16 + 8, as: UInt64.self)
            {
                return true
            }
        }
        return false
    }
}

/// A value shared by worker threads that write disjoint parts of it.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
