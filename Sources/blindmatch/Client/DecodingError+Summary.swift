import BlindmatchContract

extension DecodingError {
    /// Where the JSON was not the expected shape, as a JSON path, and what was wrong (`$.grants[0].fields is
    /// required`), never the value found (it may be anything the other side sent). The contract target words it.
    var summary: String { "\(memberPath) \(reason)" }
}
