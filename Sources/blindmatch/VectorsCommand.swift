import ArgumentParser
import BlindmatchProtocol

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
            let failed = results.reduce(0) { $0 + $1.failures.count }
            let total = results.reduce(0) { $0 + $1.total }
            Console.output(failed == 0 ? "all \(total) vectors pass\n" : "\(failed) of \(total) vectors fail\n")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
