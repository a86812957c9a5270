import ArgumentParser
import BlindmatchProtocol
import BlindmatchServer

/// `blindmatch bench store`: storing a run's results on SQLite and, with `--database`, on PostgreSQL.
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Seconds to store and publish a run's result rows, on SQLite and (with --database) on PostgreSQL.")

    @Option(help: "Result rows per run.")
    var rows = 1_000_000

    @Option(help: "Timed runs per store; the median is reported.")
    var runs = 3

    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "A PostgreSQL database to measure too (postgres://USER@HOST[:PORT]/DATABASE; it gains a project per run).",
            valueName: "url"))
    var database: String?

    @Option(
        name: .customLong("database-password-file"),
        help: ArgumentHelp("The PostgreSQL password (mode 0600).", valueName: "file"))
    var databasePasswordFile: String?

    func run() async throws {
        try await reportingErrors {
            let location = try database.map { try PostgresLocation(url: $0).withPassword(file: databasePasswordFile) }
            #if DEBUG
                Console.output("warning: this is a debug build; measure with `swift build -c release`\n")
            #endif
            var stores: [(String, PostgresLocation?)] = [("SQLite", nil)]
            if let location { stores.append(("PostgreSQL", location)) }
            for (name, location) in stores {
                var times: [Double] = []
                for _ in 0..<max(1, runs) {
                    let directory = try TemporaryDirectory(prefix: "blindmatch-bench-store")
                    defer { directory.remove() }
                    times.append(
                        try await StoreBenchmark.publishSeconds(
                            rows: rows, directory: directory.path, database: location))
                }
                let median = times.sorted()[times.count / 2]
                Console.output(
                    "\(name): \(Format.count(rows)) rows stored and published in \(Format.decimal(median, places: 2)) s (median of \(times.count); \(Format.count(Int(Double(rows) / median))) rows/s)\n"
                )
            }
        }
    }
}
