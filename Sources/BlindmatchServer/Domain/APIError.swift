/// A refusal answered to a client: its kind (which the HTTP layer turns into a status), a code from the closed list
/// of `Protocol/openapi.yaml` (`Error.code`), a message that names the rule (never a record value, token, bearer
/// token, secret or key) and, for refused token files, the SPEC rule as `blindmatch verify` prints it.
///
/// The store and the controllers throw it; only `HTTP/` knows what status each kind is.
public struct APIError: Error, CustomStringConvertible, Sendable {
    /// What kind of refusal, in the contract's order of checks (401 → 403 → 404 → 406/415/413/400 → 422 → 409).
    public enum Kind: Sendable, Equatable {
        case unauthorized, forbidden, notFound, methodNotAllowed
        case notAcceptable, unsupportedMediaType, contentTooLarge, badRequest, requestTimeout, tooManyRequests
        case unprocessableContent, conflict
        case internalServerError, serviceUnavailable, insufficientStorage
    }

    /// The contract's closed list of error codes (`Error.code`).
    public enum Code: String, Sendable, CaseIterable {
        case malformedRequest, truncatedUpload, unauthenticated, forbiddenRole, forbiddenProject, forbiddenParty
        case notGranted, notFound, methodNotAllowed, notAcceptable, nameTaken, keyIdInUse, keyInUse, projectClosed
        case uploadMissing, runNotFinished, runFinished, lastOperatorToken, partyNotRegistered, payloadTooLarge
        case unsupportedMediaType, invalidRequest, invalidPublicKey, incompatibleUploads
        case tokenFileStructure, tokenFileDigest, tokenFileUnsigned, tokenFileSignature, tokenFileSigner
        case tokenFileSchema, tokenFileKeyId, tokenFileParty, tokenFileIncompatible, tokenFileHeaderData
        case tokenFilePadding, tokenFilePresence, tokenFilePlaintext, uploadTooSlow, tooManyUploads
        case partyQuotaExceeded, insufficientStorage
        case `internal`, unavailable
    }

    public let kind: Kind
    public let code: Code
    public let message: String
    public let rule: String?

    public init(_ kind: Kind, _ code: Code, _ message: String, rule: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.rule = rule
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static let unauthenticated = APIError(.unauthorized, .unauthenticated, "a valid bearer token is required")

    static func malformed(_ message: String) -> APIError { APIError(.badRequest, .malformedRequest, message) }
    static func invalid(_ message: String) -> APIError { APIError(.unprocessableContent, .invalidRequest, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, .notFound, message) }
    static func conflict(_ code: Code, _ message: String) -> APIError { APIError(.conflict, code, message) }
    /// 409 `projectClosed`: the project no longer takes changes.
    static func projectClosed(_ id: String) -> APIError { conflict(.projectClosed, "project \(id) is closed") }
    static func forbidden(_ code: Code, _ message: String) -> APIError { APIError(.forbidden, code, message) }
    static func `internal`(_ message: String) -> APIError { APIError(.internalServerError, .internal, message) }
}
