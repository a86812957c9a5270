import NIOHTTP1

/// One operation of `Protocol/openapi.yaml`: a method, a path built from segments (each percent-encoded, so an
/// id or a party name can never add a path segment or a query), and query parameters.
///
/// Its description is the method and the path, e.g. `GET /projects/p-7f3a9c21d4e6b8a0/runs`, for messages; it
/// never holds the query, the token or a body.
struct Endpoint: Sendable, CustomStringConvertible {
    /// The HTTP method.
    let method: HTTPMethod
    /// The path's segments, unencoded: `["projects", id, "runs"]`.
    let segments: [String]
    /// Query parameters, unencoded, in order.
    var query: [(name: String, value: String)]

    init(_ method: HTTPMethod, _ segments: String..., query: [(name: String, value: String)] = []) {
        self.method = method
        self.segments = segments
        self.query = query
    }

    /// The percent-encoded path and query, to append to the server's base URL.
    var pathAndQuery: String {
        // `.` and `..` would be taken as "this" and "parent" segments; encoded, they are only names.
        let path = segments.map {
            "/" + ($0 == "." || $0 == ".." ? String(repeating: "%2E", count: $0.count) : Self.percentEncoded($0))
        }.joined()
        guard !query.isEmpty else { return path }
        return path + "?"
            + query.map { Self.percentEncoded($0.name) + "=" + Self.percentEncoded($0.value) }
            .joined(separator: "&")
    }

    var description: String { "\(method.rawValue) " + segments.map { "/" + $0.printable }.joined() }

    /// `text` with every byte outside RFC 3986's unreserved set (`A–Z a–z 0–9 - . _ ~`) as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.append(byte)
            default:
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
