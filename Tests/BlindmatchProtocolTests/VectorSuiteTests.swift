import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

/// Every known-answer vector in Protocol/vectors/, through the same checks `blindmatch vectors` runs.
struct VectorSuiteTests {
    static let directory = RepositoryFile.url("Protocol/vectors").path

    /// Writes token-file.json when BLINDMATCH_WRITE_VECTORS=1 (after a deliberate protocol change, with SPEC.md).
    @Test func tokenFileVectorIsCurrent() throws {
        let schemaPath = RepositoryFile.url("Protocol/examples/uk-watchlist.json").path
        let schema = try LinkageSchema(contentsOfFile: schemaPath)
        let bytes = try TokenFileVector.build(from: nil, schema: schema)
        if ProcessInfo.processInfo.environment["BLINDMATCH_WRITE_VECTORS"] == "1" {
            let tokens = try TokenFileReaderForVector(bytes: bytes)
            let document = JSONValue.object([
                ("algorithm", .string("blindmatch token file (SPEC §6)")),
                ("version", .number("1")),
                (
                    "notes",
                    .string(
                        "A complete signed token file made from csv with the example schema, secretHex, the signing key Keys/test/test-agency-a.key (seed signingSeedHex), createdAt, party, and rows shuffled by the seeded generator of SPEC §9 (shuffleSeedHex, UTF-8). Row order is random by design in real files; only this vector fixes it."
                    )
                ),
                ("schema", schema.document),
                ("secretHex", .string(Hex.encode(TokenFileVector.secret))),
                ("signingSeedHex", .string(Hex.encode(TokenFileVector.signingSeed))),
                (
                    "publicKeyHex",
                    .string(Hex.encode(try SigningKey(seed: TokenFileVector.signingSeed).publicKey.rawBytes))
                ),
                ("shuffleSeedHex", .string(Hex.encode(TokenFileVector.shuffleSeed))),
                ("createdAt", .string(TokenFileVector.createdAt)),
                ("party", .string(TokenFileVector.party)),
                ("csv", .string(TokenFileVector.csv)),
                ("sha256", .string(Hex.encode(tokens.digest))),
                ("expectedHex", .string(Hex.encode(bytes))),
            ])
            try Data(document.canonicalBytes + [0x0A]).write(to: RepositoryFile.url("Protocol/vectors/token-file.json"))
        }
        let stored = try JSONValue(
            parsing: Array(RepositoryFile.data("Protocol/vectors/token-file.json")), source: "token-file.json")
        #expect(stored["expectedHex"]?.stringValue == Hex.encode(bytes))
    }

    @Test func everyVectorPasses() throws {
        let results = try VectorSuite.check(directory: Self.directory)
        #expect(results.count >= 15)
        for result in results {
            #expect(result.failures.isEmpty, "\(result.file) \(result.name): \(result.failures.prefix(5))")
            #expect(result.total > 0, "\(result.file) \(result.name) has no cases")
        }
    }

    @Test func aBrokenVectorIsCaught() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        for file in VectorSuite.files {
            var bytes = try Array(RepositoryFile.data("Protocol/vectors/\(file)"))
            if file == "match-keys.json", let range = String(decoding: bytes, as: UTF8.self).range(of: "\"nino\": \"") {
                let offset = String(decoding: bytes, as: UTF8.self).utf8.distance(
                    from: String(decoding: bytes, as: UTF8.self).startIndex, to: range.upperBound)
                bytes[offset] = bytes[offset] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(temporary.path)/\(file)"))
        }
        let results = try VectorSuite.check(directory: temporary.path)
        let matchKeys = results.first { $0.file == "match-keys.json" }
        #expect(matchKeys?.failures.isEmpty == false)
    }
}

/// Reads the digest out of token-file bytes without touching the file system.
private struct TokenFileReaderForVector {
    let digest: [UInt8]

    init(bytes: [UInt8]) throws {
        let trailer = bytes.suffix(TokenFileLayout.trailerSize)
        digest = Array(trailer.dropFirst(16).prefix(32))
    }
}
