import BlindmatchProtocol

/// What each party role may read (`Protocol/service.md`, "Disclosure policy").
struct DisclosurePolicy: Sendable, Equatable {
    struct Grant: Sendable, Equatable {
        var role: PartyRole
        /// In the order they are served (``ResultField`` order).
        var fields: [ResultField]
        var statuses: [ResultStatus]
    }

    var scoreDecimals: Int
    var grants: [Grant]

    func grant(for role: PartyRole) -> Grant? { grants.first { $0.role == role } }

    var json: JSONValue {
        .object([
            ("scoreDecimals", .number(String(scoreDecimals))),
            (
                "grants",
                .array(
                    grants.map { grant in
                        .object([
                            ("role", .string(grant.role.rawValue)),
                            ("fields", .array(grant.fields.map { .string($0.rawValue) })),
                            ("statuses", .array(grant.statuses.map { .string($0.rawValue) })),
                        ])
                    })
            ),
        ])
    }

    init(scoreDecimals: Int, grants: [Grant]) {
        self.scoreDecimals = scoreDecimals
        self.grants = grants
    }

    /// A policy as the store keeps it (its canonical JSON).
    init(stored text: String) throws {
        let value = try JSONValue(parsing: text, source: "disclosure")
        scoreDecimals = value["scoreDecimals"]?.intValue ?? 2
        grants = (value["grants"]?.arrayValue ?? []).compactMap { grant in
            guard let role = grant["role"]?.stringValue.flatMap(PartyRole.init(rawValue:)) else { return nil }
            return Grant(
                role: role,
                fields: grant["fields"]?.arrayValue?.compactMap { $0.stringValue.flatMap(ResultField.init) } ?? [],
                statuses: grant["statuses"]?.arrayValue?.compactMap { $0.stringValue.flatMap(ResultStatus.init) } ?? [])
        }
    }
}
