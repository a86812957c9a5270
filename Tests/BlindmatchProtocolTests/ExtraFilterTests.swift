import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

/// SPEC §5.6 extra filters: the schema block, the keys' domain separation, and the version 2 token file.
struct ExtraFilterTests {
    /// A small native schema: names and date of birth, a first filter over all three and `extra` as its
    /// `extraFilters` member (JSON text), if given.
    static func schemaText(extra: String?) -> String {
        let filter =
            #""fields": [{"field": "given", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}, {"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}, {"field": "dob", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}]"#
        return """
            {"blindmatchSchema": 1, "name": "extra", "recordKey": "id",
             "fields": [{"name": "id", "kind": "exact"}, {"name": "given", "kind": "name"},
                        {"name": "surname", "kind": "name"}, {"name": "dob", "kind": "date"}],
             "bloom": {"bits": 512, \(filter), "hardening": {"diffusion": {"taps": 3}}}
             \(extra.map { ", \"extraFilters\": \($0)" } ?? "")}
            """
    }

    static let sameAsFirst =
        #"[{"name": "copy", "bits": 512, "fields": [{"field": "given", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}, {"field": "surname", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}, {"field": "dob", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}], "hardening": {"diffusion": {"taps": 3}}}]"#

    /// The schema with the second filter (issue 12) is the example schema plus `names-dob`; the example schema itself
    /// has no extra filter (the model does not use one by default: docs/decision-model.md), so its files stay
    /// version 1.
    @Test func theNamesAndDateOfBirthExampleIsTheExampleWithOneMoreFilter() throws {
        let plain = try LinkageSchema(contentsOfFile: RepositoryFile.url("Protocol/examples/uk-watchlist.json").path)
        let schema = try LinkageSchema(contentsOfFile: RepositoryFile.url(Self.namesDobSchema).path)
        #expect(plain.extraFilters.isEmpty)
        #expect(schema.columns.map(\.name) == plain.columns.map(\.name) && schema.tokenKeys == plain.tokenKeys)
        #expect(schema.bloom?.filterBits == plain.bloom?.filterBits)
        #expect(schema.bloom?.fields.map(\.name) == plain.bloom?.fields.map(\.name))
        #expect(schema.bloom?.hardening.diffusionTaps == plain.bloom?.hardening.diffusionTaps)
        let extra = try #require(schema.extraFilters.first)
        #expect(schema.extraFilters.count == 1)
        #expect(extra.name == "names-dob")
        #expect(extra.settings.filterBits == 512)
        #expect(extra.settings.fields.map(\.name) == ["given_name", "surname", "dob"])
        #expect(extra.settings.hardening.diffusionTaps == 5)
        #expect(extra.settings.hardening.salt == nil)
    }

    static let namesDobSchema = "Protocol/examples/uk-watchlist-names-dob.json"

    @Test(arguments: [
        ("no first filter", "$.extraFilters"),
        ("a name used twice", "$.extraFilters[1].name"),
        ("an unknown field", "$.extraFilters[0].fields[0].field"),
        ("a field encoded twice", "$.extraFilters[0].fields[1].field"),
        ("bits not allowed", "$.extraFilters[0].bits"),
        ("an unknown member", "$.extraFilters[0]"),
        ("a salt on an unknown field", "$.extraFilters[0].hardening.salt.field"),
        ("an empty list", "$.extraFilters"),
    ])
    func badExtraFiltersAreNamedByPath(problem: String, path: String) throws {
        let field = #"{"field": "given", "tokens": {"type": "ngram", "n": 2}, "bitsPerFeature": 40}"#
        var text: String
        switch problem {
        case "no first filter":
            text = Self.schemaText(extra: Self.sameAsFirst)
            let start = try #require(text.range(of: "\"bloom\""))
            let end = try #require(text.range(of: "}}}\n", range: start.upperBound..<text.endIndex))
            text.replaceSubrange(
                start.lowerBound..<end.upperBound, with: #""matchKeys": [{"name": "k", "parts": [{"field": "given"}]}]"#
            )
        case "a name used twice":
            text = Self.schemaText(
                extra:
                    #"[{"name": "x", "bits": 256, "fields": [\#(field)]}, {"name": "x", "bits": 256, "fields": [\#(field)]}]"#
            )
        case "an unknown field":
            text = Self.schemaText(
                extra:
                    #"[{"name": "x", "bits": 256, "fields": [{"field": "postcode", "tokens": {"type": "exact"}, "bitsPerToken": 4}]}]"#
            )
        case "a field encoded twice":
            text = Self.schemaText(extra: #"[{"name": "x", "bits": 256, "fields": [\#(field), \#(field)]}]"#)
        case "bits not allowed":
            text = Self.schemaText(extra: #"[{"name": "x", "bits": 500, "fields": [\#(field)]}]"#)
        case "an unknown member":
            text = Self.schemaText(extra: #"[{"name": "x", "bits": 256, "salt": 1, "fields": [\#(field)]}]"#)
        case "a salt on an unknown field":
            text = Self.schemaText(
                extra: #"[{"name": "x", "bits": 256, "fields": [\#(field)], "hardening": {"salt": {"field": "nope"}}}]"#
            )
        default:
            text = Self.schemaText(extra: "[]")
        }
        let error = try #require(throws: ProtocolError.self, "\(problem)") {
            try LinkageSchema(parsing: Array(text.utf8), source: "extra.json")
        }
        #expect(error.code == .invalidSchema, "\(problem)")
        #expect(error.reason.contains(path), "\(problem): \(error.reason)")
    }

    /// SPEC §4.1, §5.6: an extra filter with exactly the first filter's settings still hashes under its own keys
    /// and diffusion table, so its bytes are unrelated to the first filter's.
    @Test func anExtraFilterIsKeyedApartFromTheFirst() throws {
        let schema = try LinkageSchema(
            parsing: Array(Self.schemaText(extra: Self.sameAsFirst).utf8), source: "extra.json")
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret(importing: Array(0..<32)))
        let encoder = try RecordEncoder(context: context)
        var batch = RecordBatch(width: 4)
        batch.append(fields: ["1", "Robert", "Smith", "1980-03-15"], line: 2)
        var statistics = EncodingStatistics(columns: 4, matchKeys: 0)
        var row = [UInt8](repeating: 0, count: context.rowWidth)
        row.withUnsafeMutableBytes { _ = encoder.encode(batch, record: 0, into: $0, statistics: &statistics) }
        #expect(context.rowWidth == 128)
        let first = Array(row[0..<64])
        let extra = Array(row[64..<128])
        #expect(first.contains { $0 != 0 })
        #expect(extra.contains { $0 != 0 })
        let shared = zip(first, extra).reduce(0) { $0 + ($1.0 & $1.1).nonzeroBitCount }
        let ones = first.reduce(0) { $0 + $1.nonzeroBitCount }
        // Unrelated filters share about a fraction `density` of their ones; equal keys would share all of them.
        #expect(shared < ones * 3 / 4, "shared \(shared) of \(ones)")
        #expect(statistics.extraPopcounts.first?.sum == extra.reduce(0) { $0 + $1.nonzeroBitCount })
    }

    static func writeExample(count: Int, to directory: String, signingKey: SigningKey? = nil) throws -> (
        LinkageSchema, TokenFileWriter.Summary
    ) {
        try TokenFileTests.write(count: count, to: directory, signingKey: signingKey, schemaFile: namesDobSchema)
    }

    @Test func aVersion2FileRoundTripsAndVerifies() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try SigningKey.generate()
        let (schema, summary) = try Self.writeExample(count: 300, to: directory.path, signingKey: key)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        #expect(file.header == summary.header)
        #expect(file.header.formatVersion == 2)
        #expect(file.bytes[8] == 2)
        #expect(file.header.extraFilters.map(\.name) == ["names-dob"])
        #expect(file.layout.extraFilterBytes == [64])
        let offset = file.layout.extraFilterOffset(0)
        #expect(offset % 64 == 0)
        #expect(offset >= file.layout.filterOffset + file.layout.filterLength)
        #expect(file.layout.trailerOffset >= offset + 300 * 64)
        let checks = file.verify(schema: schema, publicKey: key.publicKey)
        #expect(checks.allSatisfy { $0.passed }, "\(checks.filter { !$0.passed })")
        #expect(checks.contains { $0.rule == "SPEC §6.6 no plaintext (extra filter names-dob)" })
        // Row by row, the extra filter is the one the encoder makes for that record (found through the map).
        let rows = try String(contentsOfFile: "\(directory.path)/t.map.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[1]) }
        let (_, batch) = try TokenFileTests.exampleBatch(count: 300, schemaFile: Self.namesDobSchema)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret(importing: Array(0..<32)))
        var encoded: [UInt8] = []
        _ = try Tokeniser(context: context, workers: 1).encode(batch, into: &encoded)
        let start = context.extraFilterRowOffset(0)
        let region = try #require(file.extraFilters(0))
        #expect(region.count == 300 * 64)
        // An index past the header's extra filters is no region, not a trap.
        #expect(file.extraFilters(1) == nil && file.extraFilters(-1) == nil)
        let popcount = file.header.extraFilters[0].popcount
        var minimum = Int.max
        var maximum = 0
        for (row, recordKey) in rows.enumerated() {
            let record = try #require(Int(recordKey.dropFirst()))
            let expected = encoded[(record * context.rowWidth + start)..<(record * context.rowWidth + start + 64)]
            #expect(Array(region[(row * 64)..<((row + 1) * 64)]) == Array(expected))
            let ones = expected.reduce(0) { $0 + $1.nonzeroBitCount }
            minimum = min(minimum, ones)
            maximum = max(maximum, ones)
        }
        #expect(popcount["min"]?.intValue == minimum)
        #expect(popcount["max"]?.intValue == maximum)
    }

    /// A schema without extra filters still writes version 1 files (SPEC §8), signed under the v1 context.
    @Test func schemasWithoutExtraFiltersWriteVersion1() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let summary = try TokenFileTests.writeKeysOnly(to: directory.path)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        #expect(summary.header.formatVersion == 1)
        #expect(file.bytes[8] == 1)
        #expect(file.extraFilters(0) == nil)
        #expect(!String(decoding: file.header.jsonValue.canonicalBytes, as: UTF8.self).contains("extraFilters"))
        #expect(TokenFileLayout.signatureContext(version: 1) == TokenFileLayout.signatureContext)
        #expect(TokenFileLayout.signatureContext(version: 2) != TokenFileLayout.signatureContext)
    }

    @Test(arguments: [
        "filter byte", "prefix version 1", "header version 1", "no extraFilters", "padding", "escape in a name",
    ])
    func damagedOrMismatchedRegionsAreRefused(damage: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try SigningKey.generate()
        _ = try Self.writeExample(count: 50, to: directory.path, signingKey: key)
        let path = "\(directory.path)/t.bmt"
        let original = try TokenFile(contentsOf: path)
        var bytes = try FileIO.readAll(path)
        let layout = original.layout
        switch damage {
        case "filter byte": bytes[layout.extraFilterOffset(0) + 77] ^= 0x10
        case "prefix version 1": bytes[8] = 1
        case "padding":
            let padding = try #require(layout.paddingRanges.last)
            bytes[padding.upperBound - 1] = 1
        default:
            // A header of version 1 (with or without the member) in front of the same regions.
            var header = original.header
            if damage == "no extraFilters" { header.extraFilters = [] }
            // A name that would move a terminal's cursor when printed (inspect, verify).
            if damage == "escape in a name" { header.extraFilters[0].name = "names\u{1B}[2J" }
            var text = String(decoding: header.jsonValue.canonicalBytes, as: UTF8.self)
            text =
                damage == "header version 1"
                ? text.replacingOccurrences(of: "\"version\":2", with: "\"version\":1")
                : text.replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
            let headerBytes = Array(text.utf8)
            var rebuilt = TokenFileLayout.magic + TokenFileWriter.littleEndian(2)
            rebuilt += TokenFileWriter.littleEndian(UInt32(headerBytes.count)) + headerBytes
            rebuilt += bytes[(16 + layout.headerLength)...]
            bytes = rebuilt
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let file = try TokenFile(contentsOf: path)
            #expect(damage != "escape in a name", "a name that is not an identifier was read")
            let failed = file.verify(publicKey: key.publicKey).filter { !$0.passed }
            #expect(!failed.isEmpty, "\(damage) went unnoticed")
            if damage == "padding" { #expect(failed.map(\.rule).contains("SPEC §6.2 padding")) }
        } catch let error as ProtocolError {
            #expect(error.code == .invalidTokenFile, "\(damage)")
            #expect(damage != "filter byte" && damage != "padding", "\(damage): \(error.reason)")
        }
    }

    @Test(arguments: ["hardening null", "popcount above filterBits", "name not an identifier"])
    func extraFilterEntriesCarryingDataFailVerification(change: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (schema, summary) = try Self.writeExample(count: 20, to: directory.path)
        var header = summary.header
        #expect(header.contentProblems(schema: schema).isEmpty)
        switch change {
        case "hardening null": header.extraFilters[0].hardening = .null
        case "popcount above filterBits":
            header.extraFilters[0].popcount = .object([
                ("max", .number("513")), ("mean", .number("1")), ("min", .number("0")),
            ])
        default: header.extraFilters[0].name = "robert smith"
        }
        let problems = header.contentProblems(schema: schema)
        #expect(problems.contains { $0.hasPrefix("extraFilters") }, "\(change): \(problems)")
    }

    @Test func plaintextInAnExtraFilterFailsVerification() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.writeExample(count: 100, to: directory.path)
        let path = "\(directory.path)/t.bmt"
        let original = try TokenFile(contentsOf: path)
        var bytes = try FileIO.readAll(path)
        let offset = original.layout.extraFilterOffset(0)
        let text = Array("robert smith 1980-03-15 ".utf8)
        for index in 0..<(100 * 64) { bytes[offset + index] = text[index % text.count] }
        let trailer = original.layout.trailerOffset
        bytes.replaceSubrange((trailer + 16)..<(trailer + 48), with: SHA256Hasher.hash(bytes[0..<trailer]))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let failed = try TokenFile(contentsOf: path).verify().filter { !$0.passed }.map(\.rule)
        #expect(failed.contains("SPEC §6.6 no plaintext (extra filter names-dob)"))
        #expect(!failed.contains("SPEC §6.6 no plaintext (Bloom filters)"))
    }

    @Test func filesWithAndWithoutTheExtraFilterAreIncompatible() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer {
            first.remove()
            second.remove()
        }
        _ = try Self.writeExample(count: 10, to: first.path)
        _ = try TokenFileTests.writeKeysOnly(to: second.path)
        let a = try TokenFile(contentsOf: "\(first.path)/t.bmt")
        let b = try TokenFile(contentsOf: "\(second.path)/t.bmt")
        let error = try #require(throws: ProtocolError.self) { try a.checkCompatible(with: b) }
        #expect(error.reason.contains("extra filters differ"))
    }
}
