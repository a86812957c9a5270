extension DecodingError {
    /// Where the JSON was not the expected shape, as a JSON path (`$.grants[0].fields is missing`), and what was
    /// wrong, never the value found (it may be anything the other side sent).
    var summary: String {
        func path(_ context: DecodingError.Context) -> String {
            "$" + context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        }
        switch self {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is missing"
        case .typeMismatch(_, let context): return "\(path(context)) has the wrong type"
        case .valueNotFound(_, let context): return "\(path(context)) is null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context)) is not an allowed value"
        @unknown default: return "not the expected shape"
        }
    }
}
