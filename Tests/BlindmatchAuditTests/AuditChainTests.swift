import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchAudit

struct AuditChainTests {
    static let time = AuditTime("2026-02-01T12:00:00Z")

    @Test func appendingChainsEachEntryToTheOneBefore() throws {
        var chain = AuditChain()
        let time = try #require(Self.time)
        let first = try chain.append(actor: .operator, action: .projectCreated, project: "p", time: time)
        let second = try chain.append(
            actor: .party("a"), action: .uploadAccepted, project: "p", details: ["records": 1], time: time)
        #expect(first.seq == 0 && second.seq == 1)
        #expect(first.previous == AuditEntry.firstPrevious)
        #expect(second.previous == Hex.encode(first.digest))
        #expect(chain.entriesSinceLastCheckpoint == 2)
        try chain.appendCheckpoint(signingKey: try SigningKey(seed: AuditLogVector.signingSeed), time: time)
        #expect(chain.entriesSinceLastCheckpoint == 0)
        try chain.append(actor: .system, action: .runStarted, project: "p", time: time)
        #expect(chain.entriesSinceLastCheckpoint == 1)
        #expect(chain.entries.map(\.seq) == [0, 1, 2, 3])
    }

    @Test func aRefusedEntryLeavesTheChainUnchanged() throws {
        var chain = AuditChain()
        let time = try #require(Self.time)
        try chain.append(actor: .operator, action: .projectCreated, project: "p", time: time)
        #expect(throws: AuditError.self) {
            try chain.append(actor: .operator, action: .runQueued, project: "p", details: ["bad name": 1], time: time)
        }
        #expect(chain.entries.count == 1)
    }

    @Test func aCheckpointNeedsAnEntryToCover() throws {
        var chain = AuditChain()
        let error = try #require(throws: AuditError.self) {
            try chain.appendCheckpoint(
                signingKey: try SigningKey(seed: AuditLogVector.signingSeed), time: try #require(Self.time))
        }
        #expect(error.code == .invalidAuditEntry)
    }

    @Test func jsonLinesRoundTrip() throws {
        let chain = try AuditLogVector.build()
        let bytes = chain.jsonLines
        #expect(bytes.last == 0x0A)
        #expect(bytes.filter { $0 == 0x0A }.count == chain.entries.count)
        #expect(try AuditChain(jsonLines: bytes) == chain)
        #expect(try AuditChain(entries: chain.entries) == chain)
        #expect(try AuditChain(jsonLines: []).entries.isEmpty)
    }

    @Test func readingABrokenLogThrowsNamingTheLine() throws {
        var log = Tampering(try AuditLogVector.build())
        log.alterDetail(at: 3, "records", to: .number("6"))
        let error = try #require(throws: AuditError.self) { try AuditChain(jsonLines: log.bytes) }
        #expect(error.code == .invalidAuditLog)
        #expect(error.reason.hasPrefix("audit log: line 4 (seq 3): hash does not match"))
        var entries = try AuditLogVector.build().entries
        entries.remove(at: 2)
        #expect(throws: AuditError.self) { try AuditChain(entries: entries) }
    }

    /// A chain read back continues where it left off, and the whole still verifies.
    @Test func aChainReadBackContinues() throws {
        var chain = try AuditChain(jsonLines: try AuditLogVector.build().jsonLines)
        let key = try SigningKey(seed: AuditLogVector.signingSeed)
        let time = try #require(Self.time)
        try chain.append(actor: .operator, action: .projectClosed, project: "p-2026-001", time: time)
        try chain.appendCheckpoint(signingKey: key, time: time)
        let result = AuditVerification(jsonLines: chain.jsonLines, publicKey: key.publicKey)
        #expect(result.isValid, "\(result.failures)")
        #expect(result.entryCount == 22)
        #expect(result.checkpointCount == 3)
    }

    @Test func writingIsAtomicAndExact() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let chain = try AuditLogVector.build()
        let path = "\(directory.path)/audit.jsonl"
        try chain.write(to: path)
        #expect(try FileIO.readAll(path) == chain.jsonLines)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["audit.jsonl"])
    }
}
