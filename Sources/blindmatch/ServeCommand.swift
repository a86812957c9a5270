import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the central matching service (for the matching operator).",
        discussion: """
            Holds only token files: projects, parties and their keys, checked uploads, runs, each party's results under \
            the disclosure policy, and the audit log (Protocol/openapi.yaml, Protocol/service.md). Everything lives in \
            the data directory (mode 0700): blindmatch.sqlite, the content-addressed token store tokens/, and the \
            matcher's checkpoint key matcher.key/matcher.pub. On first start it creates an operator token and shows it \
            once (or writes it to --operator-token-file); only its hash is stored. Serve on loopback, with TLS of its \
            own (--tls-cert, --tls-key, and --client-ca for mutual TLS), or behind a TLS terminator \
            (--behind-tls-proxy): bearer tokens must not cross a network in clear, so a --host other than loopback \
            without either is refused. Stops cleanly on SIGINT/SIGTERM; a run cut \
            short starts again at the next start.
            """)

    @Option(name: .customLong("data-dir"), help: ArgumentHelp("The data directory (created 0700).", valueName: "dir"))
    var dataDirectory: String

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port; the chosen one is printed).")
    var port = 8080

    @Option(name: .customLong("max-upload-bytes"), help: "The largest token file accepted.")
    var maxUploadBytes = 8 << 30

    @Option(
        name: .customLong("operator-token-file"),
        help: ArgumentHelp(
            "On first start, write the operator token to this file (0600) instead of printing it.", valueName: "file"))
    var operatorTokenFile: String?

    @Option(help: "Threads the engine uses for a run (default: every core).")
    var threads: Int?

    @Option(
        name: .customLong("idle-timeout"),
        help: ArgumentHelp("Close a connection that sends and receives nothing for this long.", valueName: "seconds"))
    var idleTimeout = 60

    @Option(
        name: .customLong("header-timeout"),
        help: ArgumentHelp(
            "Seconds a request head may take to arrive in full, from the connection opening or the previous response ending (slow-header clients).",
            valueName: "seconds"))
    var headerTimeout = 30

    @Option(
        name: .customLong("max-connections"),
        help: "The most connections served at once; more wait in the listen backlog.")
    var maxConnections = 512

    @Option(
        name: .customLong("min-upload-rate"),
        help: ArgumentHelp(
            "Refuse (408) an upload whose average rate falls below this after its first 30 seconds.",
            valueName: "bytes/s"))
    var minUploadRate = 64 << 10

    @Option(
        name: .customLong("min-free-bytes"),
        help: "Refuse uploads (507) that would leave less than this free on the data directory's file system.")
    var minFreeBytes: Int64 = 1 << 30

    @Option(
        name: .customLong("max-concurrent-uploads"),
        help: "The most uploads one party may stream at once; more get 429.")
    var maxConcurrentUploads = 2

    @Option(
        name: .customLong("max-party-bytes"),
        help: "The most bytes of token files one party may store in one project; more get 409 partyQuotaExceeded.")
    var maxPartyBytes: Int64 = 64 << 30

    @Option(
        name: .customLong("max-run-attempts"),
        help: "How many times a run may start (again after each crash during it) before it fails for good.")
    var maxRunAttempts = 3

    @Option(
        name: .customLong("run-time-limit"),
        help: ArgumentHelp(
            "Stop and fail (timeLimitExceeded) a run still computing after this long.", valueName: "seconds"))
    var runTimeLimit = 12 * 3600

    @Option(
        name: .customLong("run-comparison-limit"),
        help: "Fail (comparisonLimitExceeded) a run that joins or compares more pairs than this.")
    var runComparisonLimit = 20_000_000_000_000

    @Option(
        name: .customLong("run-memory-limit"),
        help: ArgumentHelp(
            "Fail (resourceExhausted) a run that would take more memory than this (default: 3/4 of physical memory).",
            valueName: "bytes"))
    var runMemoryLimit: Int?

    @Flag(
        name: .customLong("allow-test-keys"),
        help: "Accept the published test keys of Keys/test/ as party and checkpoint keys (trials only).")
    var allowTestKeys = false

    @Option(
        name: .customLong("tls-cert"),
        help: ArgumentHelp("Serve HTTPS with this PEM certificate chain (with --tls-key).", valueName: "file"))
    var tlsCertificate: String?

    @Option(
        name: .customLong("tls-key"),
        help: ArgumentHelp(
            "The PEM private key of --tls-cert; mode 0600, refused when others can read it.", valueName: "file"))
    var tlsKey: String?

    @Option(
        name: .customLong("client-ca"),
        help: ArgumentHelp(
            "Mutual TLS: accept only clients with a certificate from these PEM certificate authorities.",
            valueName: "file"))
    var clientCA: String?

    @Option(
        name: .customLong("checkpoint-key"),
        help: ArgumentHelp(
            "The key that signs the audit log's checkpoints (PEM, mode 0600; refused when others can read it), kept outside the data directory so that whoever can write the store cannot also sign it (Keys/README.md). Default: matcher.key in the data directory, made on first start.",
            valueName: "file"))
    var checkpointKey: String?

    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "Keep the store in PostgreSQL rather than SQLite, so that several servers share it: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require]. Never a password in the URL: give it with --database-password-file or BLINDMATCH_DATABASE_PASSWORD. The data directory then holds the token files all servers share.",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("database-password-file"),
        help: ArgumentHelp(
            "The PostgreSQL password, in a file of mode 0600 owned by the caller (refused otherwise).",
            valueName: "file"))
    var databasePasswordFile: String?

    @Option(
        name: .customLong("chunk-rows"),
        help: ArgumentHelp(
            "With --database: the most bulk rows a chunk of a run takes (chunks are computed by this server and by any blindmatch worker).",
            valueName: "rows"))
    var chunkRows = 250_000

    @Flag(
        name: .customLong("behind-tls-proxy"),
        help: "A TLS terminator is in front: allow plain HTTP on a --host other than loopback.")
    var behindTLSProxy = false

    @Option(
        name: .customLong("console-idle-minutes"),
        help: "A web console session (/console) unused for this long ends; the browser must sign in again.")
    var consoleIdleMinutes = 15
    @Flag(
        name: .customLong("no-local-chunks"),
        help:
            "With --database: leave the chunks of runs to `blindmatch worker` processes, so that this server only answers requests and coordinates (a run waits until a worker takes its chunks). By default a server computes chunks too, so a service with no workers runs everything."
    )
    var noLocalChunks = false
    /// The crash tests' pause points (BLINDMATCH_TEST_PAUSE); debug builds only, not in the help.
    @Flag(name: .customLong("test-hooks"), help: .hidden)
    var testHooks = false

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard consoleIdleMinutes >= 1 else { throw ValidationError("--console-idle-minutes must be at least 1") }
        guard maxRunAttempts >= 1 else { throw ValidationError("--max-run-attempts must be at least 1") }
        guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be at least 1 second") }
        guard headerTimeout >= 1 else { throw ValidationError("--header-timeout must be at least 1 second") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard minUploadRate >= 0 else { throw ValidationError("--min-upload-rate cannot be negative") }
        guard minFreeBytes >= 0 else { throw ValidationError("--min-free-bytes cannot be negative") }
        guard maxConcurrentUploads >= 1 else { throw ValidationError("--max-concurrent-uploads must be at least 1") }
        guard maxPartyBytes >= 1 else { throw ValidationError("--max-party-bytes must be at least 1") }
        guard runTimeLimit >= 1 else { throw ValidationError("--run-time-limit must be at least 1 second") }
        guard runComparisonLimit >= 1 else { throw ValidationError("--run-comparison-limit must be at least 1") }
        guard (runMemoryLimit ?? 1) >= 1 else { throw ValidationError("--run-memory-limit must be at least 1") }
        guard chunkRows >= 1 else { throw ValidationError("--chunk-rows must be at least 1") }
        if databasePasswordFile != nil && database == nil {
            throw ValidationError("--database-password-file needs --database")
        }
        if clientCA != nil && tlsCertificate == nil {
            throw ValidationError("--client-ca needs --tls-cert and --tls-key")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
            configuration.host = host
            configuration.port = port
            configuration.maxUploadBytes = maxUploadBytes
            configuration.threads = threads ?? Machine.cores
            configuration.behindTLSProxy = behindTLSProxy
            configuration.maximumRunAttempts = maxRunAttempts
            configuration.allowTestKeys = allowTestKeys
            configuration.idleTimeout = .seconds(idleTimeout)
            configuration.headerTimeout = .seconds(headerTimeout)
            configuration.maximumConnections = maxConnections
            configuration.minimumUploadRate = minUploadRate
            configuration.minimumFreeBytes = minFreeBytes
            configuration.maximumConcurrentUploads = maxConcurrentUploads
            configuration.maximumPartyBytes = maxPartyBytes
            configuration.checkpointKeyFile = checkpointKey
            configuration.runTimeLimit = .seconds(runTimeLimit)
            configuration.runComparisonLimit = runComparisonLimit
            configuration.runMemoryLimit = runMemoryLimit
            configuration.consoleIdleTimeout = .seconds(consoleIdleMinutes * 60)
            configuration.testHooks = testHooks
            configuration.computesChunks = !noLocalChunks
            configuration.chunkBulkRows = chunkRows
            if let database {
                configuration.database = try PostgresLocation(url: database).withPassword(file: databasePasswordFile)
            }
            if let tlsCertificate, let tlsKey {
                configuration.tls = ServiceConfiguration.TLSFiles(
                    certificateChain: tlsCertificate, privateKey: tlsKey, clientCertificateAuthorities: clientCA)
            }
            let host = self.host
            let scheme = configuration.tls == nil ? "http" : "https"
            let built = try await buildApplication(configuration: configuration) { port in
                Console.output("blindmatch serve: listening on \(scheme)://\(host):\(port)\n")
                Console.output("blindmatch serve: web console at \(scheme)://\(host):\(port)/console\n")
            }
            if let token = built.firstOperatorToken {
                if let operatorTokenFile {
                    let file = try AtomicFile(destination: operatorTokenFile, mode: 0o600)
                    try file.write(token + "\n")
                    try file.commit()
                    Console.output(
                        "blindmatch serve: first start: operator token written to \(operatorTokenFile) (0600)\n")
                } else {
                    Console.output(
                        "blindmatch serve: first start: operator token (shown once; keep it in a 0600 file, pass it with BLINDMATCH_TOKEN or --token-file):\n\(token)\n"
                    )
                }
            }
            try await built.application.runService()
            Console.output("blindmatch serve: stopped\n")
        }
    }
}
