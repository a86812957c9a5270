import BlindmatchProtocol
import BlindmatchSynthetic
import Testing

@testable import BlindmatchMatching

/// A run cut into chunks (plan, the chunks' candidates, finish) gives what one `run` gives, however it is cut.
struct MatchEngineChunkTests {
    /// Cuts `count` rows into `parts` ranges of uneven sizes when `uneven`.
    static func cuts(_ count: Int, _ parts: Int, uneven: Bool = false) -> [Range<Int>] {
        guard uneven else { return (0..<parts).map { ($0 * count / parts)..<(($0 + 1) * count / parts) } }
        // Boundaries at 1/7, 1/7 + 1, 3/5 …: an empty-ish range, a one-row range, and long ones.
        var bounds = [0, count / 7, count / 7 + 1, 3 * count / 5, count]
        bounds = Array(Set(bounds)).sorted()
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }
    }

    static func chunked(
        _ engine: MatchEngine, _ a: TokenFile, _ b: TokenFile, rowsA: [Range<Int>], rowsB: [Range<Int>]
    ) throws -> ([MatchResult], MatchEngine.Report) {
        let plan = try engine.plan(a, b)
        // The plan and every chunk go through their binary form, as they do between a server and its workers.
        let stored = try MatchPlan(serialized: try plan.serialized(), source: "plan")
        #expect(stored == plan)
        var chunks: [ChunkCandidates] = []
        for rangeA in rowsA {
            for rangeB in rowsB {
                let chunk = try engine.candidates(a, b, plan: stored, rowsA: rangeA, rowsB: rangeB)
                let copy = try ChunkCandidates(serialized: try chunk.serialized(), source: "chunk")
                #expect(copy == chunk)
                chunks.append(copy)
            }
        }
        return try engine.finish(a, b, plan: stored, chunks: chunks.reversed())
    }

    static func expectSameReport(_ x: MatchEngine.Report, _ y: MatchEngine.Report, _ label: String) {
        #expect(x.exactPairs == y.exactPairs, "\(label)")
        #expect(x.fuzzyPairs == y.fuzzyPairs, "\(label)")
        #expect(x.comparisons == y.comparisons, "\(label)")
        #expect(x.blocked == y.blocked, "\(label)")
        #expect(x.pairsByRule == y.pairsByRule, "\(label)")
        #expect(x.vetoed == y.vetoed, "\(label)")
        #expect(x.linkage == y.linkage, "\(label)")
    }

    @Test(arguments: [
        (true, false, false), (false, false, false), (true, true, false), (false, true, false),
        (true, true, true),
    ])
    func chunkedRunsGiveWhatOneRunGives(blocking: Bool, fitsModel: Bool, chooseThreshold: Bool) throws {
        let population = try SyntheticPopulation(
            SyntheticProfile.harsh.configuration(watchCount: 150, bulkCount: 2500, seed: 11))
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", population.allWatchRecords().map(\.fields))
        let b = try fixture.file("bulk", population.allBulkRecords().map(\.fields))
        var settings = MatchEngine.Settings(
            threshold: try DiceThreshold("0.85"), reviewFrom: try DiceThreshold("0.75"), solver: .manyToOne,
            threads: 2, vetoKeys: [0])
        settings.useBlocking = blocking
        settings.fitsModel = fitsModel
        settings.chooseThreshold = chooseThreshold
        let engine = try MatchEngine(settings: settings)
        let (whole, report) = try engine.run(a, b)
        #expect(report.blocked == blocking)
        #expect(report.exactPairs > 0 && report.fuzzyPairs > 0 && !whole.isEmpty)
        #expect((report.linkage != nil) == fitsModel)
        let cuts: [(String, [Range<Int>], [Range<Int>])] = [
            ("1×1", Self.cuts(a.recordCount, 1), Self.cuts(b.recordCount, 1)),
            ("3×1", Self.cuts(a.recordCount, 3), Self.cuts(b.recordCount, 1)),
            ("2×5", Self.cuts(a.recordCount, 2), Self.cuts(b.recordCount, 5)),
            ("uneven", Self.cuts(a.recordCount, 0, uneven: true), Self.cuts(b.recordCount, 0, uneven: true)),
        ]
        for (label, rowsA, rowsB) in cuts {
            let (results, chunkedReport) = try Self.chunked(engine, a, b, rowsA: rowsA, rowsB: rowsB)
            #expect(results == whole, "\(label)")
            Self.expectSameReport(chunkedReport, report, label)
        }
    }

    @Test func theGridCoversTheRunOnceWithinTheMemoryBudget() throws {
        let population = try SyntheticPopulation(.init(watchCount: 60, bulkCount: 900, seed: 6))
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", population.allWatchRecords().map(\.fields))
        let b = try fixture.file("bulk", population.allBulkRecords().map(\.fields))
        let engine = try MatchEngine(settings: .init(threshold: try DiceThreshold("0.8"), solver: .all, threads: 1))
        let plan = try engine.plan(a, b)
        for (limit, cap) in [(1 << 30, 1_000_000), (1 << 30, 200), (400_000, 1_000_000), (60_000, 1_000_000)] {
            let grid = try ChunkGrid(a, b, blocked: plan.blocked, memoryLimit: limit, bulkRowsPerChunk: cap)
            #expect(grid.cells.allSatisfy { $0.fixedBytes <= limit / 2 && $0.rowsB.count <= cap }, "\(limit) \(cap)")
            let chunks = grid.cells.map { ChunkCandidates(rowsA: $0.rowsA, rowsB: $0.rowsB) }
            #expect(throws: Never.self) { try MatchEngine.checkCover(chunks, recordsA: 60, recordsB: 900) }
            if limit == 1 << 30 && cap == 200 { #expect(grid.cells.count == 5) }
            let watchListPart = ChunkCost(file: a, blocked: plan.blocked, joinTable: true).bytes(rows: a.recordCount)
            #expect((Set(grid.cells.map(\.rowsA)).count > 1) == (watchListPart > limit / 4), "\(limit)")
        }
        #expect(throws: MatchingError.self) { _ = try ChunkGrid(a, b, blocked: true, memoryLimit: 100) }
    }

    @Test func finishRefusesChunksThatDoNotCoverTheFilesOnce() throws {
        let population = try SyntheticPopulation(.init(watchCount: 40, bulkCount: 300, seed: 5))
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", population.allWatchRecords().map(\.fields))
        let b = try fixture.file("bulk", population.allBulkRecords().map(\.fields))
        let engine = try MatchEngine(settings: .init(threshold: try DiceThreshold("0.8"), solver: .all, threads: 1))
        let plan = try engine.plan(a, b)
        let left = try engine.candidates(a, b, plan: plan, rowsA: 0..<40, rowsB: 0..<150)
        let right = try engine.candidates(a, b, plan: plan, rowsA: 0..<40, rowsB: 150..<300)
        let overlapping = try engine.candidates(a, b, plan: plan, rowsA: 0..<40, rowsB: 100..<300)
        #expect(throws: MatchingError.self) { _ = try engine.finish(a, b, plan: plan, chunks: [left]) }
        #expect(throws: MatchingError.self) { _ = try engine.finish(a, b, plan: plan, chunks: [left, right, right]) }
        #expect(throws: MatchingError.self) { _ = try engine.finish(a, b, plan: plan, chunks: [left, overlapping]) }
        #expect(throws: Never.self) { _ = try engine.finish(a, b, plan: plan, chunks: [right, left]) }
    }

    @Test func damagedChunksAreRefused() throws {
        let chunk = ChunkCandidates(
            rowsA: 0..<10, rowsB: 5..<20, exact: [ExactJoin.Pair(rowA: 1, rowB: 6, key: 2)],
            fuzzy: [ScoredPair(rowA: 2, rowB: 19, common: 300, popcountA: 340, popcountB: 360)], comparisons: 7)
        let bytes = try chunk.serialized()
        #expect(bytes.count == 88 + 10 + 14)
        #expect(try ChunkCandidates(serialized: bytes, source: "chunk") == chunk)
        #expect(throws: MatchingError.self) { _ = try ChunkCandidates(serialized: bytes.dropLast(), source: "x") }
        #expect(throws: MatchingError.self) { _ = try ChunkCandidates(serialized: bytes + [0], source: "x") }
        var outside = bytes
        outside[88 + 4] = 30  // the exact pair's bulk row, now outside 5..<20
        #expect(throws: MatchingError.self) { _ = try ChunkCandidates(serialized: outside, source: "x") }
        var magic = bytes
        magic[0] = 0
        #expect(throws: MatchingError.self) { _ = try ChunkCandidates(serialized: magic, source: "x") }
        // Every truncation is refused, none traps.
        for length in 0..<bytes.count {
            #expect(throws: MatchingError.self) {
                _ = try ChunkCandidates(serialized: Array(bytes[..<length]), source: "x")
            }
        }
    }
}
