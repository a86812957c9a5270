import BlindmatchMatching
import Foundation
import Testing

@testable import BlindmatchProtocol

struct CLITests {
    static let schema = CLI.repositoryPath("Protocol/examples/uk-watchlist.json")
    static let records = """
        id,given_name,surname,dob,sex,postcode,nino
        W1,Robert,Smith,15/03/1980,M,SW1A 1AA,AB 12 34 56 C
        W2,Zoë,"O'Brien, Jr",2001-12-01,F,m1 1ae,
        W3,Mr John,Doe,31/02/1990,male,NOTAPC,QQ123456C

        """

    func tokenise(_ scratch: Scratch, input: String = "data.csv", extra: [String] = []) throws -> CLI.Result {
        try CLI.run(
            [
                "tokenise", "--schema", Self.schema, "--secret-file", "project.secret", "--input", input, "--output",
                "tokens.bmt", "--signing-key", "agency.key", "--party", "agency-a",
            ] + extra, in: scratch.path)
    }

    @Test func keygenWritesPrivateFilesAndRefusesToOverwrite() throws {
        let scratch = try Scratch()
        let result = try CLI.run(["keygen", "--output", "project.secret"], in: scratch.path)
        #expect(result.status == 0)
        #expect(result.output.contains("key id: "))
        #expect(try FileIO.permissions(of: "\(scratch.path)/project.secret") == 0o600)
        let again = try CLI.run(["keygen", "--output", "project.secret"], in: scratch.path)
        #expect(again.status != 0)
        #expect(again.error.contains("already exists"))
        try CLI.run(["keygen", "--signing", "--output", "agency"], in: scratch.path)
        #expect(try FileIO.permissions(of: "\(scratch.path)/agency.key") == 0o600)
    }

    /// An existing clkhash secret string moves over unchanged: same key id as the vectors give for its bytes.
    @Test func importedSecretsKeepTheirBytes() throws {
        let scratch = try Scratch()
        let result = try CLI.run(
            ["keygen", "--import", "--output", "imported.secret"], in: scratch.path,
            input: "correct horse battery staple\n")
        #expect(result.status == 0)
        let expected = try LinkageSecret(importing: Array("correct horse battery staple".utf8)).keyID.hex
        #expect(result.output.contains("key id: \(expected)"))
    }

    @Test func tokeniseVerifyAndInspect() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        let result = try tokenise(scratch)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("data quality per field"))
        #expect(try scratch.contents().isSuperset(of: ["tokens.bmt", "tokens.map.csv"]))
        // Another agency holding this file could run a dictionary attack on it (SPEC §1.4 item 2): owner only.
        #expect(try FileIO.permissions(of: "\(scratch.path)/tokens.bmt") == 0o600)
        let verify = try CLI.run(
            ["verify", "tokens.bmt", "--schema", Self.schema, "--public-key", "agency.pub"], in: scratch.path)
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("rules hold"))
        let wrongKey = try CLI.run(["keygen", "--signing", "--output", "other"], in: scratch.path)
        #expect(wrongKey.status == 0)
        let refused = try CLI.run(["verify", "tokens.bmt", "--public-key", "other.pub"], in: scratch.path)
        #expect(refused.status == 1)
        #expect(refused.output.contains("FAIL"))
        let inspect = try CLI.run(["inspect", "tokens.bmt"], in: scratch.path)
        #expect(inspect.status == 0)
        #expect(inspect.output.contains("records:            3"))
        // inspect shows no token: none of the file's token bytes appear in its output.
        let file = try TokenFile(contentsOf: "\(scratch.path)/tokens.bmt")
        let firstToken = Hex.encode(file.tokens(key: 1).prefix(16))
        #expect(!inspect.output.contains(firstToken))
        #expect(!inspect.output.contains("Robert") && !inspect.output.lowercased().contains("smith"))
    }

    /// Without --threshold, `match` takes the threshold for the filters' diffusion as their header records it:
    /// 0.85 without diffusion, 0.75 for 2–3 taps (the example schema's), 0.65 for 4–5, 0.60 from 6; a review band
    /// must lie below the threshold in force.
    @Test(arguments: [(nil, "0.85"), (2, "0.75"), (3, "0.75"), (5, "0.65"), (8, "0.60")] as [(Int?, String)])
    func theDefaultThresholdFollowsTheFiltersDiffusion(taps: Int?, expected: String) throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        let example = try String(contentsOfFile: Self.schema, encoding: .utf8)
        let schema = example.replacingOccurrences(
            of: #",\s*"diffusion": \{\s*"taps": 3\s*\}"#,
            with: taps.map { #", "diffusion": {"taps": \#($0)}"# } ?? "", options: .regularExpression)
        #expect(schema != example || taps == 3)
        try scratch.write("schema.json", schema)
        let result = try CLI.run(
            [
                "tokenise", "--schema", "schema.json", "--secret-file", "project.secret", "--input", "data.csv",
                "--output", "tokens.bmt", "--signing-key", "agency.key", "--party", "agency-a",
            ], in: scratch.path)
        #expect(result.status == 0, "\(result.error)")
        // Three records give too few candidates for the decision model, the default: the fixed rule decides at its
        // default for these filters, and says so.
        let match = try CLI.run(["match", "tokens.bmt", "tokens.bmt", "--output", "m.csv"], in: scratch.path)
        #expect(match.status == 0, "\(match.error)")
        #expect(
            match.output.contains("threshold \(expected), the fixed rule's default for these filters"),
            "\(match.output)")
        #expect(
            match.error.contains("the decision model could not choose the threshold (only ")
                && match.error.contains("default Dice threshold \(expected)"), "\(match.error)")
        let band = try CLI.run(
            [
                "match", "tokens.bmt", "tokens.bmt", "--threshold", expected, "--review-from", expected, "--output",
                "m.csv",
            ],
            in: scratch.path)
        #expect(band.status != 0 && band.error.contains("--review-from must be below the threshold (\(expected))"))
        // The model has no clerical band: a review band needs the fixed rule's threshold.
        let modelBand = try CLI.run(
            ["match", "tokens.bmt", "tokens.bmt", "--review-from", "0.5", "--output", "m.csv"], in: scratch.path)
        #expect(
            modelBand.status != 0 && modelBand.error.contains("--review-from needs the fixed rule's --threshold"),
            "\(modelBand.error)")
    }

    /// A hostile file's header strings reach the terminal escaped: a C1 control (8-bit CSI) in the party name is
    /// shown as `\u{9b}` by inspect (and its JSON), never as the byte a terminal would obey.
    @Test func headerStringsReachTheTerminalEscaped() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        #expect(try tokenise(scratch).status == 0)
        var bytes = try FileIO.readAll("\(scratch.path)/tokens.bmt")
        // The party "agency-a" becomes "ag" CSI "2J-a" in place: the same length, still valid UTF-8 and JSON.
        let party = Array("\"party\":\"agency-a\"".utf8)
        let at = try #require(bytes.indices.first { bytes[$0...].starts(with: party) })
        bytes.replaceSubrange((at + 9)..<(at + 15), with: [0x61, 0x67, 0xC2, 0x9B, 0x32, 0x4A])
        try Data(bytes).write(to: URL(fileURLWithPath: "\(scratch.path)/hostile.bmt"))
        for arguments in [
            ["inspect", "hostile.bmt"], ["inspect", "--json", "hostile.bmt"], ["verify", "hostile.bmt"],
        ] {
            let shown = try CLI.run(arguments, in: scratch.path)
            #expect(!shown.output.unicodeScalars.contains { $0.value == 0x9B }, "\(arguments)")
            #expect(!shown.error.unicodeScalars.contains { $0.value == 0x9B }, "\(arguments)")
        }
        let inspect = try CLI.run(["inspect", "hostile.bmt"], in: scratch.path)
        #expect(inspect.output.contains("party:              ag\\u{9b}2J-a"), "\(inspect.output)")
    }

    /// SPEC §6.6: an unsigned file fails verification unless --allow-unsigned says it may be unsigned.
    @Test func unsignedFilesFailVerificationUnlessAllowed() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        let result = try CLI.run(
            [
                "tokenise", "--schema", Self.schema, "--secret-file", "project.secret", "--input", "data.csv",
                "--output", "tokens.bmt",
            ], in: scratch.path)
        #expect(result.status == 0, "\(result.error)")
        let refused = try CLI.run(["verify", "tokens.bmt", "--schema", Self.schema], in: scratch.path)
        #expect(refused.status == 1)
        #expect(refused.output.contains("FAIL  SPEC §6.5 signature: the file is not signed"))
        let allowed = try CLI.run(
            ["verify", "tokens.bmt", "--schema", Self.schema, "--allow-unsigned"], in: scratch.path)
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(allowed.output.contains("ok    SPEC §6.6 header holds no data"))
        let contradictory = try CLI.run(
            ["verify", "tokens.bmt", "--allow-unsigned", "--public-key", "agency.pub"], in: scratch.path)
        #expect(contradictory.status != 0)
    }

    /// SPEC §6.3: the party name is short printable text, so tokenise refuses anything else.
    @Test(arguments: ["", String(repeating: "p", count: 101), "agency\u{1B}[2J"])
    func partyNamesMustBeShortPrintableText(party: String) throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        let before = try scratch.contents()
        let result = try tokenise(scratch, extra: ["--party", party])
        #expect(result.status != 0)
        #expect(result.error.contains("--party must be 1 to 100 characters"))
        #expect(try scratch.contents() == before)
    }

    @Test(arguments: [
        (
            "wrong field count", "id,given_name,surname,dob,sex,postcode,nino\nW1,Ann,Lee,1990-01-01,F\n",
            "data.csv:2: expected 7 fields"
        ),
        ("header mismatch", "id,first,surname,dob,sex,postcode,nino\n", "data.csv:1: the header does not match"),
        ("no header line", "W1,Ann,Lee,1990-01-01,F,SW1A 1AA,AB123456C\n", "column 2 should be \"given_name\""),
        (
            "unclosed quote", "id,given_name,surname,dob,sex,postcode,nino\nW1,\"Ann,Lee,1990-01-01,F,,\n",
            "data.csv:2: a quoted field is never closed"
        ),
        (
            "stray quote", "id,given_name,surname,dob,sex,postcode,nino\nW1,An\"n,Lee,1990-01-01,F,,\n",
            "data.csv:2: field 2 has a quote"
        ),
    ])
    func badInputIsRefusedAndLeavesNothing(name: String, csv: String, message: String) throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", csv)
        let before = try scratch.contents()
        let result = try tokenise(scratch)
        #expect(result.status == 1, "\(name)")
        #expect(result.error.contains(message), "\(name): \(result.error)")
        #expect(try scratch.contents() == before, "\(name) left files behind")
    }

    /// SPEC §2.4: the byte order mark goes even when the first header field is quoted.
    @Test func aByteOrderMarkBeforeAQuotedHeaderIsRemoved() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        let quoted = "\"id\",\"given_name\",surname,dob,sex,postcode,nino\nW1,Ann,Lee,1990-01-01,F,,\n"
        try Data([0xEF, 0xBB, 0xBF] + Array(quoted.utf8)).write(to: URL(fileURLWithPath: "\(scratch.path)/data.csv"))
        let result = try tokenise(scratch)
        #expect(result.status == 0, "\(result.error)")
    }

    /// SPEC §2.4: with several columns, empty lines are skipped but a line of `""` is a record (of one field).
    @Test func onlyTrulyEmptyLinesAreSkipped() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write(
            "data.csv", "id,given_name,surname,dob,sex,postcode,nino\n\nW1,Ann,Lee,1990-01-01,F,,\r\n\r\n")
        let blank = try tokenise(scratch)
        #expect(blank.status == 0, "\(blank.error)")
        #expect(blank.output.contains("tokenised 1 records"))
        try scratch.write(
            "quoted.csv", "id,given_name,surname,dob,sex,postcode,nino\nW1,Ann,Lee,1990-01-01,F,,\n\"\"\n")
        let quoted = try tokenise(scratch, input: "quoted.csv", extra: ["--output", "quoted.bmt"])
        #expect(quoted.status == 1)
        #expect(quoted.error.contains("quoted.csv:3: expected 7 fields as in the header, found 1"))
    }

    /// SPEC §2.4: in a one-column file an empty line is a record with an empty value, not a line to skip.
    @Test func emptyLinesAreRecordsInAOneColumnFile() throws {
        let scratch = try Scratch()
        try scratch.write(
            "schema.json",
            #"{"version": 3, "clkConfig": {"l": 64, "kdf": {"type": "HKDF"}}, "features": [{"identifier": "name", "format": {"type": "string"}, "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 5}}}]}"#
        )
        try CLI.run(["keygen", "--output", "s.secret"], in: scratch.path)
        try scratch.write("data.csv", "name\nann\n\n\"\"\nbob\n")
        let result = try CLI.run(
            [
                "tokenise", "--schema", "schema.json", "--secret-file", "s.secret", "--input", "data.csv", "--output",
                "c.json", "--format", "anonlink-json",
            ], in: scratch.path)
        #expect(result.status == 0, "\(result.error)")
        let written = try String(contentsOfFile: "\(scratch.path)/c.json", encoding: .utf8)
        let clks = written.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map(\.element).dropFirst()
        #expect(clks.count == 4, "\(written)")
        #expect(Array(clks.dropFirst().prefix(2)) == ["AAAAAAAAAAA=", "AAAAAAAAAAA="])
    }

    /// A `tokenise` run reading from a FIFO, started and fed more than one batch (16384 records), so that it has
    /// scattered the first to a bucket file in its `.work` folder and now waits, mid-file, for more. Returns the
    /// process, the FIFO's writing end and the run's `.work` folder.
    func startWaitingRun(_ scratch: Scratch, fifo: String) throws -> (Process, FileHandle, String) {
        #expect(mkfifo("\(scratch.path)/\(fifo)", 0o600) == 0)
        let folders = Set(try scratch.contents().filter { $0.hasSuffix(".work") })
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = [
            "tokenise", "--schema", Self.schema, "--secret-file", "project.secret", "--input", fifo, "--output",
            "tokens.bmt",
        ]
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let writer = try #require(FileHandle(forWritingAtPath: "\(scratch.path)/\(fifo)"))
        var text = "id,given_name,surname,dob,sex,postcode,nino\n"
        for index in 0..<20_000 { text += "W\(index),Ann,Lee,1990-01-01,F,SW1A 1AA,\n" }
        writer.write(Data(text.utf8))
        func scattered() -> String? {
            let names = (try? scratch.contents()) ?? []
            return names.first { name in
                name.hasSuffix(".work") && !folders.contains(name)
                    && ((try? FileManager.default.contentsOfDirectory(atPath: "\(scratch.path)/\(name)")) ?? []).count
                        > 0
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while scattered() == nil && Date() < deadline { usleep(20_000) }
        let folder = try #require(scattered(), "the run never scattered a batch")
        return (process, writer, folder)
    }

    /// Sends `signal` and waits for the run to end (the test runner starts children with SIGINT and SIGTERM
    /// blocked; a run that does not unblock them never ends).
    func stop(_ process: Process, with signal: Int32) {
        kill(process.processIdentifier, signal)
        let stopBy = Date().addingTimeInterval(30)
        while process.isRunning && Date() < stopBy { usleep(20_000) }
        if process.isRunning {
            Issue.record("the run ignored signal \(signal)")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    /// SPEC §6.8: SIGINT or SIGTERM during a run removes the run's temporary files (scatter buckets holding rows
    /// and record keys) and exits 130 or 143.
    @Test(arguments: [(SIGTERM, 143), (SIGINT, 130)] as [(Int32, Int32)])
    func anInterruptedRunLeavesNothingBehind(signal: Int32, status: Int32) throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        let before = try scratch.contents().union(["data.csv"])
        let (process, writer, _) = try startWaitingRun(scratch, fifo: "data.csv")
        stop(process, with: signal)
        try writer.close()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == status)
        let after = try scratch.contents()
        #expect(after == before, "left behind: \(after.subtracting(before))")
    }

    /// SPEC §6.8: a run killed with SIGKILL leaves its `.work` folder behind; the next run to the same output
    /// removes it, but not the folder of a run that is still going, however old.
    @Test func theNextRunRemovesWhatAKilledRunLeft() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        let aMinuteAgo = [FileAttributeKey.modificationDate: Date().addingTimeInterval(-60)]
        let (live, liveWriter, liveFolder) = try startWaitingRun(scratch, fifo: "live.csv")
        try FileManager.default.setAttributes(aMinuteAgo, ofItemAtPath: "\(scratch.path)/\(liveFolder)")
        let (killed, killedWriter, killedFolder) = try startWaitingRun(scratch, fifo: "killed.csv")
        stop(killed, with: SIGKILL)
        try killedWriter.close()
        #expect(try scratch.contents().isSuperset(of: [liveFolder, killedFolder]))
        try FileManager.default.setAttributes(aMinuteAgo, ofItemAtPath: "\(scratch.path)/\(killedFolder)")

        let result = try tokenise(scratch)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("removed 1 temporary file left by a killed run"), "\(result.error)")
        #expect(result.error.contains(killedFolder))
        let contents = try scratch.contents()
        #expect(!contents.contains(killedFolder))
        #expect(contents.contains(liveFolder))

        stop(live, with: SIGTERM)
        try liveWriter.close()
        #expect(live.terminationStatus == 143)
        #expect(try scratch.contents().filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test func badUTF8NamesTheLineAndField() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        var bytes = Array("id,given_name,surname,dob,sex,postcode,nino\nW1,Ann,Lee,1990-01-01,F,,\nW2,".utf8)
        bytes += [0xC3, 0x28] + Array(",Lee,1990-01-01,F,,\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(scratch.path)/data.csv"))
        let result = try tokenise(scratch)
        #expect(result.status == 1)
        #expect(result.error.contains("data.csv:3: field \"given_name\" is not valid UTF-8"))
        #expect(!(try scratch.contents().contains("tokens.bmt")))
    }

    @Test func readableSecretFilesAreRefused() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        chmod("\(scratch.path)/project.secret", 0o644)
        let result = try tokenise(scratch)
        #expect(result.status == 1)
        #expect(result.error.contains("chmod 600"))
        #expect(!(try scratch.contents().contains("tokens.bmt")))
    }

    @Test func schemasThatFailTheirJSONSchemaAreRefused() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        try scratch.write(
            "bad.json",
            #"{"blindmatchSchema": 1, "name": "x", "recordKey": "id", "fields": [{"name": "id", "kind": "shoe size"}]}"#
        )
        let result = try CLI.run(
            [
                "tokenise", "--schema", "bad.json", "--secret-file", "project.secret", "--input", "data.csv",
                "--output",
                "t.bmt",
            ], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.error.contains("bad.json"))
        #expect(result.error.contains("$.fields[0].kind"))
    }

    @Test func tamperedAndTruncatedFilesFailVerification() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try scratch.write("data.csv", Self.records)
        #expect(try tokenise(scratch).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/tokens.bmt"))
        bytes[bytes.count - 300] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: "\(scratch.path)/tampered.bmt"))
        let tampered = try CLI.run(["verify", "tampered.bmt"], in: scratch.path)
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("FAIL  SPEC §6.5 digest"))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: "\(scratch.path)/short.bmt"))
        let truncated = try CLI.run(["verify", "short.bmt"], in: scratch.path)
        #expect(truncated.status == 1)
        #expect(truncated.output.contains("FAIL  structure"))
    }

    /// `--format anonlink-json` with a clkhash schema writes what clkhash 0.18.3 writes for the same input.
    @Test func anonlinkJSONMatchesClkhash() throws {
        let scratch = try Scratch()
        let document = try JSONValue(
            parsing: Array(
                try Data(contentsOf: URL(fileURLWithPath: CLI.repositoryPath("Protocol/vectors/clkhash-kat.json")))),
            source: "kat")
        for name in ["l1024", "l512_xor_folds1"] {
            let vector = try #require(document[name])
            try scratch.write("\(name).json", try #require(vector["schema"]).canonicalText)
            try scratch.write("\(name).secret", "", mode: 0o600)
            let imported = try CLI.run(
                ["keygen", "--import", "--force", "--output", "\(name).secret"], in: scratch.path,
                input: try #require(vector["secret"]?.stringValue))
            #expect(imported.status == 0)
            var csv = "INDEX,given,surname,dob,sex,age\n"
            for record in try #require(vector["records"]?.arrayValue) {
                var line: [UInt8] = []
                for (index, field) in (record.arrayValue ?? []).enumerated() {
                    if index > 0 { line.append(UInt8(ascii: ",")) }
                    CSVText.appendField(Array((field.stringValue ?? "").utf8), to: &line)
                }
                csv += String(decoding: line, as: UTF8.self) + "\n"
            }
            try scratch.write("\(name).csv", csv)
            let result = try CLI.run(
                [
                    "tokenise", "--schema", "\(name).json", "--secret-file", "\(name).secret", "--input", "\(name).csv",
                    "--output", "\(name).clks.json", "--format", "anonlink-json",
                ], in: scratch.path)
            #expect(result.status == 0, "\(result.error)")
            let expected = (vector["clks_b64"]?.arrayValue ?? []).map { "\"\($0.stringValue ?? "")\"" }
            let written = try String(contentsOfFile: "\(scratch.path)/\(name).clks.json", encoding: .utf8)
            #expect(written == "{\"clks\": [\(expected.joined(separator: ", "))]}")
        }
    }

    @Test func clkhashSchemasRefuseInvalidEntriesAsClkhashDoes() throws {
        let scratch = try Scratch()
        let document = try JSONValue(
            parsing: Array(
                try Data(contentsOf: URL(fileURLWithPath: CLI.repositoryPath("Protocol/vectors/clkhash-kat.json")))),
            source: "kat")
        try scratch.write("schema.json", try #require(document["l1024"]?["schema"]).canonicalText)
        try CLI.run(["keygen", "--output", "s.secret"], in: scratch.path)
        try scratch.write("data.csv", "INDEX,given,surname,dob,sex,age\n0,Ann,Lee,1980-13-01,F,40\n")
        let result = try CLI.run(
            [
                "tokenise", "--schema", "schema.json", "--secret-file", "s.secret", "--input", "data.csv", "--output",
                "c.json", "--format", "anonlink-json",
            ], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.error.contains("data.csv:2: field \"dob\""))
        #expect(!result.error.contains("1980-13-01"))  // errors never repeat the value
    }

    /// A number a numeric comparison cannot hold is a refused entry (SPEC §2.3), named by file, line and field.
    @Test func clkhashNumbersOutside64BitsAreRefusedEntries() throws {
        let scratch = try Scratch()
        try scratch.write(
            "schema.json",
            #"{"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF"}}, "features": [{"identifier": "id", "ignored": true}, {"identifier": "score", "format": {"type": "string"}, "hashing": {"comparison": {"type": "numeric", "thresholdDistance": 5, "resolution": 3}, "strategy": {"bitsPerToken": 10}}}]}"#
        )
        try CLI.run(["keygen", "--output", "s.secret"], in: scratch.path)
        try scratch.write("data.csv", "id,score\n1,44\n2,inf\n")
        let result = try CLI.run(
            [
                "tokenise", "--schema", "schema.json", "--secret-file", "s.secret", "--input", "data.csv", "--output",
                "c.json", "--format", "anonlink-json",
            ], in: scratch.path)
        #expect(result.status == 1, "\(result.error)")
        #expect(result.error.contains("data.csv:3: field \"score\""))
        #expect(!(try scratch.contents().contains("c.json")))
    }

    @Test func vectorsCommandPasses() throws {
        let result = try CLI.run(["vectors", "--directory", CLI.repositoryPath("Protocol/vectors")], in: "/tmp")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("vectors pass"))
    }

    /// The README's main command, small: both agencies tokenise, then the embedded service on a loopback port
    /// carries the project, uploads, run, results and audit log, and stops.
    @Test func demoRunsEndToEnd() throws {
        let result = try CLI.run(["demo", "--bulk", "2000", "--watch", "50"], in: "/tmp")
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.isEmpty, "\(result.error)")
        let output = result.output
        #expect(output.components(separatedBy: "rules hold").count == 3, "\(output)")
        #expect(output.contains("listening on http://127.0.0.1:"), "\(output)")
        #expect(output.components(separatedBy: "streamed: accepted as u-").count == 3, "\(output)")
        #expect(output.contains(" succeeded: "), "\(output)")
        // The new steps: each agency activates its token; the watch list requests, the bulk agency approves; each
        // agency's receipts are checked against the exported log.
        #expect(output.components(separatedBy: "activates its token by signing its challenge").count == 3)
        #expect(output.contains("awaitingApproval") && output.contains("and approves it: queued"), "\(output)")
        #expect(output.contains("each agency checks the receipts its commands kept"), "\(output)")
        #expect(output.contains("agency-a fetches its view"), "\(output)")
        #expect(output.contains("council-b fetches its view"), "\(output)")
        #expect(output.contains("holds only row numbers"), "\(output)")
        #expect(output.contains("the chain holds"), "\(output)")
        #expect(output.contains("The matcher stops the service"), "\(output)")
        // "13. Against the truth …: matches: precision 1.0000, recall 0.9149, F1 0.9556 (…)"
        let line = try #require(output.split(separator: "\n").first { $0.contains("Against the truth") })
        let f1 = try #require(
            line.range(of: "F1 ").flatMap { Double(line[$0.upperBound...].prefix { $0.isNumber || $0 == "." }) })
        #expect(f1 >= 0.9, "\(line)")
    }
}

/// The whole offline story through the binary: synth → tokenise (two agencies) → match → evaluate.
struct QualityTests {
    @Test func matchingSynthDataMeetsTheQualityFloor() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        let synth = try CLI.run(
            ["synth", "--watch", "2000", "--bulk", "50000", "--seed", "1", "--output", "."], in: scratch.path)
        #expect(synth.status == 0, "\(synth.error)")
        for (input, output) in [("watch.csv", "watch.bmt"), ("bulk.csv", "bulk.bmt")] {
            let result = try CLI.run(
                [
                    "tokenise", "--schema", CLITests.schema, "--secret-file", "project.secret", "--input", input,
                    "--output", output,
                ], in: scratch.path)
            #expect(result.status == 0, "\(result.error)")
        }
        // The fixed rule at the example schema's Dice threshold (its filters are diffused with 3 taps): precision
        // first.
        let match = try CLI.run(
            ["match", "watch.bmt", "bulk.bmt", "--threshold", "0.75", "--output", "matches.csv"], in: scratch.path)
        #expect(match.status == 0, "\(match.error)")
        #expect(match.output.contains("threshold 0.75)"), "\(match.output)")
        let (precision, _, f1, line) = try Self.evaluate("matches.csv", in: scratch)
        #expect(precision >= 0.99, "\(line)")
        #expect(f1 >= 0.97, "\(line)")
        // The default: the decision model chooses (docs/decision-model.md: F1 0.973–0.980 on default-profile data,
        // precision 0.980–0.994), and its estimates land near the truth (within ±0.02 on every seed measured).
        let chosen = try CLI.run(
            [
                "match", "watch.bmt", "bulk.bmt", "--output", "chosen.csv", "--report", "report.json",
                "--report-html", "report.html",
            ], in: scratch.path)
        #expect(chosen.status == 0 && chosen.error.isEmpty, "\(chosen.error)")
        #expect(chosen.output.contains("threshold chosen by the model: weight "), "\(chosen.output)")
        let (chosenPrecision, chosenRecall, chosenF1, chosenLine) = try Self.evaluate("chosen.csv", in: scratch)
        #expect(chosenF1 >= 0.97 && chosenPrecision >= 0.97, "\(chosenLine)")
        let report = try JSONDecoder().decode(
            LinkageReport.self, from: Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/report.json")))
        #expect(report.thresholdChosen && report.thresholdFallback == nil)
        #expect(abs(report.estimate.precision - chosenPrecision) < 0.025, "\(report.estimate) \(chosenLine)")
        #expect(abs(report.estimate.recall - chosenRecall) < 0.025, "\(report.estimate) \(chosenLine)")
        // --second-score on files without an extra filter (the example schema has none) says so and changes nothing.
        let second = try CLI.run(
            ["match", "watch.bmt", "bulk.bmt", "--output", "second.csv", "--second-score", "joint"], in: scratch.path)
        #expect(second.status == 0 && second.error.contains("share no extra filter"), "\(second.error)")
        #expect(
            try String(contentsOfFile: "\(scratch.path)/second.csv", encoding: .utf8)
                == String(contentsOfFile: "\(scratch.path)/chosen.csv", encoding: .utf8))
        // `none` leaves it out without a word; anything else is refused before a file is read.
        let none = try CLI.run(
            ["match", "watch.bmt", "bulk.bmt", "--output", "none.csv", "--second-score", "none"], in: scratch.path)
        #expect(none.status == 0 && !none.error.contains("extra filter"), "\(none.error)")
        #expect(
            try String(contentsOfFile: "\(scratch.path)/none.csv", encoding: .utf8)
                == String(contentsOfFile: "\(scratch.path)/chosen.csv", encoding: .utf8))
        let bogus = try CLI.run(
            ["match", "watch.bmt", "bulk.bmt", "--output", "bogus.csv", "--second-score", "both"], in: scratch.path)
        #expect(bogus.status != 0 && bogus.error.contains("joint, conditional or none"), "\(bogus.error)")
        #expect(!FileManager.default.fileExists(atPath: "\(scratch.path)/bogus.csv"))
        // The page stands alone (inline SVG, nothing fetched) and says what the identity constraint did.
        let page = try String(contentsOfFile: "\(scratch.path)/report.html", encoding: .utf8)
        #expect(page.components(separatedBy: "<svg").count == 3, "a histogram and a curve")
        #expect(!page.contains("src=") && !page.contains("href=") && !page.contains("<link") && !page.contains("url("))
        let identity = try #require(report.identity)
        #expect(page.contains("identifier agrees / differs / unknown"))
        let agreeing = String(identity.agreeing).reversed().enumerated()
            .map { $0.offset > 0 && $0.offset % 3 == 0 ? "\($0.element)," : "\($0.element)" }.reversed().joined()
        #expect(page.contains("<td>\(agreeing) / "), "\(identity)")
    }

    /// Precision, recall and F1 of `matches` against the synthetic truth, and `evaluate`'s line.
    static func evaluate(_ matches: String, in scratch: Scratch) throws -> (Double, Double, Double, String) {
        let evaluation = try CLI.run(
            [
                "evaluate", "--matches", matches, "--map-a", "watch.map.csv", "--map-b", "bulk.map.csv", "--truth",
                "truth.csv",
            ], in: scratch.path)
        #expect(evaluation.status == 0, "\(evaluation.error)")
        // "matches: precision 0.9931, recall 0.9565, F1 0.9744 (…)"
        let line = String(try #require(evaluation.output.split(separator: "\n").first))
        func figure(_ name: String) throws -> Double {
            let range = try #require(line.range(of: "\(name) "), "\(line)")
            return try #require(Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." }), "\(line)")
        }
        return (try figure("precision"), try figure("recall"), try figure("F1"), line)
    }
}
