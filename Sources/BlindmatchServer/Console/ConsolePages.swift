import BlindmatchProtocol
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// The console's templates, parsed once, and the HTML responses made from them.
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all { try library.register(text, named: name) }
        self.library = library
    }

    /// `template` rendered with `values`, inside the layout with `frame` (title, who, csrf, nav): an HTML reply whose
    /// Content-Security-Policy allows nothing from elsewhere and only the page's own script (by nonce).
    func render(
        _ template: String, _ values: [String: Any], frame: [String: Any], status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) -> Response {
        let nonce = (try? SecureRandom.bytes(16)).map(Base64URL.encode) ?? "none"
        var values = values
        values["nonce"] = nonce
        var frame = frame
        frame["body"] = library.render(values, withTemplate: template) ?? ""
        let html = library.render(frame, withTemplate: "layout") ?? ""
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-\(nonce)'; connect-src 'self'; "
            + "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        if let referrerPolicy = HTTPField.Name("Referrer-Policy") { headers[referrerPolicy] = "no-referrer" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    /// 303 See Other to `location` (after a form, and for pages that need a session).
    static func redirect(to location: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }
}

/// The fields of an `application/x-www-form-urlencoded` body (at most 64 KiB).
struct ConsoleForm: Sendable {
    private var fields: [String: String] = [:]

    init() {}

    init(_ request: Request) async throws {
        guard request.mediaType == "application/x-www-form-urlencoded" else {
            throw APIError(
                .unsupportedMediaType, .unsupportedMediaType,
                "the console's forms are application/x-www-form-urlencoded")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 64 << 10)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, .payloadTooLarge, "a console form is at most 64 KiB")
        }
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? Self.decode(parts[1]) : ""
        }
    }

    subscript(name: String) -> String? { fields[name] }

    /// A non-empty field, trimmed.
    func text(_ name: String) -> String? {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    private static func decode(_ part: Substring) -> String? {
        part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
