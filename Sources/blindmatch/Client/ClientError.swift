/// The one error type of the service client: a stable code, a reason for people, and where it was raised.
///
/// Reasons name the server, the request's route and what failed, never a bearer token, a secret or a record value.
/// A refusal by the server (`Protocol/openapi.yaml`, schema `Error`) keeps its HTTP status, `code` and `rule`, and
/// reads `server refused (403 forbiddenParty): <message> [<rule>]`.
struct ClientError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; tests and callers compare codes, not reasons.
    enum Code: String, Sendable, Equatable {
        /// The server answered with a 4xx or 5xx status (see ``status`` and ``serverCode``).
        case refused
        /// The server could not be reached, or the connection failed before a complete answer.
        case unreachable
        /// The server's answer is not what the contract says it should be.
        case invalidResponse
        /// No bearer token was given, or the one given is not a token.
        case missingToken
        /// A command-line argument or an input file is not usable.
        case invalidArgument
        /// The request would send the bearer token over plain HTTP to another machine.
        case insecureServer
        /// A private key file that others can read.
        case exposedSecret
    }

    /// What kind of failure.
    let code: Code
    /// Why, for people.
    let reason: String
    /// The HTTP status of a refusal, else nil.
    let status: Int?
    /// The `code` of the server's error body (`Protocol/openapi.yaml`, schema `Error`), else nil.
    let serverCode: String?
    /// The source file that raised it.
    let file: String
    /// The line that raised it.
    let line: Int

    /// Makes an error; `file` and `line` default to the place that raised it.
    init(
        _ code: Code, _ reason: String, status: Int? = nil, serverCode: String? = nil, file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.status = status
        self.serverCode = serverCode
        self.file = file
        self.line = line
    }

    /// A refusal: the server's status and error body, as `server refused (403 forbiddenParty): message [rule]`.
    static func refusal(
        status: Int, body: ServiceAPI._Error?, route: String, file: String = #fileID, line: Int = #line
    ) -> ClientError {
        let verb = status >= 500 ? "server failed" : "server refused"
        guard let body else {
            return ClientError(
                .refused, "\(verb) \(route) with status \(status) and no error body", status: status, file: file,
                line: line)
        }
        let rule = body.rule.map { " [\($0.printable)]" } ?? ""
        return ClientError(
            .refused, "\(verb) (\(status) \(body.code.rawValue.printable)): \(body.message.printable)\(rule)",
            status: status,
            serverCode: body.code.rawValue, file: file, line: line)
    }

    var description: String { reason }

    static func == (lhs: ClientError, rhs: ClientError) -> Bool {
        lhs.code == rhs.code && lhs.reason == rhs.reason && lhs.status == rhs.status
            && lhs.serverCode == rhs.serverCode
    }
}

extension ClientError: ReportableError {}

extension String {
    /// The text with control, zero-width and bidirectional formatting characters replaced by `?`, so that a
    /// message from the server cannot move the cursor, recolour the terminal or reorder what is shown.
    var printable: String {
        String(
            String.UnicodeScalarView(
                unicodeScalars.map { scalar in
                    switch scalar.properties.generalCategory {
                    case .control, .format, .lineSeparator, .paragraphSeparator: return "?"
                    default: return scalar
                    }
                }))
    }
}
