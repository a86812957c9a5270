import ArgumentParser
import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol

struct AssessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assess",
        abstract: "Attack your own token file as the matcher could, before any data leaves (run by the agency).",
        discussion: """
            Tokenises the input in memory exactly as tokenise does (nothing is written but the reports), then plays \
            the matcher: each attack sees only the filters, tokens, presence bits and header, plus a reference \
            population in clear text, never the secret. Its guesses are scored against your records, which never \
            leave this machine. Without --reference, two populations are tried: a disjoint half of the input (the \
            other half is attacked) and the input itself (the electoral-register case). The verdict fails when an \
            attack gains more than its bound above the baseline of always guessing the most common value: by default \
            1 point for identifying fields (names, date of birth, postcode, NINO) and whole records, 10 points for \
            low-entropy ones (sex, year of birth, postcode area). A schema with extra filters has each filter attacked \
            alone and all of them at once, reported by filter. Also lints the schema. See docs/privacy.md.

            Exit status: 0 when the verdict passes, 3 when it fails (the failing attacks and fields are printed), \
            1 on an error.
            """)

    @Option(help: ArgumentHelp("The project's linkage schema.", valueName: "schema.json"))
    var schema: String

    @Option(
        name: .customLong("secret-file"), help: ArgumentHelp("The linkage secret file (mode 0600).", valueName: "file"))
    var secretFile: String

    @Option(help: ArgumentHelp("Your records, CSV with a header row matching the schema.", valueName: "data.csv"))
    var input: String

    @Option(
        help: ArgumentHelp(
            "A clear-text population you believe an attacker has (CSV naming some of the schema's columns).",
            valueName: "public.csv"))
    var reference: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the report as JSON.", valueName: "report.json"))
    var output: String?

    @Option(help: ArgumentHelp("Write the report as one self-contained HTML page.", valueName: "report.html"))
    var html: String?

    @Option(name: .customLong("bound-identifying"), help: "Allowed gain in points on identifying fields.")
    var boundIdentifying = 1.0

    @Option(name: .customLong("bound-low-entropy"), help: "Allowed gain in points on sex, year of birth, area.")
    var boundLowEntropy = 10.0

    @Option(name: .customLong("bound-records"), help: "Allowed gain in points on whole records linked.")
    var boundRecords = 1.0

    @Option(
        name: .customLong("bound"),
        help: ArgumentHelp("Allowed gain on one measure, e.g. 'sex=20' or 'dob year=5' (repeatable).", valueName: "m=p")
    )
    var bound: [String] = []

    @Option(help: "Worker threads for tokenising (default: every core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        for value in [boundIdentifying, boundLowEntropy, boundRecords] where !(value >= 0 && value <= 100) {
            throw ValidationError("bounds are percentage points from 0 to 100")
        }
        _ = try parsedBounds()
    }

    func parsedBounds() throws -> AssessmentBounds {
        var bounds = AssessmentBounds()
        bounds.identifying = boundIdentifying
        bounds.lowEntropy = boundLowEntropy
        bounds.records = boundRecords
        for item in bound {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let points = Double(parts[1]), points >= 0, points <= 100 else {
                throw ValidationError("--bound takes measure=points, e.g. sex=20")
            }
            bounds.perMeasure[String(parts[0])] = points
        }
        return bounds
    }

    func run() throws {
        var passes = true
        try reportingErrors {
            let linkageSchema = try LinkageSchema(contentsOfFile: schema)
            let secret = try LinkageSecret(contentsOfFile: secretFile)
            let given = try reference.map { try ReferencePopulation.read(path: $0, schema: linkageSchema).values }
            let agencyInput = try AgencyInput.tokenise(
                schema: linkageSchema, secret: secret, input: input, threads: threads ?? Machine.cores,
                progress: Progress(label: "tokenising", totalBytes: FileIO.size(of: input)))
            var assessment = Assessment()
            assessment.bounds = try parsedBounds()
            let report = assessment.run(
                schema: linkageSchema, input: agencyInput, reference: given.map { .given($0) } ?? .halvesAndWhole,
                progress: Progress(label: "assessing", totalBytes: nil))
            if let output { try Self.write(report.json.canonicalText + "\n", to: output) }
            if let html { try Self.write(report.html, to: html) }
            Console.output(Self.summary(report))
            passes = report.passes
        }
        if !passes { throw ExitCode(3) }
    }

    static func write(_ text: String, to path: String) throws {
        let file = try AtomicFile(destination: path, mode: 0o644)
        InterruptCleanup.install(removing: [file.temporaryPath])
        defer { InterruptCleanup.uninstall() }
        try file.write(text)
        try file.commit()
    }

    /// The report as text: per population and attack, each measure's gain beside its baseline.
    static func summary(_ report: AssessmentReport) -> String {
        var lines: [String] = []
        for finding in report.lint { lines.append("lint: \(finding.subject): \(finding.message)") }
        for scenario in report.scenarios {
            lines.append(
                "\(scenario.name): \(Format.count(scenario.encodedRecords)) encoded, \(Format.count(scenario.referenceRecords)) in the reference (\(Format.decimal(100 * scenario.overlap, places: 1))% of encoded records in it)"
            )
            for score in scenario.scores {
                lines.append("  \(score.attack) (\(Format.decimal(score.seconds, places: 1)) s)")
                for measure in score.measures where measure.guessed > 0 {
                    lines.append(
                        "    \(measure.measure): \(Format.decimal(100 * measure.combined, places: 1))% right with the attack\(measure.relabelled.map { $0 > measure.combined ? " (\(Format.decimal(100 * $0, places: 1))% with its groups renamed)" : "" } ?? ""), baseline \(Format.decimal(100 * measure.baseline, places: 1))% (gain \(Format.decimal(measure.gainPoints, places: 1)) points, bound \(Format.decimal(measure.bound, places: 1))); \(Format.count(measure.guessed)) guessed, \(Format.count(measure.wrong)) wrong\(measure.passes ? "" : "  FAIL")"
                    )
                }
                if let links = score.links {
                    lines.append(
                        "    whole records: \(Format.decimal(100 * links.share, places: 2))% linked to the right person, chance \(Format.decimal(100 * links.baseline, places: 3))%; \(Format.count(links.linked)) linked, \(Format.count(links.wrong)) wrong\(links.passes ? "" : "  FAIL")"
                    )
                }
                if score.measures.allSatisfy({ $0.guessed == 0 }) && score.links?.linked ?? 0 == 0 {
                    for (key, value) in score.notes.sorted(by: { $0.key < $1.key }) {
                        lines.append(
                            "    \(key): \(value == value.rounded() ? Format.count(Int(value)) : Format.decimal(value, places: 1))"
                        )
                    }
                }
            }
        }
        lines.append(report.verdict)
        return lines.joined(separator: "\n") + "\n"
    }
}
