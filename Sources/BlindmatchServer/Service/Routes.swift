import BlindmatchProtocol
import GRDB
import Hummingbird

extension MatchingService {
    /// Every operation of `Protocol/openapi.yaml`, with the roles of its `x-blindmatch-roles`.
    static let routes: [Route] = [
        Route(.get, "/healthz", .anyone) { service, _ in try await service.health() },
        Route(.get, "/metrics", .roles([.operator])) { service, call in try await service.metrics(call) },
        Route(.get, "/me", .roles([.operator, .auditor, .party])) { service, call in try service.me(call) },
        Route(.post, "/tokens", .roles([.operator])) { service, call in try await service.issueToken(call) },
        Route(.get, "/tokens", .roles([.operator])) { service, call in try await service.listTokens(call) },
        Route(.get, "/tokens/{tokenId}", .roles([.operator])) { service, call in try await service.getToken(call) },
        Route(.delete, "/tokens/{tokenId}", .roles([.operator])) { service, call in
            try await service.revokeToken(call)
        },
        Route(.post, "/projects", .roles([.operator])) { service, call in try await service.createProject(call) },
        Route(.get, "/projects", .roles([.operator, .auditor, .party])) { service, call in
            try await service.listProjects(call)
        },
        Route(.get, "/projects/{projectId}", .roles([.operator, .auditor, .party])) { service, call in
            try await service.getProject(call)
        },
        Route(.post, "/projects/{projectId}/close", .roles([.operator])) { service, call in
            try await service.closeProject(call)
        },
        Route(.put, "/projects/{projectId}/parties/{party}/public-key", .roles([.operator])) { service, call in
            try await service.replacePartyKey(call)
        },
        Route(.post, "/projects/{projectId}/parties/{party}/uploads", .roles([.party])) { service, call in
            try await service.upload(call)
        },
        Route(.get, "/projects/{projectId}/uploads", .roles([.operator, .auditor, .party])) { service, call in
            try await service.listUploads(call)
        },
        Route(.get, "/projects/{projectId}/uploads/{uploadId}", .roles([.operator, .auditor, .party])) {
            service, call in try await service.getUpload(call)
        },
        Route(.post, "/projects/{projectId}/runs", .roles([.operator, .party])) { service, call in
            try await service.createRun(call)
        },
        Route(.get, "/projects/{projectId}/runs", .roles([.operator, .auditor, .party])) { service, call in
            try await service.listRuns(call)
        },
        Route(.get, "/projects/{projectId}/runs/{runId}", .roles([.operator, .auditor, .party])) { service, call in
            try await service.getRun(call)
        },
        Route(.get, "/projects/{projectId}/runs/{runId}/results/{party}", .roles([.party])) { service, call in
            try await service.results(call)
        },
        Route(.get, "/audit/log", .roles([.auditor, .operator])) { service, call in try await service.exportAudit(call)
        },
        Route(.get, "/audit/public-key", .roles([.auditor, .operator])) { service, call in
            try service.matcherPublicKey(call)
        },
    ]
}

// MARK: Helpers shared by the handlers

extension Call {
    /// The `Accept`ed type among `offered` (the first is the default for none, `*/*` or `type/*`); 406 otherwise.
    func negotiate(_ offered: [String]) throws -> String {
        // Each media range without its parameters; empty ranges (`Accept: ;`, `a/b,,`) are skipped, and a header
        // with none at all counts as no preference. Request data is never subscripted: it may have any shape.
        let wanted = (request.headers[.accept] ?? "").split(separator: ",").compactMap { range -> String? in
            let type = (range.split(separator: ";", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces).lowercased()
            return type.isEmpty ? nil : type
        }
        guard !wanted.isEmpty else { return offered[0] }
        for type in wanted {
            if type == "*/*" { return offered[0] }
            if let exact = offered.first(where: { $0 == type }) { return exact }
            if type.hasSuffix("/*"), let family = offered.first(where: { $0.hasPrefix(type.dropLast()) }) {
                return family
            }
        }
        throw APIError(
            .notAcceptable, "notAcceptable", "this resource is served as \(offered.joined(separator: " or "))")
    }

    /// The body's media type, lower-cased, without parameters (`application/json; charset=utf-8` gives
    /// `application/json`).
    var mediaType: String? {
        request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The JSON body: 415 unless `application/json`, 413 over 1 MiB, 400 unless it parses. `optional` bodies may
    /// be absent (no content at all).
    func jsonBody(optional: Bool = false) async throws -> JSONValue? {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        let chunked = request.headers[.transferEncoding] != nil
        if optional && (length ?? 0) == 0 && !chunked { return nil }
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupportedMediaType", "the body must be application/json")
        }
        if let length, length > MatchingService.maxJSONBytes { throw Self.tooLarge }
        var request = self.request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: MatchingService.maxJSONBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge
        }
        do {
            return try JSONValue(parsing: Array(buffer.readableBytesView), source: "body")
        } catch {
            throw APIError.malformed("the body is not valid JSON")
        }
    }

    static let tooLarge = APIError(
        .contentTooLarge, "payloadTooLarge", "JSON bodies are limited to \(MatchingService.maxJSONBytes) bytes")

    /// `limit` and `cursor` of a listing: the cursor is the offset of the next page, prefixed by the listing's name.
    func page(listing: String, defaultLimit: Int = 100, maximum: Int = 1000) throws -> (limit: Int, offset: Int) {
        var limit = defaultLimit
        if let text = query("limit") {
            guard let value = Int(text), (1...maximum).contains(value) else {
                throw APIError.malformed("limit must be an integer from 1 to \(maximum)")
            }
            limit = value
        }
        var offset = 0
        if let cursor = query("cursor") {
            guard cursor.hasPrefix(listing + "_"), let value = Int(cursor.dropFirst(listing.count + 1)), value > 0
            else { throw APIError.malformed("cursor is not one this listing gave") }
            offset = value
        }
        return (limit, offset)
    }

    static func nextCursor(listing: String, offset: Int, limit: Int, returned: Int, total: Int) -> String? {
        offset + returned < total && returned == limit ? "\(listing)_\(offset + returned)" : nil
    }
}

enum Page {
    static func json(_ items: [JSONValue], next: String?) -> JSONValue {
        .object([("items", .array(items)), ("nextCursor", next.map(JSONValue.string) ?? .null)])
    }
}

/// A newest-first listing of one table, as every `GET` of a collection serves it: the `limit` and `cursor` of the
/// request, `filters` (SQL conditions with their arguments) and the page's JSON.
struct Listing {
    let name: String
    let table: String
    var filters: [(condition: String, arguments: StatementArguments)] = []
    let limit: Int
    let offset: Int

    init(_ name: String, table: String, call: Call) throws {
        self.name = name
        self.table = table
        (limit, offset) = try call.page(listing: name)
    }

    mutating func filter(_ condition: String, _ arguments: StatementArguments = []) {
        filters.append((condition, arguments))
    }

    /// This page's items, made from their rows in the caller's transaction, and how many items match in all.
    func items<Item>(_ db: Database, _ make: (Row) throws -> Item) throws -> (items: [Item], total: Int) {
        let condition = filters.isEmpty ? "" : "WHERE " + filters.map(\.condition).joined(separator: " AND ")
        let arguments = filters.reduce(into: StatementArguments()) { $0 += $1.arguments }
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM \(table) \(condition) ORDER BY ordinal DESC LIMIT ? OFFSET ?",
            arguments: arguments + [limit, offset])
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) \(condition)", arguments: arguments) ?? 0
        return (try rows.map(make), total)
    }

    /// The `…Page` body: the items and the cursor of the next page, if any.
    func response(_ items: [JSONValue], total: Int) -> Response {
        let next = Call.nextCursor(listing: name, offset: offset, limit: limit, returned: items.count, total: total)
        return JSONResponse.make(Page.json(items, next: next))
    }
}
