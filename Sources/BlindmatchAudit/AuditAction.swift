/// What an audit entry records: one name from the closed list of SPEC §10.2.
///
/// The list is closed so that an auditor knows every kind of event the matcher can log; a verifier refuses a name
/// it does not know (a log from a newer matcher fails closed). Adding a case is a change to SPEC §10.2.
public enum AuditAction: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The operator created a project (its schema and disclosure policy).
    case projectCreated = "project.created"
    /// The operator closed a project; its token files and results are to be destroyed.
    case projectClosed = "project.closed"
    /// The operator registered a party and its public signing key in a project.
    case partyRegistered = "party.registered"
    /// The operator issued a bearer token to a party, an auditor or an operator.
    case tokenIssued = "token.issued"
    /// A party activated its token by signing the token's challenge with its registered key.
    case tokenActivated = "token.activated"
    /// The operator revoked a bearer token (or a key rotation revoked the party's tokens).
    case tokenRevoked = "token.revoked"
    /// A party's token file passed the checks on arrival and was stored.
    case uploadAccepted = "upload.accepted"
    /// A party's token file failed a check on arrival and was not stored.
    case uploadRefused = "upload.refused"
    /// A party withdrew one of its uploads: no run uses it after this.
    case uploadWithdrawn = "upload.withdrawn"
    /// A matching run was requested.
    case runQueued = "run.queued"
    /// A party the project's run policy names as an approver approved a run.
    case runApproved = "run.approved"
    /// The matcher began a run.
    case runStarted = "run.started"
    /// A run ended with results.
    case runSucceeded = "run.succeeded"
    /// A run ended without results.
    case runFailed = "run.failed"
    /// A party read its results of a run.
    case resultRead = "result.read"
    /// A request was refused for want of authority (unknown or revoked token, wrong role or project).
    case accessRefused = "access.refused"
    /// The audit log was exported.
    case auditExported = "audit.exported"
    /// The matcher signed the chain up to the entry before this one (SPEC §10.4).
    case checkpoint = "checkpoint"

    public var description: String { rawValue }
}
