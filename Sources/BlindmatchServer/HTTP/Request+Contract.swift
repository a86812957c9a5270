import BlindmatchProtocol
import Foundation
import Hummingbird

/// How requests are read, as the contract says: content negotiation, bodies, listing cursors.
extension Request {
    /// The `Accept`ed type among `offered` (the first is the default for none, `*/*` or `type/*`); 406 otherwise.
    ///
    /// Each media range is read without its parameters; empty ranges (`Accept: ;`, `a/b,,`) are skipped, and a
    /// header with none at all counts as no preference. Request data is never subscripted: it may have any shape.
    func negotiate(_ offered: [String]) throws -> String {
        let wanted = (headers[.accept] ?? "").split(separator: ",").compactMap { range -> String? in
            let type = (range.split(separator: ";", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces).lowercased()
            return type.isEmpty ? nil : type
        }
        guard let fallback = offered.first, !wanted.isEmpty else { return offered.first ?? "application/json" }
        for type in wanted {
            if type == "*/*" { return fallback }
            if let exact = offered.first(where: { $0 == type }) { return exact }
            if type.hasSuffix("/*"), let family = offered.first(where: { $0.hasPrefix(type.dropLast()) }) {
                return family
            }
        }
        throw APIError(
            .notAcceptable, .notAcceptable, "this resource is served as \(offered.joined(separator: " or "))")
    }

    /// The body's media type, lower-cased, without parameters (`application/json; charset=utf-8` gives
    /// `application/json`).
    var mediaType: String? {
        headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The largest JSON request body.
    static let maxJSONBytes = 1 << 20

    /// The JSON body: 415 unless `application/json`, 413 over 1 MiB, 400 unless it parses. `optional` bodies may be
    /// absent (no content at all).
    func jsonBody(optional: Bool = false) async throws -> JSONValue? {
        let length = headers[.contentLength].flatMap { Int($0) }
        let chunked = headers[.transferEncoding] != nil
        if optional && (length ?? 0) == 0 && !chunked { return nil }
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, .unsupportedMediaType, "the body must be application/json")
        }
        let tooLarge = APIError(
            .contentTooLarge, .payloadTooLarge, "JSON bodies are limited to \(Self.maxJSONBytes) bytes")
        if let length, length > Self.maxJSONBytes { throw tooLarge }
        var request = self
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: Self.maxJSONBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        }
        do {
            return try JSONValue(parsing: Array(buffer.readableBytesView), source: "body")
        } catch {
            throw APIError.malformed("the body is not valid JSON")
        }
    }

    /// A required JSON body.
    func requiredJSONBody() async throws -> JSONValue {
        guard let body = try await jsonBody() else { throw APIError.malformed("a body is required") }
        return body
    }

    func query(_ name: String) -> String? {
        uri.queryParameters[Substring(name)].map { String($0) }
    }

    /// `limit` and `cursor` of a newest-first listing: the cursor names the listing and the ordinal to continue
    /// before.
    func page(listing: String, defaultLimit: Int = 100, maximum: Int = 1000) throws -> PageRequest {
        let limit = try self.limit(defaultLimit: defaultLimit, maximum: maximum)
        guard let cursor = query("cursor") else { return PageRequest(limit: limit, before: nil) }
        guard cursor.hasPrefix(listing + "_"), let value = Int(cursor.dropFirst(listing.count + 1)), value > 0 else {
            throw APIError.malformed("cursor is not one this listing gave")
        }
        return PageRequest(limit: limit, before: value)
    }

    func limit(defaultLimit: Int, maximum: Int) throws -> Int {
        guard let text = query("limit") else { return defaultLimit }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw APIError.malformed("limit must be an integer from 1 to \(maximum)")
        }
        return value
    }
}

/// The `…Page` body of a listing: its items and the cursor of the next page, if any.
enum Listing {
    static func response<Item>(_ name: String, _ page: Page<Item>, _ render: (Item) -> JSONValue) -> Response {
        let next = page.nextBefore.map { JSONValue.string("\(name)_\($0)") } ?? .null
        return JSONResponse.make(.object([("items", .array(page.items.map(render))), ("nextCursor", next)]))
    }
}
