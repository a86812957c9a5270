/// Scores attack outcomes against the agency's plaintext, which only the harness holds.
struct Scorer {
    let fields: [ScoredField]
    let measures: [Measure]
    /// Per encoded row, its true normalised values (one per field).
    let truth: [[String?]]
    /// Per reference record, its normalised values (one per field).
    let reference: [[String?]]
    let bounds: AssessmentBounds
    /// Per measure, the reference's most common value.
    private let mostCommon: [String?]
    /// Per encoded row, whether an identical record is in the reference; and how many are.
    private let inReference: [Bool]

    init(fields: [ScoredField], truth: [[String?]], reference: [[String?]], bounds: AssessmentBounds) {
        self.fields = fields
        self.measures = Measure.measures(of: fields)
        self.truth = truth
        self.reference = reference
        self.bounds = bounds
        mostCommon = measures.map { measure in
            var counts: [String: Int] = [:]
            for record in reference {
                if let value = measure.derive(record[measure.field]) { counts[value, default: 0] += 1 }
            }
            return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        }
        let people = Set(reference.map(RecordKey.init))
        inReference = truth.map { people.contains(RecordKey($0)) }
    }

    /// Share of encoded rows whose person is in the reference.
    var overlap: Double { truth.isEmpty ? 0 : Double(inReference.count { $0 }) / Double(truth.count) }

    func score(_ outcome: AttackOutcome, seconds: Double) -> AttackScore {
        let measureScores = measures.enumerated().map { index, measure in
            score(measure, baselineValue: mostCommon[index], guesses: guesses(for: measure, in: outcome))
        }
        let links = outcome.recordLinks.isEmpty ? nil : scoreLinks(outcome.recordLinks)
        return AttackScore(
            attack: outcome.attack, measures: measureScores, links: links, notes: outcome.notes, seconds: seconds)
    }

    /// The attack's guesses for a measure: given under the measure's name, or derived from the field's guesses.
    private func guesses(for measure: Measure, in outcome: AttackOutcome) -> [String?]? {
        if let direct = outcome.fieldGuesses[measure.name] { return direct }
        guard let field = outcome.fieldGuesses[fields[measure.field].name] else { return nil }
        return field.map { measure.derive($0) }
    }

    private func score(_ measure: Measure, baselineValue: String?, guesses: [String?]?) -> MeasureScore {
        var records = 0
        var guessed = 0
        var correct = 0
        var atBaseline = 0
        var combined = 0
        var groups: [String: [String: Int]] = [:]
        for (row, values) in truth.enumerated() {
            guard let value = measure.derive(values[measure.field]) else { continue }
            records += 1
            let isBaseline = value == baselineValue
            if isBaseline { atBaseline += 1 }
            if let guesses, row < guesses.count, let guess = guesses[row] {
                guessed += 1
                if measure.sensitivity == .lowEntropy { groups[guess, default: [:]][value, default: 0] += 1 }
                if guess == value {
                    correct += 1
                    combined += 1
                }
            } else if isBaseline {
                combined += 1
            }
        }
        let total = Double(max(1, records))
        var relabelled: Double?
        if measure.sensitivity == .lowEntropy {
            var right = combined
            for (guess, truths) in groups where truths.values.reduce(0, +) >= 20 {
                right += (truths.values.max() ?? 0) - (truths[guess] ?? 0)
            }
            relabelled = Double(right) / total
        }
        return MeasureScore(
            measure: measure.name, sensitivity: measure.sensitivity, records: records, guessed: guessed,
            correct: correct, wrong: guessed - correct, baseline: Double(atBaseline) / total,
            combined: Double(combined) / total, relabelled: relabelled, bound: bounds.bound(for: measure))
    }

    private func scoreLinks(_ links: [Int?]) -> LinkScore {
        var linked = 0
        var correct = 0
        for (row, link) in links.enumerated() where row < truth.count {
            guard let link, link >= 0, link < reference.count else { continue }
            linked += 1
            if RecordKey(reference[link]) == RecordKey(truth[row]) { correct += 1 }
        }
        let present = inReference.count { $0 }
        let baseline = truth.isEmpty ? 0 : Double(present) / Double(truth.count) / Double(max(1, reference.count))
        return LinkScore(
            records: truth.count, linked: linked, correct: correct, wrong: linked - correct, baseline: baseline,
            bound: bounds.records)
    }
}

/// A record's values as one hashable key: two records are the same person when every scored value is equal.
struct RecordKey: Hashable {
    let values: [String?]

    init(_ values: [String?]) { self.values = values }
}
