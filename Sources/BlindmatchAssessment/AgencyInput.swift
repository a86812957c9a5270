import BlindmatchAgency
import BlindmatchProtocol

/// The agency's records tokenised in memory exactly as `tokenise` would (same reader, same encoder, same row bytes),
/// with the matcher's view of them in a random row order and, beside it, the plaintext the harness scores against.
/// Nothing is written to disk.
public struct AgencyInput: Sendable {
    /// What the matcher would hold, rows in a random order (SPEC §6.4).
    public let view: MatcherView
    /// The fields that are scored: every schema column but the record key and ignored columns.
    public let fields: [ScoredField]
    /// Per row of `view`, the record's normalised values (one per entry of `fields`; nil when missing or invalid).
    public let truth: [[String?]]
    /// Per row of `view`, the record's position in the input file.
    public let inputIndex: [Int]
    /// The schema's record-level filters, in the order of `view.allFilters`.
    public let recordFilters: [RecordFilter]

    /// Reads and encodes `input` on `threads` cores; `progress` sees records and bytes.
    public static func tokenise(
        schema: LinkageSchema, secret: LinkageSecret, input: String, threads: Int, progress: any JobProgress
    ) throws -> AgencyInput {
        let reader = try CSVReader(path: input)
        try reader.checkHeader(expected: schema.columnNames)
        let context = try EncodingContext(schema: schema, secret: secret)
        let tokeniser = try Tokeniser(context: context, workers: threads)
        let source = BatchSource(reader: reader, width: schema.columns.count, limit: 16_384)
        let fields = ScoredField.fields(of: schema)
        let keys = schema.tokenKeys.count
        let recordFilters = try RecordFilter.filters(of: schema)
        // Each filter's place in a row (SPEC §6.4): the first after the tokens, then the extra filters (SPEC §5.6).
        let regions =
            [(offset: context.presenceBytes + keys * EncodingContext.tokenBytes, bytes: context.filterBytes)]
            + context.extraFilterBytes.indices.map {
                (offset: context.extraFilterRowOffset($0), bytes: context.extraFilterBytes[$0])
            }
        guard regions.count == max(1, recordFilters.count) else {
            throw ProtocolError(.invalidSchema, "\(schema.name): extra filters without Bloom settings")
        }
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: keys)
        var words = [[UInt64]](repeating: [], count: regions.count)
        var classes = [[Int32]](repeating: [], count: keys)
        var classOf = [[TokenBytes: Int32]](repeating: [:], count: keys)
        var truth: [[String?]] = []
        var rows: [UInt8] = []
        while let batch = try source.next() {
            let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
            if let refusal {
                let column = schema.columns[refusal.entry.column].name
                throw ProtocolError(
                    .invalidCSV,
                    "\(input):\(batch.lines[refusal.record]): field \"\(column)\" \(refusal.entry.reason) (clkhash schemas refuse invalid entries)"
                )
            }
            statistics.merge(batchStatistics)
            rows.withUnsafeBytes { all in
                for record in 0..<batch.count {
                    let row = record * context.rowWidth
                    for key in 0..<keys {
                        let start = row + context.presenceBytes + key * EncodingContext.tokenBytes
                        let present = all[row + key / 8] & (1 << UInt8(key % 8)) != 0
                        guard present else {
                            classes[key].append(-1)
                            continue
                        }
                        let token = TokenBytes(
                            high: all.loadUnaligned(fromByteOffset: start, as: UInt64.self),
                            low: all.loadUnaligned(fromByteOffset: start + 8, as: UInt64.self))
                        let next = Int32(classOf[key].count)
                        let number = classOf[key][token, default: next]
                        if number == next { classOf[key][token] = next }
                        classes[key].append(number)
                    }
                    for (index, region) in regions.enumerated() {
                        for word in 0..<((region.bytes * 8 + 63) / 64) {
                            var value: UInt64 = 0
                            for byte in 0..<8 where word * 8 + byte < region.bytes {
                                value |= UInt64(all[row + region.offset + word * 8 + byte]) << UInt64(8 * byte)
                            }
                            words[index].append(value)
                        }
                    }
                    truth.append(fields.map { $0.value(in: batch, record: record, schema: schema) })
                }
            }
            progress.update(records: statistics.records, bytes: source.bytesRead)
        }
        // The matcher sees rows in a uniformly random order; attacks get no help from the input's order.
        var order = Array(0..<truth.count)
        order.shuffle()
        let filters = regions.indices.map { index in
            EncodedFilters(filterBits: regions[index].bytes * 8, count: truth.count, words: words[index])
                .subset(rows: order)
        }
        let view = MatcherView(
            filters: filters[0], additionalFilters: Array(filters.dropFirst()), tokenKeys: schema.tokenKeys.map(\.name),
            tokenClasses: classes.map { column in MatcherView.renumbered(order.map { column[$0] }) },
            statistics: statistics)
        return AgencyInput(
            view: view, fields: fields, truth: order.map { truth[$0] }, inputIndex: order,
            recordFilters: recordFilters)
    }
}

/// A 16-byte token as two words, for counting equal tokens.
private struct TokenBytes: Hashable {
    let high: UInt64
    let low: UInt64
}
