import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol
import GRDB

/// A row of `project`, with its two parties (rows of `party`).
struct ProjectRecord: Sendable {
    static let databaseTableName = "project"

    var id: String
    var name: String
    var purpose: String
    var legalBasis: String
    var schemaFingerprint: String
    /// What every upload must have (nil only for a project made before layouts were recorded, until its first upload).
    var layout: UploadLayout?
    var keyId: String
    var matching: NamedMatchSettings
    var disclosure: DisclosurePolicy
    var runPolicy: RunPolicy
    var status: ProjectStatus
    var createdAt: String
    var closedAt: String?
    var closeReason: String?
    var ordinal: Int
    var parties: [PartyRecord]

    var isOpen: Bool { status == .open }

    func party(named name: String) -> PartyRecord? { parties.first { $0.name == name } }
    func party(role: PartyRole) -> PartyRecord? { parties.first { $0.role == role } }

    init(row: Row, parties: [PartyRecord]) throws {
        id = row["id"]
        name = row["name"]
        purpose = row["purpose"]
        legalBasis = row["legalBasis"]
        schemaFingerprint = row["schemaFingerprint"]
        layout = try (row["layoutFilterBits"] as Int?).map { filterBits in
            UploadLayout(
                filterBits: filterBits, matchKeys: try row.stringList("layoutMatchKeys"),
                blockingKeys: try row.stringList("layoutBlockingKeys"))
        }
        keyId = row["keyId"]
        matching = try NamedMatchSettings(stored: row["matching"], vetoKeysDefaulted: row["vetoDefaulted"])
        disclosure = try DisclosurePolicy(stored: row["disclosure"])
        runPolicy = try (row["runPolicy"] as String?).map(RunPolicy.init(stored:)) ?? .legacy
        status = try row.enumValue("status")
        createdAt = row["createdAt"]
        closedAt = row["closedAt"]
        closeReason = row["closeReason"]
        ordinal = row["ordinal"]
        self.parties = parties
    }

    /// The `Project` schema.
    var wire: Components.Schemas.Project {
        .init(
            id: id, name: name, purpose: purpose, legalBasis: legalBasis, schemaFingerprint: schemaFingerprint,
            layout: layout.map {
                .init(filterBits: $0.filterBits, matchKeys: $0.matchKeys, blockingKeys: $0.blockingKeys)
            },
            keyId: keyId, parties: parties.map(\.wire), matching: matching.wire,
            disclosure: disclosure.wire, runPolicy: runPolicy.wire,
            status: status, createdAt: createdAt, closedAt: closedAt, closeReason: closeReason)
    }
}
