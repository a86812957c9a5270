import BlindmatchAgency
import BlindmatchProtocol

/// An attack given as a name and a function, so that an attack written as a static `run` (the Bloom-filter attacks
/// of the `attacks` branch take the filters alone) joins ``Attacks/standard`` in one line:
///
///     AttackFunction("pattern mining") { view, schema, reference, progress in
///         PatternMiningAttack.run(filters: view.filters, schema: schema, reference: reference,
///                                 progress: { progress.fraction($0) }) }
public struct AttackFunction: Attack {
    public let name: String
    public let readsFilters: Bool
    private let body: @Sendable (MatcherView, LinkageSchema, ReferencePopulation, any JobProgress) -> AttackOutcome

    public init(
        _ name: String, readsFilters: Bool = false,
        _ body: @escaping @Sendable (MatcherView, LinkageSchema, ReferencePopulation, any JobProgress) -> AttackOutcome
    ) {
        self.name = name
        self.readsFilters = readsFilters
        self.body = body
    }

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        body(view, schema, reference, progress)
    }
}
