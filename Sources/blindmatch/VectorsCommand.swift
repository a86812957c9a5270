import ArgumentParser
import BlindmatchAudit
import BlindmatchProtocol
import BlindmatchServer

struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Check this build against the protocol's known-answer vectors (for auditors).",
        discussion: "Reads every vector file in Protocol/vectors/ and reports each group; exits 0 only if all pass.")

    @Option(help: ArgumentHelp("The vectors folder.", valueName: "dir"))
    var directory = "Protocol/vectors"

    func run() throws {
        try reportingErrors {
            let results = try VectorSuite.check(directory: directory)
            for result in results {
                Console.output(
                    "\(result.failures.isEmpty ? "ok  " : "FAIL")  \(result.file): \(result.name): \(result.passed)/\(result.total) cases\n"
                )
                for failure in result.failures.prefix(10) { Console.output("        \(failure)\n") }
            }
            let audit = try checkAuditLog()
            Console.output(
                "\(audit.failures.isEmpty ? "ok  " : "FAIL")  \(AuditLogVector.fileName): log: \(audit.total - min(audit.total, audit.failures.count))/\(audit.total) entries\n"
            )
            for failure in audit.failures.prefix(10) { Console.output("        \(failure)\n") }
            let failed = results.reduce(0) { $0 + $1.failures.count } + audit.failures.count
            let total = results.reduce(0) { $0 + $1.total } + audit.total
            Console.output(failed == 0 ? "all \(total) vectors pass\n" : "\(failed) of \(total) vectors fail\n")
            if failed > 0 { throw ExitCode(1) }
        }
    }

    /// SPEC §10.7: the audit-log vector is the log this build makes, byte for byte, and verifies under the test key.
    private func checkAuditLog() throws -> (total: Int, failures: [String]) {
        let path = "\(directory)/\(AuditLogVector.fileName)"
        guard FileIO.exists(path) else { return (1, ["\(path) is missing"]) }
        let bytes = try FileIO.readAll(path)
        let result = AuditVerification(jsonLines: bytes, publicKey: try AuditLogVector.publicKey())
        var failures = result.failures.map(\.description)
        if bytes != (try AuditLogVector.build().jsonLines) { failures.append("differs from the log this build makes") }
        return (max(1, result.entryCount), failures)
    }
}
