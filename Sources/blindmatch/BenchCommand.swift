import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchSynthetic
import Glibc

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure this machine, to size hardware (use a release build).",
        subcommands: [TokeniseBench.self, MatchBench.self, StoreBench.self, ChunkBench.self])
}

struct TokeniseBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenise",
        abstract:
            "Tokenising rate on one core and on every core, and a whole CSV-to-token-file run with its peak memory.",
        aliases: ["tokenize"])

    @Option(help: ArgumentHelp("A linkage schema (default: the embedded example UK schema).", valueName: "schema.json"))
    var schema: String?

    @Option(help: "Records encoded in memory per timed run.")
    var records = 200_000

    @Option(help: "Timed runs; the median is reported.")
    var runs = 5

    @Option(name: .customLong("file-records"), help: "Records in the end-to-end file run (0 to skip it).")
    var fileRecords = 1_000_000

    func run() throws {
        try reportingErrors {
            let linkageSchema = try schema.map { try LinkageSchema(contentsOfFile: $0) } ?? Examples.ukSchema()
            let secret = try LinkageSecret.generate()
            let context = try EncodingContext(schema: linkageSchema, secret: secret)
            // Realistic records (blindmatch synth's bulk data) so caches and normalisation see real variety.
            let people = try SyntheticPopulation(.init(watchCount: 0, bulkCount: records, seed: 1)).allBulkRecords()
            var batch = RecordBatch(width: linkageSchema.columns.count, capacity: records)
            for (index, person) in people.enumerated() { batch.append(fields: person.fields, line: index + 2) }
            #if DEBUG
                Console.output("warning: this is a debug build; measure with `swift build -c release`\n")
            #endif
            Console.output(
                "schema \(linkageSchema.name): \(linkageSchema.matchKeys.count) match keys, \(linkageSchema.bloom?.filterBits ?? 0)-bit filters; \(Format.count(records)) records per run, median of \(runs) runs, \(Machine.cores) cores\n"
            )

            let encoder = try RecordEncoder(context: context)
            var row = [UInt8](repeating: 0, count: context.rowWidth)
            let single = median(runs) {
                var statistics = EncodingStatistics(
                    columns: linkageSchema.columns.count, matchKeys: linkageSchema.tokenKeys.count)
                row.withUnsafeMutableBytes { pointer in
                    for record in 0..<batch.count {
                        encoder.encode(batch, record: record, into: pointer, statistics: &statistics)
                    }
                }
            }
            Console.output("one core:   \(Format.count(Int(Double(records) / single))) records/s\n")
            let tokeniser = try Tokeniser(context: context, workers: Machine.cores)
            var rows: [UInt8] = []
            let all = median(runs) { _ = tokeniser.encode(batch, into: &rows) }
            Console.output(
                "\(Machine.cores) cores:    \(Format.count(Int(Double(records) / all))) records/s (scaling \(Format.decimal(single / all, places: 2))×)\n"
            )

            guard fileRecords > 0 else { return }
            let directory = try TemporaryDirectory(prefix: "blindmatch-bench")
            defer { directory.remove() }
            let input = "\(directory.path)/bulk.csv"
            try SyntheticPopulation(.init(watchCount: 0, bulkCount: fileRecords, seed: 2))
                .write(toDirectory: directory.path, threads: Machine.cores)
            try secret.write(toFile: "\(directory.path)/secret.key")
            let schemaPath = "\(directory.path)/schema.json"
            let schemaFile = try AtomicFile(destination: schemaPath)
            try schemaFile.write(linkageSchema.document.canonicalBytes)
            try schemaFile.commit()
            let child = try ChildProcess.run(
                arguments: [
                    "tokenise", "--schema", schemaPath, "--secret-file", "\(directory.path)/secret.key", "--input",
                    input,
                    "--output", "\(directory.path)/tokens.bmt",
                ])
            guard child.status == 0 else {
                throw ProtocolError(.io, "the end-to-end tokenise run failed with status \(child.status)")
            }
            Console.output(
                "file run:   \(Format.count(fileRecords)) records CSV → token file + map in \(Format.decimal(child.seconds, places: 2)) s (\(Format.count(Int(Double(fileRecords) / child.seconds))) records/s), peak memory \(child.peakMemoryMiB) MiB\n"
            )
        }
    }

    private func median(_ runs: Int, _ body: () -> Void) -> Double {
        body()  // warm-up: caches, page faults
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = Clock.now()
            body()
            times.append(Clock.now() - start)
        }
        return times.sorted()[times.count / 2]
    }
}

/// Runs this executable again as a child, for measurements that must not include the parent's memory.
enum ChildProcess {
    struct Outcome {
        let status: Int32
        let seconds: Double
        let peakMemoryMiB: Int
    }

    static func run(arguments: [String], quiet: Bool = true) throws -> Outcome {
        let executable = "/proc/self/exe"
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if quiet { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        var pid: pid_t = 0
        let start = Clock.now()
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else { throw ProtocolError(.io, "cannot start a child process (error \(status))") }
        var waitStatus: Int32 = 0
        var usage = rusage()
        wait4(pid, &waitStatus, 0, &usage)
        let seconds = Clock.now() - start
        let exitCode = (waitStatus & 0x7F) == 0 ? (waitStatus >> 8) & 0xFF : 128 + (waitStatus & 0x7F)
        return Outcome(status: exitCode, seconds: seconds, peakMemoryMiB: usage.ru_maxrss / 1024)
    }
}
