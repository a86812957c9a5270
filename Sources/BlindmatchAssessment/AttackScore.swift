/// How well one attack did on one measure, against the baseline of always guessing the reference's most common
/// value. Shares are of the encoded records that have the measure (a missing value is not scored).
public struct MeasureScore: Sendable {
    public let measure: String
    public let sensitivity: Measure.Sensitivity
    /// Encoded records that have a value for the measure.
    public let records: Int
    /// Records the attack guessed, guessed right, guessed wrong.
    public let guessed: Int
    public let correct: Int
    public let wrong: Int
    /// Share of records whose value is the reference's most common value (the attacker's guess with no attack).
    public let baseline: Double
    /// Share right when the attack's guesses are taken and the most common value is guessed for the rest: what an
    /// attacker gets with the attack. Its excess over `baseline` is the gain.
    public let combined: Double
    /// Low-entropy measures only: the share right when each value the attack gave to at least 20 records is
    /// renamed to the true value most common among them (the rest as in `combined`). An attack that splits records
    /// into the right groups but names the groups wrongly (M for F, when the two are about equally common) leaks
    /// the split: one known record per group names them. Nil for identifying measures.
    public let relabelled: Double?
    /// The better of `combined` and `relabelled`, minus `baseline`, in percentage points.
    public var gainPoints: Double { 100 * (max(combined, relabelled ?? 0) - baseline) }
    /// The bound on the gain, in percentage points.
    public let bound: Double
    public var passes: Bool { gainPoints <= bound }
}

/// How many encoded records an attack linked whole to the right person in the reference.
public struct LinkScore: Sendable {
    public let records: Int
    public let linked: Int
    public let correct: Int
    public let wrong: Int
    /// Share a blind guess gets right: records present in the reference, over the reference's size.
    public let baseline: Double
    /// Share of records linked to the right person.
    public var share: Double { records > 0 ? Double(correct) / Double(records) : 0 }
    public var gainPoints: Double { 100 * (share - baseline) }
    public let bound: Double
    public var passes: Bool { gainPoints <= bound }
}

/// One attack's result against one reference population.
public struct AttackScore: Sendable {
    public let attack: String
    public let measures: [MeasureScore]
    /// Nil when the attack does not link records.
    public let links: LinkScore?
    /// The attack's own counts (never values).
    public let notes: [String: Double]
    public let seconds: Double
    /// The record-level filter the attack read, when the schema has several (``RecordFilter``); nil otherwise.
    public internal(set) var filter: String? = nil

    /// What fails the verdict: "<attack>: <measure> +x.x points above baseline (bound y)".
    public var failures: [String] {
        var failures = measures.filter { !$0.passes }.map {
            "\(attack): \($0.measure) +\(Self.points($0.gainPoints)) points above baseline (bound \(Self.points($0.bound)))"
        }
        if let links, !links.passes {
            failures.append(
                "\(attack): whole records +\(Self.points(links.gainPoints)) points above chance (bound \(Self.points(links.bound)))"
            )
        }
        return failures
    }

    static func points(_ value: Double) -> String {
        let scaled = (value * 10).rounded() / 10
        return scaled == scaled.rounded() ? "\(Int(scaled)).0" : "\(scaled)"
    }
}
