import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchAudit

/// Protocol/vectors/audit-log.jsonl (SPEC §9, §10.7) is exactly what this build makes, and it verifies under the
/// test key's public key file.
struct AuditLogVectorTests {
    static let path = "Protocol/vectors/\(AuditLogVector.fileName)"

    /// Writes the vector when BLINDMATCH_WRITE_VECTORS=1 (after a deliberate change to SPEC §10).
    @Test func theVectorIsCurrentByteForByte() throws {
        let bytes = try AuditLogVector.build().jsonLines
        if ProcessInfo.processInfo.environment["BLINDMATCH_WRITE_VECTORS"] == "1" {
            try Data(bytes).write(to: RepositoryFile.url(Self.path))
        }
        #expect(try RepositoryFile.bytes(Self.path) == bytes)
    }

    @Test func theVectorVerifiesUnderTheTestKeyFile() throws {
        let key = try PublicSigningKey(contentsOfFile: RepositoryFile.url("Keys/test/test-agency-a.pub").path)
        #expect(key == (try AuditLogVector.publicKey()))
        let result = AuditVerification(jsonLines: try RepositoryFile.bytes(Self.path), publicKey: key)
        #expect(result.isValid, "\(result.failures)")
        #expect(result.entryCount == 20 && result.checkpointCount == 2 && result.unsignedEntryCount == 0)
    }

    /// The vector uses every action but run.failed and project.closed, and every kind of actor.
    @Test func theVectorCoversTheFormat() throws {
        let entries = try AuditLogVector.build().entries
        let actions = Set(entries.map(\.action))
        #expect(actions.union([.runFailed, .projectClosed]) == Set(AuditAction.allCases))
        #expect(entries.contains { $0.project == nil && $0.action != .checkpoint })
        let text = String(decoding: try AuditLogVector.build().jsonLines, as: UTF8.self)
        #expect(text.contains("×") && text.contains(#"\""#) && text.contains("/"))
    }
}
