import BlindmatchProtocol
import GRDB

extension Row {
    /// A closed-set value (a role, a status) kept as its raw text; a value outside the set is a storage error, not a
    /// trap.
    func enumValue<Value: RawRepresentable>(_ column: String) throws -> Value where Value.RawValue == String {
        let text: String? = self[column]
        guard let text, let value = Value(rawValue: text) else {
            throw ServerError(.storage, "the store holds an unknown \(column) value")
        }
        return value
    }

    /// A JSON array of strings kept as canonical text.
    func stringList(_ column: String) throws -> [String] {
        let text: String = self[column]
        return try JSONValue(parsing: text, source: column).arrayValue?.compactMap(\.stringValue) ?? []
    }
}

extension JSONValue {
    static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    /// Strings as a canonical JSON array, as the store keeps lists.
    static func canonicalList(_ strings: [String]) -> String {
        JSONValue.array(strings.map(JSONValue.string)).canonicalText
    }
}
