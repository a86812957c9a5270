import ArgumentParser
import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchServer

@main
struct BlindmatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blindmatch",
        abstract: "Privacy-preserving record linkage: tokenise on the agency's machine, match only tokens.",
        discussion:
            "Agency staff: keygen, tokenise, inspect, then upload and results. Operators: token, project, run. Auditors: verify, vectors, audit. Everyone: bench. Secrets and bearer tokens are read from files (mode 0600) or the environment, never from arguments. See README.md, Protocol/SPEC.md and Protocol/service.md.",
        version: BlindmatchVersion.version,
        subcommands: [
            KeygenCommand.self, TokeniseCommand.self, InspectCommand.self, VerifyCommand.self, VectorsCommand.self,
            MatchCommand.self, EvaluateCommand.self, SynthCommand.self, BenchCommand.self, DemoCommand.self,
            AuditCommand.self, ServeCommand.self, TokenCommand.self, ProjectCommand.self, UploadCommand.self,
            RunCommand.self, ResultsCommand.self,
            AssessCommand.self, WorkerCommand.self,
        ]
    )
}

/// A failure that has already been explained to the user: exit with this code and print nothing more.
struct ExitStatus: Error {
    let code: Int32
}

extension ParsableCommand {
    /// Runs `body`, turning any module's error into one clear line on standard error and exit code 1.
    func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as any ReportableError {
            Console.error("blindmatch: error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}

/// The modules' error types: each describes itself in one line fit for the user (no values, tokens or secrets).
protocol ReportableError: Error, CustomStringConvertible {}

extension ProtocolError: ReportableError {}
extension MatchingError: ReportableError {}
extension ServerError: ReportableError {}
