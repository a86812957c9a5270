import Foundation
import Testing

/// `blindmatch audit verify` on the audit-log vector (SPEC §10.7), as an auditor runs it.
struct AuditCommandTests {
    static let log = CLI.repositoryPath("Protocol/vectors/audit-log.jsonl")
    static let matcherKey = CLI.repositoryPath("Keys/test/test-agency-a.pub")

    func vectorLines() throws -> [String] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: Self.log)), as: UTF8.self)
            .split(separator: "\n").map(String.init)
    }

    @Test func aGoodLogPasses() throws {
        let result = try CLI.run(["audit", "verify", Self.log, "--public-key", Self.matcherKey], in: "/tmp")
        #expect(result.status == 0, "\(result.output)\(result.error)")
        #expect(!result.output.contains("FAIL"))
        #expect(result.output.contains("the chain holds: 20 entries; 2 checkpoints verify"))
        #expect(result.output.contains("every entry is signed"))
    }

    @Test func anAlteredLogFailsNamingTheEntry() throws {
        let scratch = try Scratch()
        var lines = try vectorLines()
        lines[3] = lines[3].replacingOccurrences(of: #""records":5"#, with: #""records":6"#)
        try scratch.write("altered.jsonl", lines.map { $0 + "\n" }.joined())
        let result = try CLI.run(
            ["audit", "verify", "altered.jsonl", "--public-key", Self.matcherKey], in: scratch.path)
        #expect(result.status == 1)
        let output = result.output.split(separator: "\n").map(String.init)
        #expect(
            output.first
                == "FAIL  line 4 (seq 3): hash does not match its content: the entry was altered (SPEC §10.3 hash)")
        #expect(output.contains { $0.hasPrefix("altered.jsonl: 2 failures: 20 entries") })
        #expect(output.last?.hasPrefix("last entry: 19:") == true)
    }

    @Test func anotherKeyAndAnUnsignedEndFail() throws {
        let other = CLI.repositoryPath("Keys/test/test-agency-b.pub")
        let wrongKey = try CLI.run(["audit", "verify", Self.log, "--public-key", other], in: "/tmp")
        #expect(wrongKey.status == 1)
        #expect(wrongKey.output.contains("(SPEC §10.4 checkpoint key)"))

        let scratch = try Scratch()
        try scratch.write("cut.jsonl", try vectorLines().dropLast().map { $0 + "\n" }.joined())
        let cut = try CLI.run(["audit", "verify", "cut.jsonl", "--public-key", Self.matcherKey], in: scratch.path)
        #expect(cut.status == 1)
        #expect(cut.output.contains("13 entries after the last checkpoint (lines 7–19) are not signed"))
        let allowed = try CLI.run(
            ["audit", "verify", "cut.jsonl", "--public-key", Self.matcherKey, "--allow-unsigned-tail"], in: scratch.path
        )
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(allowed.output.contains("13 entries after the last checkpoint not signed"))
    }

    @Test func aMissingLogIsAnError() throws {
        let result = try CLI.run(["audit", "verify", "missing.jsonl", "--public-key", Self.matcherKey], in: "/tmp")
        #expect(result.status == 1)
        #expect(result.error.contains("blindmatch: error: missing.jsonl"))
    }
}
