/// The one error type of BlindmatchServer: a stable code, a reason for people, and where it was raised.
///
/// Reasons name the rule that failed but never a record value, token or secret: they may be
/// shown to an operator, logged, or (later) returned in an HTTP body.
public struct ServerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; tests and callers compare codes, not reasons.
    public enum Code: String, Sendable, Equatable {
        /// The service's data directory or store cannot be read or written.
        case storage
        /// The service cannot start (bad options, a port in use, a data directory others can read).
        case startup
        /// The stored audit log does not verify (SPEC §10.5): the service stops rather than extend or sign it.
        case auditChain
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

    public static func == (lhs: ServerError, rhs: ServerError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}

extension ServerError {
    /// How an error is named in the server's log: a `ServerError` by its code, reason and place (reasons never hold
    /// a record value, token or secret), anything else by its type alone.
    static func logText(_ error: any Error) -> String {
        guard let error = error as? ServerError else { return String(describing: type(of: error)) }
        return "\(error.code.rawValue): \(error.reason) (\(error.file):\(error.line))"
    }
}
