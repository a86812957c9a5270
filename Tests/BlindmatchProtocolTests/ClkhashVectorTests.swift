import BlindmatchTestSupport
import Testing

@testable import BlindmatchProtocol

/// clkhash 0.18.3 known answers (Protocol/vectors/clkhash-kat.json, from shared/vectors): CLKs must match bit for bit.
struct ClkhashVectorTests {
    static let cases: [String] = {
        guard let bytes = try? Array(RepositoryFile.data("Protocol/vectors/clkhash-kat.json")),
            let document = try? JSONValue(parsing: bytes, source: "clkhash-kat.json")
        else { return [] }
        return document.objectValue?.map(\.key) ?? []
    }()

    @Test func vectorFileHasCases() {
        #expect(Self.cases.count == 3)
    }

    @Test(arguments: cases)
    func clksMatchClkhash(name: String) throws {
        let document = try JSONValue(
            parsing: Array(RepositoryFile.data("Protocol/vectors/clkhash-kat.json")), source: "clkhash-kat.json")
        let vector = try #require(document[name])
        let schemaBytes = try #require(vector["schema"]).canonicalBytes
        let schema = try LinkageSchema(parsing: schemaBytes, source: name)
        #expect(schema.flavour == .clkhashV3)
        let secret = try LinkageSecret(importing: Array(try #require(vector["secret"]?.stringValue).utf8))
        let context = try EncodingContext(schema: schema, secret: secret)
        let encoder = try RecordEncoder(context: context)
        let records = try #require(vector["records"]?.arrayValue)
        var batch = RecordBatch(width: schema.columns.count)
        for (line, record) in records.enumerated() {
            batch.append(fields: record.arrayValue?.compactMap(\.stringValue) ?? [], line: line + 2)
        }
        let expected = try #require(vector["clks_b64"]?.arrayValue).compactMap(\.stringValue)
        let popcounts = try #require(vector["popcounts"]?.arrayValue).compactMap(\.intValue)
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: 0)
        for record in 0..<batch.count {
            var row = [UInt8](repeating: 0, count: context.rowWidth)
            let refused = row.withUnsafeMutableBytes {
                encoder.encode(batch, record: record, into: $0, statistics: &statistics)
            }
            #expect(refused == nil)
            #expect(Base64.encode(row) == expected[record], "record \(record)")
            #expect(row.reduce(0) { $0 + $1.nonzeroBitCount } == popcounts[record])
        }
    }
}
