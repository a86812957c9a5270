import ArgumentParser
import BlindmatchProtocol
import Glibc

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a project's linkage secret, or a party's signing key pair.",
        discussion:
            "A linkage secret is written to FILE with mode 0600 and its public key id is printed; share the secret with the project's other agencies out of band (Keys/README.md), never with the matcher. With --import the secret's bytes are read from standard input (one trailing newline is dropped), so a project that already shares a clkhash secret keeps it. With --signing, NAME.key (private, 0600) and NAME.pub (public, for the matcher's registry) are written."
    )

    @Option(
        name: .shortAndLong, help: ArgumentHelp("Where to write the secret (or NAME for --signing).", valueName: "file")
    )
    var output: String

    @Flag(name: .customLong("import"), help: "Read an existing secret's bytes from standard input.")
    var importing = false

    @Flag(help: "Make an Ed25519 signing key pair instead of a linkage secret.")
    var signing = false

    @Flag(help: "Replace existing files (a replaced secret cannot be recovered).")
    var force = false

    func validate() throws {
        if importing && signing { throw ValidationError("--import and --signing cannot be combined") }
    }

    func run() throws {
        try reportingErrors {
            if signing {
                let key = try SigningKey.generate()
                let privatePath = output + ".key"
                let publicPath = output + ".pub"
                try refuseOverwrite(privatePath)
                try refuseOverwrite(publicPath)
                let privateFile = try AtomicFile(destination: privatePath, mode: 0o600)
                try privateFile.write(try key.privateKeyPEM())
                let publicFile = try AtomicFile(destination: publicPath, mode: 0o644)
                try publicFile.write(key.publicKey.pem())
                try privateFile.commit()
                try publicFile.commit()
                Console.output("wrote \(privatePath) (private, mode 0600) and \(publicPath) (public)\n")
                Console.output("public key fingerprint: \(key.publicKey.fingerprint)\n")
                return
            }
            try refuseOverwrite(output)
            let secret: LinkageSecret
            if importing {
                var bytes = try FileIO.readAll("/dev/stdin")
                if bytes.last == 0x0A { bytes.removeLast() }
                if bytes.last == 0x0D { bytes.removeLast() }
                secret = try LinkageSecret(importing: bytes)
            } else {
                secret = try LinkageSecret.generate()
            }
            try secret.write(toFile: output)
            Console.output("wrote \(output) (mode 0600)\nkey id: \(secret.keyID.hex)\n")
        }
    }

    private func refuseOverwrite(_ path: String) throws {
        if !force && FileIO.exists(path) {
            throw ProtocolError(.invalidArgument, "\(path) already exists; use --force to replace it")
        }
    }
}
