import BlindmatchContract
import BlindmatchProtocol

/// A request body read as the contract's generated type, after SPEC §2.1's parser has accepted it (one value, no
/// member twice): 400 `malformedRequest` naming the member (never its value) when the shape is not the contract's,
/// and for a `null` where the contract does not allow one (the generated types read an optional member's null as
/// its absence).
enum ContractBody {
    static func decode<Body: Decodable>(
        _ type: Body.Type, from bytes: [UInt8], parsed value: JSONValue, nullable: Set<String> = []
    ) throws -> Body {
        if let path = value.nullMemberPaths().first(where: { !nullable.contains($0) }) {
            throw APIError.malformed("\(path) must not be null")
        }
        do {
            return try ContractDecoder.decode(type, from: bytes, source: "body")
        } catch let error as ContractDecodingError {
            throw APIError.malformed(error.path == "$" ? "the body \(error.reason)" : "\(error.path) \(error.reason)")
        }
    }

    /// The same from bytes alone: 400 unless they parse.
    static func decode<Body: Decodable>(_ type: Body.Type, from bytes: [UInt8], nullable: Set<String> = []) throws
        -> Body
    {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes, source: "body")
        } catch {
            throw APIError.malformed("the body is not valid JSON (one value, no member twice)")
        }
        return try decode(type, from: bytes, parsed: value, nullable: nullable)
    }
}

extension JSONValue {
    /// The JSONPaths of the members and items that are `null`, in document order (`$.matching.reviewFrom`).
    fileprivate func nullMemberPaths(at path: String = "$") -> [String] {
        switch self {
        case .null: [path]
        case .array(let items): items.enumerated().flatMap { $1.nullMemberPaths(at: "\(path)[\($0)]") }
        case .object(let members):
            members.flatMap { $0.value.nullMemberPaths(at: "\(path).\(ObjectMemberName.printable($0.key))") }
        default: []
        }
    }
}

/// A member name fit for a message: names are the client's own text, so only short plain ones are echoed.
private enum ObjectMemberName {
    static func printable(_ key: String) -> String {
        key.utf8.count <= 64
            && key.unicodeScalars.allSatisfy({
                $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_"
            })
            ? key : "(an unexpected member)"
    }
}
