import BlindmatchContract

/// The roles of a bearer token (`x-blindmatch-roles` in `Protocol/openapi.yaml`; `Protocol/service.md`, "Roles"):
/// the contract's `Role`, generated (`operator` is `._operator`, as a keyword).
public typealias Role = Components.Schemas.Role

/// The two sides of a project: the watch-list holder and the bulk-data holder (the contract's `PartyRole`).
public typealias PartyRole = Components.Schemas.PartyRole
