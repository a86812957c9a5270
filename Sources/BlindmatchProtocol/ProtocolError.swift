/// The one error type of BlindmatchProtocol: a stable code, a reason for people, and where it was raised.
///
/// Reasons name the rule that failed (`"SPEC §6.3: …"`) and the place in the input (file, line, field) but never a
/// raw value, token or secret: they may be shown to an operator or logged.
public struct ProtocolError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; tests and callers compare codes, not reasons.
    public enum Code: String, Sendable, Equatable {
        case crypto
        case invalidSecret
        case insecureSecretFile
        case invalidSigningKey
        case invalidSchema
        case invalidJSON
        case invalidCSV
        case headerMismatch
        case invalidTokenFile
        case digestMismatch
        case signatureInvalid
        case incompatible
        case io
        case invalidArgument
    }

    public let code: Code
    public let reason: String
    public let file: String
    public let line: Int

    /// Makes an error; `file` and `line` default to the place that raised it.
    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { reason }

    public static func == (lhs: ProtocolError, rhs: ProtocolError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason
    }
}
