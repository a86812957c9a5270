import BlindmatchContract
import BlindmatchMatching

extension NamedMatchSettings {
    /// The `MatchingSettingsResolved` schema, which is also how the store keeps a project's and a run's settings.
    var wire: Components.Schemas.MatchingSettingsResolved {
        .init(
            threshold: threshold, reviewFrom: reviewFrom,
            solver: Components.Schemas.Solver(rawValue: solver.rawValue) ?? .manyToOne, vetoKeys: vetoKeys,
            blocking: blocking)
    }

    /// Settings as the store keeps them: their JSON, and whether the veto keys were defaulted (a column of its own).
    init(stored text: String, vetoKeysDefaulted: Bool) throws {
        let stored = try ContractDecoder.decode(
            Components.Schemas.MatchingSettingsResolved.self, from: text, source: "settings")
        self.init(
            threshold: stored.threshold, reviewFrom: stored.reviewFrom,
            solver: Solver(rawValue: stored.solver.rawValue) ?? .manyToOne, vetoKeys: stored.vetoKeys,
            vetoKeysDefaulted: vetoKeysDefaulted, blocking: stored.blocking)
    }

    /// The canonical JSON the store keeps.
    var storedText: String {
        get throws { try ContractEncoder().canonicalText(wire) }
    }
}
