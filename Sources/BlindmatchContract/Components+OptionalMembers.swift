// The members that `Protocol/openapi.yaml` does not list as `required`, per schema: left out when nil rather than
// written as `null` (ContractEncoder). Every other schema's members are all required. A test
// (`ContractTests.optionalMembersMatchTheContract`) reads the contract and fails when this list and it differ.

extension Components.Schemas._Error: OptionalMembers {
    public static let optionalMembers: Set<String> = ["rule"]
}

extension Components.Schemas.PartyTokenRequest: OptionalMembers {
    public static let optionalMembers: Set<String> = ["expiresAt"]
}

extension Components.Schemas.StaffTokenRequest: OptionalMembers {
    public static let optionalMembers: Set<String> = ["expiresAt"]
}

extension Components.Schemas.PemPublicKeyInput: OptionalMembers {
    public static let optionalMembers: Set<String> = ["fingerprint"]
}

extension Components.Schemas.HexPublicKeyInput: OptionalMembers {
    public static let optionalMembers: Set<String> = ["fingerprint"]
}

extension Components.Schemas.MatchingSettings: OptionalMembers {
    public static let optionalMembers: Set<String> = ["threshold", "reviewFrom", "solver", "vetoKeys", "blocking"]
}

extension Components.Schemas.DisclosurePolicy: OptionalMembers {
    public static let optionalMembers: Set<String> = ["scoreDecimals"]
}

extension Components.Schemas.RunRequest: OptionalMembers {
    public static let optionalMembers: Set<String> = ["watchlistUpload", "bulkUpload"]
}

extension Components.Schemas.ResultRow: OptionalMembers {
    public static let optionalMembers: Set<String> = ["counterpartRow", "rule", "score", "status"]
}

extension Components.Schemas.ProjectRequest: OptionalMembers {
    public static let optionalMembers: Set<String> = ["runPolicy"]
}

extension Components.Schemas.RunPolicy: OptionalMembers {
    public static let optionalMembers: Set<String> = ["requesters", "approvers", "minimumRecords", "runsPerDay"]
}

extension Components.Schemas.RunPolicy.MinimumRecordsPayload: OptionalMembers {
    public static let optionalMembers: Set<String> = ["watchlist", "bulk"]
}

extension Components.Schemas.FittedRunReport: OptionalMembers {
    public static let optionalMembers: Set<String> = ["thresholdChosen", "thresholdFallback"]
}

extension Components.Schemas.UnfittedRunReport: OptionalMembers {
    public static let optionalMembers: Set<String> = ["thresholdFallback"]
}
