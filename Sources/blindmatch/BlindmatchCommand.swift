import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchServer

@main
struct BlindmatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blindmatch",
        abstract: "Privacy-preserving record linkage: tokenise on the agency's machine, match only tokens.",
        discussion:
            "Agency staff: keygen, tokenise, inspect. Auditors: verify, vectors, audit. Everyone: bench. Secrets are read from files (mode 0600), never from arguments. See README.md and Protocol/SPEC.md.",
        version: BlindmatchVersion.version,
        subcommands: [
            KeygenCommand.self, TokeniseCommand.self, InspectCommand.self, VerifyCommand.self, VectorsCommand.self,
            MatchCommand.self, EvaluateCommand.self, SynthCommand.self, BenchCommand.self, DemoCommand.self,
            AuditCommand.self,
        ]
    )
}

/// A failure that has already been explained to the user: exit with this code and print nothing more.
struct ExitStatus: Error {
    let code: Int32
}

extension ParsableCommand {
    /// Runs `body`, turning a ProtocolError into one clear line on standard error and exit code 1.
    func reportingErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as ProtocolError {
            Console.error("blindmatch: error: \(error.reason)\n")
            throw ExitCode(1)
        } catch let error as MatchingError {
            Console.error("blindmatch: error: \(error.reason)\n")
            throw ExitCode(1)
        } catch let error as ServerError {
            Console.error("blindmatch: error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
