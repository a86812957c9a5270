import Foundation
import Testing

/// `blindmatch assess` end to end: the verdict's exit status, the reports written, and no value in any of them.
struct AssessCommandTests {
    /// The example schema as shipped before issue 15: `sex` as an exact Bloom token, the date of birth as positional
    /// digits, full blocking tokens and no Bloom hardening.
    static func previousExampleSchema(in folder: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: CLITests.schema))
        var schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var bloom = try #require(schema["bloom"] as? [String: Any])
        var fields = try #require(bloom["fields"] as? [[String: Any]])
        for index in fields.indices where fields[index]["field"] as? String == "dob" {
            fields[index]["tokens"] = ["type": "ngram", "n": 1, "positional": true]
        }
        fields.insert(["field": "sex", "tokens": ["type": "exact"], "bitsPerToken": 10], at: 3)
        bloom["fields"] = fields
        bloom["hardening"] = ["xorFolds": 0, "balance": false]
        schema["bloom"] = bloom
        // It had one filter: the extra filters came with issue 12.
        schema["extraFilters"] = nil
        var blocking = try #require(schema["blockingKeys"] as? [[String: Any]])
        for index in blocking.indices { blocking[index]["bucketBits"] = nil }
        schema["blockingKeys"] = blocking
        let path = "\(folder)/previous-uk-watchlist.json"
        try JSONSerialization.data(withJSONObject: schema).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func thePreviousExampleSchemaFailsNamingTheAttackAndNoValueLeaksIntoTheReports() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try CLI.run(["synth", "--watch", "10", "--bulk", "800", "--output", "synth"], in: scratch.path)
        let previous = try Self.previousExampleSchema(in: scratch.path)
        let result = try CLI.run(
            [
                "assess", "--schema", previous, "--secret-file", "project.secret", "--input", "synth/bulk.csv",
                "--output", "report.json", "--html", "report.html",
            ], in: scratch.path)
        #expect(result.status == 3, "\(result.error)")
        #expect(result.output.contains("assessment of uk-watchlist: FAIL"))
        #expect(result.output.contains("frequency alignment: sex +"))
        #expect(result.output.contains("lint: Bloom field sex"))
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/report.json")))
        let report = try #require(json as? [String: Any])
        #expect(report["passes"] as? Bool == false)
        #expect((report["scenarios"] as? [Any])?.count == 2)
        let html = try String(contentsOfFile: "\(scratch.path)/report.html", encoding: .utf8)
        #expect(html.contains("<table>"))
        #expect(
            try scratch.contents().isSubset(of: [
                "project.secret", "agency.key", "agency.pub", "synth", "report.json", "report.html",
                "previous-uk-watchlist.json",
            ]))
        // Surnames, postcodes and NINOs of the input appear in no report (given names can be common words).
        let csv = try String(contentsOfFile: "\(scratch.path)/synth/bulk.csv", encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().prefix(200).map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        let values = Set(rows.flatMap { [$0[2], $0[5], $0[6]] }.map(String.init).filter { $0.count >= 5 })
        let reports =
            result.output + html
            + String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/report.json")), as: UTF8.self)
        #expect(values.allSatisfy { !reports.contains($0) })
    }

    /// The example schema's hardened defaults (docs/privacy.md) pass at the default bounds, against both references.
    @Test func theExampleSchemaPasses() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        // A watch list of 2,000 (few duplicates), as the demo assesses: small bulk files, whose duplicates repeat
        // every match-key token, fail on the match keys' signatures whatever the blocking (docs/privacy.md).
        try CLI.run(["synth", "--watch", "2000", "--bulk", "10", "--output", "synth"], in: scratch.path)
        let result = try CLI.run(
            [
                "assess", "--schema", CLITests.schema, "--secret-file", "project.secret", "--input", "synth/watch.csv",
                "--output", "report.json",
            ], in: scratch.path)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("assessment of uk-watchlist: PASS"))
        #expect(!result.output.contains("lint: Bloom field"))
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(scratch.path)/report.json")))
        let report = try #require(json as? [String: Any])
        #expect(report["passes"] as? Bool == true)
        #expect((report["scenarios"] as? [Any])?.count == 2)
    }

    @Test func wideBoundsPass() throws {
        let scratch = try Scratch()
        try scratch.makeKeys()
        try CLI.run(["synth", "--watch", "10", "--bulk", "200", "--output", "synth"], in: scratch.path)
        let result = try CLI.run(
            [
                "assess", "--schema", CLITests.schema, "--secret-file", "project.secret", "--input", "synth/bulk.csv",
                "--bound-identifying", "100", "--bound-low-entropy", "100", "--bound-records", "100",
            ], in: scratch.path)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("assessment of uk-watchlist: PASS"))
    }
}
