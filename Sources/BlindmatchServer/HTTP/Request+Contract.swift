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

    /// The JSON body's bytes: 415 unless `application/json`, 413 over 1 MiB, 400 unless it parses (SPEC §2.1's
    /// parser: one value, no duplicate members). `optional` bodies may be absent (no content at all).
    private func jsonBytes(optional: Bool) async throws -> (bytes: [UInt8], value: JSONValue)? {
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
        let bytes = Array(buffer.readableBytesView)
        do {
            return (bytes, try JSONValue(parsing: bytes, source: "body"))
        } catch {
            throw APIError.malformed("the body is not valid JSON (one value, no member twice)")
        }
    }

    /// The body as the contract's generated type `Body`: `jsonBytes`'s checks, then its shape (400
    /// `malformedRequest` naming the member, never its value). `null` is refused except at `nullable` paths
    /// (`$.matching.reviewFrom`): the generated types read an optional member's null as its absence.
    func contractBody<Body: Decodable>(
        _ type: Body.Type, optional: Bool = false, nullable: Set<String> = []
    ) async throws -> Body? {
        guard let (bytes, value) = try await jsonBytes(optional: optional) else { return nil }
        return try ContractBody.decode(type, from: bytes, parsed: value, nullable: nullable)
    }

    /// A required body of the contract's type `Body`.
    func contractBody<Body: Decodable>(_ type: Body.Type, nullable: Set<String> = []) async throws -> Body {
        guard let body = try await contractBody(type, optional: false, nullable: nullable) else {
            throw APIError.malformed("a body is required")
        }
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
    static func response<Item, Body: Encodable>(
        _ name: String, _ page: Page<Item>, _ body: ([Item], String?) -> Body
    ) throws -> Response {
        try JSONResponse.make(body(page.items, page.nextBefore.map { "\(name)_\($0)" }))
    }
}
