import Hummingbird
import Logging
import Synchronization

/// Turns every error into the contract's JSON `Error` body: a refusal into its status, Hummingbird's own "no route"
/// into 404 `notFound` (or 405 `methodNotAllowed` when the path has routes for other methods), anything else into a
/// logged 500 `internal` that tells the client nothing more.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    /// The path templates of every route, to tell an unknown path from a method the path does not allow.
    let templates: RouteTemplates
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var response = try refusal(for: error, request).response(from: request, context: context)
            // A refusal may come before the body was read. Reusing the connection would then make the next request
            // depend on the client having sent exactly the body it declared; closing it does not.
            if request.headers[.contentLength].map({ $0 != "0" }) ?? (request.headers[.transferEncoding] != nil) {
                response.headers[.connection] = "close"
            }
            return response
        }
    }

    private func refusal(for error: any Error, _ request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError where error.status == .notFound:
            let path = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
            let known = templates.all.contains { template in
                template.count == path.count
                    && zip(template, path).allSatisfy { segment, part in segment.hasPrefix("{") || segment == part }
            }
            return known
                ? APIError(
                    .methodNotAllowed, .methodNotAllowed, "this resource does not allow \(request.method.rawValue)")
                : APIError.notFound("no such resource")
        case let error as HTTPError where error.status == .contentTooLarge:
            return APIError(.contentTooLarge, .payloadTooLarge, "the body is too large")
        default:
            logger.error("request failed: \(ServerError.logText(error))")
            return APIError.internal("the server could not complete the request")
        }
    }
}

/// The path templates of every registered route, split into segments; set once, after the routes are registered
/// (the error middleware must be added to the router before them to wrap them).
final class RouteTemplates: Sendable {
    private let templates = Mutex<[[String]]>([])

    var all: [[String]] { templates.withLock { $0 } }

    func set(_ all: [[String]]) { templates.withLock { $0 = all } }
}

/// Headers on every reply: no MIME sniffing, and nothing stored by caches (replies carry tokens, results and logs);
/// under TLS, HSTS.
struct SafetyHeadersMiddleware: RouterMiddleware {
    typealias Context = ServiceRequestContext

    /// Whether the service speaks TLS itself (then browsers are told to use nothing else for a year).
    let strictTransportSecurity: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        if strictTransportSecurity { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        return response
    }
}
