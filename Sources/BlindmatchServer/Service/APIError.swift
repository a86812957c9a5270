import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// An error answered to a client: a status, a code from the closed list of `Protocol/openapi.yaml` (`Error.code`),
/// a message that names the rule (never a record value, token, bearer token, secret or key) and, for refused token
/// files, the SPEC rule as `blindmatch verify` prints it.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let rule: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, rule: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.rule = rule
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The `Error` body.
    var body: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("code", .string(code)), ("message", .string(message))]
        if let rule { members.append(("rule", .string(rule))) }
        return .object(members)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(body, status: status)
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    static let unauthenticated = APIError(.unauthorized, "unauthenticated", "a valid bearer token is required")

    static func malformed(_ message: String) -> APIError { APIError(.badRequest, "malformedRequest", message) }
    static func invalid(_ message: String) -> APIError { APIError(.unprocessableContent, "invalidRequest", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "notFound", message) }
    static func conflict(_ code: String, _ message: String) -> APIError { APIError(.conflict, code, message) }
    /// 409 `projectClosed`: the project no longer takes changes.
    static func projectClosed(_ id: String) -> APIError { conflict("projectClosed", "project \(id) is closed") }
    static func forbidden(_ code: String, _ message: String) -> APIError { APIError(.forbidden, code, message) }
}

/// JSON responses: compact canonical JSON (SPEC §2.1) with `application/json`.
enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let bytes = value.canonicalBytes + [0x0A]
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
