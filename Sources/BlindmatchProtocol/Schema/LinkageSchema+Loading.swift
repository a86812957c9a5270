extension LinkageSchema {
    /// Reads and validates a schema file of either flavour.
    public init(contentsOfFile path: String) throws {
        try self.init(parsing: try FileIO.readAll(path), source: path)
    }

    /// Parses and validates a schema of either flavour; a document with `blindmatchSchema` is native, one with
    /// `version` 3 and `clkConfig` is clkhash.
    ///
    /// - Throws: `ProtocolError.invalidSchema` listing every problem with its JSON path.
    public init(parsing bytes: [UInt8], source: String) throws {
        let document = try JSONValue(parsing: bytes, source: source)
        if document["blindmatchSchema"] != nil {
            self = try LinkageSchema(native: document, source: source)
        } else if document["clkConfig"] != nil || document["version"] != nil {
            self = try LinkageSchema(clkhash: document, source: source)
        } else {
            throw ProtocolError(
                .invalidSchema,
                "\(source): neither a Blindmatch schema (no \"blindmatchSchema\") nor a clkhash v3 schema (no \"clkConfig\")"
            )
        }
    }

    static func fingerprint(of document: JSONValue) -> String {
        Hex.encode(SHA256Hasher.hash(document.canonicalBytes))
    }

    static func failure(_ source: String, _ issues: [String]) -> ProtocolError {
        let list = issues.map { "  - \($0)" }.joined(separator: "\n")
        return ProtocolError(.invalidSchema, "\(source): the schema has \(issues.count) problem(s):\n\(list)")
    }

    /// Whether two schemas are the same agreement (same fingerprint).
    public func isCompatible(with other: LinkageSchema) -> Bool { fingerprint == other.fingerprint }
}
