import ArgumentParser
import BlindmatchServer
import Logging

/// `blindmatch bench chunks`: one run computed in chunks through PostgreSQL, to set beside `blindmatch match`.
struct ChunkBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chunks",
        abstract: "Time one run computed in chunks through PostgreSQL, with any `blindmatch worker` processes running.",
        discussion: """
            The two token files must be in the store's tokens/ under their SHA-256, as a server stores them. The run \
            uses threshold 0.85, many-to-one and the nino veto, as `blindmatch match --threshold 0.85` does.
            """)

    @Option(name: .customLong("database"), help: ArgumentHelp("postgres://USER@HOST[:PORT]/DATABASE", valueName: "url"))
    var database: String

    @Option(name: .customLong("database-password-file"), help: ArgumentHelp("The password file.", valueName: "file"))
    var databasePasswordFile: String?

    @Option(name: .customLong("store"), help: ArgumentHelp("The shared data directory.", valueName: "directory"))
    var store: String

    @Option(name: .customLong("watchlist"), help: "The watch list's SHA-256.")
    var watchlist: String

    @Option(name: .customLong("bulk"), help: "The bulk file's SHA-256.")
    var bulk: String

    @Option(name: .customLong("threads"), help: "Threads of this process's own chunks.")
    var threads = 2

    @Option(name: .customLong("chunk-rows"), help: "Bulk rows a chunk at most.")
    var chunkRows = 250_000

    @Option(name: .customLong("memory-limit"), help: "Memory a chunk may take, in bytes.")
    var memoryLimit = 8 << 30

    @Flag(name: .customLong("workers-only"), help: "Leave every chunk to the workers.")
    var workersOnly = false

    func run() async throws {
        try await reportingErrors {
            let location = try PostgresLocation(url: database).withPassword(file: databasePasswordFile)
            var logger = Logger(label: "blindmatch.bench")
            logger.logLevel = .info
            let figures = try await ChunkBenchmark.run(
                location: location, store: store, watchlistSha256: watchlist, bulkSha256: bulk, threads: threads,
                memoryLimit: memoryLimit, bulkRowsPerChunk: chunkRows, computesChunks: !workersOnly, logger: logger)
            Console.output(
                "chunked run: \(Format.decimal(figures.seconds, places: 2)) s, \(figures.chunks) chunks, "
                    + "\(Format.count(figures.matches)) matches, \(Format.count(figures.possible)) possible, "
                    + "\(Format.count(figures.comparisons)) comparisons\n")
        }
    }
}
