import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

struct EncoderTests {
    /// The parallel tokeniser, the position cache and a fresh encoder must all agree record for record.
    @Test func parallelCachedAndFreshEncodingsAgree() throws {
        let (schema, batch) = try TokenFileTests.exampleBatch(count: 5000)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var parallel: [UInt8] = []
        _ = try Tokeniser(context: context, workers: 4).encode(batch, into: &parallel)
        let cached = try RecordEncoder(context: context)
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: schema.tokenKeys.count)
        for record in stride(from: 0, to: batch.count, by: 97) {
            var warm = [UInt8](repeating: 0, count: context.rowWidth)
            var fresh = [UInt8](repeating: 0, count: context.rowWidth)
            warm.withUnsafeMutableBytes { _ = cached.encode(batch, record: record, into: $0, statistics: &statistics) }
            let freshEncoder = try RecordEncoder(context: context)
            fresh.withUnsafeMutableBytes {
                _ = freshEncoder.encode(batch, record: record, into: $0, statistics: &statistics)
            }
            let slice = Array(parallel[(record * context.rowWidth)..<((record + 1) * context.rowWidth)])
            #expect(warm == fresh)
            #expect(warm == slice)
        }
    }

    /// Invalid and missing values give no token, and the statistics count them.
    @Test func missingAndInvalidValuesNeverMakeTokens() throws {
        let schema = try LinkageSchema(contentsOfFile: RepositoryFile.url("Protocol/examples/uk-watchlist.json").path)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var batch = RecordBatch(width: 7)
        batch.append(fields: ["1", "Ann", "Lee", "31/02/1990", "F", "NOTAPOSTCODE", "N/A"], line: 2)
        var statistics = EncodingStatistics(columns: 7, matchKeys: schema.tokenKeys.count)
        var row = [UInt8](repeating: 0xFF, count: context.rowWidth)
        row.withUnsafeMutableBytes {
            _ = try? RecordEncoder(context: context).encode(batch, record: 0, into: $0, statistics: &statistics)
        }
        // Every match key needs the date of birth, the postcode or the NINO: none has all its parts.
        let keys = schema.matchKeys.count
        let presence = context.presenceBytes
        #expect((0..<keys).allSatisfy { row[$0 >> 3] & (1 << UInt8($0 & 7)) == 0 })
        #expect(row[presence..<(presence + keys * 16)].allSatisfy { $0 == 0 })
        // The blocking key on names alone is there.
        let names = try #require(schema.tokenKeys.firstIndex { $0.name == "block-names" })
        #expect(row[names >> 3] & (1 << UInt8(names & 7)) != 0)
        #expect(statistics.columns[3].invalid == 1)
        #expect(statistics.columns[5].invalid == 1)
        #expect(statistics.columns[6].missing == 1)
        #expect(statistics.columns[1].changed == 1)
    }

    /// SPEC §3.9, §4.3: a match-key part's length is two bytes, so a value of 65536 bytes or more is invalid and
    /// makes the key absent, never a token whose length prefix wrapped.
    @Test(arguments: [(65535, true), (65536, false), (65536 + 5, false)])
    func valuesTooLongForAMatchKeyPartAreInvalid(length: Int, hasToken: Bool) throws {
        let schema = try LinkageSchema(
            parsing: Array(
                #"{"blindmatchSchema": 1, "name": "long", "recordKey": "id", "fields": [{"name": "id", "kind": "exact"}, {"name": "code", "kind": "exact"}], "matchKeys": [{"name": "k", "parts": [{"field": "code"}]}]}"#
                    .utf8), source: "long.json")
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var batch = RecordBatch(width: 2)
        batch.append(fields: ["1", String(repeating: "a", count: length)], line: 2)
        var rows: [UInt8] = []
        let (statistics, _) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        #expect((rows[0] & 1 == 1) == hasToken)
        #expect(statistics.matchKeysPresent[0] == (hasToken ? 1 : 0))
        #expect(statistics.columns[1].invalid == (hasToken ? 0 : 1))
        #expect(statistics.columns[1].present == (hasToken ? 1 : 0))
    }

    /// SPEC §5 step 5: a record with no Bloom token has the all-zero filter whatever the hardening; balancing it
    /// would give every such record the same filter (Dice 1 between two empty records).
    @Test(arguments: [
        #"{"balance": true}"#, #"{"diffusion": {"taps": 3}}"#, #"{"randomisedResponse": {"flipProbability": 0.05}}"#,
        #"{"xorFolds": 1, "salt": {"field": "dob", "transform": "year"}, "diffusion": {"taps": 4}, "balance": true, "randomisedResponse": {"flipProbability": 0.02}}"#,
    ])
    func recordsWithoutBloomTokensHaveEmptyFilters(hardening: String) throws {
        var text = String(decoding: try FileIO.readAll(SchemaTests.exampleSchema), as: UTF8.self)
        text = text.replacingOccurrences(
            of: #""hardening": {"xorFolds": 0, "balance": false}"#, with: "\"hardening\": \(hardening)")
        let schema = try LinkageSchema(parsing: Array(text.utf8), source: "hardened")
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret(importing: Array(0..<32)))
        var batch = RecordBatch(width: 7)
        batch.append(fields: ["1", "", "N/A", "", "", "", "AB123456C"], line: 2)
        batch.append(fields: ["2", "Mr", "", "31/02/1990", "unknown", "not a postcode", ""], line: 3)
        batch.append(fields: ["3", "Ann", "", "", "", "", ""], line: 4)
        var rows: [UInt8] = []
        let (statistics, _) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        let filters = (0..<3).map { record in
            let start = record * context.rowWidth + context.filterRowOffset
            return rows[start..<(start + context.filterBytes)]
        }
        #expect(filters[0].allSatisfy { $0 == 0 })
        #expect(filters[1].allSatisfy { $0 == 0 })  // invalid values are no tokens either
        #expect(!filters[2].allSatisfy { $0 == 0 })
        #expect(statistics.popcountMin == 0)
    }

    /// SPEC §5.5.4: θ = round(p × 65536), halves to even as Python's round() in the reference implementation.
    @Test(
        arguments: [
            (2.5, 2), (3.5, 4), (0.05 * 65536, 3277), (0.02 * 65536, 1311), (16384.0, 16384), (4096.5, 4096),
            (4097.5, 4098),
        ] as [(Double, Int)])
    func randomisedResponseThresholdRoundsHalvesToEven(scaled: Double, threshold: Int) {
        #expect(BloomFilterEncoder.randomisedResponseThreshold(probability: scaled / 65536) == threshold)
    }

    /// SPEC §5.1 numeric tokens: a number this encoding cannot hold gives nil (the entry is refused), never a trap.
    @Test(
        arguments: [
            ("44", 0, ["250", "255", "260", "265", "270", "275", "280"]), ("abc", 0, []), ("inf", 0, nil),
            ("nan", 0, nil),
            ("-infinity", 2, nil), ("1e300", 0, nil), ("1e17", 2, nil), ("9223372036854775807", 0, nil),
            ("-9223372036854775808", 0, nil), ("1537228672809129301", 0, nil), ("92233720368547758", 2, nil),
            ("0.5", 1, ["-100", "-50", "0", "50", "100", "150", "200"]),
        ] as [(String, Int, [String]?)])
    func numericTokensNeverTrap(text: String, precision: Int, expected: [String]?) {
        let interval = 5 * Int(pow(10.0, Double(precision)))
        let tokens = BloomFilterEncoder.numericTokens(text, interval: interval, resolution: 3, precision: precision)
        #expect(tokens == expected, "\(text)")
    }

    /// clkhash schemas refuse an entry whose number the numeric comparison cannot hold (SPEC §2.3), as clkhash
    /// stops on it, instead of stopping the tokeniser with a crash.
    @Test(arguments: ["inf", "NaN", "1e300", "9223372036854775807"])
    func unrepresentableNumbersAreRefusedEntries(value: String) throws {
        let schema = try LinkageSchema(
            parsing: Array(
                #"{"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF"}}, "features": [{"identifier": "id", "ignored": true}, {"identifier": "score", "format": {"type": "string"}, "hashing": {"comparison": {"type": "numeric", "thresholdDistance": 5, "resolution": 3}, "strategy": {"bitsPerToken": 10}}}]}"#
                    .utf8), source: "numeric.json")
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var batch = RecordBatch(width: 2)
        batch.append(fields: ["1", "44"], line: 2)
        batch.append(fields: ["2", value], line: 3)
        var rows: [UInt8] = []
        let (statistics, refusal) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        #expect(refusal?.record == 1)
        #expect(refusal?.entry.column == 1)
        #expect(statistics.columns[1].invalid == 1)
        #expect(statistics.columns[1].present == 1)
    }

    /// A field's hashing keys are checked when the encoder is made (SPEC §5.3.2: BLAKE2b keys are at most 64 bytes),
    /// not discovered mid-run.
    @Test func unusableBlakeKeysAreRefusedWhenTheEncoderIsMade() throws {
        let schema = try LinkageSchema(
            parsing: Array(
                #"{"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "keySize": 65}}, "features": [{"identifier": "id", "ignored": true}, {"identifier": "name", "format": {"type": "string"}, "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 70}}}]}"#
                    .utf8), source: "long-keys.json")
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        let error = try #require(throws: ProtocolError.self) { try RecordEncoder(context: context) }
        #expect(error.code == .crypto)
    }

    @Test func keyStreamShufflesAreUniformEnough() {
        var stream = KeyStream(key: Array(repeating: 1, count: 32))
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[Int(stream.uniform(below: 10))] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }
}
