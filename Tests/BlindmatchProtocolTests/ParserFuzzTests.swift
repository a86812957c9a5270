import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

/// Seeded mutation tests of the parsers that read what others send: token files (from parties), JSON (request
/// bodies, schemas) and linkage schemas. Each case mutates valid inputs a fixed number of times from a fixed seed, so
/// it is deterministic and fast; `Scripts/fuzz-parsers.sh` runs the same targets under libFuzzer for longer. The
/// property everywhere: the parser returns or throws, never traps; and what it accepts behaves.
struct ParserFuzzTests {
    /// The token-file vector (SPEC §9): five records, signed.
    static let tokenFile: [UInt8] = {
        let document = try? JSONValue(
            parsing: (try? RepositoryFile.bytes("Protocol/vectors/token-file.json")) ?? [], source: "vector")
        return Hex.decode(document?["expectedHex"]?.stringValue ?? "") ?? []
    }()

    /// Opens `bytes` as a token file; when it opens, reads every column and runs every check of SPEC §6.6.
    static func open(_ bytes: [UInt8], at path: String) -> TokenFile? {
        guard (try? Data(bytes).write(to: URL(fileURLWithPath: path))) != nil else { return nil }
        guard let file = try? TokenFile(contentsOf: path) else { return nil }
        var present = 0
        for key in 0..<file.layout.matchKeyCount {
            _ = file.tokens(key: key).reduce(0, &+)
            for row in 0..<file.recordCount where file.hasToken(row: row, key: key) { present += 1 }
        }
        _ = file.filters.reduce(0, &+)
        let checks = file.verify(allowUnsigned: true)
        #expect(checks.first?.kind == .structure && checks.first?.passed == true)
        #expect(present <= file.recordCount * file.layout.matchKeyCount)
        return file
    }

    @Test func tokenFileReaderOnRawMutations() throws {
        #expect(Self.tokenFile.count > 1000)
        let folder = try MemoryFolder()
        #expect(Self.open(Self.tokenFile, at: folder.path + "/seed.bmt") != nil)
        var mutator = Mutator(seed: 1)
        var opened = 0
        for _ in 0..<1500 {
            if Self.open(mutator.mutate(Self.tokenFile), at: folder.path + "/t.bmt") != nil { opened += 1 }
        }
        // Some mutations (in the body, the trailer's unused bytes) leave a file that opens.
        #expect(opened > 0)
    }

    /// The header's JSON mutated and its length and the file's size made consistent again, so that mutations get
    /// past the size check and reach the code that uses the header's counts.
    @Test func tokenFileReaderOnConsistentHeaderMutations() throws {
        let folder = try MemoryFolder()
        let seed = Self.tokenFile
        let headerLength = Int(seed[12]) | Int(seed[13]) << 8 | Int(seed[14]) << 16 | Int(seed[15]) << 24
        let header = Array(seed[16..<(16 + headerLength)])
        let body = Array(seed[(16 + headerLength)..<(seed.count - TokenFileLayout.trailerSize)])
        let trailer = Array(seed[(seed.count - TokenFileLayout.trailerSize)...])
        let dictionary = [
            #""recordCount":"#, #""filterBits":"#, #""matchKeys":[]"#, #""blockingKeys":["x"]"#, "null", "true",
            #""\u0000""#, #""\ud800""#,
        ].map { Array($0.utf8) }
        var mutator = Mutator(seed: 2)
        var opened = 0
        for _ in 0..<1500 {
            let mutated = mutator.mutate(header, dictionary: dictionary)
            guard let parsed = try? TokenFileHeader(bytes: mutated, source: "fuzz"),
                let size = parsed.layout(headerLength: mutated.count).checkedFileSize, size <= 1 << 20,
                size >= 16 + mutated.count + TokenFileLayout.trailerSize
            else { continue }
            var file = Array(seed[0..<12])
            file += withUnsafeBytes(of: UInt32(mutated.count).littleEndian, Array.init)
            file += mutated
            let room = size - file.count - TokenFileLayout.trailerSize
            file += body.count >= room ? Array(body[0..<room]) : body + [UInt8](repeating: 0, count: room - body.count)
            file += trailer
            if Self.open(file, at: folder.path + "/t.bmt") != nil { opened += 1 }
        }
        #expect(opened > 10)
    }

    /// Bytes between the header and the trailer changed: the file opens, and the digest always notices.
    @Test func everyChangeToTheBodyFailsTheDigest() throws {
        let folder = try MemoryFolder()
        let seed = Self.tokenFile
        let file = try #require(Self.open(seed, at: folder.path + "/seed.bmt"))
        let start = file.layout.presenceOffset
        let end = file.layout.trailerOffset
        var mutator = Mutator(seed: 3)
        for _ in 0..<300 {
            var bytes = seed
            for _ in 0...mutator.below(3) { bytes[start + mutator.below(end - start)] ^= UInt8(1 + mutator.below(255)) }
            let mutated = try #require(Self.open(bytes, at: folder.path + "/t.bmt"))
            #expect(mutated.verifyDigest() == (bytes == seed))
        }
    }

    /// JSON documents this project reads from others: request bodies, schemas, audit lines.
    static let jsonSeeds: [[UInt8]] = {
        var seeds = [
            #"{"name":"a","parties":[{"name":"agency-a","role":"watchlist"}],"matching":{"threshold":"0.85"}}"#,
            #"[1,-0,2.5e10,"\u00e9\ud83d\ude00",true,false,null,{"":{}}]"#,
            #"{"a":"\\\"\/\b\f\n\r\t","b":12345678901234567890}"#,
        ].map { Array($0.utf8) }
        if let schema = try? RepositoryFile.bytes("Protocol/examples/uk-watchlist.json") { seeds.append(schema) }
        if let log = try? RepositoryFile.bytes("Protocol/vectors/audit-log.jsonl") {
            seeds += log.split(separator: 0x0a).prefix(4).map(Array.init)
        }
        return seeds
    }()

    @Test func jsonParserNeverTrapsAndWhatItAcceptsRoundTrips() throws {
        var mutator = Mutator(seed: 4)
        var accepted = 0
        for iteration in 0..<4000 {
            let seed = Self.jsonSeeds[iteration % Self.jsonSeeds.count]
            guard let value = try? JSONValue(parsing: mutator.mutate(seed), source: "fuzz") else { continue }
            accepted += 1
            let again = try JSONValue(parsing: value.canonicalBytes, source: "canonical")
            #expect(again == value)
            #expect(again.canonicalBytes == value.canonicalBytes)
        }
        #expect(accepted > 100)
    }

    @Test func deepAndLongDocumentsAreRefusedNotFatal() {
        for depth in [65, 10_000, 1_000_000] {
            let nested = [UInt8](repeating: 0x5b, count: depth) + [UInt8](repeating: 0x5d, count: depth)
            #expect(throws: ProtocolError.self) { try JSONValue(parsing: nested, source: "deep") }
        }
        let objects = Array(String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(throws: ProtocolError.self) { try JSONValue(parsing: objects, source: "deep") }
    }

    @Test func schemaParserNeverTraps() throws {
        let seed = try RepositoryFile.bytes("Protocol/examples/uk-watchlist.json")
        var mutator = Mutator(seed: 5)
        var accepted = 0
        for _ in 0..<1500 {
            if (try? LinkageSchema(parsing: mutator.mutate(seed), source: "fuzz")) != nil { accepted += 1 }
        }
        #expect(accepted > 0)
    }
}
