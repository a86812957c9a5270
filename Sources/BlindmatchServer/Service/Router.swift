import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import HTTPTypes
import Hummingbird

/// One request on its way through the service: the matched route, its path parameters and the caller.
struct Call: Sendable {
    let request: Request
    let route: Route
    let parameters: [String: String]
    /// The authenticated token (nil only for routes open to anyone).
    let caller: TokenRecord?

    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// The caller, for routes that require one.
    var token: TokenRecord {
        get throws {
            guard let caller else { throw APIError.unauthenticated }
            return caller
        }
    }

    func query(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map { String($0) }
    }
}

/// A route of `Protocol/openapi.yaml`: method, path template and the roles its `x-blindmatch-roles` allows.
struct Route: Sendable {
    enum Access: Sendable, Equatable {
        case anyone
        case roles(Set<TokenRecord.Role>)
    }

    let method: HTTPRequest.Method
    let template: String
    let access: Access
    let handler: @Sendable (MatchingService, Call) async throws -> Response
    let segments: [String]

    init(
        _ method: HTTPRequest.Method, _ template: String, _ access: Access,
        _ handler: @escaping @Sendable (MatchingService, Call) async throws -> Response
    ) {
        self.method = method
        self.template = template
        self.access = access
        self.handler = handler
        self.segments = template.split(separator: "/").map(String.init)
    }

    /// The path parameters when `path` fits this route's template.
    func match(_ path: [Substring]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, path) {
            if segment.hasPrefix("{") {
                parameters[String(segment.dropFirst().dropLast())] = String(part)
            } else if segment != part {
                return nil
            }
        }
        return parameters
    }

    /// `GET /projects/{projectId}`: what the audit log records of a request, never the path's values.
    var description: String { "\(method.rawValue) \(template)" }
}

/// The service's HTTP responder: finds the route, authenticates, checks role and scope (in the order of the
/// contract: 401, then 403 before anything is looked up), audits refusals, and turns every error into the JSON
/// `Error` body.
struct ServiceResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    let service: MatchingService
    let routes: [Route]

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        do {
            return try await dispatch(request)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch {
            service.logger.error("request failed: \(ServerError.logText(error))")
            return try APIError(.internalServerError, "internal", "the server could not complete the request")
                .response(from: request, context: context)
        }
    }

    private func dispatch(_ request: Request) async throws -> Response {
        let path = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
        let candidates = routes.compactMap { route in route.match(path).map { (route, $0) } }
        guard !candidates.isEmpty else { throw APIError.notFound("no such resource") }
        guard let (route, parameters) = candidates.first(where: { $0.0.method == request.method }) else {
            throw APIError(
                .methodNotAllowed, "methodNotAllowed", "this resource does not allow \(request.method.rawValue)")
        }
        guard case .roles(let roles) = route.access else {
            return try await route.handler(
                service, Call(request: request, route: route, parameters: parameters, caller: nil))
        }
        let caller = try await authenticate(request, route: route)
        do {
            guard roles.contains(caller.role) else {
                throw APIError.forbidden("forbiddenRole", "the \(caller.role.rawValue) role cannot do this")
            }
            if caller.role == .party {
                if let project = parameters["projectId"], project != caller.project {
                    throw APIError.forbidden("forbiddenProject", "this token belongs to another project")
                }
                if let party = parameters["party"], party != caller.party {
                    throw APIError.forbidden("forbiddenParty", "this token belongs to another party")
                }
            }
            return try await route.handler(
                service, Call(request: request, route: route, parameters: parameters, caller: caller))
        } catch let error as APIError where error.status == .forbidden {
            try await service.auditRefusal(actor: caller.actor, reason: error.code, route: route)
            throw error
        }
    }

    /// The token behind `Authorization: Bearer …`; 401 for none, a malformed, unknown, expired or revoked one.
    /// A presented but invalid token is audited; no header at all is not (anonymous noise).
    private func authenticate(_ request: Request, route: Route) async throws -> TokenRecord {
        guard let header = request.headers[.authorization] else { throw APIError.unauthenticated }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", let token = BearerToken.hash(String(parts[1])),
            let record = try await service.token(hash: token)
        else {
            try await service.auditRefusal(actor: .system, reason: "unauthenticated", route: route)
            throw APIError.unauthenticated
        }
        guard record.isValid(at: AuditTime.now().text) else {
            // A revoked or expired token: the requester is known (SPEC §10.2, access.refused).
            try await service.auditRefusal(actor: record.actor, reason: "unauthenticated", route: route)
            throw APIError.unauthenticated
        }
        return record
    }
}

/// Bearer tokens: `bm_` and 43 base64url characters (32 random bytes); the store keeps only the SHA-256.
enum BearerToken {
    static func make() throws -> String {
        "bm_" + Base64URL.encode(try SecureRandom.bytes(32))
    }

    /// The stored hash of a presented token, or nil when it does not have a token's shape.
    static func hash(_ token: String) -> [UInt8]? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 46, token.hasPrefix("bm_"),
            utf8[3...].allSatisfy({ Base64URL.alphabet.contains($0) })
        else { return nil }
        return SHA256Hasher.hash(utf8)
    }
}

enum Base64URL {
    static let alphabet = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8))

    static func encode(_ bytes: [UInt8]) -> String {
        var text = Base64.encode(bytes)
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}

extension TokenRecord {
    func isValid(at now: String) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}
