/// Validates a JSON document against a JSON Schema (draft 2020-12), for the keywords Blindmatch's own schemas use.
///
/// Supported: `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`, `minItems`,
/// `maxItems`, `uniqueItems`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `minLength`,
/// `maxLength`, `pattern`, `$ref` (to `#/$defs/…`), `oneOf`, `anyOf`, `allOf`. Annotations are ignored. Not a
/// general validator: do not point it at schemas that use other keywords.
public struct JSONSchemaValidator: Sendable {
    /// One failed rule, with the JSON path of the value that broke it.
    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    let schema: JSONValue

    public init(schema: JSONValue) { self.schema = schema }

    /// Every issue found (empty when the document is valid).
    public func validate(_ document: JSONValue) -> [Issue] {
        var issues: [Issue] = []
        check(document, against: schema, path: "$", issues: &issues)
        return issues
    }

    /// Every issue found when `document` is checked against `rule`, a part of this validator's schema (for example
    /// one schema of an OpenAPI document's components); references resolve within the whole schema.
    public func validate(_ document: JSONValue, against rule: JSONValue) -> [Issue] {
        var issues: [Issue] = []
        check(document, against: rule, path: "$", issues: &issues)
        return issues
    }

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = schema
        for component in reference.dropFirst(2).split(separator: "/") {
            node = node?[String(component)]
        }
        return node
    }

    private func check(_ value: JSONValue, against rule: JSONValue, path: String, issues: inout [Issue]) {
        if case .bool(let allowed) = rule {
            if !allowed { issues.append(Issue(path: path, message: "is not allowed here")) }
            return
        }
        if let reference = rule["$ref"]?.stringValue {
            if let target = resolve(reference) {
                check(value, against: target, path: path, issues: &issues)
            } else {
                issues.append(Issue(path: path, message: "schema error: unresolved reference \(reference)"))
            }
        }
        if let type = rule["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
            let actual = value.typeName
            let matches = allowed.contains(actual) || (actual == "integer" && allowed.contains("number"))
            if !matches {
                issues.append(
                    Issue(path: path, message: "must be of type \(allowed.joined(separator: " or ")), not \(actual)"))
                return
            }
        }
        if let options = rule["enum"]?.arrayValue, !options.contains(value) {
            let shown = options.map(\.canonicalText).joined(separator: ", ")
            issues.append(Issue(path: path, message: "must be one of \(shown)"))
        }
        if let constant = rule["const"], constant != value {
            issues.append(Issue(path: path, message: "must be \(constant.canonicalText)"))
        }
        checkObject(value, rule, path, &issues)
        checkArray(value, rule, path, &issues)
        checkScalar(value, rule, path, &issues)
        if let all = rule["allOf"]?.arrayValue {
            for subschema in all { check(value, against: subschema, path: path, issues: &issues) }
        }
        if let any = rule["anyOf"]?.arrayValue {
            let passing = any.filter { subschema in
                var scratch: [Issue] = []
                check(value, against: subschema, path: path, issues: &scratch)
                return scratch.isEmpty
            }
            if passing.isEmpty { issues.append(Issue(path: path, message: "matches none of the allowed forms")) }
        }
        if let one = rule["oneOf"]?.arrayValue {
            var outcomes: [[Issue]] = []
            for subschema in one {
                var scratch: [Issue] = []
                check(value, against: subschema, path: path, issues: &scratch)
                outcomes.append(scratch)
            }
            let passing = outcomes.filter(\.isEmpty).count
            if passing == 0 {
                // Report the closest alternative's problems: the one with the fewest issues.
                let closest = outcomes.min { $0.count < $1.count } ?? []
                if closest.isEmpty {
                    issues.append(Issue(path: path, message: "matches none of the allowed forms"))
                } else {
                    issues.append(contentsOf: closest)
                }
            } else if passing > 1 {
                issues.append(Issue(path: path, message: "matches more than one of the exclusive forms"))
            }
        }
    }

    private func checkObject(_ value: JSONValue, _ rule: JSONValue, _ path: String, _ issues: inout [Issue]) {
        guard let members = value.objectValue else { return }
        let properties = rule["properties"]?.objectValue ?? []
        for required in rule["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            if !members.contains(where: { $0.key == required }) {
                issues.append(Issue(path: path, message: "is missing the required member \"\(required)\""))
            }
        }
        for member in members {
            let memberPath = "\(path).\(member.key)"
            if let property = properties.first(where: { $0.key == member.key }) {
                check(member.value, against: property.value, path: memberPath, issues: &issues)
            } else if let additional = rule["additionalProperties"] {
                if case .bool(false) = additional {
                    issues.append(Issue(path: memberPath, message: "is not a member this object may have"))
                } else {
                    check(member.value, against: additional, path: memberPath, issues: &issues)
                }
            }
        }
    }

    private func checkArray(_ value: JSONValue, _ rule: JSONValue, _ path: String, _ issues: inout [Issue]) {
        guard let items = value.arrayValue else { return }
        if let minimum = rule["minItems"]?.intValue, items.count < minimum {
            issues.append(Issue(path: path, message: "must have at least \(minimum) items"))
        }
        if let maximum = rule["maxItems"]?.intValue, items.count > maximum {
            issues.append(Issue(path: path, message: "must have at most \(maximum) items"))
        }
        if rule["uniqueItems"]?.boolValue == true {
            for (index, item) in items.enumerated() where items[..<index].contains(item) {
                issues.append(Issue(path: "\(path)[\(index)]", message: "repeats an earlier item"))
            }
        }
        if let itemRule = rule["items"] {
            for (index, item) in items.enumerated() {
                check(item, against: itemRule, path: "\(path)[\(index)]", issues: &issues)
            }
        }
    }

    private func checkScalar(_ value: JSONValue, _ rule: JSONValue, _ path: String, _ issues: inout [Issue]) {
        if let number = value.doubleValue {
            if let minimum = rule["minimum"]?.doubleValue, number < minimum {
                issues.append(Issue(path: path, message: "must be at least \(rule["minimum"]?.canonicalText ?? "")"))
            }
            if let maximum = rule["maximum"]?.doubleValue, number > maximum {
                issues.append(Issue(path: path, message: "must be at most \(rule["maximum"]?.canonicalText ?? "")"))
            }
            if let minimum = rule["exclusiveMinimum"]?.doubleValue, number <= minimum {
                issues.append(
                    Issue(path: path, message: "must be more than \(rule["exclusiveMinimum"]?.canonicalText ?? "")"))
            }
            if let maximum = rule["exclusiveMaximum"]?.doubleValue, number >= maximum {
                issues.append(
                    Issue(path: path, message: "must be less than \(rule["exclusiveMaximum"]?.canonicalText ?? "")"))
            }
        }
        if let text = value.stringValue {
            let length = text.unicodeScalars.count
            if let minimum = rule["minLength"]?.intValue, length < minimum {
                issues.append(Issue(path: path, message: "must be at least \(minimum) characters long"))
            }
            if let maximum = rule["maxLength"]?.intValue, length > maximum {
                issues.append(Issue(path: path, message: "must be at most \(maximum) characters long"))
            }
            if let pattern = rule["pattern"]?.stringValue {
                if let regex = try? Regex(pattern) {
                    if (try? regex.firstMatch(in: text)) == nil {
                        issues.append(Issue(path: path, message: "must match the pattern \(pattern)"))
                    }
                } else {
                    issues.append(Issue(path: path, message: "schema error: bad pattern \(pattern)"))
                }
            }
        }
    }
}
