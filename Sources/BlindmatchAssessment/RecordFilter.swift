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

    /// The schema's record-level filters: the first (`bloom`), then each of `extraFilters` in schema order (SPEC
    /// §5.6); empty for a schema without Bloom settings.
    public static func filters(of schema: LinkageSchema) throws -> [RecordFilter] {
        guard schema.bloom != nil else { return [] }
        var filters = [RecordFilter(name: firstName, schema: schema)]
        for (index, extra) in (schema.document["extraFilters"]?.arrayValue ?? []).enumerated() {
            let name = extra["name"]?.stringValue ?? "extra filter \(index + 1)"
            filters.append(RecordFilter(name: name, schema: try projected(schema, onto: extra, name: name)))
        }
        return filters
    }

    /// `schema` with `extra`'s length, fields and hardening as its `bloom` and no extra filters: the same columns,
    /// keys and normalisation, so the attacks (and graph matching's encoding of the reference, with the attacker's
    /// own secret) see the filter exactly as the schema defines it. The keys differ from the agency's in any case.
    static func projected(_ schema: LinkageSchema, onto extra: JSONValue, name: String) throws -> LinkageSchema {
        guard let members = schema.document.objectValue, let settings = extra.objectValue else {
            throw ProtocolError(.invalidSchema, "extra filter \(name): not an object")
        }
        let bloom = JSONValue.object(settings.filter { ["bits", "fields", "hardening"].contains($0.key) })
        var document: [(key: String, value: JSONValue)] = []
        for member in members where member.key != "extraFilters" {
            document.append(member.key == "bloom" ? (member.key, bloom) : member)
        }
        return try LinkageSchema(
            parsing: JSONValue.object(document).canonicalBytes, source: "\(schema.name): extra filter \(name)")
    }
}
