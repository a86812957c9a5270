import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchSynthetic

struct MatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Dice comparisons per second on one core and on every core, with and without popcount bounds.")

    @Option(help: "Rows of A (the watch list).")
    var watch = 20_000

    @Option(help: "Rows of B (the bulk data).")
    var bulk = 100_000

    @Option(help: ArgumentHelp("The Dice threshold.", valueName: "t"))
    var threshold = "0.8"

    @Option(help: "Timed runs; the median is reported.")
    var runs = 3

    @Option(help: "Kernel: auto (the best this processor has), avx512, avx2, popcnt or portable.")
    var kernel = "auto"

    static let kernels = ["portable": 0, "popcnt": 1, "avx2": 2, "avx512": 3]

    func validate() throws {
        guard watch > 0, bulk > 0, runs > 0 else {
            throw ValidationError("--watch, --bulk and --runs must be positive")
        }
        guard kernel == "auto" || Self.kernels[kernel] != nil else {
            throw ValidationError("--kernel must be auto, avx512, avx2, popcnt or portable")
        }
    }

    func run() throws {
        try reportingErrors {
            let level = Self.kernels[kernel] ?? DiceKernel.availableLevel
            DiceKernel.setImplementationLevel(level)
            let dice = try DiceThreshold(threshold)
            let schema = try Examples.ukSchema()
            let secret = try LinkageSecret.generate()
            let a = try Self.filters(schema: schema, secret: secret, count: watch, seed: 11)
            let b = try Self.filters(schema: schema, secret: secret, count: bulk, seed: 12)
            #if DEBUG
                Console.output("warning: this is a debug build; measure with `swift build -c release`\n")
            #endif
            Console.output(
                "kernel \(DiceKernel.implementation); \(Format.count(watch)) × \(Format.count(bulk)) filters of \(a.filterBits) bits, popcounts \(a.popcounts.first ?? 0)–\(a.popcounts.last ?? 0); threshold \(threshold); median of \(runs) runs\n"
            )
            for threads in Array(Set([1, Machine.cores])).sorted() {
                let brute = try median {
                    try DiceKernel.candidates(
                        between: a, and: b, threshold: dice, threads: threads, popcountBounds: false)
                }
                let pruned = try median {
                    try DiceKernel.candidates(between: a, and: b, threshold: dice, threads: threads)
                }
                let pairs = Double(watch) * Double(bulk)
                Console.output(
                    "\(threads) thread\(threads == 1 ? " " : "s"): \(Format.decimal(Double(brute.1.comparisons) / brute.1.seconds / 1e9, places: 2)) G comparisons/s; with popcount bounds at \(threshold): \(Format.decimal(pairs / pruned.1.seconds / 1e9, places: 2)) G pairs/s (\(Format.percent(Double(pruned.1.comparisons) / pairs)) of pairs compared, \(pruned.0.count) found)\n"
                )
            }
        }
    }

    private func median(
        _ body: () throws -> ([ScoredPair], DiceKernel.Statistics)
    ) throws -> ([ScoredPair], DiceKernel.Statistics) {
        var outcomes: [([ScoredPair], DiceKernel.Statistics)] = []
        for _ in 0..<max(1, runs) { outcomes.append(try body()) }
        return outcomes.sorted { $0.1.seconds < $1.1.seconds }[outcomes.count / 2]
    }

    /// Filters of example records, tokenised in memory.
    static func filters(schema: LinkageSchema, secret: LinkageSecret, count: Int, seed: Int) throws -> BitMatrix {
        let context = try EncodingContext(schema: schema, secret: secret)
        let people = try SyntheticPopulation(.init(watchCount: 0, bulkCount: count, seed: UInt64(seed)))
            .allBulkRecords()
        var batch = RecordBatch(width: schema.columns.count, capacity: count)
        for (index, person) in people.enumerated() { batch.append(fields: person.fields, line: index + 2) }
        var rows: [UInt8] = []
        _ = try Tokeniser(context: context, workers: Machine.cores).encode(batch, into: &rows)
        var filters = [UInt8](repeating: 0, count: count * context.filterBytes)
        let offset = context.rowWidth - context.filterBytes
        for row in 0..<count {
            for byte in 0..<context.filterBytes {
                filters[row * context.filterBytes + byte] = rows[row * context.rowWidth + offset + byte]
            }
        }
        return try filters.withUnsafeBytes {
            try BitMatrix(filters: $0, count: count, filterBits: schema.bloom?.filterBits ?? 0)
        }
    }
}
