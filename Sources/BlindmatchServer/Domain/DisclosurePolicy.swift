import BlindmatchContract

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

    /// The policy as a project states it (`Project.disclosure`), which is also how the store keeps it.
    var wire: Components.Schemas.Project.DisclosurePayload {
        .init(scoreDecimals: scoreDecimals, grants: grants.map(\.wire))
    }

    /// The canonical JSON the store keeps.
    var storedText: String {
        get throws { try ContractEncoder().canonicalText(wire) }
    }

    init(scoreDecimals: Int, grants: [Grant]) {
        self.scoreDecimals = scoreDecimals
        self.grants = grants
    }

    /// A policy as the store keeps it (its canonical JSON).
    init(stored text: String) throws {
        let stored = try ContractDecoder.decode(
            Components.Schemas.Project.DisclosurePayload.self, from: text, source: "disclosure")
        self.init(scoreDecimals: stored.scoreDecimals, grants: stored.grants.map(Grant.init(wire:)))
    }
}

extension DisclosurePolicy.Grant {
    /// `DisclosureGrant`.
    var wire: Components.Schemas.DisclosureGrant { .init(role: role, fields: fields, statuses: statuses) }

    init(wire: Components.Schemas.DisclosureGrant) {
        self.init(role: wire.role, fields: wire.fields, statuses: wire.statuses)
    }
}
