import BlindmatchAgency
import BlindmatchProtocol

// The agency-side library's types, named once for the whole executable (the CSV reader, the tokenising pipeline and
// its interrupt clean-up live in BlindmatchAgency so that `assess` and the tests use them too).
typealias CSVReader = BlindmatchAgency.CSVReader
typealias InterruptCleanup = BlindmatchAgency.InterruptCleanup
typealias TokeniseJob = BlindmatchAgency.TokeniseJob

extension Progress: JobProgress {}

extension TokeniseJob {
    /// A job that draws its progress on a terminal and prints notices to standard error.
    init(
        schema: LinkageSchema, secret: LinkageSecret, input: String, output: String, mapPath: String?,
        signingKey: SigningKey?, party: String, format: OutputFormat, threads: Int
    ) {
        self.init(
            schema: schema, secret: secret, input: input, output: output, mapPath: mapPath, signingKey: signingKey,
            party: party, format: format, threads: threads,
            makeProgress: { Progress(label: $0, totalBytes: $1) }, notice: { Console.error($0) })
    }
}
