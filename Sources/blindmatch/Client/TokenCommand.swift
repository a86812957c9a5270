import ArgumentParser
import BlindmatchContract
import BlindmatchProtocol

extension ServiceAPI.Role: ExpressibleByArgument {}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract:
            "Issue, list and revoke the matching service's bearer tokens (operator); activate a party token (party).",
        discussion:
            "A token has a public id (t-…, the one in the audit log), a role and a scope: an operator or auditor token is service-wide; a party token is bound to one party of one project. The secret is shown once, when issued, and only written into a file of mode 0600; the server keeps only its SHA-256. See Protocol/service.md, \"Roles and tokens\".",
        subcommands: [
            TokenIssueCommand.self, TokenListCommand.self, TokenRevokeCommand.self, TokenActivateCommand.self,
        ])
}

struct TokenActivateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Activate your party token by signing its challenge with your party's signing key.",
        discussion:
            "A party token is issued inactive: until its party proves that it holds the private key of its registered public key, the token reads nothing (Protocol/service.md, \"Party tokens are bound to the party's key\"). This reads the token's challenge from /me, signs the activation message with --signing-key (the PEM private key of mode 0600 that signs your token files) and sends the signature. Prints the token's id and the key it was bound to. The private key never leaves this machine."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(
        name: .customLong("signing-key"),
        help: ArgumentHelp("Your party's Ed25519 private key (PEM, mode 0600).", valueName: "party.key"))
    var signingKey: String

    func run() async throws {
        try await reportingErrors {
            let caller = try await Self.activate(
                signingKey: try SigningKey(contentsOfFile: signingKey), connection: connection)
            Console.output(
                "\(caller.tokenId.printable)\nactive since \((caller.activatedAt ?? "-").printable); bound to key \((caller.partyKey?.fingerprint ?? "-").printable)\n"
            )
        }
    }

    /// Reads the token's challenge and activates it with `key`; returns the caller as `/me` then shows it.
    static func activate(signingKey key: SigningKey, connection: ServiceConnection) async throws -> ServiceAPI.Caller {
        try await connection.withClient { client in
            let caller: ServiceAPI.Caller = try await client.json(Endpoint(.GET, "me"))
            guard let activation = caller.activation, let project = caller.project, let party = caller.party else {
                throw ClientError(
                    .invalidArgument,
                    caller.role == .party
                        ? "this token is active already (since \(caller.activatedAt ?? "its issue"))"
                        : "only a party token is activated; this one is an \(caller.role.rawValue) token")
            }
            guard activation.key == key.publicKey.fingerprint else {
                throw ClientError(
                    .invalidArgument,
                    "the service has key \(activation.key.prefix(16))… registered for \(party), not this signing key's \(key.publicKey.fingerprint.prefix(16))…: if your party did not rotate its key, tell the operator and your auditor"
                )
            }
            let message = TokenActivation.message(
                token: caller.tokenId, project: project, party: party, key: activation.key,
                challenge: activation.challenge)
            return try await client.json(
                Endpoint(.POST, "me", "activate"),
                sending: ServiceAPI.ActivationRequest(signature: Base64.encode(try key.signature(for: message))))
        }
    }
}

struct TokenIssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a bearer token and write its secret into a file of mode 0600.",
        discussion:
            "A party token needs --project and --party (a registered party of that project; the token's name is the party's). An auditor or operator token needs --name and is service-wide. The secret is written into FILE only (never to the screen); prints the token's id first, then its metadata. Give the file to its holder out of band; they pass it with --token-file. If the file cannot be written after the token was issued, the message names the token id to revoke."
    )

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("The token's role.", valueName: "role"))
    var role: ServiceAPI.Role

    @Option(help: ArgumentHelp("The project of a party token.", valueName: "project-id"))
    var project: String?

    @Option(help: ArgumentHelp("The party of a party token (its registered name).", valueName: "name"))
    var party: String?

    @Option(help: ArgumentHelp("The name of an auditor or operator token (as in the audit log).", valueName: "name"))
    var name: String?

    @Option(
        name: .customLong("expires-at"),
        help: ArgumentHelp("When the token stops working, UTC (default: never).", valueName: "YYYY-MM-DDTHH:MM:SSZ"))
    var expiresAt: String?

    @Option(
        name: .shortAndLong, help: ArgumentHelp("Where to write the token's secret (mode 0600).", valueName: "file"))
    var output: String

    @Flag(help: "Replace an existing file.")
    var force = false

    func validate() throws {
        if role == .party {
            guard project != nil, party != nil else {
                throw ValidationError("a party token needs --project and --party")
            }
            if name != nil { throw ValidationError("a party token's name is its party's: leave out --name") }
        } else {
            guard name != nil else { throw ValidationError("an \(role.rawValue) token needs --name") }
            if project != nil || party != nil {
                throw ValidationError("an \(role.rawValue) token is service-wide: leave out --project and --party")
            }
        }
        if let expiresAt, !Timestamp.isValid(expiresAt) {
            throw ValidationError("--expires-at must be UTC to the second, as 2026-12-31T23:59:59Z")
        }
    }

    func run() async throws {
        try await reportingErrors {
            if !force && FileIO.exists(output) {
                throw ClientError(.invalidArgument, "\(output) already exists; use --force to replace it")
            }
            // validate() has checked that the options fit the role.
            let request: ServiceAPI.TokenRequest =
                role == .party
                ? .party(project: project ?? "", party: party ?? "", expiresAt: expiresAt)
                : .staff(auditor: role == .auditor, name: name ?? "", expiresAt: expiresAt)
            let token = try await Self.issue(request, into: output, connection: connection)
            Console.output(
                "\(token.id)\n\(TokenDescription.summary(of: token))\n"
                    + "wrote \(output) (mode 0600): the only copy of the secret; hand it over out of band\n")
        }
    }

    /// Issues a token and writes its secret, and nothing else, into `output` (mode 0600, replacing a file there);
    /// returns the token's metadata.
    ///
    /// The file is created before the token is issued, so that a token is never issued with nowhere to go; if it
    /// cannot be written afterwards, the error names the token id to revoke.
    static func issue(
        _ request: ServiceAPI.TokenRequest, into output: String, connection: ServiceConnection
    ) async throws -> ServiceAPI.TokenInfo {
        let file = try AtomicFile(destination: output, mode: 0o600)
        InterruptCleanup.install(removing: [file.temporaryPath])
        defer { InterruptCleanup.uninstall() }
        let issued: ServiceAPI.IssuedToken = try await connection.withClient { client in
            try await client.json(Endpoint(.POST, "tokens"), sending: request)
        }
        do {
            try file.write(try BearerToken(text: issued.token, source: "the issued token").fileContents)
            try file.commit()
        } catch {
            throw ClientError(
                .invalidArgument,
                "token \(issued.info.id) was issued but its secret could not be saved (\(error)); revoke it with `blindmatch token revoke \(issued.info.id)`"
            )
        }
        return issued.info
    }
}

struct TokenListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List bearer tokens, newest first (metadata only, never a secret).")

    @OptionGroup var connection: ServiceConnection

    @Option(help: ArgumentHelp("Only the party tokens of this project.", valueName: "project-id"))
    var project: String?

    @Flag(name: .customLong("include-revoked"), help: "List revoked tokens too.")
    var includeRevoked = false

    func run() async throws {
        try await reportingErrors {
            var endpoint = Endpoint(.GET, "tokens")
            if let project { endpoint.query.append(("project", project)) }
            if includeRevoked { endpoint.query.append(("includeRevoked", "true")) }
            let tokens = try await connection.withClient { client in
                try await client.all(endpoint, pages: ServiceAPI.TokenPage.self)
            }
            let rows = tokens.map { token in
                [
                    token.id, token.role.rawValue, token.name, token.project ?? "-", token.party ?? "-", token.issuedAt,
                    token.expiresAt ?? "never", token.revokedAt ?? "-",
                ]
            }
            Console.output(
                Table.render(
                    header: ["ID", "ROLE", "NAME", "PROJECT", "PARTY", "ISSUED", "EXPIRES", "REVOKED"], rows: rows))
        }
    }
}

struct TokenRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a bearer token; every later request with it is refused.",
        discussion:
            "Idempotent: revoking a revoked token shows it unchanged. The server refuses (409 lastOperatorToken) to revoke the last valid operator token."
    )

    @OptionGroup var connection: ServiceConnection

    @Argument(help: ArgumentHelp("The token's id.", valueName: "token-id"))
    var id: String

    func run() async throws {
        try await reportingErrors {
            let token: ServiceAPI.TokenInfo = try await connection.withClient { client in
                try await client.json(Endpoint(.DELETE, "tokens", id))
            }
            Console.output(
                "revoked \(token.id) at \(token.revokedAt?.printable ?? "?")\n\(TokenDescription.summary(of: token))\n")
        }
    }
}

/// One line about a token's metadata, for `token issue` and `token revoke`.
enum TokenDescription {
    static func summary(of token: ServiceAPI.TokenInfo) -> String {
        var parts = ["role \(token.role.rawValue)", "name \(token.name)"]
        if let project = token.project { parts.append("project \(project)") }
        if let party = token.party { parts.append("party \(party)") }
        parts.append("issued \(token.issuedAt)")
        parts.append("expires \(token.expiresAt ?? "never")")
        if let revoked = token.revokedAt { parts.append("revoked \(revoked)") }
        return parts.joined(separator: ", ").printable
    }
}

/// The contract's `Timestamp`: UTC to the second, `YYYY-MM-DDTHH:MM:SSZ`.
enum Timestamp {
    /// Whether `text` has the contract's form (the server checks the date itself).
    static func isValid(_ text: String) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count == pattern.count else { return false }
        return zip(bytes, pattern).allSatisfy { byte, expected in
            expected == UInt8(ascii: "d") ? (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) : byte == expected
        }
    }
}
