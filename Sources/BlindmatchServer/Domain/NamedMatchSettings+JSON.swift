import BlindmatchMatching
import BlindmatchProtocol

extension NamedMatchSettings {
    /// The `MatchingSettingsResolved` schema, which is also how the store keeps a project's and a run's settings.
    var json: JSONValue {
        .object([
            ("threshold", .string(threshold)), ("reviewFrom", reviewFrom.map(JSONValue.string) ?? .null),
            ("solver", .string(solver.rawValue)), ("vetoKeys", .array(vetoKeys.map(JSONValue.string))),
            ("blocking", .bool(blocking)),
        ])
    }

    /// Settings as the store keeps them: their JSON, and whether the veto keys were defaulted (a column of its own).
    init(stored text: String, vetoKeysDefaulted: Bool) throws {
        let value = try JSONValue(parsing: text, source: "settings")
        self.init(
            threshold: value["threshold"]?.stringValue ?? "1", reviewFrom: value["reviewFrom"]?.stringValue,
            solver: value["solver"]?.stringValue.flatMap(Solver.init(rawValue:)) ?? .manyToOne,
            vetoKeys: value["vetoKeys"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            vetoKeysDefaulted: vetoKeysDefaulted, blocking: value["blocking"]?.boolValue ?? true)
    }
}
