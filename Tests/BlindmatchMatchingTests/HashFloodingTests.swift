import BlindmatchProtocol
import Testing

@testable import BlindmatchMatching

/// Token files whose tokens an attacker chose: a party can write any 16 bytes as a token, so it can make every token
/// share the bits a fixed slotting function looks at (the first 8 bytes, before slots were keyed). These tests count
/// the join tables' probes, which stay near one per token only when no upload can choose collisions.
struct HashFloodingTests {
    static let rows = 2048

    /// A fixture file of `rows` records whose token column `column` is replaced by `token(row)` and in which only
    /// that column is present. The digest no longer matches; the engine does not look at it.
    static func forged(
        _ fixture: TokenFixture, _ name: String, column: Int, token: (Int) -> (UInt64, UInt64)
    ) throws -> TokenFile {
        let records = (0..<rows).map { row in
            ["\(name)\(row)", "Given", "Family", "1980-01-01", "F", "SW1A 1AA", ""]
        }
        let path = "\(fixture.directory.path)/\(name).bmt"
        _ = try fixture.file(name, records)
        var bytes = try FileIO.readAll(path)
        let layout = try TokenFile(contentsOf: path).layout
        for row in 0..<rows {
            let presence = layout.presenceOffset + row * layout.presenceBytes
            for byte in 0..<layout.presenceBytes { bytes[presence + byte] = 0 }
            bytes[presence + column >> 3] = 1 << UInt8(column & 7)
            let (low, high) = token(row)
            let offset = layout.tokenOffset(key: column) + row * 16
            for index in 0..<8 {
                bytes[offset + index] = UInt8(truncatingIfNeeded: low >> (8 * UInt64(index)))
                bytes[offset + 8 + index] = UInt8(truncatingIfNeeded: high >> (8 * UInt64(index)))
            }
        }
        let file = try AtomicFile(destination: path)
        try file.write(bytes)
        try file.commit()
        return try TokenFile(contentsOf: path)
    }

    /// Shapes of forged tokens.
    enum Shape: CaseIterable, Sendable {
        case firstEightBytesShared, lastEightBytesSharedLowBitsZero, arithmeticProgression

        /// The token of `value`: A's row `row` has `value` = `row`; B's even rows carry A's token of the same row,
        /// its odd rows a token A does not have (`row` + rows).
        func token(_ value: Int) -> (UInt64, UInt64) {
            switch self {
            case .firstEightBytesShared: (0x5eed_5eed_5eed_5eed, UInt64(value))
            case .lastEightBytesSharedLowBitsZero: (UInt64(value) << 40, 7)
            case .arithmeticProgression: (UInt64(value) &* 0x1_0000_0001, UInt64(value) &* 0x1_0000_0001)
            }
        }
    }

    @Test(arguments: Shape.allCases)
    func exactStageStaysLinearOnForgedTokens(shape: Shape) throws {
        let fixture = try TokenFixture()
        let a = try Self.forged(fixture, "watch", column: 0) { shape.token($0) }
        let b = try Self.forged(fixture, "bulk", column: 0) { shape.token($0.isMultiple(of: 2) ? $0 : $0 + Self.rows) }
        let (pairs, statistics) = try ExactJoin.pairs(between: a, and: b, hashKey: .random(), cancellation: nil)
        // The pairs are those the forged tokens make, whatever the slots.
        let expected: [[UInt32]] = (0..<Self.rows / 2).map { [UInt32(2 * $0), UInt32(2 * $0)] }
        let joined: [[UInt32]] = pairs.map { [$0.rowA, $0.rowB] }
        #expect(joined == expected)
        // Inserting A's tokens and looking up B's touches about one slot each (a table at most half full, slots
        // strongly universal); slotting by the first 8 bytes touched about rows² / 2 for the first shape.
        let tokens = 2 * Self.rows
        #expect(statistics.probes < 4 * tokens, "probes \(statistics.probes) for \(tokens) tokens")
    }

    @Test func blockingTableStaysLinearOnForgedTokens() throws {
        let fixture = try TokenFixture()
        let column = try #require(fixture.schema.matchKeys.count as Int?)
        let a = try Self.forged(fixture, "watch", column: column) { (0x5eed, UInt64($0) << 32) }
        let b = try Self.forged(fixture, "bulk", column: column) { (0x5eed, UInt64($0 + Self.rows) << 32) }
        let table = TokenTable(file: a, key: column, hashKey: .random())
        var probes = table.insertionProbes
        let tokens = b.tokens(key: column)
        for row in 0..<b.recordCount {
            probes += table.forEachRow(
                matching: tokens.loadUnaligned(fromByteOffset: row * 16, as: UInt64.self),
                tokens.loadUnaligned(fromByteOffset: row * 16 + 8, as: UInt64.self)
            ) { _ in Issue.record("no token of B is one of A's") }
        }
        #expect(probes < 8 * Self.rows, "probes \(probes)")
        // And the blocking stage itself finds nothing to compare.
        let (found, compared) = try BlockingJoin.candidates(
            between: a, and: b, blockingColumns: [column], matchColumns: [], threshold: try DiceThreshold("0.5"),
            threads: 2)
        #expect(found.isEmpty && compared == 0)
    }

    @Test func resultsDoNotDependOnTheKey() throws {
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", MatchEngineTests.watch)
        let b = try fixture.file("bulk", MatchEngineTests.bulk)
        var first = SeededGenerator(seed: [1])
        var second = SeededGenerator(seed: [2])
        let keys = [TokenHashKey(using: &first), TokenHashKey(using: &second)]
        #expect(keys[0] != keys[1])
        let joins = try keys.map { try ExactJoin.pairs(between: a, and: b, hashKey: $0, cancellation: nil).pairs }
        #expect(joins[0] == joins[1])
        #expect(joins[0] == ExactJoin.pairs(between: a, and: b))
        #expect(!joins[0].isEmpty)
    }

    /// One token on every row of both sides joins rows × rows pairs (legitimately: they are equal tokens); the
    /// comparison budget stops the stage soon after the budget is spent, not at the end.
    @Test func comparisonBudgetStopsTheExactStage() throws {
        let fixture = try TokenFixture()
        let a = try Self.forged(fixture, "watch", column: 0) { _ in (1, 2) }
        let b = try Self.forged(fixture, "bulk", column: 0) { _ in (1, 2) }
        let flag = RunCancellation(comparisonLimit: 100_000)
        #expect(throws: MatchingError.self) {
            _ = try ExactJoin.pairs(between: a, and: b, hashKey: .random(), cancellation: flag)
        }
        #expect(flag.reason == .comparisonLimit)
        #expect(flag.comparisons < 100_000 + 2 * ExactJoin.checkEvery + Self.rows)
        #expect(flag.comparisons < Self.rows * Self.rows)
    }

    @Test func memoryBudgetStopsTheExactStage() throws {
        let fixture = try TokenFixture()
        let a = try Self.forged(fixture, "watch", column: 0) { _ in (1, 2) }
        let b = try Self.forged(fixture, "bulk", column: 0) { _ in (1, 2) }
        let flag = RunCancellation(pairLimit: 50_000)
        #expect(throws: MatchingError.self) {
            _ = try ExactJoin.pairs(between: a, and: b, hashKey: .random(), cancellation: flag)
        }
        #expect(flag.reason == .memoryLimit)
    }

    @Test func aCancelledFlagStopsTheExactStageAndTheEngine() throws {
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", MatchEngineTests.watch)
        let b = try fixture.file("bulk", MatchEngineTests.bulk)
        let flag = RunCancellation()
        flag.cancel()
        flag.cancel(.timeLimit)
        #expect(flag.reason == .cancelled)
        #expect(throws: MatchingError.self) {
            _ = try ExactJoin.pairs(between: a, and: b, hashKey: .random(), cancellation: flag)
        }
        var settings = try MatchEngineTests.settings(.oneToOne, blocking: true)
        settings.cancellation = flag
        #expect(throws: MatchingError.self) { _ = try MatchEngine(settings: settings).run(a, b) }
    }
}
