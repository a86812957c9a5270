import BlindmatchAgency
import BlindmatchProtocol

/// An attack on what the matcher holds (docs/privacy.md describes each). It sees the matcher's view, the schema
/// (public to the matcher) and a reference population in clear text; never the secret or the agency's plaintext.
public protocol Attack: Sendable {
    /// The name reported.
    var name: String { get }
    /// Runs the attack; `progress` may show its stages.
    func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome
    /// Whether the attack has anything to do on files made with `schema` (it is left out of the report otherwise).
    func applies(to schema: LinkageSchema) -> Bool
    /// Whether the attack reads the view's `filters`: on a schema with several record-level filters it then runs
    /// once on each, given that filter as `view.filters` and the filter's settings as `schema` (``RecordFilter``),
    /// and is reported per filter.
    var readsFilters: Bool { get }
}

extension Attack {
    public func applies(to schema: LinkageSchema) -> Bool { true }
    public var readsFilters: Bool { false }
}

/// The attacks `assess` runs.
public enum Attacks {
    /// The standard attacks, in the order they run. Adding an attack is one line here.
    public static var standard: [any Attack] {
        [
            FrequencyAlignmentAttack(),
            TokenFrequencyAttack(),
            patternMining,
            // Balanced filters (SPEC §5.5.3) are unbalanced first: nothing runs on other schemas.
            AfterBalanceUnwinding(FrequencyAlignmentAttack()),
            AfterBalanceUnwinding(patternMining),
            AttackFunction("graph matching", readsFilters: true) { view, schema, reference, progress in
                GraphMatchingAttack.run(
                    filters: view.filters, schema: schema, reference: reference,
                    progress: { progress.fraction($0) })
            },
            // Schemas with several record-level filters: the attacker holds them all.
            GraphMatchingOnEveryFilter(),
            DisclosureCounts(),
        ]
    }

    static var patternMining: AttackFunction {
        AttackFunction("pattern mining", readsFilters: true) { view, schema, reference, progress in
            PatternMiningAttack.run(
                filters: view.filters, schema: schema, reference: reference, progress: { progress.fraction($0) })
        }
    }
}
