/// The one error type of BlindmatchAudit: a stable code, a reason for people, and where it was raised.
///
/// Reasons name the rule that failed (`"SPEC §10.2: …"`) but never a record value, token or secret. Expected
/// outcomes, such as a log that does not verify, are values (``AuditVerification``), not errors.
public struct AuditError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; tests and callers compare codes, not reasons.
    public enum Code: String, Sendable, Equatable {
        /// An audit entry to be written, or one read back, does not have the shape of SPEC §10.2.
        case invalidAuditEntry
        /// An audit log read back does not hold together (SPEC §10.5).
        case invalidAuditLog
    }

    /// What kind of failure.
    public let code: Code
    /// Why, for people: names the rule, never a record value, token or secret.
    public let reason: String
    /// The source file that raised it.
    public let file: String
    /// The line that raised it.
    public let line: Int

    /// Makes an error; `file` and `line` default to the place that raised it.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { reason }

    public static func == (lhs: AuditError, rhs: AuditError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
