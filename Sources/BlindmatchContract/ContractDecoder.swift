import Foundation

/// Decodes the contract's generated types from JSON, as strictly as the contract: unknown members, a missing
/// required member or a value of the wrong type are errors that name the member's path.
public enum ContractDecoder {
    public static func decode<Value: Decodable>(
        _ type: Value.Type, from bytes: some Collection<UInt8>, source: String
    ) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw ContractDecodingError(source: source, path: error.memberPath, reason: error.reason)
        }
    }

    public static func decode<Value: Decodable>(_ type: Value.Type, from text: String, source: String) throws -> Value {
        try decode(type, from: Array(text.utf8), source: source)
    }
}

/// Why a document is not the schema it should be: where (`$.grants[0].role`) and what is wrong.
public struct ContractDecodingError: Error, CustomStringConvertible, Sendable {
    public let source: String
    /// A JSONPath to the member (`$` for the document itself).
    public let path: String
    public let reason: String

    public var description: String { "\(source): \(path): \(reason)" }
}

extension DecodingError {
    /// The JSONPath of the member the error is about.
    public var memberPath: String {
        let codingPath: [any CodingKey]
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            codingPath = context.codingPath
        case .keyNotFound(let key, let context):
            codingPath = context.codingPath + [key]
        @unknown default:
            codingPath = []
        }
        return "$"
            + codingPath.map { key in
                key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)"
            }.joined()
    }

    /// What is wrong, in a few words that never quote the value.
    public var reason: String {
        switch self {
        case .typeMismatch(let type, _): "is not \(Self.kind(of: type))"
        case .valueNotFound(let type, _): "is null where \(Self.kind(of: type)) is required"
        case .keyNotFound: "is required"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty && context.underlyingError != nil {
                "is not JSON"
            } else if context.debugDescription.localizedCaseInsensitiveContains("additional properties") {
                "has a member the contract does not define"
            } else {
                // Foundation's description of a bad enum value quotes the value: never repeat it.
                "is not one of the values the contract allows"
            }
        @unknown default: "is not as the contract says"
        }
    }

    private static func kind(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        default: "of the right type"
        }
    }
}
