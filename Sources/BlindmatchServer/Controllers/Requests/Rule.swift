/// The value rules of `Protocol/openapi.yaml` that the generated types do not check (patterns, lengths, counts,
/// unique items): one short validation per request type calls these, and each refusal is a 400 `malformedRequest`
/// that names the member and what it must be, never its value.
enum Rule {
    /// `value`, when `valid`; else 400 "`member` must be `description`".
    static func check(_ value: String, _ member: String, must description: String, _ valid: (String) -> Bool) throws
        -> String
    {
        guard valid(value) else { throw APIError.malformed("\(member) must be \(description)") }
        return value
    }

    /// Free text of 1…`maximum` characters (SPEC §10.2's text rule).
    static func text(_ value: String, _ member: String, maximum: Int) throws -> String {
        try check(value, member, must: "text of 1 to \(maximum) characters without control characters") {
            Patterns.isText($0, maximum: maximum)
        }
    }

    /// A list of at most `maxCount` distinct names, each `valid`.
    static func names(
        _ values: [String], _ member: String, maxCount: Int, must description: String, _ valid: (String) -> Bool
    ) throws -> [String] {
        guard values.count <= maxCount else { throw APIError.malformed("\(member) has more than \(maxCount) items") }
        for (index, value) in values.enumerated() where !valid(value) {
            throw APIError.malformed("\(member)[\(index)] must be \(description)")
        }
        return try distinct(values, member, count: 0...maxCount)
    }

    /// Items of a closed set, each at most once, `count` of them.
    static func distinct<Item: Hashable>(_ values: [Item], _ member: String, count: ClosedRange<Int>) throws -> [Item] {
        guard count.contains(values.count) else {
            throw APIError.malformed("\(member) must have \(count.lowerBound) to \(count.upperBound) items")
        }
        guard Set(values).count == values.count else { throw APIError.malformed("\(member) has an item twice") }
        return values
    }
}
