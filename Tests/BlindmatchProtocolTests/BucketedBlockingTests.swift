import Foundation
import Testing

@testable import BlindmatchProtocol

/// SPEC §4.5.1: keyed truncation of blocking tokens.
struct BucketedBlockingTests {
    static func schema(bucketBits: Int?) throws -> LinkageSchema {
        let bits = bucketBits.map { #", "bucketBits": \#($0)"# } ?? ""
        let text = """
            {"blindmatchSchema": 1, "name": "bucketed", "recordKey": "id",
             "fields": [{"name": "id", "kind": "exact"}, {"name": "code", "kind": "exact"}],
             "matchKeys": [{"name": "m", "parts": [{"field": "code"}]}],
             "blockingKeys": [{"name": "b", "parts": [{"field": "code"}]\(bits)}],
             "bloom": {"bits": 256, "fields": [{"field": "code", "tokens": {"type": "exact"}, "bitsPerToken": 2}]}}
            """
        return try LinkageSchema(parsing: Array(text.utf8), source: "bucketed.json")
    }

    /// The blocking column's tokens of `values` encoded with a fixed secret, one per record.
    static func blockingTokens(bucketBits: Int?, values: [String]) throws -> [[UInt8]] {
        let schema = try schema(bucketBits: bucketBits)
        let context = try EncodingContext(
            schema: schema, secret: try LinkageSecret(importing: (0..<32).map { UInt8($0) }))
        var batch = RecordBatch(width: 2)
        for (index, value) in values.enumerated() { batch.append(fields: ["\(index)", value], line: index + 2) }
        var rows: [UInt8] = []
        _ = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        let offset = context.presenceBytes + 16
        return (0..<values.count).map { row in
            Array(rows[(row * context.rowWidth + offset)..<(row * context.rowWidth + offset + 16)])
        }
    }

    /// 2,000 distinct values fall into at most 2^8 buckets, nearly all of them used; equal values share a token; the
    /// match key's tokens stay distinct.
    @Test func tokensCollideByDesignAndEqualValuesAgree() throws {
        let values = (0..<2000).map { "v\($0)" }
        let tokens = try Self.blockingTokens(bucketBits: 8, values: values + ["v7", "v1999"])
        let distinct = Set(tokens)
        #expect(distinct.count <= 256)
        #expect(distinct.count > 240)
        #expect(tokens[2000] == tokens[7])
        #expect(tokens[2001] == tokens[1999])
        // The bucket's token is re-hashed: no zero bytes left over from the truncation.
        #expect(tokens.allSatisfy { token in token.contains { $0 != 0 } && token.count == 16 })
    }

    /// Without bucketBits the tokens are the full HMAC (distinct values, distinct tokens); with 32 bits the bucket
    /// tokens differ from the full ones but collide no more than chance allows.
    @Test func bucketBitsChangeTokensAndOnlyCollisionsFollow() throws {
        let values = (0..<2000).map { "v\($0)" }
        let full = try Self.blockingTokens(bucketBits: nil, values: values)
        let wide = try Self.blockingTokens(bucketBits: 32, values: values)
        #expect(Set(full).count == 2000)
        #expect(Set(wide).count == 2000)
        #expect(zip(full, wide).allSatisfy { $0 != $1 })
    }

    /// bucketBits belongs to blocking keys only, within 8…32.
    @Test(arguments: [
        #"{"matchKeys": [{"name": "m", "parts": [{"field": "code"}], "bucketBits": 12}]}"#,
        #"{"matchKeys": [{"name": "m", "parts": [{"field": "code"}]}], "blockingKeys": [{"name": "b", "parts": [{"field": "code"}], "bucketBits": 7}], "bloom": {"bits": 256, "fields": [{"field": "code", "tokens": {"type": "exact"}, "bitsPerToken": 2}]}}"#,
        #"{"matchKeys": [{"name": "m", "parts": [{"field": "code"}]}], "blockingKeys": [{"name": "b", "parts": [{"field": "code"}], "bucketBits": 33}], "bloom": {"bits": 256, "fields": [{"field": "code", "tokens": {"type": "exact"}, "bitsPerToken": 2}]}}"#,
    ])
    func bucketBitsOutsideBlockingKeysOrRangeAreRefused(members: String) throws {
        let text =
            #"{"blindmatchSchema": 1, "name": "bad", "recordKey": "id", "fields": [{"name": "id", "kind": "exact"}, {"name": "code", "kind": "exact"}], "#
            + members.dropFirst()
        let error = try #require(throws: ProtocolError.self) {
            try LinkageSchema(parsing: Array(text.utf8), source: "bad.json")
        }
        #expect(error.code == .invalidSchema)
        #expect(error.reason.contains("bucketBits"))
        #expect(!error.reason.contains("$.bloom"))
    }
}
