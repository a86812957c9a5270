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
        var bytes = [UInt8](repeating: 0, count: count * (bits + 7) / 8)
        let filterBytes = (bits + 7) / 8
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
