import BlindmatchAgency
import BlindmatchProtocol

/// `blindmatch assess`: plays the matcher against the agency's own token file, with each attack, against each
/// reference population, and scores what the attacks recover against the agency's plaintext (docs/privacy.md).
public struct Assessment {
    /// Where the attacker's clear-text population comes from.
    public enum Reference {
        /// By default, two populations: a disjoint half of the input (the other half is encoded; low overlap)
        /// and the input itself (full overlap, the electoral-register case).
        case halvesAndWhole
        /// A population the agency believes an attacker has (normalised values, one per scored field).
        case given([[String?]])
    }

    public var attacks: [any Attack] = Attacks.standard
    public var bounds = AssessmentBounds()

    public init() {}

    /// Runs every attack against every reference population.
    public func run(
        schema: LinkageSchema, input: AgencyInput, reference: Reference, progress: any JobProgress
    ) -> AssessmentReport {
        var scenarios: [AssessmentReport.Scenario] = []
        switch reference {
        case .given(let values):
            scenarios.append(
                scenario(
                    name: "given reference", schema: schema, input: input, rows: Array(0..<input.view.count),
                    reference: values, progress: progress))
        case .halvesAndWhole:
            // Split by input position, not row order: each person falls in one half.
            var generator = SystemRandomNumberGenerator()
            let inEncodedHalf = (0..<input.view.count).map { _ in Bool.random(using: &generator) }
            var encodedRows: [Int] = []
            var referenceRows: [Int] = []
            for row in 0..<input.view.count {
                if inEncodedHalf[input.inputIndex[row]] { encodedRows.append(row) } else { referenceRows.append(row) }
            }
            referenceRows.sort { input.inputIndex[$0] < input.inputIndex[$1] }
            scenarios.append(
                scenario(
                    name: "disjoint reference", schema: schema, input: input, rows: encodedRows,
                    reference: referenceRows.map { input.truth[$0] }, progress: progress))
            let everyone = (0..<input.view.count).sorted { input.inputIndex[$0] < input.inputIndex[$1] }
            scenarios.append(
                scenario(
                    name: "full-overlap reference", schema: schema, input: input, rows: Array(0..<input.view.count),
                    reference: everyone.map { input.truth[$0] }, progress: progress))
        }
        progress.finish()
        return AssessmentReport(
            schemaName: schema.name, schemaFingerprint: schema.fingerprint, records: input.view.count,
            bounds: bounds, scenarios: scenarios, lint: SchemaLint.findings(schema: schema, input: input))
    }

    private func scenario(
        name: String, schema: LinkageSchema, input: AgencyInput, rows: [Int], reference: [[String?]],
        progress: any JobProgress
    ) -> AssessmentReport.Scenario {
        let view = rows.count == input.view.count ? input.view : input.view.subset(rows: rows)
        let truth = rows.count == input.view.count ? input.truth : rows.map { input.truth[$0] }
        let population = ReferencePopulation(values: reference, fields: input.fields)
        let scorer = Scorer(fields: input.fields, truth: truth, reference: reference, bounds: bounds)
        var scores: [AttackScore] = []
        for attack in attacks {
            guard attack.readsFilters, input.recordFilters.count > 1 else {
                guard attack.applies(to: schema) else { continue }
                progress.show("\(name): \(attack.name)")
                let start = MonotonicClock.seconds()
                let outcome = attack.run(on: view, schema: schema, reference: population, progress: progress)
                scores.append(scorer.score(outcome, seconds: MonotonicClock.seconds() - start))
                continue
            }
            // The attacker holds every filter of a record: the attack runs on each, named by filter.
            for (index, filter) in input.recordFilters.enumerated() where attack.applies(to: filter.schema) {
                let label = "\(attack.name) (filter \(filter.name))"
                progress.show("\(name): \(label)")
                let start = MonotonicClock.seconds()
                var outcome = attack.run(
                    on: view.focused(onFilter: index), schema: filter.schema, reference: population,
                    progress: progress)
                outcome.attack = label
                var score = scorer.score(outcome, seconds: MonotonicClock.seconds() - start)
                score.filter = filter.name
                scores.append(score)
            }
        }
        return AssessmentReport.Scenario(
            name: name, encodedRecords: view.count, referenceRecords: reference.count,
            overlap: scorer.overlap, scores: scores)
    }
}
