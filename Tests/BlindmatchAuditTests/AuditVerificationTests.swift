import BlindmatchProtocol
import Testing

@testable import BlindmatchAudit

/// SPEC §10.5: every way of tampering with a log is caught, at the entry where it was done.
///
/// The log is the vector's: 14 entries, seq 0–13 on lines 1–14, checkpoints at seq 5 and 13.
struct AuditVerificationTests {
    static let chain = Result { try AuditLogVector.build() }
    static let matcherKey = Result { try SigningKey(seed: AuditLogVector.signingSeed) }
    static let otherKey = Result { try SigningKey(seed: Array(repeating: 7, count: 32)) }

    func log() throws -> Tampering { Tampering(try Self.chain.get()) }

    func verify(_ log: Tampering, requiringFinalCheckpoint: Bool = true) throws -> AuditVerification {
        AuditVerification(
            jsonLines: log.bytes, publicKey: try Self.matcherKey.get().publicKey,
            requiringFinalCheckpoint: requiringFinalCheckpoint)
    }

    func expectFirstFailure(
        _ result: AuditVerification, line: Int, seq: Int?, rule: AuditVerification.Rule,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(!result.isValid, sourceLocation: sourceLocation)
        let first = result.firstFailure
        #expect(first?.line == line, "\(result.failures)", sourceLocation: sourceLocation)
        #expect(first?.seq == seq, "\(result.failures)", sourceLocation: sourceLocation)
        #expect(first?.rule == rule, "\(result.failures)", sourceLocation: sourceLocation)
    }

    @Test func theUntouchedLogHolds() throws {
        let result = try verify(try log())
        #expect(result.isValid, "\(result.failures)")
        #expect(result.entryCount == 20)
        #expect(result.checkpointCount == 2)
        #expect(result.lastCheckpointSeq == 19)
        #expect(result.unsignedEntryCount == 0)
        #expect(result.keyFingerprint == "03396219237f75a64f12aeb7f39723abf400b160c364980a765dac24aeba2464")
        let entries = try Self.chain.get().entries
        #expect(
            AuditVerification(entries: entries, publicKey: try Self.matcherKey.get().publicKey) == result)
    }

    @Test func anAlteredEntryIsNamed() throws {
        var log = try log()
        log.alterDetail(at: 3, "records", to: .number("6"))
        let result = try verify(log)
        expectFirstFailure(result, line: 4, seq: 3, rule: .hash)
        #expect(
            result.firstFailure?.description
                == "line 4 (seq 3): hash does not match its content: the entry was altered (SPEC §10.3 hash)")
        // The next line no longer links to it; nothing further is blamed.
        #expect(result.failures.map(\.line) == [4, 5])
        #expect(result.failures.last?.rule == .previous)
        #expect(result.checkpointCount == 2)
    }

    @Test func anAlteredAndRehashedEntryBreaksTheLinkAfterIt() throws {
        var log = try log()
        log.alterDetail(at: 3, "records", to: .number("6"))
        log.rehash(at: 3)
        expectFirstFailure(try verify(log), line: 5, seq: 4, rule: .previous)
    }

    @Test func aResealedChainFailsAtTheCheckpointThatCoversIt() throws {
        var log = try log()
        log.alterDetail(at: 3, "records", to: .number("6"))
        try log.reseal(from: 3)
        let result = try verify(log)
        expectFirstFailure(result, line: 6, seq: 5, rule: .checkpointSignature)
        #expect(result.failures.map(\.rule) == [.checkpointSignature, .checkpointSignature, .signedToTheEnd])
        #expect(result.checkpointCount == 0)
        #expect(result.unsignedEntryCount == 20)
    }

    @Test func aDeletedEntryIsNamed() throws {
        var log = try log()
        log.lines.remove(at: 7)
        let result = try verify(log)
        expectFirstFailure(result, line: 8, seq: 8, rule: .sequence)
        #expect(result.failures.map(\.rule) == [.sequence, .previous])
        #expect(result.firstFailure?.detail.contains("where 7 was expected after line 7") == true)
    }

    @Test func aDeletionHiddenByRenumberingFailsAtTheNextCheckpoint() throws {
        var log = try log()
        log.lines.remove(at: 7)
        try log.reseal(from: 7)
        expectFirstFailure(try verify(log), line: 19, seq: 18, rule: .checkpointSignature)
    }

    @Test func aReorderedPairIsNamed() throws {
        var log = try log()
        log.lines.swapAt(7, 8)
        let result = try verify(log)
        expectFirstFailure(result, line: 8, seq: 8, rule: .sequence)
        #expect(Set(result.failures.map(\.line)) == [8, 9, 10])
    }

    @Test func anInsertedEntryIsNamed() throws {
        var log = try log()
        log.lines.insert(log.lines[2], at: 4)
        expectFirstFailure(try verify(log), line: 5, seq: 2, rule: .sequence)
    }

    @Test func anInsertedWellFormedEntryFailsAtTheNextCheckpoint() throws {
        var log = try log()
        let chain = try Self.chain.get()
        let inserted = try AuditEntry.make(
            after: chain.entries[3], actor: .party("agency-a"), action: .resultRead, project: "p-2026-001",
            details: ["run": "r-0", "rows": 9], time: try #require(AuditTime("2026-01-06T14:25:00Z")))
        log.lines.insert(String(decoding: inserted.canonicalBytes, as: UTF8.self), at: 4)
        try log.reseal(from: 5)
        expectFirstFailure(try verify(log), line: 7, seq: 6, rule: .checkpointSignature)
    }

    @Test func aTruncatedLastLineIsNamed() throws {
        let log = try log()
        var bytes = log.bytes
        bytes.removeLast(40)
        let result = AuditVerification(jsonLines: bytes, publicKey: try Self.matcherKey.get().publicKey)
        expectFirstFailure(result, line: 20, seq: nil, rule: .line)
        #expect(result.firstFailure?.detail.contains("cut off") == true)
        #expect(result.failures.last?.rule == .signedToTheEnd)
        #expect(result.unsignedEntryCount == 14)
        #expect(result.lastCheckpointSeq == 5)
    }

    @Test func aMissingFinalLineFeedIsNamed() throws {
        var bytes = try log().bytes
        bytes.removeLast()
        let result = AuditVerification(jsonLines: bytes, publicKey: try Self.matcherKey.get().publicKey)
        expectFirstFailure(result, line: 20, seq: 19, rule: .line)
        #expect(result.failureCount == 1)
    }

    @Test func entriesAfterTheLastCheckpointAreUnsigned() throws {
        var log = try log()
        log.lines.removeLast()
        let result = try verify(log)
        expectFirstFailure(result, line: 7, seq: 6, rule: .signedToTheEnd)
        #expect(result.firstFailure?.detail == "13 entries after the last checkpoint (lines 7–19) are not signed")
        #expect(result.unsignedEntryCount == 13)
        let relaxed = try verify(log, requiringFinalCheckpoint: false)
        #expect(relaxed.isValid)
        #expect(relaxed.unsignedEntryCount == 13)
    }

    @Test func aCheckpointByAnotherKeyIsForged() throws {
        var log = try log()
        log.alterDetail(at: 3, "records", to: .number("6"))
        try log.reseal(from: 3, signingWith: try Self.otherKey.get())
        let result = try verify(log)
        expectFirstFailure(result, line: 6, seq: 5, rule: .checkpointKey)
        #expect(result.failures.map(\.rule) == [.checkpointKey, .checkpointKey, .signedToTheEnd])
    }

    @Test func aCheckpointClaimingTheMatchersKeyWithAnotherSignatureIsForged() throws {
        var log = try log()
        try log.reseal(from: 19, signingWith: try Self.otherKey.get())
        log.alterDetail(at: 19, "key", to: .string(try Self.matcherKey.get().publicKey.fingerprint))
        log.rehash(at: 19)
        expectFirstFailure(try verify(log), line: 20, seq: 19, rule: .checkpointSignature)
    }

    @Test func aCheckpointOverTheWrongHashFails() throws {
        var log = try log()
        let key = try Self.matcherKey.get()
        let wrong = try #require(Hex.decode(Tampering.json(log.lines[17])["hash"]?.stringValue ?? ""))
        let signature = try key.signature(for: AuditEntry.checkpointMessage(covering: wrong))
        log.alterDetail(at: 19, "signature", to: .string(Base64.encode(signature)))
        log.rehash(at: 19)
        let result = try verify(log)
        expectFirstFailure(result, line: 20, seq: 19, rule: .checkpointSignature)
        #expect(result.failures.map(\.rule) == [.checkpointSignature, .signedToTheEnd])
    }

    @Test func aCheckpointThatDoesNotCoverTheEntryBeforeItIsMisformed() throws {
        var log = try log()
        log.alterDetail(at: 19, "upTo", to: .number("17"))
        log.rehash(at: 19)
        expectFirstFailure(try verify(log), line: 20, seq: 19, rule: .checkpointForm)
    }

    @Test func anotherKeyVerifiesNoCheckpoint() throws {
        let result = AuditVerification(jsonLines: try log().bytes, publicKey: try Self.otherKey.get().publicKey)
        #expect(result.failures.map(\.rule) == [.checkpointKey, .checkpointKey, .signedToTheEnd])
        #expect(result.checkpointCount == 0)
    }

    @Test func aLogCutAtTheFrontIsNamed() throws {
        var log = try log()
        log.lines.removeFirst()
        let result = try verify(log)
        expectFirstFailure(result, line: 1, seq: 1, rule: .sequence)
        #expect(result.failures.prefix(2).map(\.rule) == [.sequence, .previous])
    }

    @Test func anEmptyLogFails() throws {
        let result = AuditVerification(jsonLines: [], publicKey: try Self.matcherKey.get().publicKey)
        expectFirstFailure(result, line: 1, seq: nil, rule: .line)
        let none = AuditVerification(entries: [], publicKey: try Self.matcherKey.get().publicKey)
        #expect(none.firstFailure == result.firstFailure)
    }

    @Test func rewrittenLinesAreNotCanonical() throws {
        var log = try log()
        log.lines[2] = log.lines[2].replacingOccurrences(of: #","seq":"#, with: #", "seq":"#)
        var result = try verify(log)
        expectFirstFailure(result, line: 3, seq: 2, rule: .canonicalForm)
        log = try self.log()
        log.lines[2] += "\r"
        result = try verify(log)
        expectFirstFailure(result, line: 3, seq: 2, rule: .canonicalForm)
        #expect(result.firstFailure?.detail.contains("CR LF") == true)
        log = try self.log()
        log.lines.insert("", at: 3)
        expectFirstFailure(try verify(log), line: 4, seq: nil, rule: .line)
    }

    @Test func unknownActionsAndDetailsOutsideTheShapeFail() throws {
        var log = try log()
        log.lines[2] =
            Tampering.setting("action", to: .string("project.deleted"), in: Tampering.json(log.lines[2]))
            .canonicalText
        log.rehash(at: 2)
        expectFirstFailure(try verify(log), line: 3, seq: 2, rule: .action)

        log = try self.log()
        log.alterDetail(at: 2, "records", to: .array([.number("1")]))
        log.rehash(at: 2)
        expectFirstFailure(try verify(log), line: 3, seq: 2, rule: .details)

        log = try self.log()
        log.lines[2] = Tampering.setting("extra", to: .null, in: Tampering.json(log.lines[2])).canonicalText
        log.rehash(at: 2)
        expectFirstFailure(try verify(log), line: 3, seq: 2, rule: .members)
    }

    /// A log is untrusted text: failures never repeat it, so it cannot drive the auditor's terminal.
    @Test func failuresDoNotRepeatTheLogsText() throws {
        var log = try log()
        let escape = "\u{1B}]0;pwned\u{7}"
        log.lines[2] =
            Tampering.setting("action", to: .string(escape), in: Tampering.json(log.lines[2]))
            .canonicalText
        log.alterDetail(at: 3, escape, to: .string(escape))
        log.lines[4] = "{\"\(escape)\":1,\"\(escape)\":2}"
        let result = try verify(log)
        #expect(result.failureCount > 3)
        for failure in result.failures {
            #expect(!failure.description.contains("\u{1B}"), "\(failure)")
            #expect(!failure.description.contains("pwned"), "\(failure)")
        }
    }

    @Test func failuresBeyondTheLimitAreCountedNotKept() throws {
        let lines = Array(repeating: UInt8(ascii: "x"), count: 1) + [0x0A]
        let bytes = Array((0..<1500).map { _ in lines }.joined())
        let result = AuditVerification(jsonLines: bytes, publicKey: try Self.matcherKey.get().publicKey)
        #expect(result.failures.count == AuditVerification.maximumReportedFailures)
        #expect(result.failureCount == 1501)
        #expect(result.entryCount == 1500)
    }
}
