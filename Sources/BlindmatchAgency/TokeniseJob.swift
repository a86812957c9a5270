import BlindmatchProtocol
import Dispatch
import Glibc

/// The tokenising pipeline shared by `tokenise`, `assess`, `bench` and `demo`: stream the CSV in batches, encode
/// each batch on every core, and hand rows to the token-file writer or the anonlink JSON writer.
public struct TokeniseJob {
    /// What the job writes.
    public enum OutputFormat: String, CaseIterable, Sendable {
        case bmt
        case anonlinkJSON = "anonlink-json"
    }

    /// What a finished job reports.
    public struct Outcome {
        public let statistics: EncodingStatistics
        public let seconds: Double
        public let summary: TokenFileWriter.Summary?
    }

    public let schema: LinkageSchema
    public let secret: LinkageSecret
    public let input: String
    public let output: String
    public let mapPath: String?
    public let signingKey: SigningKey?
    public let party: String
    public let format: OutputFormat
    public let threads: Int
    public var batchSize = 16_384
    public var label = "tokenising"
    /// Makes the run's progress display from its label and the input's size in bytes (nil when unknown).
    public let makeProgress: (_ label: String, _ totalBytes: Int?) -> any JobProgress
    /// Receives one-line notices for the operator (never a value or a token).
    public let notice: (String) -> Void

    /// A job; nothing is read or written until ``run()``.
    public init(
        schema: LinkageSchema, secret: LinkageSecret, input: String, output: String, mapPath: String?,
        signingKey: SigningKey?, party: String, format: OutputFormat, threads: Int,
        makeProgress: @escaping (_ label: String, _ totalBytes: Int?) -> any JobProgress,
        notice: @escaping (String) -> Void
    ) {
        self.schema = schema
        self.secret = secret
        self.input = input
        self.output = output
        self.mapPath = mapPath
        self.signingKey = signingKey
        self.party = party
        self.format = format
        self.threads = threads
        self.makeProgress = makeProgress
        self.notice = notice
    }

    /// Reads, encodes and writes; on any error nothing is written (SPEC §6.8).
    public func run() throws -> Outcome {
        let start = MonotonicClock.seconds()
        let reader = try CSVReader(path: input)
        try reader.checkHeader(expected: schema.columnNames)
        let context = try EncodingContext(schema: schema, secret: secret)
        let tokeniser = try Tokeniser(context: context, workers: threads)
        let fileSize = FileIO.size(of: input)
        let progress = makeProgress(label, fileSize)
        var statistics = EncodingStatistics(
            columns: schema.columns.count, matchKeys: schema.tokenKeys.count, extraFilters: schema.extraFilters.count)
        let source = BatchSource(reader: reader, width: schema.columns.count, limit: batchSize)
        var rows: [UInt8] = []
        let leftovers = ([output] + (mapPath.map { [$0] } ?? [])).flatMap { StaleTemporaryFiles.sweep(besides: $0) }
        if !leftovers.isEmpty {
            notice(
                "removed \(leftovers.count) temporary file\(leftovers.count == 1 ? "" : "s") left by a killed run: \(leftovers.joined(separator: ", "))\n"
            )
        }

        switch format {
        case .bmt:
            let writer = try TokenFileWriter(
                path: output, mapPath: mapPath, context: context, party: party,
                expectedRecords: (fileSize ?? 0) / 40)
            InterruptCleanup.install(removing: writer.temporaryPaths)
            defer { InterruptCleanup.uninstall() }
            do {
                while let batch = try source.next() {
                    let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
                    try refuse(refusal, in: batch)
                    statistics.merge(batchStatistics)
                    try rows.withUnsafeBytes {
                        try writer.append(
                            rows: $0, count: batch.count, keysFrom: batch, keyColumn: schema.recordKeyColumn)
                    }
                    progress.update(records: statistics.records, bytes: source.bytesRead)
                }
                progress.finish()
                let summary = try writer.finish(statistics: statistics, signingKey: signingKey)
                return Outcome(statistics: statistics, seconds: MonotonicClock.seconds() - start, summary: summary)
            } catch {
                progress.finish()
                writer.abandon()
                throw error
            }
        case .anonlinkJSON:
            guard context.filterBytes > 0 else {
                throw ProtocolError(.invalidArgument, "the schema has no Bloom filters to export as anonlink JSON")
            }
            // clkhash writes json.dump({"clks": [...]}): ", " between items, in the input's order.
            let file = try AtomicFile(destination: output, mode: 0o600)
            InterruptCleanup.install(removing: [file.temporaryPath])
            defer { InterruptCleanup.uninstall() }
            try file.write("{\"clks\": [")
            var first = true
            var text: [UInt8] = []
            let filterOffset = context.filterRowOffset  // the first filter (extra filters follow it in a row)
            while let batch = try source.next() {
                let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
                try refuse(refusal, in: batch)
                statistics.merge(batchStatistics)
                text.removeAll(keepingCapacity: true)
                rows.withUnsafeBytes { all in
                    for record in 0..<batch.count {
                        text.append(contentsOf: first ? Array("\"".utf8) : Array(", \"".utf8))
                        first = false
                        let start = record * context.rowWidth + filterOffset
                        Base64.encode(
                            UnsafeRawBufferPointer(rebasing: all[start..<(start + context.filterBytes)]),
                            appendingTo: &text)
                        text.append(UInt8(ascii: "\""))
                    }
                }
                try file.write(text)
                progress.update(records: statistics.records, bytes: source.bytesRead)
            }
            progress.finish()
            try file.write("]}")
            try file.commit()
            return Outcome(statistics: statistics, seconds: MonotonicClock.seconds() - start, summary: nil)
        }
    }

    /// clkhash refuses a file with an entry that fails its feature's format; so do we, for clkhash schemas.
    private func refuse(_ refusal: Tokeniser.Refusal?, in batch: RecordBatch) throws {
        guard let refusal else { return }
        let column = schema.columns[refusal.entry.column].name
        throw ProtocolError(
            .invalidCSV,
            "\(input):\(batch.lines[refusal.record]): field \"\(column)\" \(refusal.entry.reason) (clkhash schemas refuse invalid entries)"
        )
    }
}
