import BlindmatchTestSupport
import Testing

@testable import BlindmatchProtocol

struct SchemaTests {
    static let exampleSchema = RepositoryFile.url("Protocol/examples/uk-watchlist.json").path

    @Test func exampleSchemaLoads() throws {
        let schema = try LinkageSchema(contentsOfFile: Self.exampleSchema)
        #expect(schema.flavour == .native)
        #expect(schema.columnNames == ["id", "given_name", "surname", "dob", "sex", "postcode", "nino"])
        #expect(schema.matchKeys.first?.name == "nino")
        #expect(schema.bloom?.filterBits == 1024)
        #expect(schema.fingerprint.count == 64)
    }

    @Test func embeddedJSONSchemaMatchesTheFile() throws {
        let file = try RepositoryFile.data("Protocol/schema/linkage-schema.schema.json")
        #expect(Array(LinkageSchema.nativeJSONSchemaText.utf8) == Array(file))
    }

    @Test func fingerprintIgnoresLayoutButNotContent() throws {
        let compact =
            #"{"blindmatchSchema":1,"name":"t","recordKey":"id","fields":[{"name":"id","kind":"exact"},{"name":"n","kind":"name"}],"matchKeys":[{"name":"k","parts":[{"field":"n"}]}]}"#
        let spaced = """
            {
              "recordKey": "id", "name": "t", "blindmatchSchema": 1,
              "matchKeys": [{"parts": [{"field": "n"}], "name": "k"}],
              "fields": [{"kind": "exact", "name": "id"}, {"name": "n", "kind": "name"}]
            }
            """
        let a = try LinkageSchema(parsing: Array(compact.utf8), source: "a")
        let b = try LinkageSchema(parsing: Array(spaced.utf8), source: "b")
        #expect(a.fingerprint == b.fingerprint)
        let changed = compact.replacingOccurrences(of: "\"kind\":\"name\"", with: "\"kind\":\"text\"")
        #expect(try LinkageSchema(parsing: Array(changed.utf8), source: "c").fingerprint != a.fingerprint)
    }

    @Test func everyProblemIsReportedWithItsPath() throws {
        let bad = """
            {"blindmatchSchema": 1, "name": "bad", "recordKey": "ident",
             "fields": [{"name": "id", "kind": "exact"}, {"name": "n", "kind": "nickname"}, {"name": "d", "kind": "date"}],
             "matchKeys": [{"name": "k", "parts": [{"field": "missing"}, {"field": "d", "transform": "soundex"}]}],
             "bloom": {"bits": 1000, "fields": []}}
            """
        let error = try #require(throws: ProtocolError.self) {
            try LinkageSchema(parsing: Array(bad.utf8), source: "bad.json")
        }
        #expect(error.code == .invalidSchema)
        #expect(error.reason.contains("$.fields[1].kind"))
        #expect(error.reason.contains("$.bloom.bits"))
        #expect(error.reason.contains("$.bloom.fields"))
    }

    @Test func semanticRulesAreCheckedAfterStructure() throws {
        let bad = """
            {"blindmatchSchema": 1, "name": "bad", "recordKey": "ident",
             "fields": [{"name": "id", "kind": "exact"}, {"name": "d", "kind": "date"}, {"name": "d", "kind": "name"}],
             "matchKeys": [{"name": "k", "parts": [{"field": "missing"}, {"field": "d", "transform": "soundex"}]}]}
            """
        let error = try #require(throws: ProtocolError.self) {
            try LinkageSchema(parsing: Array(bad.utf8), source: "bad.json")
        }
        #expect(error.reason.contains("$.recordKey"))
        #expect(error.reason.contains("$.fields[2].name"))
        #expect(error.reason.contains("$.matchKeys[0].parts[0].field"))
    }

    @Test func jsonSyntaxErrorsNameLineAndColumn() throws {
        let error = try #require(throws: ProtocolError.self) {
            try JSONValue(parsing: "{\n  \"a\": 1,\n  \"b\": tru\n}", source: "s.json")
        }
        #expect(error.code == .invalidJSON)
        #expect(error.reason.hasPrefix("s.json:3:8"))
        #expect(throws: ProtocolError.self) { try JSONValue(parsing: #"{"a": 1, "a": 2}"#, source: "dup") }
    }

    @Test(arguments: [
        (#"{"b":[1,2.50,true,null],"a":"x\u0001y","é":{}}"#, #"{"a":"x\u0001y","b":[1,2.5,true,null],"é":{}}"#),
        (#"{"n": 1.0E2, "s": "\"\\/"}"#, #"{"n":100,"s":"\"\\/"}"#),
    ])
    func canonicalForm(input: String, expected: String) throws {
        #expect(try JSONValue(parsing: input, source: "t").canonicalText == expected)
    }

    /// SPEC §2.1 rule 2 is RFC 8785: ECMAScript's Number.prototype.toString. Expected strings from Node.js, including
    /// RFC 8785 Appendix B's binary64 cases.
    @Test(arguments: [
        ("0000000000000000", "0"), ("8000000000000000", "0"), ("0000000000000001", "5e-324"),
        ("8000000000000001", "-5e-324"), ("7fefffffffffffff", "1.7976931348623157e+308"),
        ("ffefffffffffffff", "-1.7976931348623157e+308"), ("4340000000000000", "9007199254740992"),
        ("c340000000000000", "-9007199254740992"), ("4430000000000000", "295147905179352830000"),
        ("44b52d02c7e14af5", "9.999999999999997e+22"), ("44b52d02c7e14af6", "1e+23"),
        ("44b52d02c7e14af7", "1.0000000000000001e+23"), ("444b1ae4d6e2ef4e", "999999999999999700000"),
        ("444b1ae4d6e2ef4f", "999999999999999900000"), ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"), ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("41b3de4355555553", "333333333.3333332"), ("41b3de4355555554", "333333333.33333325"),
        ("41b3de4355555555", "333333333.3333333"), ("41b3de4355555556", "333333333.3333334"),
        ("41b3de4355555557", "333333333.33333343"), ("becbf647612f3696", "-0.0000033333333333333333"),
        ("43143ff3c1cb0959", "1424953923781206.2"),
    ])
    func doublesAreWrittenAsECMAScriptDoes(bits: String, expected: String) throws {
        let value = Double(bitPattern: try #require(UInt64(bits, radix: 16)))
        #expect(JSONValue.ecmaScriptString(value) == expected)
    }

    @Test(arguments: [
        ("0.00001", "0.00001"), ("1e-7", "1e-7"), ("1.5e-7", "1.5e-7"), ("9.0e15", "9000000000000000"),
        ("1e20", "100000000000000000000"), ("1e21", "1e+21"), ("0.05", "0.05"), ("-0.0", "0"), ("-0", "0"),
        ("123456789012345678901234", "1.2345678901234569e+23"), ("9007199254740993", "9007199254740993"),
    ])
    func canonicalNumbers(input: String, expected: String) throws {
        #expect(try JSONValue(parsing: input, source: "t").canonicalText == expected)
    }

    @Test(arguments: ["1e400", "-1e400", "[1, 1E309]", String(repeating: "9", count: 400)])
    func numbersThatOverflowADoubleAreInvalid(input: String) throws {
        let error = try #require(throws: ProtocolError.self) { try JSONValue(parsing: input, source: "t") }
        #expect(error.code == .invalidJSON)
    }

    static func clkhashSchema(l: Int, folds: Int, features: String) -> [UInt8] {
        Array(
            #"{"version": 3, "clkConfig": {"l": \#(l), "xor_folds": \#(folds), "kdf": {"type": "HKDF"}}, "features": [\#(features)]}"#
                .utf8)
    }

    static let doubleHashFeature =
        #"{"identifier": "name", "format": {"type": "string"}, "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}, "hash": {"type": "doubleHash"}}}"#

    /// SPEC §2.3 rule 2: positions are 16-bit, so l × 2^xor_folds is at most 65536, for doubleHash too.
    @Test(arguments: [(65536, 1), (65544, 0), (1000, 7), (131_072, 0)])
    func clkhashFiltersLongerThan65536BitsAreRefused(l: Int, folds: Int) throws {
        let bytes = Self.clkhashSchema(
            l: l, folds: folds, features: #"{"identifier": "id", "ignored": true}, "# + Self.doubleHashFeature)
        let error = try #require(throws: ProtocolError.self) { try LinkageSchema(parsing: bytes, source: "big.json") }
        #expect(error.code == .invalidSchema)
        #expect(error.reason.contains("$.clkConfig.l: l × 2^xor_folds must be at most 65536"))
    }

    @Test func clkhashFiltersOf65536BitsAreAccepted() throws {
        let bytes = Self.clkhashSchema(
            l: 16384, folds: 2, features: #"{"identifier": "id", "ignored": true}, "# + Self.doubleHashFeature)
        #expect(try LinkageSchema(parsing: bytes, source: "ok.json").bloom?.hashBits == 65536)
    }

    /// SPEC §2.3 rule 7: numeric comparisons whose arithmetic would not fit in 64 bits are refused with their path.
    @Test(arguments: [
        #""thresholdDistance": 1e300, "resolution": 3"#,
        #""thresholdDistance": 5, "resolution": 3, "fractional_precision": 19"#,
        #""thresholdDistance": 5, "resolution": 100000"#,
        #""thresholdDistance": 5e15, "resolution": 3, "fractional_precision": 1"#,
    ])
    func numericComparisonsOutside64BitsAreRefused(comparison: String) throws {
        let feature =
            #"{"identifier": "score", "format": {"type": "string"}, "hashing": {"comparison": {"type": "numeric", "#
            + comparison + #"}, "strategy": {"bitsPerToken": 10}}}"#
        let bytes = Self.clkhashSchema(
            l: 1024, folds: 0, features: #"{"identifier": "id", "ignored": true}, "# + feature)
        let error = try #require(throws: ProtocolError.self) { try LinkageSchema(parsing: bytes, source: "n.json") }
        #expect(error.code == .invalidSchema)
        #expect(error.reason.contains("$.features[1].hashing.comparison"))
    }

    /// SPEC §2.3 rule 5: identifiers name CSV columns and header statistics, so they are unique.
    @Test func duplicateClkhashIdentifiersAreRefused() throws {
        let bytes = Self.clkhashSchema(
            l: 1024, folds: 0, features: #"{"identifier": "name", "ignored": true}, "# + Self.doubleHashFeature)
        let error = try #require(throws: ProtocolError.self) { try LinkageSchema(parsing: bytes, source: "dup.json") }
        #expect(error.code == .invalidSchema)
        #expect(error.reason.contains(#"$.features[1].identifier: "name" is used twice"#))
    }

    @Test func clkhashSchemaReadsXorFoldsNotXorFoldsCamelCase() throws {
        let document = try JSONValue(
            parsing: Array(RepositoryFile.data("Protocol/vectors/clkhash-kat.json")), source: "kat")
        let folded = try LinkageSchema(
            parsing: try #require(document["l512_xor_folds1"]?["schema"]).canonicalBytes, source: "a")
        let ignored = try LinkageSchema(
            parsing: try #require(document["l512_xorFolds1_IGNORED"]?["schema"]).canonicalBytes, source: "b")
        #expect(folded.bloom?.xorFolds == 1)
        #expect(folded.bloom?.hashBits == 1024)
        #expect(ignored.bloom?.xorFolds == 0)
    }

    @Test(arguments: [
        ("%Y-%m-%d", "1980-03-15", "19800315"), ("%d/%m/%Y", "5/3/1980", "19800305"),
        ("%d %b %Y", "05 Mar 1980", "19800305"), ("%Y-%m-%d", "1980-02-30", nil), ("%Y-%m-%d", "1980-03-15x", nil),
    ])
    func strptimeSubset(format: String, input: String, expected: String?) throws {
        let parsed = try StrptimeFormat(format, path: "$").parse(input)
        #expect(parsed == expected)
    }
}
