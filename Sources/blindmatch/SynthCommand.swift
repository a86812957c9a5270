import ArgumentParser
import BlindmatchMatching
import BlindmatchProtocol
import BlindmatchSynthetic
import Glibc

struct SynthCommand: ParsableCommand {
    private static let defaults = SyntheticPopulation.Configuration(watchCount: 0, bulkCount: 0, seed: 0)
    private static let population = SyntheticProfile.population.configuration(watchCount: 0, bulkCount: 0, seed: 0)

    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Make synthetic ground truth: a watch list, bulk records and the true pairs, deterministic by seed.",
        discussion: """
            Writes DIR/watch.csv and DIR/bulk.csv (id,given_name,surname,dob,sex,postcode,nino: the example schema's \
            columns) and DIR/truth.csv (watch_id,bulk_id, one row per true pair). The same counts and seed give the \
            same bytes on any machine with any number of threads. Nothing in them is real personal data.

            People: names drawn by frequency from UK-flavoured lists (British, Irish, South Asian, Eastern \
            European, West African, East Asian, other European and Middle Eastern traditions; accents, apostrophes, \
            hyphens and two-word surnames kept), born 1930-2008, sex M/F (0.5% X), a postcode of valid shape, and a \
            unique valid National Insurance number. \(defaults.populationSummary) Every record then gets its own \
            noise:

            \(ErrorModel.describe(bulk: .bulk, watchList: .watchList))

            --profile harsh corrupts both sides heavily and independently (each side's rates):

            \(ErrorModel.describe(bulk: .harshBulk, watchList: .harshWatchList))

            --profile population uses the harsh rates with more namesakes: \(population.populationSummary)

            A typo is one edit of a letter a-z: a QWERTY neighbour (35%), another letter (10%), a deletion (20%), a \
            doubled or neighbouring letter inserted (15%) or two letters transposed (20%). Every value is valid \
            under the example schema (a dob typo gives another real date). See docs/synthetic-data.md.
            """
    )

    @Option(help: ArgumentHelp("People on the watch list (one record each).", valueName: "n"))
    var watch = 1_000

    @Option(help: ArgumentHelp("Records in the bulk file.", valueName: "m"))
    var bulk = 100_000

    @Option(help: "The seed: the same seed and counts give the same files.")
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("default, harsh or population (see above).", valueName: "profile"))
    var profile = SyntheticProfile.standard.rawValue

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("The folder for watch.csv, bulk.csv and truth.csv (made if missing).", valueName: "dir"))
    var output: String

    @Option(help: "Worker threads (default: every core); the files do not depend on it.")
    var threads: Int?

    func validate() throws {
        guard watch >= 0 else { throw ValidationError("--watch must not be negative") }
        guard bulk >= 0 else { throw ValidationError("--bulk must not be negative") }
        guard watch <= 50_000_000 else { throw ValidationError("--watch must be at most 50,000,000") }
        guard bulk <= 200_000_000 else { throw ValidationError("--bulk must be at most 200,000,000") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard SyntheticProfile(rawValue: profile) != nil else {
            throw ValidationError("--profile must be default, harsh or population")
        }
    }

    func run() throws {
        try reportingErrors {
            try Self.makeDirectory(output)
            let start = Clock.now()
            let chosen = SyntheticProfile(rawValue: profile) ?? .standard
            let population = try SyntheticPopulation(
                chosen.configuration(watchCount: watch, bulkCount: bulk, seed: seed))
            let progress = Progress(label: "synthesising", totalBytes: watch + bulk)
            do {
                try population.write(toDirectory: output, threads: threads ?? Machine.cores) {
                    progress.update(records: $0, bytes: $0)
                }
                progress.finish()
            } catch {
                progress.finish()
                throw error
            }
            let seconds = Clock.now() - start
            var matched = Set<Int>()
            for pair in population.truePairs { matched.insert(pair.watch) }
            Console.output(
                """
                wrote \(output)/watch.csv (\(Format.count(watch)) records), bulk.csv (\(Format.count(bulk)) records) \
                and truth.csv (\(Format.count(population.truePairs.count)) true pairs) in \
                \(Format.decimal(seconds, places: 2)) s
                \(Format.count(matched.count)) watch-list people have bulk records; seed \(seed), profile \(profile)

                """)
        }
    }

    /// Makes `path` (one level) unless it is already a folder.
    static func makeDirectory(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw ProtocolError(.invalidArgument, "\(path) exists and is not a folder")
            }
            return
        }
        guard mkdir(path, 0o755) == 0 else {
            throw ProtocolError(.io, "\(path): cannot make the folder: \(String(cString: strerror(errno)))")
        }
    }
}
