import BlindmatchProtocol
import CBlindmatchKernels
import Dispatch
import Synchronization

/// Blocking for the fuzzy stage: only pairs that share a blocking-key token are compared (DESIGN "Engine").
///
/// Each blocking key is a hash join like the exact stage's, all of them probed row by row of B. A pair is scored
/// once: when several blocking keys join it, the first to reach it scores it; when it shares any match-key token
/// the exact stage already reported it. Dice is computed on the token files' own filters (no sorted copy),
/// 64-byte-aligned rows in the mapping.
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

    /// Every pair sharing a token of one of `blockingColumns` (token-column indices), sharing no token of
    /// `matchColumns`, with Dice ≥ `threshold`; and how many pairs were compared. With `rowStrideA` above 1 only
    /// every `rowStrideA`-th row of A takes part (a sample). With `rowsA` and `rowsB`, only the pairs of those rows:
    /// a pair is compared, counted and kept in a chunk exactly as in the whole join, so chunks add up to it.
    ///
    /// `exact`, when given, must be the pairs of `rowsA` × `rowsB` that share a token of `matchColumns` (the exact
    /// stage's pairs of the same rows, ``ExactJoin``): they are then left out by their row numbers rather than by
    /// comparing the two rows' tokens, which saves reading A's tokens at random for every pair.
    ///
    /// B's rows are walked once, each against every blocking key's table of A: a pair that shares several blocking
    /// tokens is compared once (a stamp per row of A says which row of B last reached it), and B's filter is read
    /// once however many keys reach it.
    public static func candidates(
        between a: TokenFile, and b: TokenFile, rowsA: Range<Int>? = nil, rowsB: Range<Int>? = nil,
        blockingColumns: [Int], matchColumns: [Int], exact: [ExactJoin.Pair]? = nil, threshold: DiceThreshold,
        threads: Int, rowStrideA: Int = 1, hashKey: TokenHashKey = .random(), cancellation: RunCancellation? = nil,
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
        // Blocks of about 256 rows of B (at most 4,096 blocks): the budgets are looked at between them.
        let chunks = max(1, min(4096, rowsB.count / 256 + 1))
        let done = Atomic<Int>(0)
        var built: [TokenTable] = []
        for column in blockingColumns {
            try cancellation?.check()
            built.append(TokenTable(file: a, key: column, rows: rowsA, rowStride: rowStrideA, hashKey: hashKey))
        }
        let tables = built
        // The exact pairs by B's row, then A's: those of one row of B are adjacent.
        let joined = exact.map { pairs in pairs.map { UInt64($0.rowB) << 32 | UInt64($0.rowA) }.sorted() }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: min(workers, chunks)) { _ in
            var pairs: [ScoredPair] = []
            var compared = 0
            // Counted against the run's budgets now and then (every 65,536 comparisons, looked at between B's
            // rows), so that a large block does not outrun the flag.
            var pendingComparisons = 0
            var pendingPairs = 0
            guard let filtersA = a.filters.baseAddress, let filtersB = b.filters.baseAddress else { return }
            let columnsB = TokenColumns(b, columns: blockingColumns)
            let views = tables.map(\.view)
            // The row of B that last reached each row of A (UInt32.max: none yet); B has fewer rows than that.
            let stamps = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, rowsA.count))
            stamps.initialize(repeating: .max)
            // The rows of A to compare with the current row of B, scored a batch at a time (``flush``).
            let batchRows = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: Self.batch)
            let batchCommon = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: Self.batch)
            defer {
                stamps.deallocate()
                batchRows.deallocate()
                batchCommon.deallocate()
            }
            var batched = 0
            var rowB = 0
            var popcountB: UInt32 = 0
            let rowsOfA = UnsafePointer<UInt64>(filtersA.assumingMemoryBound(to: UInt64.self))
            var filterB = rowsOfA  // the current row of B's filter, set with `rowB`
            func flush() {
                guard batched > 0 else { return }
                bm_common_bits_rows(
                    rowsOfA, UnsafePointer(batchRows.baseAddress), batched, filterB, words, batchCommon.baseAddress)
                for index in 0..<batched {
                    let rowA = batchRows[index]
                    let common = batchCommon[index]
                    let popcountA = popcountsA[Int(rowA) - firstA]
                    if threshold.isReached(common: common, popcountA: popcountA, popcountB: popcountB) {
                        pairs.append(
                            ScoredPair(
                                rowA: rowA, rowB: UInt32(rowB), common: common, popcountA: popcountA,
                                popcountB: popcountB))
                    }
                }
                batched = 0
            }
            while true {
                let chunk = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if chunk >= chunks || cancellation?.isCancelled == true { break }
                let start = firstB + chunk * rowsB.count / chunks
                let end = firstB + (chunk + 1) * rowsB.count / chunks
                var cursor = 0
                if let joined {
                    let first = UInt64(start) << 32
                    var high = joined.count
                    while cursor < high {
                        let middle = (cursor + high) / 2
                        if joined[middle] < first { cursor = middle + 1 } else { high = middle }
                    }
                }
                var stopped = false
                for row in start..<end {
                    rowB = row
                    if pendingComparisons >= 65_536 {
                        let goOn = cancellation?.record(
                            comparisons: pendingComparisons, pairs: pairs.count - pendingPairs)
                        pendingComparisons = 0
                        pendingPairs = pairs.count
                        if goOn == false {
                            stopped = true
                            break
                        }
                    }
                    // This row's exact partners get its stamp first, so the tables' walk passes over them as over
                    // a pair already compared (one look each, however many partners and candidates the row has).
                    let stamp = UInt32(truncatingIfNeeded: rowB)
                    if let joined {
                        while cursor < joined.count && joined[cursor] >> 32 == UInt64(rowB) {
                            let partner = Int(UInt32(truncatingIfNeeded: joined[cursor]))
                            if rowsA.contains(partner) { stamps[partner - firstA] = stamp }
                            cursor += 1
                        }
                    }
                    // Memory is asked for ahead, so that its waits overlap this row's work: the slots of the row
                    // two on; for the row one on (its slots asked for a row ago), the first row of A each of its
                    // tokens reaches, with that row's stamp, popcount and filter. Without the second the walk
                    // waited on the chain, the stamps and the popcounts (about 70% of the join's time at 100,000 ×
                    // 10,000,000 on a Zen 3 with the slots alone asked for).
                    if rowB + 2 < end {
                        for position in views.indices where columnsB.has(row: rowB + 2, position) {
                            let (low, high) = columnsB.token(row: rowB + 2, position)
                            views[position].prefetch(low, high)
                        }
                    }
                    if rowB + 1 < end {
                        for position in views.indices where columnsB.has(row: rowB + 1, position) {
                            let (low, high) = columnsB.token(row: rowB + 1, position)
                            let head = views[position].headRow(matching: low, high)
                            guard head >= 0 else { continue }
                            bm_prefetch(stamps.baseAddress.map { $0 + (head - firstA) })
                            popcountsA.withUnsafeBufferPointer { counts in
                                bm_prefetch(counts.baseAddress.map { $0 + (head - firstA) })
                            }
                            let filter = filtersA + head * words * 8
                            var line = 0
                            while line < words * 8 {
                                bm_prefetch(filter + line)
                                line += 64
                            }
                        }
                    }
                    popcountB = popcountsB[rowB - firstB]
                    filterB = UnsafePointer((filtersB + rowB * words * 8).assumingMemoryBound(to: UInt64.self))
                    for position in views.indices where columnsB.has(row: rowB, position) {
                        let (low, high) = columnsB.token(row: rowB, position)
                        views[position].forEachRow(matching: low, high) { rowA in
                            let a32 = Int(rowA)
                            if stamps[a32 - firstA] == stamp { return }
                            stamps[a32 - firstA] = stamp
                            if joined == nil && sharesToken(a, a32, b, rowB, columns: matchColumns) { return }
                            compared += 1
                            pendingComparisons += 1
                            batchRows[batched] = rowA
                            batched += 1
                            if batched == Self.batch { flush() }
                        }
                    }
                    flush()
                }
                cancellation?.record(comparisons: pendingComparisons, pairs: pairs.count - pendingPairs)
                pendingComparisons = 0
                pendingPairs = pairs.count
                if stopped { break }
                let finished = done.wrappingAdd(1, ordering: .relaxed).newValue
                progress?(Double(finished) / Double(chunks))
            }
            results.withLock { state in
                state.0.append(contentsOf: pairs)
                state.1 += compared
            }
        }
        withExtendedLifetime(tables) {}
        try cancellation?.check()
        var (pairs, compared) = results.withLock { $0 }
        pairs.sort { ($0.rowA, $0.rowB) < ($1.rowA, $1.rowB) }
        return (pairs, compared)
    }

    /// Rows of A scored against one row of B in one call of the kernel.
    static let batch = 256

    /// How rows `rowA` and `rowB` compare on one token column: 0 a token missing on either side, 1 equal tokens,
    /// 2 different tokens. For callers outside the hot loops; those read ``TokenColumns`` directly.
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
        for column in columns where comparison(a, rowA, b, rowB, column: column) == 1 { return true }
        return false
    }
}

/// Some token columns of a file and their presence bits, read directly in hot loops (rather than through the file on
/// every row and column): column `index` is the file's token column `columns[index]`.
struct TokenColumns: @unchecked Sendable {
    private let presence: UnsafeRawBufferPointer
    private let presenceBytes: Int
    private let tokens: [UnsafeRawBufferPointer]
    private let bits: [(byte: Int, mask: UInt8)]

    init(_ file: TokenFile, columns: [Int]) {
        presence = file.presence
        presenceBytes = file.layout.presenceBytes
        tokens = columns.map { file.tokens(key: $0) }
        bits = columns.map { (byte: $0 >> 3, mask: UInt8(1) << UInt8($0 & 7)) }
    }

    /// Whether row `row` has a token in column `index`.
    @inline(__always)
    func has(row: Int, _ index: Int) -> Bool {
        presence[row * presenceBytes + bits[index].byte] & bits[index].mask != 0
    }

    /// Row `row`'s token in column `index`, as two 64-bit halves.
    @inline(__always)
    func token(row: Int, _ index: Int) -> (UInt64, UInt64) {
        (
            tokens[index].loadUnaligned(fromByteOffset: row * 16, as: UInt64.self),
            tokens[index].loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self)
        )
    }

    /// How row `rowA` of `a` and row `rowB` of `b` compare in column `index`, as
    /// ``BlockingJoin/comparison(_:_:_:_:column:)``: 0 a token missing on either side, 1 equal, 2 different.
    @inline(__always)
    static func comparison(_ a: TokenColumns, _ rowA: Int, _ b: TokenColumns, _ rowB: Int, _ index: Int) -> UInt8 {
        guard a.has(row: rowA, index) && b.has(row: rowB, index) else { return 0 }
        return a.token(row: rowA, index) == b.token(row: rowB, index) ? 1 : 2
    }
}

/// A value shared by worker threads that write disjoint parts of it.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
