import BlindmatchProtocol

/// The embedded default project: the example UK schema from Protocol/examples.
enum Examples {
    static func ukSchema() throws -> LinkageSchema {
        try LinkageSchema(parsing: Array(ukSchemaText.utf8), source: "Protocol/examples/uk-watchlist.json (embedded)")
    }
}
