import BlindmatchProtocol

/// One record-level Bloom filter of a schema as the attacker knows it from the public schema: its name and the
/// settings that made it, given as a schema whose `bloom` is that filter, so that every attack written for one
/// filter reads any of them unchanged. A schema's first filter is the schema itself.
public struct RecordFilter: Sendable {
    /// The name the report gives the filter.
    public let name: String
    /// The filter's public settings: a schema with the same columns and keys whose `bloom` is this filter.
    public let schema: LinkageSchema

    /// The name of a schema's first filter in reports, after its schema member.
    public static let firstName = "bloom"

    /// The schema's record-level filters: the first (`bloom`), then each additional one in schema order; empty for
    /// a schema without Bloom settings.
    public static func filters(of schema: LinkageSchema) throws -> [RecordFilter] {
        guard schema.bloom != nil else { return [] }
        return [RecordFilter(name: firstName, schema: schema)]
    }
}
