import ArgumentParser
import BlindmatchAudit
import BlindmatchProtocol
import BlindmatchServer

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Export the matcher's audit log and its public key, and check the log offline (for auditors).",
        discussion:
            "The log's format and the rules are in Protocol/SPEC.md §10. `export` and `public-key` talk to the matching service; `verify` needs only the files.",
        subcommands: [AuditVerifyCommand.self, AuditExportCommand.self, AuditPublicKeyCommand.self])
}

struct AuditVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an exported audit log: its hash chain, and every checkpoint against the matcher's key.",
        discussion:
            "Prints each failure with its line, seq and the rule of Protocol/SPEC.md §10.5 it breaks, then a summary. Exits 0 only if the chain holds, every checkpoint verifies and the log ends with a checkpoint."
    )

    @Argument(help: ArgumentHelp("The exported log (JSON Lines).", valueName: "log.jsonl"))
    var log: String

    @Option(
        name: .customLong("public-key"),
        help: ArgumentHelp(
            "The matcher's public key (PEM), obtained out of band: never one that came with the log.",
            valueName: "matcher.pub"))
    var publicKey: String

    @Flag(
        name: .customLong("allow-unsigned-tail"),
        help: "Let entries after the last checkpoint pass: they are counted, but nothing signs them yet.")
    var allowUnsignedTail = false

    func run() throws {
        try reportingErrors {
            let key = try PublicSigningKey(contentsOfFile: publicKey)
            let result = AuditVerification(
                jsonLines: try FileIO.readAll(log), publicKey: key, requiringFinalCheckpoint: !allowUnsignedTail)
            for failure in result.failures { Console.output("FAIL  \(failure)\n") }
            let unreported = result.failureCount - result.failures.count
            if unreported > 0 { Console.output("      and \(unreported) more failures\n") }
            Console.output("\(log): \(summary(of: result))\n")
            if !result.isValid { throw ExitCode(1) }
        }
    }

    private func summary(of result: AuditVerification) -> String {
        let key = result.keyFingerprint ?? ""
        let checkpoints =
            result.lastCheckpointSeq.map {
                "\(count(result.checkpointCount, "checkpoint verifies", "checkpoints verify")) under key \(key), the last at seq \($0)"
            } ?? "no checkpoint verifies under key \(key)"
        let unsigned =
            result.unsignedEntryCount == 0
            ? "every entry is signed"
            : "\(count(result.unsignedEntryCount, "entry", "entries")) after the last checkpoint not signed"
        let counts = "\(count(result.entryCount, "entry", "entries")); \(checkpoints); \(unsigned)"
        return result.isValid
            ? "the chain holds: \(counts)" : "\(count(result.failureCount, "failure", "failures")): \(counts)"
    }

    private func count(_ number: Int, _ one: String, _ many: String) -> String {
        "\(number) \(number == 1 ? one : many)"
    }
}
