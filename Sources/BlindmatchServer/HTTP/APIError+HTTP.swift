import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

extension APIError: HTTPResponseError {
    /// The HTTP status of each kind of refusal.
    public var status: HTTPResponse.Status {
        switch kind {
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .notAcceptable: .notAcceptable
        case .unsupportedMediaType: .unsupportedMediaType
        case .contentTooLarge: .contentTooLarge
        case .badRequest: .badRequest
        case .requestTimeout: .requestTimeout
        case .tooManyRequests: .tooManyRequests
        case .unprocessableContent: .unprocessableContent
        case .conflict: .conflict
        case .internalServerError: .internalServerError
        case .serviceUnavailable: .serviceUnavailable
        case .insufficientStorage: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
        }
    }

    /// The `Error` body.
    var body: Components.Schemas._Error { .init(code: code, message: message, rule: rule) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(body, status: status)
        if kind == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }
}

/// JSON responses: compact canonical JSON (SPEC §2.1) with `application/json`.
enum JSONResponse {
    /// A body of the contract's generated types, written by ``ContractEncoder`` (`null` for a required member that
    /// is nil).
    static func make(
        _ body: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) throws -> Response {
        make(try ContractEncoder().encode(body), status: status, headers: headers)
    }

    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let bytes = value.canonicalBytes + [0x0A]
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    /// `Blindmatch-Receipt`: the audit entry that records the action, and the latest checkpoint (Protocol/service.md,
    /// "Receipts").
    static let blindmatchReceipt: HTTPField.Name = {
        guard let name = HTTPField.Name("Blindmatch-Receipt") else { preconditionFailure("a valid field name") }
        return name
    }()
}
