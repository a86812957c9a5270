import BlindmatchTestSupport
import Foundation
import Testing

@testable import BlindmatchProtocol

struct TokenFileTests {
    /// `count` records for the example schema (or `schemaFile`, a schema over the same columns).
    static func exampleBatch(
        count: Int, schemaFile: String = "Protocol/examples/uk-watchlist.json"
    ) throws -> (LinkageSchema, RecordBatch) {
        let schema = try LinkageSchema(contentsOfFile: RepositoryFile.url(schemaFile).path)
        var batch = RecordBatch(width: schema.columns.count)
        let given = ["Robert", "Anna", "Zoë", "Li", "Mary", "John"]
        let surnames = ["Smith", "Kowalski", "O'Brien", "Wu", "Jones"]
        for index in 0..<count {
            let dob = "19\(50 + index % 50)-0\(1 + index % 9)-1\(index % 10)"
            let nino = index % 3 == 0 ? "" : "AB\(String(100_000 + index).suffix(6))C"
            batch.append(
                fields: [
                    "R\(index)", given[index % given.count], surnames[index % surnames.count], dob,
                    index % 2 == 0 ? "M" : "F", "SW1A \(index % 9)AA", nino,
                ], line: index + 2)
        }
        return (schema, batch)
    }

    static func write(
        count: Int, to directory: String, signingKey: SigningKey?,
        schemaFile: String = "Protocol/examples/uk-watchlist.json"
    ) throws -> (LinkageSchema, TokenFileWriter.Summary) {
        let (schema, batch) = try exampleBatch(count: count, schemaFile: schemaFile)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret(importing: Array(0..<32)))
        let tokeniser = try Tokeniser(context: context, workers: 2)
        var rows: [UInt8] = []
        let (statistics, refusal) = tokeniser.encode(batch, into: &rows)
        #expect(refusal == nil)
        let writer = try TokenFileWriter(
            path: "\(directory)/t.bmt", mapPath: "\(directory)/t.map.csv", context: context, party: "a",
            expectedRecords: count)
        try rows.withUnsafeBytes { try writer.append(rows: $0, count: batch.count, keysFrom: batch, keyColumn: 0) }
        return (schema, try writer.finish(statistics: statistics, signingKey: signingKey))
    }

    @Test func writtenFilesReadBackAndVerify() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try SigningKey.generate()
        let (schema, summary) = try Self.write(count: 3000, to: directory.path, signingKey: key)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        #expect(file.recordCount == 3000)
        #expect(file.header == summary.header)
        #expect(file.layout.filterOffset % 64 == 0)
        #expect(file.layout.tokenOffset(key: 1) % 64 == 0)
        let checks = file.verify(schema: schema, publicKey: key.publicKey)
        #expect(checks.allSatisfy { $0.passed }, "\(checks.filter { !$0.passed })")
        // Every record key appears exactly once in the map, and the order is not the input order.
        let map = try String(contentsOfFile: "\(directory.path)/t.map.csv", encoding: .utf8)
        let lines = map.split(separator: "\n").dropFirst()
        let keys = lines.map { $0.split(separator: ",")[1] }
        #expect(Set(keys).count == 3000)
        #expect(lines.enumerated().allSatisfy { $0.element.hasPrefix("\($0.offset),") })
        let inInputOrder = keys.enumerated().filter { $0.element == "R\($0.offset)" }.count
        #expect(inInputOrder < 30)
        #expect(try FileIO.permissions(of: "\(directory.path)/t.map.csv") == 0o600)
        // No temporary files are left beside the outputs.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(Set(names) == ["t.bmt", "t.map.csv"])
    }

    /// Writes `t.bmt` for a schema with one match key and no Bloom settings.
    static func writeKeysOnly(to directory: String) throws -> TokenFileWriter.Summary {
        let schema = try LinkageSchema(
            parsing: Array(
                #"{"blindmatchSchema": 1, "name": "keys only", "recordKey": "id", "fields": [{"name": "id", "kind": "exact"}, {"name": "n", "kind": "name"}], "matchKeys": [{"name": "k", "parts": [{"field": "n"}]}]}"#
                    .utf8), source: "keys-only.json")
        var batch = RecordBatch(width: 2)
        batch.append(fields: ["1", "Ann"], line: 2)
        batch.append(fields: ["2", "Bob"], line: 3)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var rows: [UInt8] = []
        let (statistics, _) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        let writer = try TokenFileWriter(
            path: "\(directory)/t.bmt", mapPath: nil, context: context, party: "a", expectedRecords: 2)
        try rows.withUnsafeBytes { try writer.append(rows: $0, count: 2, keysFrom: batch, keyColumn: 0) }
        return try writer.finish(statistics: statistics, signingKey: nil)
    }

    /// A file whose last column ends before the padding (no filters, 2 × 16 token bytes) is still written in full.
    @Test func schemasWithoutBloomFiltersWriteReadableFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let summary = try Self.writeKeysOnly(to: directory.path)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        #expect(file.header == summary.header)
        #expect(file.verifyDigest())
    }

    /// SPEC §6.3: a schema without Bloom settings has no filters, so every popcount statistic is 0.
    @Test func popcountStatisticsAreZeroWithoutFilters() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let popcount = try #require(Self.writeKeysOnly(to: directory.path).header.statistics["popcount"])
        #expect(popcount["min"]?.intValue == 0)
        #expect(popcount["mean"]?.intValue == 0)
        #expect(popcount["max"]?.intValue == 0)
    }

    /// SPEC §6.8: the map is committed before the token file, so a failure renaming either leaves neither (here
    /// the destination is a folder that cannot be replaced).
    @Test(arguments: ["t.map.csv", "t.bmt"])
    func aFailedCommitLeavesNoTokenFileWithoutItsMap(blocked: String) throws {
        let directory = try TemporaryDirectory()
        defer {
            unlink("\(directory.path)/\(blocked)/keep")
            rmdir("\(directory.path)/\(blocked)")
            directory.remove()
        }
        mkdir("\(directory.path)/\(blocked)", 0o700)
        let keep = try AtomicFile(destination: "\(directory.path)/\(blocked)/keep")
        try keep.commit()
        #expect(throws: ProtocolError.self) { try Self.write(count: 20, to: directory.path, signingKey: nil) }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == [blocked], "left behind: \(names)")
    }

    @Test func tokensAreFoundWhereThePresenceBitsSay() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 300, to: directory.path, signingKey: nil)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        let ninoPresent = (0..<file.recordCount).filter { file.hasToken(row: $0, key: 0) }.count
        #expect(ninoPresent == 200)  // every third record has no NINO
        #expect(file.header.statistics["matchKeysPresent"]?["nino"]?.intValue == 200)
    }

    @Test(arguments: ["digest", "header", "truncate", "append", "signature"])
    func tamperingIsDetected(kind: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try SigningKey.generate()
        _ = try Self.write(count: 50, to: directory.path, signingKey: key)
        let path = "\(directory.path)/t.bmt"
        var bytes = try FileIO.readAll(path)
        switch kind {
        case "digest": bytes[bytes.count - 400] ^= 0x01  // a filter bit
        case "header": bytes[40] = bytes[40] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
        case "truncate": bytes.removeLast(10)
        case "append": bytes.append(0)
        default: bytes[bytes.count - 1] ^= 0x80  // the signature
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            let file = try TokenFile(contentsOf: path)
            let failed = file.verify(publicKey: key.publicKey).filter { !$0.passed }
            #expect(!failed.isEmpty, "tampering (\(kind)) went unnoticed")
        } catch let error as ProtocolError {
            #expect(error.code == .invalidTokenFile)
        }
    }

    /// Writes `t.bmt`'s prefix with a changed (still canonical) header and `padding` zero bytes after it, and
    /// returns the new file's path: only the header checks can refuse it.
    static func rewriteHeader(
        in directory: String, padding: Int = 4096, _ change: (inout TokenFileHeader) -> Void
    ) throws -> String {
        var header = try TokenFile(contentsOf: "\(directory)/t.bmt").header
        change(&header)
        let headerBytes = header.jsonValue.canonicalBytes
        var bytes = TokenFileLayout.magic + TokenFileWriter.littleEndian(header.formatVersion)
        bytes += TokenFileWriter.littleEndian(UInt32(headerBytes.count)) + headerBytes
        bytes += [UInt8](repeating: 0, count: padding)
        let path = "\(directory)/hostile.bmt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// SPEC §6.1–§6.3 limits: counts whose layout would overflow, or exceed the limits, are refused, never a crash.
    @Test(arguments: [
        "recordCount Int.max", "recordCount 2^62", "recordCount 2^31 + 1", "33 match keys", "filterBits 65544",
    ])
    func hostileHeadersAreRefused(name: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 5, to: directory.path, signingKey: nil)
        let path = try Self.rewriteHeader(in: directory.path) { header in
            switch name {
            case "recordCount Int.max": header.recordCount = Int.max
            case "recordCount 2^62": header.recordCount = 1 << 62
            case "recordCount 2^31 + 1": header.recordCount = (1 << 31) + 1
            case "33 match keys": header.matchKeys = (0..<33).map { "k\($0)" }
            default: header.filterBits = 65544
            }
        }
        let error = try #require(throws: ProtocolError.self, "\(name)") { try TokenFile(contentsOf: path) }
        #expect(error.code == .invalidTokenFile, "\(name)")
    }

    /// SPEC §6.3: key ids and fingerprints are compared as written (§6.7), so only lower-case hex is accepted.
    @Test(arguments: ["keyID", "schemaFingerprint"])
    func upperCaseHexIsRefused(member: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 5, to: directory.path, signingKey: nil)
        let path = "\(directory.path)/t.bmt"
        let header = try TokenFile(contentsOf: path).header
        let hex = member == "keyID" ? header.keyID : header.schemaFingerprint
        // Same length, same layout: only the case of the hex digits differs.
        var bytes = try FileIO.readAll(path)
        let pattern = Array("\"\(member)\":\"\(hex)\"".utf8)
        let start = try #require(
            (0..<(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) })
        bytes.replaceSubrange(
            start..<(start + pattern.count), with: Array("\"\(member)\":\"\(hex.uppercased())\"".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: ProtocolError.self) { try TokenFile(contentsOf: path) }
        #expect(error.code == .invalidTokenFile)
        #expect(error.reason.contains("lower-case hex"))
    }

    @Test func headersLongerThanOneMebibyteAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 5, to: directory.path, signingKey: nil)
        let path = try Self.rewriteHeader(in: directory.path) { $0.tool = String(repeating: "x", count: 1 << 20) }
        let error = try #require(throws: ProtocolError.self) { try TokenFile(contentsOf: path) }
        #expect(error.code == .invalidTokenFile)
        #expect(error.reason.contains("SPEC §6.1"))
    }

    /// SPEC §6.6: an unsigned file fails the signature rule unless unsigned files are explicitly allowed, and
    /// never passes when a signer is expected.
    @Test func unsignedFilesFailUnlessAllowed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 20, to: directory.path, signingKey: nil)
        let file = try TokenFile(contentsOf: "\(directory.path)/t.bmt")
        func signatureRule(_ checks: [VerificationCheck]) -> Bool? {
            checks.first { $0.rule == "SPEC §6.5 signature" }?.passed
        }
        #expect(signatureRule(file.verify()) == false)
        #expect(signatureRule(file.verify(allowUnsigned: true)) == true)
        let key = try SigningKey.generate().publicKey
        #expect(signatureRule(file.verify(publicKey: key, allowUnsigned: true)) == false)
    }

    /// SPEC §6.6 "header holds no data": the free-form members may only have the shape the tool writes.
    @Test(arguments: [
        "party with a control character", "party of 101 characters", "empty party", "tool with a line feed",
        "createdAt not a timestamp", "hardening with an extra member", "hardening.balance a number",
        "hardening null with filters", "statistics with an extra member", "statistics.fields with a text value",
        "statistics.fields counts not adding up", "statistics.matchKeysPresent naming another key",
        "statistics.popcount above filterBits", "statistics.popcount with a fraction", "match key not an identifier",
    ])
    func headersCarryingDataFailVerification(change: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (schema, summary) = try Self.write(count: 20, to: directory.path, signingKey: nil)
        var header = summary.header
        #expect(header.contentProblems(schema: schema).isEmpty)
        func replacing(_ value: JSONValue, _ path: [String], with replacement: JSONValue?) -> JSONValue {
            guard let first = path.first, case .object(var members) = value else { return replacement ?? value }
            if let index = members.firstIndex(where: { $0.key == first }) {
                if path.count == 1, replacement == nil {
                    members.remove(at: index)
                } else {
                    members[index].value = replacing(members[index].value, Array(path.dropFirst()), with: replacement)
                }
            } else if let replacement, path.count == 1 {
                members.append((first, replacement))
            }
            return .object(members)
        }
        switch change {
        case "party with a control character": header.party = "agency\u{1B}[2J"
        case "party of 101 characters": header.party = String(repeating: "p", count: 101)
        case "empty party": header.party = ""
        case "tool with a line feed": header.tool = "blindmatch 0.1.0\nrobert smith"
        case "createdAt not a timestamp": header.createdAt = "1980-03-15 robert"
        case "hardening with an extra member":
            header.hardening = replacing(header.hardening, ["note"], with: .string("robert smith"))
        case "hardening.balance a number":
            header.hardening = replacing(header.hardening, ["balance"], with: .number("1"))
        case "hardening null with filters": header.hardening = .null
        case "statistics with an extra member":
            header.statistics = replacing(header.statistics, ["hidden"], with: .array([]))
        case "statistics.fields with a text value":
            header.statistics = replacing(header.statistics, ["fields", "surname", "present"], with: .string("smith"))
        case "statistics.fields counts not adding up":
            header.statistics = replacing(header.statistics, ["fields", "surname", "present"], with: .number("19"))
        case "statistics.matchKeysPresent naming another key":
            header.statistics = replacing(header.statistics, ["matchKeysPresent", "nino"], with: nil)
            header.statistics = replacing(header.statistics, ["matchKeysPresent", "robert"], with: .number("1"))
        case "statistics.popcount above filterBits":
            header.statistics = replacing(header.statistics, ["popcount", "max"], with: .number("1025"))
        case "statistics.popcount with a fraction":
            header.statistics = replacing(header.statistics, ["popcount", "mean"], with: .number("300.5"))
        default: header.matchKeys[0] = "robert smith"
        }
        #expect(!header.contentProblems().isEmpty, "\(change)")
    }

    @Test func verificationReportsAHeaderCarryingData() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (schema, batch) = try Self.exampleBatch(count: 10)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var rows: [UInt8] = []
        let (statistics, _) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        let writer = try TokenFileWriter(
            path: "\(directory.path)/t.bmt", mapPath: nil, context: context, party: "agency\u{7}robert smith",
            expectedRecords: 10)
        try rows.withUnsafeBytes { try writer.append(rows: $0, count: 10, keysFrom: batch, keyColumn: 0) }
        _ = try writer.finish(statistics: statistics, signingKey: nil)
        let checks = try TokenFile(contentsOf: "\(directory.path)/t.bmt").verify(schema: schema, allowUnsigned: true)
        let failed = checks.filter { !$0.passed }
        #expect(failed.map(\.rule) == ["SPEC §6.6 header holds no data"])
        #expect(failed.first?.detail.contains("party") == true)
        #expect(failed.first?.detail.contains("robert") == false)
    }

    @Test func plaintextInATokenColumnFailsVerification() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try Self.write(count: 200, to: directory.path, signingKey: nil)
        let path = "\(directory.path)/t.bmt"
        let original = try TokenFile(contentsOf: path)
        var bytes = try FileIO.readAll(path)
        // Overwrite the name-dob column with names, as a careless or malicious tokeniser might, and fix the digest.
        let offset = original.layout.tokenOffset(key: 1)
        let text = Array("robert smith 1980-03-15 ".utf8)
        for index in 0..<(200 * 16) { bytes[offset + index] = text[index % text.count] }
        let trailer = original.layout.trailerOffset
        let digest = SHA256Hasher.hash(bytes[0..<trailer])
        bytes.replaceSubrange((trailer + 16)..<(trailer + 48), with: digest)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let failed = try TokenFile(contentsOf: path).verify().filter { !$0.passed }.map(\.rule)
        #expect(failed.contains("SPEC §6.6 no plaintext (name-dob tokens)"))
    }

    @Test func incompatibleFilesAreRefused() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        defer {
            first.remove()
            second.remove()
        }
        _ = try Self.write(count: 10, to: first.path, signingKey: nil)
        let (schema, batch) = try Self.exampleBatch(count: 10)
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret.generate())
        var rows: [UInt8] = []
        let (statistics, _) = try Tokeniser(context: context, workers: 1).encode(batch, into: &rows)
        let writer = try TokenFileWriter(
            path: "\(second.path)/t.bmt", mapPath: nil, context: context, party: "b", expectedRecords: 10)
        try rows.withUnsafeBytes { try writer.append(rows: $0, count: 10, keysFrom: batch, keyColumn: 0) }
        _ = try writer.finish(statistics: statistics, signingKey: nil)
        let a = try TokenFile(contentsOf: "\(first.path)/t.bmt")
        let b = try TokenFile(contentsOf: "\(second.path)/t.bmt")
        let error = try #require(throws: ProtocolError.self) { try a.checkCompatible(with: b) }
        #expect(error.code == .incompatible)
        #expect(error.reason.contains("key ids differ"))
    }
}
