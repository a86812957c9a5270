import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchSynthetic

struct MatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Dice comparisons per second on one core and on every core, with and without popcount bounds.",
        discussion: """
            Three filter sets, each from synthetic people tokenised in memory: sparse (the example schema: 1024 bits, \
            popcounts about 180–380), dense (a clkhash v3 schema of the kind agencies bring: 1024 bits, about 55–60% \
            set) and balanced (the example schema with balancing, SPEC §5.5.3: 2048 bits, exactly half set).
            """)

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

    @Option(help: "Filter sets to measure: sparse, dense, balanced, comma-separated, or all.")
    var filters = "all"

    static let kernels = ["portable": 0, "popcnt": 1, "avx2": 2, "avx512": 3]

    enum FilterSet: String, CaseIterable {
        case sparse, dense, balanced
    }

    var filterSets: [FilterSet] {
        if filters == "all" { return FilterSet.allCases }
        return filters.split(separator: ",").compactMap { FilterSet(rawValue: String($0)) }
    }

    func validate() throws {
        guard watch > 0, bulk > 0, runs > 0 else {
            throw ValidationError("--watch, --bulk and --runs must be positive")
        }
        guard kernel == "auto" || Self.kernels[kernel] != nil else {
            throw ValidationError("--kernel must be auto, avx512, avx2, popcnt or portable")
        }
        guard filters == "all" || filterSets.count == filters.split(separator: ",").count, !filterSets.isEmpty else {
            throw ValidationError("--filters must be all or a comma-separated list of sparse, dense and balanced")
        }
    }

    func run() throws {
        try reportingErrors {
            let level = Self.kernels[kernel] ?? DiceKernel.availableLevel
            DiceKernel.setImplementationLevel(level)
            let dice = try DiceThreshold(threshold)
            let secret = try LinkageSecret.generate()
            #if DEBUG
                Console.output("warning: this is a debug build; measure with `swift build -c release`\n")
            #endif
            Console.output(
                "kernel \(DiceKernel.implementation); \(Format.count(watch)) × \(Format.count(bulk)) filters; threshold \(threshold); median of \(runs) runs\n"
            )
            for set in filterSets {
                let schema = try Self.schema(set)
                let a = try Self.filters(schema: schema, secret: secret, count: watch, seed: 11)
                let b = try Self.filters(schema: schema, secret: secret, count: bulk, seed: 12)
                let mean = Double(b.popcounts.reduce(0) { $0 + Int($1) }) / Double(max(1, b.count))
                Console.output(
                    "\(set.rawValue) (\(schema.name)): \(a.filterBits) bits, popcounts \(b.popcounts.first ?? 0)–\(b.popcounts.last ?? 0), mean \(Format.decimal(mean, places: 0))\n"
                )
                try measure(a, b, threshold: dice)
            }
        }
    }

    private func measure(_ a: BitMatrix, _ b: BitMatrix, threshold dice: DiceThreshold) throws {
        for threads in Array(Set([1, Machine.cores])).sorted() {
            let brute = try timed {
                try DiceKernel.candidates(between: a, and: b, threshold: dice, threads: threads, popcountBounds: false)
            }
            let pruned = try timed {
                try DiceKernel.candidates(between: a, and: b, threshold: dice, threads: threads)
            }
            let pairs = Double(watch) * Double(bulk)
            let comparisons = Double(brute.statistics.comparisons)
            // Per core in processor time: what the kernel does on a core it has to itself, however loaded the machine.
            Console.output(
                "  \(threads) thread\(threads == 1 ? " " : "s"): \(rate(comparisons, brute.seconds)) G comparisons/s (\(rate(comparisons, brute.processorSeconds)) per core in processor time); with popcount bounds at \(threshold): \(rate(pairs, pruned.seconds)) G pairs/s (\(rate(pairs, pruned.processorSeconds)) per core; \(Format.percent(Double(pruned.statistics.comparisons) / pairs)) of pairs compared, \(pruned.found) found)\n"
            )
        }
    }

    private func rate(_ count: Double, _ seconds: Double) -> String {
        Format.decimal(count / max(seconds, 1e-9) / 1e9, places: 2)
    }

    /// Medians over `runs` runs of the wall-clock and the processor time, and the last run's counters.
    private func timed(
        _ body: () throws -> ([ScoredPair], DiceKernel.Statistics)
    ) throws -> (seconds: Double, processorSeconds: Double, statistics: DiceKernel.Statistics, found: Int) {
        var outcomes: [DiceKernel.Statistics] = []
        var found = 0
        for _ in 0..<max(1, runs) {
            let (pairs, statistics) = try body()
            outcomes.append(statistics)
            found = pairs.count
        }
        let seconds = outcomes.map(\.seconds).sorted()[outcomes.count / 2]
        let processorSeconds = outcomes.map(\.processorSeconds).sorted()[outcomes.count / 2]
        return (seconds, processorSeconds, outcomes[outcomes.count - 1], found)
    }

    /// The schema of a filter set.
    static func schema(_ set: FilterSet) throws -> LinkageSchema {
        switch set {
        case .sparse: return try Examples.ukSchema()
        case .dense: return try LinkageSchema(parsing: Array(denseSchemaText.utf8), source: "bench dense schema")
        case .balanced:
            let text = Examples.ukSchemaText.replacing("\"balance\": false", with: "\"balance\": true")
            guard text != Examples.ukSchemaText else {
                throw ValidationError("the example schema no longer has \"balance\": false to turn on")
            }
            return try LinkageSchema(parsing: Array(text.utf8), source: "the example schema, balanced")
        }
    }

    /// A clkhash v3 schema over the example columns, of the kind agencies bring: bigrams of names, postcode and
    /// NINO, positional digits of the date of birth and the sex, about 950 positions hashed into 1024 bits.
    static let denseSchemaText = #"""
        {
          "version": 3,
          "clkConfig": {
            "l": 1024,
            "kdf": {
              "type": "HKDF", "hash": "SHA256", "keySize": 64,
              "salt": "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA==",
              "info": "c2NoZW1hX2V4YW1wbGU="
            }
          },
          "features": [
            {"identifier": "id", "ignored": true},
            {"identifier": "given_name", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerFeature": 200},
                         "hash": {"type": "doubleHash"}}},
            {"identifier": "surname", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerFeature": 200},
                         "hash": {"type": "doubleHash"}}},
            {"identifier": "dob", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "ngram", "n": 1, "positional": true},
                         "strategy": {"bitsPerFeature": 200}, "hash": {"type": "doubleHash"}}},
            {"identifier": "sex", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "exact"}, "strategy": {"bitsPerToken": 50},
                         "hash": {"type": "blakeHash"}}},
            {"identifier": "postcode", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerFeature": 200},
                         "hash": {"type": "doubleHash"}}},
            {"identifier": "nino", "format": {"type": "string", "encoding": "utf-8"},
             "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerFeature": 100},
                         "hash": {"type": "doubleHash"}}}
          ]
        }
        """#

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
        let offset = context.filterRowOffset
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
