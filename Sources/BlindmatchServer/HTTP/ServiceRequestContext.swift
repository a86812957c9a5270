import Hummingbird

/// The request context of every route: Hummingbird's core context and the caller, once the authentication
/// middleware has decided who it is.
struct ServiceRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The authenticated token; nil only on routes open to anyone.
    var caller: TokenRecord?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The caller, for routes that require one.
    var token: TokenRecord {
        get throws {
            guard let caller else { throw APIError.unauthenticated }
            return caller
        }
    }

    /// A path parameter of the matched route (an empty string when absent, which no id matches).
    func parameter(_ name: String) -> String {
        parameters.get(name) ?? ""
    }

    /// The route template, as the audit log records a request: `GET /projects/{projectId}`, never the path's values.
    func route(_ request: Request) -> String {
        "\(request.method.rawValue) \(endpointPath ?? "")"
    }
}
