import Logging

/// How `blindmatch serve` (or an embedded service, as in `demo`) is configured.
public struct ServiceConfiguration: Sendable {
    /// The data directory (created 0700): the store, the token files and the matcher's checkpoint key.
    public var dataDirectory: String
    public var host = "127.0.0.1"
    /// The port to listen on; 0 for any free port (reported through `onListening`).
    public var port = 8080
    /// The largest token file accepted (`serve --max-upload-bytes`).
    public var maxUploadBytes = 8 << 30
    /// Threads the engine uses for a run.
    public var threads = 1
    /// How many times a run may start (the first time, and after each crash during it) before it is failed
    /// (`serve --max-run-attempts`).
    public var maximumRunAttempts = 3
    /// A run still computing after this long is stopped and fails with `timeLimitExceeded`
    /// (`serve --run-time-limit`); it is not started again.
    public var runTimeLimit: Duration = .seconds(12 * 3600)
    /// The most pairs a run may join in the exact stage and compare in the fuzzy stage
    /// (`serve --run-comparison-limit`); a run that needs more fails with `comparisonLimitExceeded`.
    public var runComparisonLimit = 20_000_000_000_000
    /// The most memory a run may take, in bytes (`serve --run-memory-limit`); nil for three quarters of the machine's
    /// physical memory. A run whose estimate exceeds it fails with `resourceExhausted` before it starts, and one whose
    /// pairs outgrow it fails when they do.
    public var runMemoryLimit: Int?
    /// The least severe log message written (`.warning` keeps an embedded service quiet, as in `demo`).
    public var logLevel = Logger.Level.info
    /// A connection that sends and receives nothing for this long is closed (`serve --idle-timeout`): slow or stalled
    /// clients do not hold sockets and temporary files for ever.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a request head may take to arrive in full, from the connection opening or the previous response
    /// ending; bounds clients that send headers a byte at a time (every byte resets the idle timeout).
    public var headerTimeout: Duration = .seconds(30)
    /// The most connections served at once (`serve --max-connections`); further ones wait in the listen backlog.
    public var maximumConnections = 512
    /// An upload slower than this many bytes per second on average, once `uploadRateGrace` has passed, is refused
    /// with 408 (`serve --min-upload-rate`).
    public var minimumUploadRate = 64 << 10
    /// How long an upload may take before its average rate is held to `minimumUploadRate`.
    public var uploadRateGrace: Duration = .seconds(30)
    /// The checkpoint-signing key's file (PEM, mode 0600), kept outside the data directory so that whoever can write
    /// the store cannot also sign it; nil: `matcher.key` in the data directory, made on first start.
    public var checkpointKeyFile: String?
    /// Uploads are refused (507) when the data directory's file system would keep less than this free
    /// (`serve --min-free-bytes`), before any byte is written.
    public var minimumFreeBytes: Int64 = 1 << 30
    /// The most uploads one party may have streaming at once (`serve --max-concurrent-uploads`); more get 429.
    public var maximumConcurrentUploads = 2
    /// The most bytes of token files one party may have stored in one project (`serve --max-party-bytes`).
    public var maximumPartyBytes: Int64 = 64 << 30
    /// Accept the published test keys of `Keys/test/` as party keys and as the checkpoint key
    /// (`serve --allow-test-keys`): for trials only.
    public var allowTestKeys = false
    /// TLS of the service's own (`serve --tls-cert --tls-key [--client-ca]`); nil for plain HTTP.
    public var tls: TLSFiles?
    /// A TLS terminator is in front (`serve --behind-tls-proxy`): plain HTTP on an address other than loopback is then
    /// allowed.
    public var behindTLSProxy = false
    /// A web console session unused for this long ends (`serve --console-idle-minutes`).
    public var consoleIdleTimeout: Duration = .seconds(15 * 60)
    /// The shared PostgreSQL store (`serve --database URL`, its password given); nil: SQLite in the data directory,
    /// the default and the demo's store. With it, the data directory holds the token files that every server shares.
    public var database: PostgresLocation?
    /// On PostgreSQL, the most bulk rows a chunk of a run takes (`serve --chunk-rows`; docs/scale.md, "Chunks and
    /// workers").
    /// Whether a server on PostgreSQL computes chunks of runs itself, beside any `blindmatch worker` (`serve
    /// --no-local-chunks`: false, leaving them to workers; a run then waits until a worker takes its chunks).
    public var computesChunks = true
    public var chunkBulkRows = 250_000
    /// Arm the crash tests' pause points (``TestHooks``; `serve --test-hooks`, debug builds only).
    public var testHooks = false

    /// The PEM files of the service's TLS: its certificate chain, its private key (0600, refused when others can read
    /// it) and, for mutual TLS, the certificate authorities whose client certificates it accepts.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        public var clientCertificateAuthorities: String?

        public init(certificateChain: String, privateKey: String, clientCertificateAuthorities: String? = nil) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
            self.clientCertificateAuthorities = clientCertificateAuthorities
        }
    }

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
}
