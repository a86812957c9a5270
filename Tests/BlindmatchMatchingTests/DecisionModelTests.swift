import BlindmatchProtocol
import BlindmatchSynthetic
import Glibc
import Testing

@testable import BlindmatchMatching

/// The decision model's parts against small cases whose answer is known, and the engine with the model on.
struct DecisionModelTests {
    /// Two classes drawn from known m and u on three independent features: EM finds the share and the weights' signs.
    @Test func expectationMaximisationRecoversAKnownMixture() {
        var random = SystemRandomNumberGenerator()
        let m: [[Double]] = [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]
        let u: [[Double]] = [[0.1, 0.9], [0.2, 0.8], [0.05, 0.95]]
        var counts: [[UInt16]: Int] = [:]
        for index in 0..<20_000 {
            let probabilities = index < 4_000 ? m : u
            let pattern = probabilities.map { UInt16(Double.random(in: 0..<1, using: &random) < $0[0] ? 0 : 1) }
            counts[pattern, default: 0] += 1
        }
        let patterns = Array(counts.keys)
        let model = MatchWeightModel.fit(
            patterns: patterns, counts: patterns.map { counts[$0] ?? 0 },
            features: (0..<3).map { ("f\($0)", ["agree", "disagree"]) }, parts: [nil, nil, nil],
            initial: patterns.map { $0.filter { $0 == 0 }.count >= 2 ? 0.8 : 0.2 })
        #expect(abs(model.matchShare - 0.2) < 0.03, "share \(model.matchShare)")
        #expect(model.weight(levels: [0, 0, 0]) > 5)
        #expect(model.weight(levels: [1, 1, 1]) < -5)
    }

    @Test func scoreMixtureSeparatesAHighPeakFromAFallingTail() {
        var random = SystemRandomNumberGenerator()
        var scores: [Double] = []
        for _ in 0..<9_000 { scores.append(0.5 + min(-log(Double.random(in: 1e-9..<1, using: &random)) / 12, 0.5)) }
        for _ in 0..<1_000 { scores.append(min(0.93 + 0.02 * Double.random(in: -1..<1, using: &random), 1)) }
        let mixture = ScoreMixture.fit(scores: scores, floor: 0.5)
        #expect(abs(mixture.matchShare - 0.1) < 0.02, "share \(mixture.matchShare)")
        #expect(mixture.weight(score: 0.95) > 3 && mixture.weight(score: 0.6) < -3)
    }

    @Test func estimatesFollowTheProbabilities() {
        // Weight 0 is probability ½; a weight of 60 is certain.
        let weights = [60.0, 60, 0, 0, -60]
        let estimate = LinkageReport.estimate(weights: weights, reported: [0, 1, 2])
        #expect(abs(estimate.precision - 2.5 / 3) < 1e-9)
        #expect(abs(estimate.recall - 2.5 / 3) < 1e-9)
        #expect(abs(estimate.falseMatches - 0.5) < 1e-9)
        #expect(estimate.precisionError > 0)
        // The best threshold reports the certain pairs and (expected F1 being higher with them) the even ones.
        #expect(LinkageReport.bestThreshold(weights: weights) == 0)
        let histogram = LinkageReport.histogram(weights: weights)
        #expect(abs(histogram.matches.reduce(0, +) - 3) < 1e-9)
        #expect(histogram.edges.count == histogram.matches.count + 1)
    }

    /// Fitting the model to report estimates leaves a Dice-threshold run's results as they were.
    @Test func fittingTheModelDoesNotChangeAThresholdRun() throws {
        let population = try SyntheticPopulation(
            SyntheticProfile.harsh.configuration(watchCount: 300, bulkCount: 6000, seed: 4))
        let fixture = try TokenFixture()
        let a = try fixture.file("watch", population.allWatchRecords().map(\.fields))
        let b = try fixture.file("bulk", population.allBulkRecords().map(\.fields))
        var settings = MatchEngine.Settings(
            threshold: try DiceThreshold("0.85"), reviewFrom: try DiceThreshold("0.75"), solver: .manyToOne,
            threads: 2, vetoKeys: [0])
        let (plain, plainReport) = try MatchEngine(settings: settings).run(a, b)
        settings.fitsModel = true
        let (fitted, fittedReport) = try MatchEngine(settings: settings).run(a, b)
        #expect(plain == fitted)
        #expect(plainReport.linkage == nil)
        let linkage = try #require(fittedReport.linkage)
        #expect(linkage.model == "fellegi-sunter" && !linkage.thresholdChosen)
        #expect(linkage.estimate.reported == fitted.filter { $0.status == .match }.count)
        #expect(linkage.candidateFloor <= 0.75)
        settings.chooseThreshold = true
        let (chosen, chosenReport) = try MatchEngine(settings: settings).run(a, b)
        #expect(chosenReport.linkage?.thresholdChosen == true)
        #expect(chosen.allSatisfy { $0.weight != nil && $0.status == .match })
        #expect(chosen.allSatisfy { ($0.weight ?? 0) >= (chosenReport.linkage?.threshold ?? 0) })
    }
}
