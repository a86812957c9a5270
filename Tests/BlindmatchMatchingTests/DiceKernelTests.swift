import Testing

@testable import BlindmatchMatching

/// The fast kernel against the slow Swift reference, at every implementation level the processor offers. Serialized:
/// the level is process-wide.
@Suite(.serialized)
struct DiceKernelTests {
    /// Random filters with popcounts spread widely, as packed bytes.
    static func randomFilters(count: Int, bits: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        let filterBytes = (bits + 7) / 8
        var bytes = [UInt8](repeating: 0, count: count * filterBytes)
        for row in 0..<count {
            let density = 0.1 + Double(next() % 50) / 100
            for bit in 0..<bits where Double(next() % 10_000) / 10_000 < density {
                bytes[row * filterBytes + bit / 8] |= 0x80 >> UInt8(bit % 8)
            }
        }
        // A near-copy of row 0 in the last row, so some pairs are very similar.
        if count > 1 {
            for byte in 0..<filterBytes { bytes[(count - 1) * filterBytes + byte] = bytes[byte] }
            bytes[(count - 1) * filterBytes] ^= 0x01
        }
        return bytes
    }

    static func matrix(_ bytes: [UInt8], count: Int, bits: Int) throws -> BitMatrix {
        try bytes.withUnsafeBytes { try BitMatrix(filters: $0, count: count, filterBits: bits) }
    }

    @Test(arguments: [1024, 512, 1000, 2048])
    func kernelMatchesReferenceAtEveryLevel(bits: Int) throws {
        let bytesA = Self.randomFilters(count: 70, bits: bits, seed: 1)
        var bytesB = Self.randomFilters(count: 300, bits: bits, seed: 2)
        // B's last row is A's first with one bit changed: a pair above any threshold here.
        let filterBytes = (bits + 7) / 8
        for byte in 0..<filterBytes { bytesB[299 * filterBytes + byte] = bytesA[byte] }
        bytesB[299 * filterBytes + 1] ^= 0x10
        let a = try Self.matrix(bytesA, count: 70, bits: bits)
        let b = try Self.matrix(bytesB, count: 300, bits: bits)
        for text in ["0.3", "0.5", "0.8"] {
            let threshold = try DiceThreshold(text)
            let expected = DiceKernel.referenceCandidates(between: a, and: b, threshold: threshold)
            #expect(!expected.isEmpty)
            for level in DiceKernel.implementations.indices {
                let used = DiceKernel.setImplementationLevel(level)
                #expect(used == min(level, DiceKernel.availableLevel))
                for bounds in [true, false] {
                    let (found, _) = try DiceKernel.candidates(
                        between: a, and: b, threshold: threshold, threads: 3, popcountBounds: bounds)
                    #expect(found == expected, "level \(used), bits \(bits), threshold \(text), bounds \(bounds)")
                }
            }
            DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
        }
    }

    /// Dense filters with the structure of real ones: each is the union of a few "tokens" (fixed sets of bit
    /// positions) drawn from a skewed pool, so unrelated filters share more bits than random ones of the same
    /// density; every fifth filter is a copy of an earlier one with a few bits flipped. With `balanced`, each filter
    /// becomes a keyed-permutation-and-complement of twice the length (SPEC §5.5.3: exactly half the bits set).
    static func structuredFilters(count: Int, bits: Int, balanced: Bool, seed: UInt64) -> [UInt8] {
        var random = Rng(seed: seed)
        func next() -> UInt64 { random.next() }
        var pool = Rng(seed: 99)  // the same tokens for A and B
        let tokens = (0..<300).map { _ in (0..<24).map { _ in Int(pool.next() % UInt64(bits)) } }
        var rows = [[Bool]]()
        for row in 0..<count {
            var filter = [Bool](repeating: false, count: bits)
            if row % 5 == 4, row > 0 {
                filter = rows[Int(next() % UInt64(row))]
                for _ in 0..<Int(next() % 40) { filter[Int(next() % UInt64(bits))].toggle() }
            } else {
                for _ in 0..<(33 + Int(next() % 16)) {
                    // Skewed: low-numbered tokens (common n-grams, the sex bits) are drawn far more often.
                    let token = Int(next() % 300) * Int(next() % 300) / 300
                    for position in tokens[token] { filter[position] = true }
                }
            }
            rows.append(filter)
        }
        var permutation = Array(0..<(2 * bits))
        for index in stride(from: 2 * bits - 1, to: 0, by: -1) {
            permutation.swapAt(index, Int(pool.next() % UInt64(index + 1)))
        }
        let outBits = balanced ? 2 * bits : bits
        var bytes = [UInt8](repeating: 0, count: count * outBits / 8)
        for (row, filter) in rows.enumerated() {
            for bit in 0..<outBits {
                let set =
                    balanced
                    ? (permutation[bit] < bits ? filter[permutation[bit]] : !filter[permutation[bit] - bits])
                    : filter[bit]
                if set { bytes[row * outBits / 8 + bit / 8] |= 0x80 >> UInt8(bit % 8) }
            }
        }
        return bytes
    }

    struct Rng {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
    }

    /// Dense filters (about 45–65% of 1024 bits set, as clkhash schemas give) and balanced 2048-bit ones, where the
    /// early bounds close lanes at later stages: the kernel must still find exactly the reference's pairs.
    @Test(arguments: [(1024, false), (1024, true)])
    func denseAndBalancedFiltersMatchTheReference(bits: Int, balanced: Bool) throws {
        let outBits = balanced ? 2 * bits : bits
        let a = try Self.matrix(
            Self.structuredFilters(count: 45, bits: bits, balanced: balanced, seed: 3), count: 45, bits: outBits)
        // B holds A's rows too (so near-copies of A's rows are among B's), after its own.
        var bytesB = Self.structuredFilters(count: 160, bits: bits, balanced: balanced, seed: 4)
        bytesB += Self.structuredFilters(count: 45, bits: bits, balanced: balanced, seed: 3)
        let b = try Self.matrix(bytesB, count: 205, bits: outBits)
        // As dense as clkhash filters of people: popcounts about 450–680 of 1024, mean about 590.
        if !balanced { #expect(a.popcounts.first ?? 0 > 450 && a.popcounts.last ?? 0 < 700) }
        if balanced { #expect(a.popcounts.allSatisfy { $0 == UInt32(bits) }) }
        for text in ["0.6", "0.75", "0.8", "0.9"] {
            let threshold = try DiceThreshold(text)
            let expected = DiceKernel.referenceCandidates(between: a, and: b, threshold: threshold)
            #expect(!expected.isEmpty)
            for level in DiceKernel.implementations.indices {
                let used = DiceKernel.setImplementationLevel(level)
                let (found, _) = try DiceKernel.candidates(between: a, and: b, threshold: threshold, threads: 2)
                #expect(found == expected, "level \(used), bits \(outBits), threshold \(text)")
            }
            DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
        }
    }

    /// A watch list long enough that the kernel is handed chunks of several blocks of 32 rows, each block with its
    /// own range of B (popcounts spread widely, so the ranges differ and some are empty), the last chunk partial.
    @Test(arguments: [1024, 2048])
    func chunksOfBlocksMatchTheReference(bits: Int) throws {
        let bytesA = Self.randomFilters(count: 600, bits: bits, seed: 7)
        // B: rows of its own, then every fourth row of A with a bit changed, so every block of A has pairs to find,
        // each in its own part of B.
        var bytesB = Self.randomFilters(count: 150, bits: bits, seed: 8)
        let filterBytes = bits / 8
        for row in stride(from: 0, to: 600, by: 4) {
            var copy = Array(bytesA[(row * filterBytes)..<((row + 1) * filterBytes)])
            copy[row % filterBytes] ^= 0x04
            bytesB += copy
        }
        let a = try Self.matrix(bytesA, count: 600, bits: bits)
        let b = try Self.matrix(bytesB, count: 300, bits: bits)
        for text in ["0.6", "0.9"] {
            let threshold = try DiceThreshold(text)
            let expected = DiceKernel.referenceCandidates(between: a, and: b, threshold: threshold)
            #expect(expected.count >= 150)
            for level in DiceKernel.implementations.indices {
                let used = DiceKernel.setImplementationLevel(level)
                for bounds in [true, false] {
                    let (found, statistics) = try DiceKernel.candidates(
                        between: a, and: b, threshold: threshold, threads: 1, popcountBounds: bounds)
                    #expect(found == expected, "level \(used), bits \(bits), threshold \(text), bounds \(bounds)")
                    #expect(bounds ? statistics.comparisons < 600 * 300 : statistics.comparisons == 600 * 300)
                }
            }
            DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
        }
    }

    /// Row counts that fill neither a group of sixteen, a block of 32 nor a tile of B, on dense and balanced filters
    /// (1000 bits and its balanced 2000 are padded to whole words) at thresholds where rows of B stay open through
    /// every early bound or close at each of them: every level finds exactly the reference's pairs.
    @Test(arguments: [(1024, false), (1024, true), (1000, false), (1000, true)], [1, 17, 33])
    func oddRowCountsMatchTheReference(shape: (bits: Int, balanced: Bool), rowsA: Int) throws {
        let outBits = shape.balanced ? 2 * shape.bits : shape.bits
        let bytesA = Self.structuredFilters(count: rowsA, bits: shape.bits, balanced: shape.balanced, seed: 5)
        // B: 200 rows of its own, then A's rows, so rows that match sit after the first tile of B.
        let bytesB =
            Self.structuredFilters(count: 200, bits: shape.bits, balanced: shape.balanced, seed: 6) + bytesA
        let a = try Self.matrix(bytesA, count: rowsA, bits: outBits)
        let b = try Self.matrix(bytesB, count: 200 + rowsA, bits: outBits)
        for text in ["0.55", "0.7", "0.85"] {
            let threshold = try DiceThreshold(text)
            let expected = DiceKernel.referenceCandidates(between: a, and: b, threshold: threshold)
            #expect(expected.count >= rowsA)
            for level in DiceKernel.implementations.indices {
                let used = DiceKernel.setImplementationLevel(level)
                for bounds in [true, false] {
                    let (found, _) = try DiceKernel.candidates(
                        between: a, and: b, threshold: threshold, threads: 2, popcountBounds: bounds)
                    #expect(found == expected, "level \(used), bits \(outBits), rows \(rowsA), threshold \(text)")
                }
            }
            DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
        }
    }

    /// Dense pairs exactly at the threshold: 600 and 600 bits of 1024 with 480 shared (Dice 0.8), or 1024 and 1024 of
    /// 2048 with 768 shared (Dice 0.75). The shared bits start at `offset` and wrap around, so they lie in different
    /// stages of the kernel's early bounds; the pair is kept at the threshold and dropped just above it.
    @Test(arguments: [1024, 2048], [0, 256, 300, 512, 600, 700, 900, 1500])
    func aDensePairExactlyAtTheThresholdIsKept(bits: Int, offset: Int) throws {
        let (shared, own, text, above) = bits == 1024 ? (480, 120, "0.8", "0.800001") : (768, 256, "0.75", "0.750001")
        let filterBytes = bits / 8
        var a = [UInt8](repeating: 0, count: 20 * filterBytes)
        var b = [UInt8](repeating: 0, count: filterBytes)
        func set(_ bytes: inout [UInt8], row: Int, _ positions: Range<Int>) {
            for position in positions {
                let bit = (offset + position) % bits
                bytes[row * filterBytes + bit / 8] |= 0x80 >> UInt8(bit % 8)
            }
        }
        set(&a, row: 17, 0..<(shared + own))
        set(&b, row: 0, 0..<shared)
        set(&b, row: 0, (shared + own)..<(shared + 2 * own))
        // Other rows of A: dense, and below the threshold against B.
        for row in 0..<20 where row != 17 { set(&a, row: row, (shared + own)..<(shared + own + 500 + row)) }
        let matrixA = try Self.matrix(a, count: 20, bits: bits)
        let matrixB = try Self.matrix(b, count: 1, bits: bits)
        for level in DiceKernel.implementations.indices {
            DiceKernel.setImplementationLevel(level)
            let (kept, _) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: try DiceThreshold(text), threads: 1)
            #expect(kept.count == 1, "level \(level)")
            #expect(kept.first?.rowA == 17)
            #expect(kept.first?.common == UInt32(shared))
            let (dropped, _) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: try DiceThreshold(above), threads: 1)
            #expect(dropped.isEmpty, "level \(level)")
        }
        DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
    }

    /// 10 and 10 bits with 8 in common: Dice exactly 0.8, kept at 0.8 and dropped at 0.8000001. The bits sit in the
    /// low half, across the middle, or in the high half (which the AVX-512 kernel counts only when a bound on the low
    /// half lets the pair through), and the pair is row 17 of A (the second group of sixteen rows).
    @Test(arguments: [0, 63, 64, 125])
    func aPairExactlyAtTheThresholdIsKept(offset: Int) throws {
        var a = [UInt8](repeating: 0, count: 20 * 128)
        var b = [UInt8](repeating: 0, count: 128)
        let row = 17 * 128
        a[row + offset] = 0xFF
        a[row + offset + 1] = 0xC0  // 10 bits
        b[offset] = 0xFF
        b[offset + 2] = 0xC0  // 10 bits, 8 shared
        let matrixA = try Self.matrix(a, count: 20, bits: 1024)
        let matrixB = try Self.matrix(b, count: 1, bits: 1024)
        for level in DiceKernel.implementations.indices {
            DiceKernel.setImplementationLevel(level)
            let (kept, _) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: try DiceThreshold("0.8"), threads: 1)
            #expect(kept.count == 1)
            #expect(kept.first?.rowA == 17)
            #expect(kept.first?.common == 8)
            #expect(kept.first?.score == 0.8)
            let (dropped, _) = try DiceKernel.candidates(
                between: matrixA, and: matrixB, threshold: try DiceThreshold("0.800001"), threads: 1)
            #expect(dropped.isEmpty)
        }
        DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
    }

    @Test func emptyFiltersNeverMatch() throws {
        let empty = try Self.matrix([UInt8](repeating: 0, count: 256), count: 2, bits: 1024)
        for level in DiceKernel.implementations.indices {
            DiceKernel.setImplementationLevel(level)
            let (pairs, _) = try DiceKernel.candidates(
                between: empty, and: empty, threshold: try DiceThreshold("0.1"), threads: 1)
            #expect(pairs.isEmpty)
        }
        DiceKernel.setImplementationLevel(DiceKernel.availableLevel)
    }

    @Test(arguments: [("0.8", 8, 10), ("1", 1, 1), ("0.875", 875, 1000), (".5", 5, 10)])
    func thresholdsAreExactFractions(text: String, numerator: Int, denominator: Int) throws {
        let threshold = try DiceThreshold(text)
        #expect(threshold.numerator == UInt64(numerator))
        #expect(threshold.denominator == UInt64(denominator))
    }

    @Test(arguments: ["0", "1.5", "abc", "0.1234567", "-0.5", ""])
    func badThresholdsAreRefused(text: String) {
        #expect(throws: MatchingError.self) { try DiceThreshold(text) }
    }

    @Test func popcountBoundsAreExact() throws {
        let threshold = try DiceThreshold("0.8")
        for a in [UInt32(1), 100, 373, 1000] {
            let range = threshold.admissiblePopcounts(for: a)
            // Just outside the range, even a full overlap cannot reach the threshold; at the ends it can.
            let best = { (b: UInt32) in threshold.isReached(common: min(a, b), popcountA: a, popcountB: b) }
            #expect(best(range.lowerBound) && best(range.upperBound))
            #expect(range.lowerBound == 0 || !best(range.lowerBound - 1))
            #expect(!best(range.upperBound + 1))
        }
    }
}
