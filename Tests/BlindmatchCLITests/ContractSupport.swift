import BlindmatchProtocol
import Foundation
import Yams

/// `Protocol/openapi.yaml`, read for the tests: every response they see is held to the operation's declared statuses
/// and to the JSON Schema of its body.
enum Contract {
    static let document: JSONValue = {
        let text = (try? String(contentsOfFile: CLI.repositoryPath("Protocol/openapi.yaml"), encoding: .utf8)) ?? ""
        return convert((try? Yams.load(yaml: text)) ?? nil)
    }()

    private static func convert(_ node: Any?) -> JSONValue {
        switch node {
        case let dictionary as [String: Any]:
            return .object(dictionary.keys.sorted().map { ($0, convert(dictionary[$0])) })
        case let array as [Any]: return .array(array.map(convert))
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .number(String(number))
        case let number as Double: return .number(String(number))
        case nil: return .null
        default: return .string(String(describing: node ?? ""))
        }
    }

    static var operationCount: Int {
        (document["paths"]?.objectValue ?? []).reduce(0) { count, path in
            count + (path.value.objectValue ?? []).filter { ["get", "post", "put", "delete"].contains($0.key) }.count
        }
    }

    /// Every operation, as `METHOD /template`.
    static var operations: [String] {
        (document["paths"]?.objectValue ?? []).flatMap { path in
            (path.value.objectValue ?? []).filter { ["get", "post", "put", "delete"].contains($0.key) }
                .map { "\($0.key.uppercased()) \(path.key)" }
        }
    }

    /// The roles an operation allows (`x-blindmatch-roles`): `operator`, `auditor`, `party` or `anyone`.
    static func roles(_ method: String, _ template: String) -> [String] {
        document["paths"]?[template]?[method.lowercased()]?["x-blindmatch-roles"]?.arrayValue?.compactMap(\.stringValue)
            ?? []
    }

    /// The problems of `reply` as a response of `method template`: an undeclared status, or a JSON body that is
    /// not the declared schema (every 4xx/5xx body must be `Error`).
    static func issues(_ reply: HTTPReply, _ method: String, _ template: String) -> [String] {
        guard let operation = document["paths"]?[template]?[method.lowercased()] else {
            return ["\(method) \(template) is not in the contract"]
        }
        guard let response = operation["responses"]?[String(reply.status)] else {
            return ["\(method) \(template): status \(reply.status) is not declared"]
        }
        let resolved = resolve(response)
        let type = reply.headers["Content-Type"].first?.split(separator: ";").first.map(String.init) ?? ""
        guard type == "application/json" else {
            return resolved["content"]?[type] == nil && reply.status != 204
                ? ["\(method) \(template) \(reply.status): content type \(type) is not declared"] : []
        }
        guard let schema = resolved["content"]?["application/json"]?["schema"] else {
            return ["\(method) \(template) \(reply.status): no JSON body is declared"]
        }
        guard let body = reply.json else { return ["\(method) \(template) \(reply.status): the body is not JSON"] }
        return JSONSchemaValidator(schema: document).validate(body, against: schema).map {
            "\(method) \(template) \(reply.status): \($0)"
        }
    }

    private static func resolve(_ node: JSONValue) -> JSONValue {
        guard let reference = node["$ref"]?.stringValue, reference.hasPrefix("#/") else { return node }
        var target: JSONValue? = document
        for component in reference.dropFirst(2).split(separator: "/") { target = target?[String(component)] }
        return target.map(resolve) ?? node
    }
}
