import BlindmatchProtocol

/// How a run is cut into chunks: ranges of watch-list rows × ranges of bulk rows, each small enough for a worker's
/// memory budget (docs/scale.md, "Chunks").
///
/// A chunk holds the pages of the two token files it reads (its rows' tokens and filters), the join tables of its
/// watch-list rows (the exact stage's one at a time, blocking's one per blocking key at once, and a row stamp per
/// thread), the popcounts of its rows (and, without blocking, sorted copies of its filters), and the
/// pairs it finds. The fixed part is estimated from the files; the pairs are only known as they are found, so a chunk
/// is cut to take at most half of the budget before its first pair, and the other half bounds its pairs
/// (``MatchEngine/MemoryEstimate/pairs(within:)``). The watch list is cut only when its part alone would take more
/// than a quarter of the budget; the bulk side is cut into the most rows that fit, and at most `bulkRowsPerChunk`,
/// so that a lost chunk costs little and several workers share a run.
public struct ChunkGrid: Sendable, Equatable {
    /// One chunk's rows.
    public struct Cell: Sendable, Equatable {
        public var rowsA: Range<Int>
        public var rowsB: Range<Int>
        /// The chunk's estimated memory besides its pairs, in bytes.
        public var fixedBytes: Int
    }

    public var cells: [Cell]

    /// The grid for watch list `a` × bulk data `b` under `memoryLimit` bytes a chunk.
    public init(
        _ a: TokenFile, _ b: TokenFile, blocked: Bool, memoryLimit: Int, bulkRowsPerChunk: Int = 1_000_000
    ) throws {
        let costA = ChunkCost(file: a, blocked: blocked, joinTable: true)
        let costB = ChunkCost(file: b, blocked: blocked, joinTable: false)
        let half = max(1, memoryLimit / 2)
        guard costA.bytes(rows: 1) + costB.bytes(rows: 1) <= half else {
            throw MatchingError(.outOfMemory, "a memory limit of \(memoryLimit) bytes does not hold one pair of rows")
        }
        // Watch-list rows a chunk: all of them unless their part would take more than a quarter of the budget.
        var rowsPerA = max(1, a.recordCount)
        while rowsPerA > 1 && costA.bytes(rows: rowsPerA) > half / 2 { rowsPerA = (rowsPerA + 1) / 2 }
        let fixedA = costA.bytes(rows: min(rowsPerA, a.recordCount))
        // Bulk rows a chunk: as many as fit in the rest of the half, up to the cap.
        let perRowB = max(1, costB.bytes(rows: 2) - costB.bytes(rows: 1))
        let rowsPerB = max(1, min(bulkRowsPerChunk, (half - fixedA) / perRowB, max(1, b.recordCount)))
        var cells: [Cell] = []
        for startA in stride(from: 0, to: max(a.recordCount, 1), by: rowsPerA) {
            let rowsA = startA..<min(a.recordCount, startA + rowsPerA)
            for startB in stride(from: 0, to: max(b.recordCount, 1), by: rowsPerB) {
                let rowsB = startB..<min(b.recordCount, startB + rowsPerB)
                cells.append(
                    Cell(
                        rowsA: rowsA, rowsB: rowsB,
                        fixedBytes: costA.bytes(rows: rowsA.count) + costB.bytes(rows: rowsB.count)))
            }
        }
        self.cells = cells
    }
}

/// The bytes a chunk holds for `rows` rows of one file.
struct ChunkCost {
    /// Bytes of the file a row takes (its tokens, presence bits and filter).
    let fileBytesPerRow: Int
    let filterBytes: Int
    let blocked: Bool
    /// Whether the join tables are built on this side (the watch list).
    let joinTable: Bool
    /// Tables held at once: one, or with blocking one per blocking key.
    let tables: Int

    /// Threads whose row stamps (4 bytes a watch-list row each) a chunk is estimated to hold: a worker's cores are
    /// not known when the run is cut, and more than this is rare.
    static let stampThreads = 8

    init(file: TokenFile, blocked: Bool, joinTable: Bool) {
        fileBytesPerRow = (file.bytes.count + max(file.recordCount, 1) - 1) / max(file.recordCount, 1)
        filterBytes = file.layout.filterBytes
        self.blocked = blocked
        self.joinTable = joinTable
        tables = blocked ? max(1, file.header.blockingKeys.count) : 1
    }

    func bytes(rows: Int) -> Int {
        var total = rows * fileBytesPerRow + rows * 4
        if joinTable {
            total += TokenTable.peakBytes(tables: tables, rows: rows)
            if blocked { total += Self.stampThreads * rows * 4 }
        }
        if !blocked && filterBytes > 0 {
            total += rows * ((filterBytes + 7) / 8 * 8 + 4 + 4 + 2 * BitMatrix.tailsPerRow)
        }
        return total
    }
}
