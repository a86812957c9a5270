import BlindmatchProtocol
import CBlindmatchKernels
import Glibc

/// Bloom filters in one contiguous, 64-byte-aligned block, sorted by popcount, with popcounts precomputed:
/// the layout the Dice kernel sweeps (DESIGN "Kernel").
///
/// Row `i` of the matrix is row `fileRow[i]` of the token file. Immutable after construction, so it can be shared
/// by every worker thread.
public final class BitMatrix: @unchecked Sendable {
    /// 64-bit words per row (filters are zero-padded to a whole number of words).
    public let words: Int
    public let count: Int
    public let filterBits: Int
    /// Popcounts in ascending order.
    public let popcounts: [UInt32]
    /// Per row, `tailsPerRow` popcounts of the row's last 1/2, 3/8, 1/4 and 1/8, for the kernel's early bounds.
    public let tailPopcounts: [UInt16]
    /// Values of `tailPopcounts` per row.
    public static let tailsPerRow = Int(BM_TAILS)
    /// The token-file row of each matrix row.
    public let fileRow: [UInt32]
    let storage: UnsafeMutablePointer<UInt64>

    /// Copies, sorts and aligns the filters of `file`, then lets the kernel drop the mapped originals from memory.
    public convenience init(file: TokenFile) throws {
        guard file.header.filterBits > 0 else {
            throw MatchingError(.noFilters, "\(file.path) has no Bloom filters to compare")
        }
        try self.init(filters: file.filters, count: file.recordCount, filterBits: file.header.filterBits)
        // The sorted copy is all the kernel reads; the mapped filter pages can go.
        if let base = file.filters.baseAddress {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (Int(bitPattern: base) + page - 1) / page * page
            let end = (Int(bitPattern: base) + file.filters.count) / page * page
            if end > start {
                madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED))
            }
        }
    }

    /// Copies, sorts and aligns the filters of rows `rows` of `file` (a chunk of a run): matrix row `i` holds file row
    /// `rows.lowerBound + fileRow[i]`.
    public convenience init(file: TokenFile, rows: Range<Int>) throws {
        guard file.header.filterBits > 0 else {
            throw MatchingError(.noFilters, "\(file.path) has no Bloom filters to compare")
        }
        guard rows.lowerBound >= 0, rows.upperBound <= file.recordCount else {
            throw MatchingError(.invalidArgument, "rows \(rows) lie outside \(file.path)'s \(file.recordCount)")
        }
        let bytes = file.layout.filterBytes
        try self.init(
            filters: UnsafeRawBufferPointer(
                rebasing: file.filters[(rows.lowerBound * bytes)..<(rows.upperBound * bytes)]),
            count: rows.count, filterBits: file.header.filterBits)
    }

    /// Builds a matrix from `count` filters of `filterBits` bits each, packed back to back in `filters`.
    public init(filters: UnsafeRawBufferPointer, count: Int, filterBits: Int) throws {
        let filterBytes = (filterBits + 7) / 8
        guard filters.count >= count * filterBytes else {
            throw MatchingError(.noFilters, "the filter column is shorter than its header says")
        }
        let words = (filterBits + 63) / 64
        self.words = words
        self.count = count
        self.filterBits = filterBits
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(1, count * words * 8)) == 0, let raw else {
            throw MatchingError(.outOfMemory, "cannot allocate \(count * words * 8) bytes for \(count) filters")
        }
        storage = raw.bindMemory(to: UInt64.self, capacity: count * words)
        var counts = [UInt32](repeating: 0, count: count)
        for row in 0..<count {
            var total = 0
            for byte in filters[(row * filterBytes)..<((row + 1) * filterBytes)] { total += byte.nonzeroBitCount }
            counts[row] = UInt32(total)
        }
        // Counting sort by popcount: stable, so equal popcounts keep file order.
        let maximum = Int(counts.max() ?? 0)
        var starts = [Int](repeating: 0, count: maximum + 2)
        for value in counts { starts[Int(value) + 1] += 1 }
        for index in 1..<starts.count { starts[index] += starts[index - 1] }
        var order = [UInt32](repeating: 0, count: count)
        for (row, value) in counts.enumerated() {
            order[starts[Int(value)]] = UInt32(row)
            starts[Int(value)] += 1
        }
        fileRow = order
        popcounts = order.map { counts[Int($0)] }
        // Rows are copied byte by byte into big-endian-free word order: the kernel only counts bits, so any
        // fixed bijection from bytes to words works as long as both sides use the same one.
        let destination = UnsafeMutableRawPointer(storage)
        for (sortedRow, row) in order.enumerated() {
            let target = destination + sortedRow * words * 8
            target.initializeMemory(as: UInt8.self, repeating: 0, count: words * 8)
            UnsafeMutableRawBufferPointer(start: target, count: filterBytes).copyMemory(
                from: UnsafeRawBufferPointer(
                    rebasing: filters[(Int(row) * filterBytes)..<((Int(row) + 1) * filterBytes)]))
        }
        let rows = storage
        var tails = [UInt16](repeating: 0, count: count * Self.tailsPerRow)
        tails.withUnsafeMutableBufferPointer { bm_tail_popcounts(rows, count, words, $0.baseAddress) }
        tailPopcounts = tails
    }

    deinit { free(storage) }

    /// Matrix rows `range` as a pointer to their first word.
    func rows(from start: Int) -> UnsafePointer<UInt64> { UnsafePointer(storage + start * words) }

    /// The first matrix row whose popcount is at least `value` (or `count`).
    func firstRow(withPopcountAtLeast value: UInt32) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if popcounts[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The matrix row's filter, for tests and the slow reference.
    public func filter(row: Int) -> [UInt64] { Array(UnsafeBufferPointer(start: storage + row * words, count: words)) }
}

/// The one error type of BlindmatchMatching.
public struct MatchingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, Equatable {
        case noFilters, outOfMemory, invalidThreshold, invalidArgument, invalidInput, cancelled, unknownVetoKey
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }
}
