import ArgumentParser
import BlindmatchServer

/// `blindmatch worker`: computes chunks of the runs of servers that share a PostgreSQL store.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Compute chunks of matching runs for servers that share a PostgreSQL store (docs/scale.md).",
        discussion: """
            Claims chunks of any project's running run (FOR UPDATE SKIP LOCKED), reads the run's two token files \
            from the shared token store by SHA-256 (checked once per file), computes the chunk's candidate pairs \
            while renewing its lease, and writes them back. A worker that dies leaves its chunk to be claimed again \
            when its lease lapses; SIGTERM or SIGINT gives the chunk in progress back at once and stops. Logs name \
            runs, chunks and counts, never a token or a secret.
            """)

    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "The servers' PostgreSQL store: postgres://USER@HOST[:PORT]/DATABASE[?sslmode=disable|require]. Never a password in the URL: give it with --database-password-file or BLINDMATCH_DATABASE_PASSWORD.",
            valueName: "url"))
    var database: String

    @Option(
        name: .customLong("database-password-file"),
        help: ArgumentHelp(
            "The PostgreSQL password, in a file of mode 0600 owned by the caller (refused otherwise).",
            valueName: "file"))
    var databasePasswordFile: String?

    @Option(
        name: .customLong("store"),
        help: ArgumentHelp(
            "The data directory the servers share (their --data-dir): its tokens/ holds the token files.",
            valueName: "directory"))
    var store: String

    @Option(name: .customLong("threads"), help: "Threads a chunk is computed on (default: every core).")
    var threads: Int?

    @Option(
        name: .customLong("lease-seconds"),
        help:
            "How long a claim holds without renewal; the worker renews it every third of this. A dead worker's chunk is claimed again this long after its last renewal."
    )
    var leaseSeconds = 30

    @Option(
        name: .customLong("memory-limit"),
        help: ArgumentHelp(
            "Memory a chunk may take: bytes, or with KiB, MiB or GiB (default: 3/4 of physical memory). Chunks estimated above it are left to other workers; a chunk whose pairs outgrow it fails its run (resourceExhausted).",
            valueName: "size"))
    var memoryLimit: String?

    /// The cluster test's pause point (BLINDMATCH_TEST_PAUSE=chunk-claimed); debug builds only, not in the help.
    @Flag(name: .customLong("test-hooks"), help: .hidden)
    var testHooks = false

    func validate() throws {
        guard (threads ?? 1) >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard leaseSeconds >= 2 else { throw ValidationError("--lease-seconds must be at least 2") }
        if let memoryLimit, Self.bytes(memoryLimit) == nil {
            throw ValidationError("--memory-limit: \(memoryLimit) is not a size (e.g. 4GiB, 512MiB, 1000000000)")
        }
    }

    func run() async throws {
        try await reportingErrors {
            if testHooks {
                guard TestHooks.available else {
                    throw ServerError(.startup, "--test-hooks exist in debug builds only")
                }
                TestHooks.arm()
            }
            let location = try PostgresLocation(url: database).withPassword(file: databasePasswordFile)
            let options = ChunkWorker.Options(
                threads: threads ?? Machine.cores,
                memoryLimit: memoryLimit.flatMap(Self.bytes) ?? ChunkWorker.Options.defaultMemoryLimit,
                lease: .seconds(leaseSeconds))
            try await ChunkWorker.serve(location: location, store: store, options: options)
        }
    }

    /// "12GiB", "512MiB", "64KiB" or a number of bytes.
    static func bytes(_ text: String) -> Int? {
        for (suffix, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10), ("", 0)] where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count)), value >= 1, value <= Int.max >> shift else {
                return nil
            }
            return value << shift
        }
        return nil
    }
}
