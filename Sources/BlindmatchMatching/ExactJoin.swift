import BlindmatchProtocol

/// The exact stage (DESIGN "Engine"): hash joins on match-key tokens, in cascade order.
///
/// A's tokens of one key go into an open-addressing table (tokens are keyed hashes, so their first 8 bytes are
/// already a good hash); B's tokens probe it. A pair found by an earlier key is not reported again by a later one.
public enum ExactJoin {
    /// A pair of rows joined by match key `key` (its index in the cascade).
    public struct Pair: Sendable, Equatable {
        public let rowA: UInt32
        public let rowB: UInt32
        public let key: Int
    }

    /// Every pair joined by some match key, each with the first key (in cascade order) that joins it.
    public static func pairs(between a: TokenFile, and b: TokenFile) -> [Pair] {
        var found: [Pair] = []
        var seen = Set<UInt64>()
        for key in 0..<a.header.matchKeys.count {
            let table = TokenTable(file: a, key: key)
            let tokens = b.tokens(key: key)
            for rowB in 0..<b.recordCount where b.hasToken(row: rowB, key: key) {
                let low = tokens.loadUnaligned(fromByteOffset: rowB * 16, as: UInt64.self)
                let high = tokens.loadUnaligned(fromByteOffset: rowB * 16 + 8, as: UInt64.self)
                table.forEachRow(matching: low, high) { rowA in
                    let pairKey = UInt64(rowA) << 32 | UInt64(rowB)
                    if seen.insert(pairKey).inserted {
                        found.append(Pair(rowA: rowA, rowB: UInt32(rowB), key: key))
                    }
                }
            }
        }
        return found
    }
}

/// One match key's tokens of A, for lookups: open addressing on the token, chains for repeated tokens.
struct TokenTable {
    private var lows: [UInt64]
    private var highs: [UInt64]
    private var heads: [Int32]
    private var next: [Int32]
    private let mask: Int

    /// A's tokens of `key`, of every `rowStride`-th row only (a sample, for estimating the candidates' scores).
    init(file: TokenFile, key: Int, rowStride: Int = 1) {
        let count = file.recordCount
        var capacity = 16
        while capacity < count * 2 { capacity *= 2 }
        lows = Array(repeating: 0, count: capacity)
        highs = Array(repeating: 0, count: capacity)
        heads = Array(repeating: -1, count: capacity)
        next = Array(repeating: -1, count: count)
        mask = capacity - 1
        let tokens = file.tokens(key: key)
        for row in stride(from: 0, to: count, by: max(1, rowStride)) where file.hasToken(row: row, key: key) {
            let low = tokens.loadUnaligned(fromByteOffset: row * 16, as: UInt64.self)
            let high = tokens.loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self)
            var slot = Int(truncatingIfNeeded: low) & mask
            while heads[slot] >= 0 && (lows[slot] != low || highs[slot] != high) { slot = (slot + 1) & mask }
            if heads[slot] < 0 {
                lows[slot] = low
                highs[slot] = high
            }
            next[row] = heads[slot]
            heads[slot] = Int32(row)
        }
    }

    /// Calls `body` with every row of A whose token equals (low, high).
    func forEachRow(matching low: UInt64, _ high: UInt64, _ body: (UInt32) -> Void) {
        var slot = Int(truncatingIfNeeded: low) & mask
        while heads[slot] >= 0 {
            if lows[slot] == low && highs[slot] == high {
                var row = heads[slot]
                while row >= 0 {
                    body(UInt32(row))
                    row = next[Int(row)]
                }
                return
            }
            slot = (slot + 1) & mask
        }
    }
}
