import BlindmatchProtocol
import BlindmatchTestSupport
import Testing

@testable import BlindmatchAudit

/// Seeded mutations of the audit-log vector through the reader and the verifier (SPEC §10.5): they never trap, a
/// line the reader accepts reads back the same from its canonical bytes, and no change to the log's content
/// verifies.
struct AuditFuzzTests {
    @Test func theReaderAndTheVerifierNeverTrapAndNoChangeVerifies() throws {
        let chain = try AuditLogVector.build()
        let key = try SigningKey(seed: AuditLogVector.signingSeed).publicKey
        let log = Tampering(chain).bytes
        #expect(AuditVerification(jsonLines: log, publicKey: key).isValid)
        let lines = log.split(separator: 0x0a).map(Array.init)
        var mutator = Mutator(seed: 7)
        var parsed = 0
        for iteration in 0..<1500 {
            let line = mutator.mutate(lines[iteration % lines.count])
            if let entry = try? AuditEntry(parsing: line) {
                parsed += 1
                #expect(try AuditEntry(parsing: entry.canonicalBytes) == entry)
            }
        }
        #expect(parsed > 0)
        let withoutBreaks = log.filter { $0 != 0x0a }
        for _ in 0..<300 {
            let mutated = mutator.mutate(log)
            let result = AuditVerification(jsonLines: mutated, publicKey: key)
            if result.isValid {
                // Only where the line breaks fall may differ (a line the mutation did not touch).
                #expect(mutated.filter { $0 != 0x0a } == withoutBreaks, "a changed log verified")
            }
        }
    }
}
