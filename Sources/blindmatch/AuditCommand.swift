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
        abstract: "Check an exported audit log: its hash chain, every checkpoint, and the receipts a party kept.",
        discussion:
            "Prints each failure with its line, seq and the rule of Protocol/SPEC.md §10.5 it breaks, then a summary. --receipts DIR checks every receipt a party's commands kept (upload, run request, approval, results read): each entry must be in the log at its seq with its hash, so an entry dropped, inserted before it or edited is caught. --previous SEQ:HASH checks that this export continues an earlier one (the last entry the earlier verify printed): a log cut back, or rewritten before that point, fails. Prints the log's last entry as SEQ:HASH, to give as --previous next time. Exits 0 only if everything holds and the log ends with a checkpoint."
    )

    @Argument(help: ArgumentHelp("The exported log (JSON Lines).", valueName: "log.jsonl"))
    var log: String

    @Option(
        name: .customLong("public-key"),
        help: ArgumentHelp(
            "The matcher's public key (PEM), obtained out of band: never one that came with the log.",
            valueName: "matcher.pub"))
    var publicKey: String

    @Option(
        name: .customLong("receipts"),
        help: ArgumentHelp("A folder of receipts kept by `blindmatch` (upload, run, results).", valueName: "dir"))
    var receipts: String?

    @Option(
        name: .customLong("previous"),
        help: ArgumentHelp(
            "An earlier export's last entry, as `audit verify` printed it: this log must continue it.",
            valueName: "seq:hash"))
    var previous: [String] = []

    func validate() throws {
        for text in previous where AuditReceipt(previous: text) == nil {
            throw ValidationError("--previous must be SEQ:HASH (a seq and 64 lower-case hex digits)")
        }
    }

    @Flag(
        name: .customLong("allow-unsigned-tail"),
        help: "Let entries after the last checkpoint pass: they are counted, but nothing signs them yet.")
    var allowUnsignedTail = false

    func run() throws {
        try reportingErrors {
            let key = try PublicSigningKey(contentsOfFile: publicKey)
            let bytes = try FileIO.readAll(log)
            let result = AuditVerification(
                jsonLines: bytes, publicKey: key, requiringFinalCheckpoint: !allowUnsignedTail)
            for failure in result.failures { Console.output("FAIL  \(failure)\n") }
            let unreported = result.failureCount - result.failures.count
            if unreported > 0 { Console.output("      and \(unreported) more failures\n") }
            Console.output("\(log): \(summary(of: result))\n")
            var failed = !result.isValid
            if receipts != nil || !previous.isEmpty {
                failed = try !checkReceipts(in: bytes) || failed
            }
            if let last = AuditReceipt.entries(jsonLines: bytes).max(by: { $0.key < $1.key })?.value {
                Console.output("last entry: \(last.seq):\(last.hash) (give it as --previous to the next verify)\n")
            }
            if failed { throw ExitCode(1) }
        }
    }

    /// Checks every receipt and `--previous` against the log's entries; prints one line each; whether all hold.
    private func checkReceipts(in bytes: [UInt8]) throws -> Bool {
        let entries = AuditReceipt.entries(jsonLines: bytes)
        var checks: [(name: String, receipt: AuditReceipt)] = previous.compactMap { text in
            AuditReceipt(previous: text).map { ("--previous \($0.seq)", $0) }
        }
        if let receipts {
            checks += try ReceiptFile.all(in: receipts).map { ($0.path, $0.receipt) }
            if checks.count == previous.count { Console.output("note: \(receipts) holds no receipt\n") }
        }
        var failures = 0
        for check in checks {
            let problems = AuditReceipt.problems(of: check.receipt, in: entries)
            if problems.isEmpty {
                Console.output("ok    \(check.name.printable): seq \(check.receipt.seq) is in the log, unchanged\n")
            } else {
                failures += 1
                for problem in problems { Console.output("FAIL  \(check.name.printable): \(problem)\n") }
            }
        }
        Console.output(
            failures == 0
                ? "\(count(checks.count, "receipt holds", "receipts hold"))\n"
                : "\(count(failures, "receipt fails", "receipts fail")) of \(checks.count): the log is not the one the receipts were given for\n"
        )
        return failures == 0
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
