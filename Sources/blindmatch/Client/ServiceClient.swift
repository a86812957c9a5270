import AsyncHTTPClient
import BlindmatchContract
import BlindmatchProtocol
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The matching service's HTTP API (`Protocol/openapi.yaml`) as the CLI uses it: one shared `HTTPClient`, the
/// caller's bearer token on every request, and every failure turned into a ``ClientError``.
///
/// Made by ``ServiceConnection/withClient(_:)``, which also shuts the `HTTPClient` down; do not keep one beyond
/// that call. Redirects are never followed (the token would go with them), and the token is sent only to
/// ``server``: a `Link` header is read only for its cursor, never fetched as given.
struct ServiceClient: Sendable {
    /// The service's base URL, without a trailing slash (`http://127.0.0.1:8080`).
    let server: String
    private let token: BearerToken
    private let http: HTTPClient

    /// How long a JSON request and its answer may take in all.
    static let jsonTimeout = TimeAmount.seconds(120)
    /// The largest JSON answer read (a page of 100,000 result rows is about 8 MB).
    static let maximumJSONBytes = 64 << 20

    init(server: String, token: BearerToken, http: HTTPClient) {
        self.server = server
        self.token = token
        self.http = http
    }

    /// Sends a request and returns the response once its head has arrived with a 2xx status; the body is left to
    /// the caller to stream (within the returned response's lifetime).
    ///
    /// - Throws: ``ClientError`` `.refused` with the server's `Error` body for any other status (`.invalidResponse`
    ///   for a redirect, which is never followed), `.unreachable` when the connection fails; an error thrown while
    ///   producing `body` (reading a file) is passed through.
    func response(
        _ endpoint: Endpoint, accept: String = "application/json", body: HTTPClientRequest.Body? = nil,
        contentType: String? = nil, deadline: NIODeadline = .now() + jsonTimeout
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: server + endpoint.pathAndQuery)
        request.method = endpoint.method
        request.headers.add(name: "Authorization", value: token.authorizationHeader)
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "blindmatch/\(BlindmatchVersion.version)")
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        request.body = body
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: deadline)
        } catch let error as any ReportableError {
            throw error
        } catch {
            throw unreachable(endpoint, error)
        }
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return response }
        if (300..<400).contains(status) {
            throw ClientError(
                .invalidResponse,
                "\(server) answered \(endpoint) with a redirect (\(status)); the client does not follow redirects, "
                    + "so that the bearer token goes only to --server: give the service's own URL")
        }
        let bytes = try? await response.body.collect(upTo: 1 << 16)
        let errorBody = bytes.flatMap {
            try? JSONDecoder().decode(ServiceAPI._Error.self, from: Data($0.readableBytesView))
        }
        throw ClientError.refusal(status: status, body: errorBody, route: "\(endpoint)")
    }

    /// Sends a request with an optional JSON body and decodes the JSON answer.
    func json<Response: Decodable>(
        _ endpoint: Endpoint, sending body: (some Encodable)? = String?.none, as type: Response.Type = Response.self
    ) async throws -> Response {
        let (_, bytes) = try await jsonBytes(endpoint, sending: body)
        return try decode(type, from: bytes, for: endpoint)
    }

    /// Sends a request with an optional JSON body and returns the response with its whole body, which must be
    /// JSON (`Content-Type: application/json`).
    func jsonBytes(
        _ endpoint: Endpoint, sending body: (some Encodable)? = String?.none
    ) async throws -> (HTTPClientResponse, ByteBuffer) {
        var requestBody: HTTPClientRequest.Body?
        if let body {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            requestBody = .bytes(ByteBuffer(bytes: try encoder.encode(body)))
        }
        let response = try await self.response(
            endpoint, body: requestBody, contentType: requestBody == nil ? nil : "application/json")
        try Self.expect(response, contentType: "application/json", for: endpoint, from: server)
        return (response, try await collect(response, upTo: Self.maximumJSONBytes, for: endpoint))
    }

    /// Every item of a paginated listing (`items`, `nextCursor`), following the cursor to the last page.
    func all<Page: ListingPage>(_ endpoint: Endpoint, pages type: Page.Type) async throws -> [Page.Item] {
        var items: [Page.Item] = []
        var listing = endpoint
        listing.query.append(("limit", "1000"))
        try await followCursor(listing) { page in
            let result: Page = try await json(page)
            items += result.items
            return result.nextCursor
        }
        return items
    }

    /// Walks a paginated endpoint: calls `page` with the request for each page (the first without a cursor) and
    /// follows the cursor it returns until there is none. A server that answers a cursor with itself is refused.
    func followCursor(_ endpoint: Endpoint, page: (Endpoint) async throws -> String?) async throws {
        var cursor: String?
        repeat {
            var request = endpoint
            if let cursor { request.query.append(("cursor", cursor)) }
            let next = try await page(request)
            guard next == nil || next != cursor else {
                throw ClientError(.invalidResponse, "\(server) answered \(endpoint) with the same cursor twice")
            }
            cursor = next
        } while cursor != nil
    }

    /// The whole body of a response, at most `limit` bytes.
    func collect(_ response: HTTPClientResponse, upTo limit: Int, for endpoint: Endpoint) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ClientError(
                .invalidResponse, "\(server) answered \(endpoint) with more than \(limit) bytes; the client stops there"
            )
        } catch {
            throw unreachable(endpoint, error)
        }
    }

    /// Passes each part of a response's body to `handle` as it arrives, without holding the whole body.
    func stream(
        _ response: HTTPClientResponse, for endpoint: Endpoint, _ handle: (ByteBuffer) throws -> Void
    ) async throws {
        var iterator = response.body.makeAsyncIterator()
        while true {
            let part: ByteBuffer?
            do {
                part = try await iterator.next()
            } catch {
                throw unreachable(endpoint, error)
            }
            guard let part else { return }
            try handle(part)
        }
    }

    /// Decodes a JSON answer, or says which request's answer is not the contract's shape (never its content).
    func decode<Response: Decodable>(
        _ type: Response.Type, from bytes: ByteBuffer, for endpoint: Endpoint
    ) throws -> Response {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes.readableBytesView))
        } catch let error as ClientError {
            throw error
        } catch let error as DecodingError {
            throw ClientError(
                .invalidResponse,
                "\(server) answered \(endpoint) with JSON that is not the contract's \(Self.name(of: type)): "
                    + error.summary)
        } catch {
            throw ClientError(
                .invalidResponse, "\(server) answered \(endpoint) with a body that is not JSON")
        }
    }

    /// Refuses a 2xx answer whose `Content-Type` is not `expected` (parameters such as `charset` aside).
    static func expect(
        _ response: HTTPClientResponse, contentType expected: String, for endpoint: Endpoint, from server: String
    ) throws {
        let given = response.headers.first(name: "Content-Type") ?? ""
        let mediaType = given.split(separator: ";", omittingEmptySubsequences: false).first ?? ""
        guard mediaType.filter({ $0 != " " && $0 != "\t" }).lowercased() == expected else {
            throw ClientError(
                .invalidResponse,
                "\(server) answered \(endpoint) with Content-Type \"\(given.printable)\", not \(expected)")
        }
    }

    private func unreachable(_ endpoint: Endpoint, _ error: any Error) -> ClientError {
        ClientError(.unreachable, "cannot reach the matching service at \(server) (\(endpoint)): \(Self.reason(error))")
    }

    /// A short reason for a connection failure: `connection refused`, `timed out connecting`.
    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout: return "timed out connecting"
            case .readTimeout: return "timed out waiting for the answer"
            case .deadlineExceeded: return "no complete answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .cancelled: return "cancelled"
            default: return "\(error)"
            }
        case let error as NIOConnectionError:
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return error.connectionErrors.first.map { reason($0.error) } ?? "cannot connect to \(error.host)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        default:
            return "\(error)"
        }
    }

    private static func name(of type: Any.Type) -> String {
        String(describing: type).split(separator: ".").last.map(String.init) ?? "\(type)"
    }
}
