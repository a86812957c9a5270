import BlindmatchProtocol
import CBlindmatchKernels

/// The exact stage (DESIGN "Engine"): hash joins on match-key tokens, in cascade order.
///
/// A's tokens of one key go into an open-addressing table, slotted by a keyed hash whose key is drawn for each run
/// (``TokenHashKey``: tokens are chosen by the parties, so their own bits must not decide the slots); B's tokens probe
/// it. A pair found by an earlier key is not reported again by a later one.
public enum ExactJoin {
    /// A pair of rows joined by match key `key` (its index in the cascade).
    public struct Pair: Sendable, Equatable {
        public let rowA: UInt32
        public let rowB: UInt32
        public let key: Int
    }

    /// What the exact stage did, beyond its pairs.
    public struct Statistics: Sendable, Equatable {
        /// Table slots looked at while building A's tables and probing them with B's tokens: about one per token
        /// whatever the tokens are, since slots are chosen by a random key (``TokenHashKey``).
        public var probes = 0
        /// Pairs of rows visited (found by some key, including those an earlier key had found).
        public var joined = 0
    }

    /// Every pair joined by some match key, each with the first key (in cascade order) that joins it.
    public static func pairs(between a: TokenFile, and b: TokenFile) -> [Pair] {
        // Without a cancellation flag and with a fresh key, the join cannot fail.
        (try? pairs(between: a, and: b, hashKey: .random(), cancellation: nil).pairs) ?? []
    }

    /// Every pair joined by some match key, and what the join did. Slots come from `hashKey`; the stage stops with
    /// `MatchingError.cancelled` soon after `cancellation` is cancelled (it looks between blocks of B's rows), and
    /// counts every pair it visits against the flag's comparison budget. With `rowsA` and `rowsB` only the pairs of
    /// those rows (a chunk of the run, ``MatchEngine/candidates(_:_:plan:rowsA:rowsB:progress:)``); the pairs of a
    /// chunk are exactly the pairs of the whole join that fall in it, each with the same key.
    public static func pairs(
        between a: TokenFile, and b: TokenFile, rowsA: Range<Int>? = nil, rowsB: Range<Int>? = nil,
        hashKey: TokenHashKey, cancellation: RunCancellation?
    ) throws -> (pairs: [Pair], statistics: Statistics) {
        let rowsA = rowsA ?? 0..<a.recordCount
        let rowsB = rowsB ?? 0..<b.recordCount
        var found: [Pair] = []
        var seen = Set<UInt64>()
        var statistics = Statistics()
        var counted = 0
        for key in 0..<a.header.matchKeys.count {
            try cancellation?.check()
            let table = TokenTable(file: a, key: key, rows: rowsA, hashKey: hashKey)
            statistics.probes += table.insertionProbes
            let view = table.view
            let tokens = b.tokens(key: key)
            var rowB = rowsB.lowerBound
            while rowB < rowsB.upperBound {
                let end = min(rowsB.upperBound, rowB + checkEvery)
                var joined = 0
                // The home slot of the token `prefetchDistance` rows on is asked for now: B's rows are read in
                // order, but their slots are anywhere in a table of megabytes, and without it each lookup waited
                // for memory (75% of the stage's time at 100,000 × 10,000,000 on a Zen 3).
                for row in rowB..<min(end, rowB + Self.prefetchDistance) where b.hasToken(row: row, key: key) {
                    view.prefetch(
                        tokens.loadUnaligned(fromByteOffset: row * 16, as: UInt64.self),
                        tokens.loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self))
                }
                for row in rowB..<end {
                    let ahead = row + Self.prefetchDistance
                    if ahead < end && b.hasToken(row: ahead, key: key) {
                        view.prefetch(
                            tokens.loadUnaligned(fromByteOffset: ahead * 16, as: UInt64.self),
                            tokens.loadUnaligned(fromByteOffset: ahead * 16 + 8, as: UInt64.self))
                    }
                    guard b.hasToken(row: row, key: key) else { continue }
                    let low = tokens.loadUnaligned(fromByteOffset: row * 16, as: UInt64.self)
                    let high = tokens.loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self)
                    statistics.probes += view.forEachRow(matching: low, high) { rowA in
                        joined += 1
                        let pairKey = UInt64(rowA) << 32 | UInt64(row)
                        if seen.insert(pairKey).inserted {
                            found.append(Pair(rowA: rowA, rowB: UInt32(row), key: key))
                        }
                    }
                    // One token shared by many rows on both sides joins them all: a large block of B's rows is
                    // not left before the flag is looked at again.
                    if joined >= checkEvery {
                        statistics.joined += joined
                        try cancellation?.spend(comparisons: joined, pairs: found.count - counted)
                        joined = 0
                        counted = found.count
                    }
                }
                statistics.joined += joined
                try cancellation?.spend(comparisons: joined, pairs: found.count - counted)
                counted = found.count
                rowB = end
            }
            withExtendedLifetime(table) {}
        }
        return (found, statistics)
    }

    /// How many of B's rows ahead a lookup's slot is asked for.
    static let prefetchDistance = 16

    /// B's rows (or pairs joined) between looks at the cancellation flag.
    static let checkEvery = 16_384
}

/// One token key's tokens of A, for lookups: open addressing on the token's keyed hash, chains for repeated tokens.
///
/// A slot holds the token and the head of its chain side by side, so that a lookup reads one place (the slots of a
/// probe sequence are adjacent). The table grows with the distinct tokens, not the rows: a bucketed blocking key
/// (SPEC §4.5.1) has at most 2^bucketBits of them, so its table stays a few megabytes however many rows share them.
/// The storage is the table's own and never changes after it is built, so hot loops read it through a ``View``
/// without counting references on every lookup.
final class TokenTable: @unchecked Sendable {
    struct Slot {
        var low: UInt64
        var high: UInt64
        /// The chain's first row (relative to `firstRow`), -1 for an empty slot.
        var head: Int32
    }

    private var slots: UnsafeMutableBufferPointer<Slot>
    private let next: UnsafeMutableBufferPointer<Int32>
    private var bits = 4
    /// Distinct tokens in the table; it doubles before they fill half of it.
    private var distinct = 0
    /// The first row of A in the table: `next` is indexed from it.
    private let firstRow: Int
    private let hashKey: TokenHashKey
    /// Slots looked at while inserting A's tokens (not counting the moves when the table grows).
    private(set) var insertionProbes = 0

    /// A's tokens of `key` in `rows` (every row when nil), of every `rowStride`-th row only (a sample, for estimating
    /// the candidates' scores), slotted by `hashKey`.
    init(file: TokenFile, key: Int, rows: Range<Int>? = nil, rowStride: Int = 1, hashKey: TokenHashKey) {
        let rows = rows ?? 0..<file.recordCount
        firstRow = rows.lowerBound
        slots = Self.emptySlots(1 << bits)
        next = .allocate(capacity: max(1, rows.count))
        next.initialize(repeating: -1)
        self.hashKey = hashKey
        let tokens = file.tokens(key: key)
        var probes = 0
        for row in stride(from: rows.lowerBound, to: rows.upperBound, by: max(1, rowStride))
        where file.hasToken(row: row, key: key) {
            let low = tokens.loadUnaligned(fromByteOffset: row * 16, as: UInt64.self)
            let high = tokens.loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self)
            var mask = slots.count - 1
            var slot = hashKey.slot(low: low, high: high, bits: bits)
            probes += 1
            while slots[slot].head >= 0 && (slots[slot].low != low || slots[slot].high != high) {
                slot = (slot + 1) & mask
                probes += 1
            }
            if slots[slot].head < 0 {
                if (distinct + 1) * 2 > slots.count {
                    grow()
                    mask = slots.count - 1
                    slot = hashKey.slot(low: low, high: high, bits: bits)
                    while slots[slot].head >= 0 { slot = (slot + 1) & mask }
                }
                distinct += 1
                slots[slot].low = low
                slots[slot].high = high
            }
            next[row - rows.lowerBound] = slots[slot].head
            slots[slot].head = Int32(row - rows.lowerBound)
        }
        insertionProbes = probes
    }

    deinit {
        slots.deallocate()
        next.deallocate()
    }

    private static func emptySlots(_ count: Int) -> UnsafeMutableBufferPointer<Slot> {
        let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: count)
        slots.initialize(repeating: Slot(low: 0, high: 0, head: -1))
        return slots
    }

    /// Doubles the table and moves every token (with its chain) to its slot in the larger one.
    private func grow() {
        let old = slots
        bits += 1
        slots = Self.emptySlots(1 << bits)
        let mask = slots.count - 1
        for entry in old where entry.head >= 0 {
            var slot = hashKey.slot(low: entry.low, high: entry.high, bits: bits)
            while slots[slot].head >= 0 { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
        old.deallocate()
    }

    /// Bytes the table holds for `rows` rows with at most `distinct` distinct tokens: the slots (at most half full,
    /// a power of two) and a chain link per row.
    static func bytes(rows: Int, distinct: Int) -> Int {
        slotBytes(distinct: distinct) + rows * 4
    }

    /// Bytes held at most while `count` tables of `rows` rows each (at most a distinct token a row: bucketed keys have
    /// far fewer) are built one after another and kept: the last one also holds its old slots while it grows.
    static func peakBytes(tables count: Int, rows: Int) -> Int {
        count * bytes(rows: rows, distinct: rows) + slotBytes(distinct: rows) / 2
    }

    /// Bytes of the slots alone; while the table grows the old slots (half as many) are held beside the new ones.
    static func slotBytes(distinct: Int) -> Int {
        var capacity = 16
        while capacity < distinct * 2 { capacity *= 2 }
        return capacity * MemoryLayout<Slot>.stride
    }

    /// The table for reading, valid while the table lives (``withExtendedLifetime(_:_:)`` around its use).
    var view: View {
        View(
            slots: UnsafeBufferPointer(slots), next: UnsafeBufferPointer(next), bits: bits, firstRow: firstRow,
            hashKey: hashKey)
    }

    /// Calls `body` with every row of A whose token equals (low, high); returns how many slots it looked at.
    @discardableResult
    func forEachRow(matching low: UInt64, _ high: UInt64, _ body: (UInt32) throws -> Void) rethrows -> Int {
        try withExtendedLifetime(self) { try view.forEachRow(matching: low, high, body) }
    }

    /// A built table's storage, read without reference counting.
    struct View: @unchecked Sendable {
        let slots: UnsafeBufferPointer<Slot>
        let next: UnsafeBufferPointer<Int32>
        let bits: Int
        let firstRow: Int
        let hashKey: TokenHashKey

        /// Asks for the home slot of token (low, high) ahead of its lookup.
        @inline(__always)
        func prefetch(_ low: UInt64, _ high: UInt64) {
            bm_prefetch(slots.baseAddress.map { $0 + hashKey.slot(low: low, high: high, bits: bits) })
        }

        /// The first row of A (of the file, not of the table) whose token equals (low, high), or -1 when none
        /// does; the link to the chain's next row is asked for too. For asking for that row's data ahead of a walk.
        @inline(__always)
        func headRow(matching low: UInt64, _ high: UInt64) -> Int {
            let mask = slots.count - 1
            var slot = hashKey.slot(low: low, high: high, bits: bits)
            while slots[slot].head >= 0 {
                if slots[slot].low == low && slots[slot].high == high {
                    let head = Int(slots[slot].head)
                    bm_prefetch(next.baseAddress.map { $0 + head })
                    return head + firstRow
                }
                slot = (slot + 1) & mask
            }
            return -1
        }

        /// Calls `body` with every row of A whose token equals (low, high); returns how many slots it looked at.
        @discardableResult @inline(__always)
        func forEachRow(matching low: UInt64, _ high: UInt64, _ body: (UInt32) throws -> Void) rethrows -> Int {
            let mask = slots.count - 1
            var slot = hashKey.slot(low: low, high: high, bits: bits)
            var probes = 1
            while slots[slot].head >= 0 {
                if slots[slot].low == low && slots[slot].high == high {
                    var row = slots[slot].head
                    while row >= 0 {
                        try body(UInt32(Int(row) + firstRow))
                        row = next[Int(row)]
                    }
                    return probes
                }
                slot = (slot + 1) & mask
                probes += 1
            }
            return probes
        }
    }
}
