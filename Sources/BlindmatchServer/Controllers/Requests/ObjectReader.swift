import BlindmatchAudit
import BlindmatchProtocol

/// Reads a JSON request body member by member, as strictly as the contract's schemas (`additionalProperties:
/// false`): an unknown member, a wrong type or a value out of range is a 400 `malformedRequest` that names the
/// member's path but never echoes its value.
struct ObjectReader {
    let path: String
    private let members: [(key: String, value: JSONValue)]

    init(_ value: JSONValue, path: String = "") throws {
        guard let members = value.objectValue else {
            throw APIError.malformed("\(path.isEmpty ? "the body" : path) must be a JSON object")
        }
        self.path = path
        self.members = members
        var seen = Set<String>()
        for member in members where !seen.insert(member.key).inserted {
            throw APIError.malformed("\(name(member.key, in: path)) appears twice")
        }
    }

    /// Fails on members other than `allowed`.
    func only(_ allowed: Set<String>) throws {
        for member in members where !allowed.contains(member.key) {
            throw APIError.malformed("\(path.isEmpty ? "the body" : path) has no member \(Self.printable(member.key))")
        }
    }

    func value(_ key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    func fieldName(_ key: String) -> String { name(key, in: path) }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else { throw APIError.malformed("\(fieldName(key)) must be a string") }
        return text
    }

    func requiredString(_ key: String) throws -> String {
        guard let text = try string(key) else { throw APIError.malformed("\(fieldName(key)) is required") }
        return text
    }

    /// A string matching `pattern` (checked by `valid`), or a 400 naming what it must be.
    func string(_ key: String, required: Bool, must description: String, _ valid: (String) -> Bool) throws -> String? {
        guard let text = try (required ? requiredString(key) : string(key)) else { return nil }
        guard valid(text) else { throw APIError.malformed("\(fieldName(key)) must be \(description)") }
        return text
    }

    /// A required member from a closed set (a role, a status), or a 400 naming what it must be.
    func enumValue<Value: RawRepresentable>(_ key: String, must description: String, _: Value.Type) throws -> Value
    where Value.RawValue == String {
        guard let value = Value(rawValue: try requiredString(key)) else {
            throw APIError.malformed("\(fieldName(key)) must be \(description)")
        }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw APIError.malformed("\(fieldName(key)) must be true or false") }
        return flag
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let text) = value, let number = Int(text), range.contains(number) else {
            throw APIError.malformed(
                "\(fieldName(key)) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw APIError.malformed("\(fieldName(key)) must be an array") }
        return items
    }

    func stringArray(_ key: String, maxCount: Int, must description: String, _ valid: (String) -> Bool) throws
        -> [String]?
    {
        guard let items = try array(key) else { return nil }
        guard items.count <= maxCount else {
            throw APIError.malformed("\(fieldName(key)) has more than \(maxCount) items")
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, valid(text) else {
                throw APIError.malformed("\(fieldName(key))[\(index)] must be \(description)")
            }
            guard !strings.contains(text) else { throw APIError.malformed("\(fieldName(key)) has an item twice") }
            strings.append(text)
        }
        return strings
    }

    func object(_ key: String) throws -> ObjectReader? {
        guard let value = value(key) else { return nil }
        return try ObjectReader(value, path: fieldName(key))
    }

    private func name(_ key: String, in path: String) -> String {
        let key = Self.printable(key)
        return path.isEmpty ? key : path + "." + key
    }

    /// A member name fit for a message: names are the client's own text, so only short plain ones are echoed.
    static func printable(_ key: String) -> String {
        key.utf8.count <= 64
            && key.unicodeScalars.allSatisfy({
                $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_"
            })
            ? key : "(an unexpected member)"
    }
}
