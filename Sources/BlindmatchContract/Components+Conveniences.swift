/// A page of a listing (`TokenPage`, `ProjectPage`, `UploadPage`, `RunPage`): `items`, and the `nextCursor` of the
/// next page, null on the last.
public protocol ListingPage: Decodable, Sendable {
    associatedtype Item: Decodable & Sendable
    var items: [Item] { get }
    var nextCursor: String? { get }
}

extension Components.Schemas.TokenPage: ListingPage {}
extension Components.Schemas.ProjectPage: ListingPage {}
extension Components.Schemas.UploadPage: ListingPage {}
extension Components.Schemas.RunPage: ListingPage {}

extension Components.Schemas.RunStatus {
    /// Whether the run has ended (succeeded or failed): `queued ──▶ running ──▶ succeeded | failed`.
    public var isFinished: Bool { self == .succeeded || self == .failed }
}

extension Components.Schemas.TokenRequest {
    /// A party token's request: a registered party of one project.
    public static func party(project: String, party: String, expiresAt: String? = nil) -> Self {
        .PartyTokenRequest(.init(role: .party, project: project, party: party, expiresAt: expiresAt))
    }

    /// An auditor's or operator's token, service-wide.
    public static func staff(auditor: Bool, name: String, expiresAt: String? = nil) -> Self {
        .StaffTokenRequest(.init(role: auditor ? .auditor : ._operator, name: name, expiresAt: expiresAt))
    }
}

extension Components.Schemas.Role {
    /// The operator's role, by the contract's name (the generator spells the keyword `_operator`).
    public static var `operator`: Self { ._operator }
}

extension Components.Schemas._Error.CodePayload {
    /// `internal`, by the contract's name (the generator spells the keyword `_internal`).
    public static var `internal`: Self { ._internal }
}
