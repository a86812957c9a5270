import BlindmatchAgency
import BlindmatchAssessment
import BlindmatchProtocol
import Foundation
import Testing

/// The scores measure gain above what frequencies alone give.
struct ScoringTests {
    @Test func guessingTheMostCommonValueForEveryoneGainsNothing() throws {
        let folder = try TemporaryDirectory(prefix: "assess-scoring")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data(WeakEncodingTests.records(count: 1000, seed: 3).utf8).write(to: URL(fileURLWithPath: path))
        let schema = try LinkageSchema(parsing: Array(WeakEncodingTests.sexAlone.utf8), source: "weak.json")
        let input = try AgencyInput.tokenise(
            schema: schema, secret: try LinkageSecret(importing: Array(0..<32)), input: path, threads: 1,
            progress: SilentProgress())
        var assessment = Assessment()
        // 65% of the generated people are women: "F" is every reference's most common value.
        assessment.attacks = [
            AttackFunction("constant") { view, _, _, _ in
                AttackOutcome(attack: "constant", fieldGuesses: ["sex": [String?](repeating: "F", count: view.count)])
            }
        ]
        let report = assessment.run(
            schema: schema, input: input, reference: .halvesAndWhole, progress: SilentProgress())
        for scenario in report.scenarios {
            let sex = try #require(scenario.scores.first?.measures.first { $0.measure == "sex" })
            #expect(sex.guessed == sex.records)
            #expect(abs(sex.gainPoints) < 1e-9)
            #expect(sex.baseline > 0.55)
            #expect(sex.passes)
        }
        #expect(report.passes)
    }
}
