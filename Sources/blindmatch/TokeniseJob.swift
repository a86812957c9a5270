import BlindmatchProtocol
import Dispatch
import Glibc

/// The tokenising pipeline shared by `tokenise`, `bench` and `demo`: stream the CSV in batches, encode each batch
/// on every core, and hand rows to the token-file writer or the anonlink JSON writer.
struct TokeniseJob {
    enum OutputFormat: String, CaseIterable {
        case bmt
        case anonlinkJSON = "anonlink-json"
    }

    struct Outcome {
        let statistics: EncodingStatistics
        let seconds: Double
        let summary: TokenFileWriter.Summary?
    }

    let schema: LinkageSchema
    let secret: LinkageSecret
    let input: String
    let output: String
    let mapPath: String?
    let signingKey: SigningKey?
    let party: String
    let format: OutputFormat
    let threads: Int
    var batchSize = 16_384
    var label = "tokenising"

    func run() throws -> Outcome {
        let start = Clock.now()
        var reader = try CSVReader(path: input)
        try reader.checkHeader(expected: schema.columnNames)
        let context = try EncodingContext(schema: schema, secret: secret)
        let tokeniser = try Tokeniser(context: context, workers: threads)
        let fileSize = FileIO.size(of: input)
        let progress = Progress(label: label, totalBytes: fileSize)
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: schema.tokenKeys.count)
        var batch = RecordBatch(width: schema.columns.count, capacity: batchSize)
        var rows: [UInt8] = []

        switch format {
        case .bmt:
            let writer = try TokenFileWriter(
                path: output, mapPath: mapPath, context: context, party: party,
                expectedRecords: (fileSize ?? 0) / 40)
            do {
                while try reader.read(into: &batch, limit: batchSize) {
                    let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
                    try refuse(refusal, in: batch)
                    statistics.merge(batchStatistics)
                    try rows.withUnsafeBytes {
                        try writer.append(
                            rows: $0, count: batch.count, keysFrom: batch, keyColumn: schema.recordKeyColumn)
                    }
                    progress.update(records: statistics.records, bytes: reader.bytesRead)
                }
                progress.finish()
                let summary = try writer.finish(statistics: statistics, signingKey: signingKey)
                return Outcome(statistics: statistics, seconds: Clock.now() - start, summary: summary)
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
            let file = try AtomicFile(destination: output, mode: 0o644)
            try file.write("{\"clks\": [")
            var first = true
            var text: [UInt8] = []
            let filterOffset = context.rowWidth - context.filterBytes
            while try reader.read(into: &batch, limit: batchSize) {
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
                progress.update(records: statistics.records, bytes: reader.bytesRead)
            }
            progress.finish()
            try file.write("]}")
            try file.commit()
            return Outcome(statistics: statistics, seconds: Clock.now() - start, summary: nil)
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

enum Machine {
    /// Cores available to this process.
    static var cores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
