/// The matching service's wire types, as `Protocol/openapi.yaml` defines them (one extension file per tag).
///
/// Decoding is lenient about members the client does not use, so that a server adding one does not break it;
/// every member the client reads is required or optional exactly as the contract says. Timestamps stay text
/// (`YYYY-MM-DDTHH:MM:SSZ`, UTC) and thresholds and scores stay decimal text, as on the wire.
enum ServiceAPI {
    /// A page of a listing (`TokenPage`, `ProjectPage`, `UploadPage`, `RunPage`):
    ///
    /// ```yaml
    /// required: [items, nextCursor]
    /// properties:
    ///   items: {type: array, maxItems: 1000}
    ///   nextCursor: {type: [string, 'null'], maxLength: 200}
    /// ```
    struct Page<Item: Decodable & Sendable>: Decodable, Sendable {
        let items: [Item]
        /// The `cursor` of the next page; null on the last.
        let nextCursor: String?
    }

    /// `Error`, the body of every 4xx and 5xx response:
    ///
    /// ```yaml
    /// required: [code, message]
    /// properties:
    ///   code: {type: string}      # closed list, e.g. forbiddenParty, tokenFileSigner
    ///   message: {type: string, minLength: 1, maxLength: 1000}
    ///   rule: {type: string, maxLength: 100}   # for tokenFile… codes, the SPEC rule as `blindmatch verify` prints it
    /// ```
    struct ErrorBody: Decodable, Sendable {
        let code: String
        let message: String
        let rule: String?
    }
}
