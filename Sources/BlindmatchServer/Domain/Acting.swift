import BlindmatchAudit

/// Who acted, as the audit log records it: the actor (SPEC §10.2), and the public id of the bearer token it acted
/// with, which every entry of a token holder's action names as `details.byToken` — so that two tokens of one party,
/// or the first operator token and a later one, are told apart.
struct Acting: Sendable, Equatable {
    var actor: AuditActor
    /// The token's public id (`t-…`); nil for the service's own actions.
    var tokenID: String?
}
