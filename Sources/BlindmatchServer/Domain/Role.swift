/// The roles of a bearer token (`x-blindmatch-roles` in `Protocol/openapi.yaml`; `Protocol/service.md`, "Roles").
public enum Role: String, Sendable, Codable, CaseIterable {
    case `operator`, auditor, party
}

/// The two sides of a project: the watch-list holder and the bulk-data holder.
public enum PartyRole: String, Sendable, Codable, CaseIterable {
    case watchlist, bulk
}
