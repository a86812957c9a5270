import Dispatch

/// The filters of a sample of rows turned on their side: for each bit position, the set of rows that have it, as a
/// bit set. What attacks on positions work with.
struct PositionBitColumns: Sendable {
    let positions: Int
    let rows: Int
    /// Words per column.
    let width: Int
    /// Column `p` is `words[p * width ..< (p + 1) * width]`.
    let words: [UInt64]
    /// Rows with each position set.
    let counts: [Int]

    init(filters: EncodedFilters, rows: Int) {
        positions = filters.filterBits
        self.rows = rows
        width = (rows + 63) / 64
        var words = [UInt64](repeating: 0, count: positions * width)
        for row in 0..<rows {
            for word in 0..<filters.wordsPerFilter {
                var bits = filters.words[row * filters.wordsPerFilter + word]
                while bits != 0 {
                    let position = word * 64 + bits.trailingZeroBitCount
                    bits &= bits - 1
                    if position < positions { words[position * width + row / 64] |= 1 << UInt64(row % 64) }
                }
            }
        }
        self.words = words
        let width = self.width
        counts = (0..<positions).map { position in
            words[(position * width)..<((position + 1) * width)].reduce(0) { $0 + $1.nonzeroBitCount }
        }
    }

    func column(_ position: Int) -> [UInt64] { Array(words[(position * width)..<((position + 1) * width)]) }

    func frequency(_ position: Int) -> Double { Double(counts[position]) / Double(max(1, rows)) }

    /// Rows in both `set` and column `position`.
    func overlap(_ position: Int, with set: [UInt64]) -> Int {
        words.withUnsafeBufferPointer { all in
            var total = 0
            let base = position * width
            for index in 0..<width { total += (all[base + index] & set[index]).nonzeroBitCount }
            return total
        }
    }

    /// Keeps in `set` only the rows of column `position`.
    func intersect(_ set: inout [UInt64], with position: Int) {
        for index in 0..<width { set[index] &= words[position * width + index] }
    }

    static func overlap(_ a: [UInt64], _ b: [UInt64]) -> Int {
        var total = 0
        for index in 0..<min(a.count, b.count) { total += (a[index] & b[index]).nonzeroBitCount }
        return total
    }

    /// For each position, the `count` positions whose columns correlate with it most (phi coefficient).
    func nearestNeighbours(count: Int) -> [[Int]] {
        var result = [[Int]](repeating: [], count: positions)
        let n = Double(max(1, rows))
        result.withUnsafeMutableBufferPointer { slots in
            let output = UnsafeSendable(slots)
            DispatchQueue.concurrentPerform(iterations: positions) { position in
                var scored: [(Float, Int)] = []
                scored.reserveCapacity(positions)
                let p = Double(counts[position]) / n
                words.withUnsafeBufferPointer { all in
                    let base = position * width
                    for other in 0..<positions where other != position {
                        let q = Double(counts[other]) / n
                        let denominator = p * (1 - p) * q * (1 - q)
                        guard denominator > 0 else { continue }
                        var common = 0
                        let otherBase = other * width
                        for index in 0..<width {
                            common += (all[base + index] & all[otherBase + index]).nonzeroBitCount
                        }
                        let phi = (Double(common) / n - p * q) / denominator.squareRoot()
                        scored.append((Float(phi), other))
                    }
                }
                scored.sort { $0.0 > $1.0 }
                output.value[position] = scored.prefix(count).map(\.1)
            }
        }
        return result
    }
}
