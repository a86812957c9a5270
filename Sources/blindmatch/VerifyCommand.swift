import ArgumentParser
import BlindmatchProtocol

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a token file as an auditor: structure, digest, signature, schema, and that it holds no plaintext.",
        discussion:
            "Exits 0 only when every rule of Protocol/SPEC.md §6.6 holds; each rule is printed with its outcome.")

    @Argument(help: ArgumentHelp("The token file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The linkage schema the file must have been made with.", valueName: "schema.json"))
    var schema: String?

    @Option(
        name: .customLong("public-key"),
        help: ArgumentHelp("The signer's registered public key (PEM).", valueName: "key.pub"))
    var publicKey: String?

    @Flag(
        name: .customLong("allow-unsigned"),
        help:
            "Let an unsigned file pass the signature rule (never for a file from a party: it proves nothing about who made it)."
    )
    var allowUnsigned = false

    func validate() throws {
        if allowUnsigned && publicKey != nil {
            throw ValidationError("--allow-unsigned and --public-key contradict each other: a signer is expected")
        }
    }

    func run() throws {
        try reportingErrors {
            let expectedSchema = try schema.map { try LinkageSchema(contentsOfFile: $0) }
            let key = try publicKey.map { try PublicSigningKey(contentsOfFile: $0) }
            let tokens: TokenFile
            do {
                tokens = try TokenFile(contentsOf: file)
            } catch let error as ProtocolError {
                Console.output(Terminal.printable("FAIL  structure: \(error.reason)") + "\n")
                throw ExitCode(1)
            }
            let checks = tokens.verify(schema: expectedSchema, publicKey: key, allowUnsigned: allowUnsigned)
            for check in checks {
                // Details may quote the file's own strings: shown escaped, never raw.
                Console.output(
                    Terminal.printable("\(check.passed ? "ok  " : "FAIL")  \(check.rule): \(check.detail)") + "\n")
            }
            let failed = checks.filter { !$0.passed }.count
            if failed > 0 {
                Console.output(Terminal.printable("\(file): \(failed) rule(s) failed") + "\n")
                throw ExitCode(1)
            }
            Console.output(Terminal.printable("\(file): all \(checks.count) rules hold") + "\n")
        }
    }
}
