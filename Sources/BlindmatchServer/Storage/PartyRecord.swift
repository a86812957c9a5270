import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import Foundation
import GRDB

/// A row of `party`: one of a project's two parties and its registered Ed25519 key.
struct PartyRecord: Sendable, FetchableRecord {
    static let databaseTableName = "party"

    var name: String
    var role: PartyRole
    var publicKey: PublicSigningKey
    var registeredAt: String
    /// Who registered the key now in force (SPEC §10.2 actor) and with which token (nil for the service itself).
    var registeredBy: String
    var registeredByToken: String?

    init(row: Row) throws {
        name = row["name"]
        role = try row.enumValue("role")
        publicKey = PublicSigningKey(rawBytes: [UInt8](row["publicKey"] as Data))
        registeredAt = row["registeredAt"]
        registeredBy = (row["registeredBy"] as String?) ?? AuditActor.operator.text
        registeredByToken = row["registeredByToken"]
    }

    /// The `Party` schema.
    var wire: Components.Schemas.Party {
        .init(
            name: name, role: role, publicKey: publicKey.wire, registeredAt: registeredAt,
            registeredBy: registeredBy, registeredByToken: registeredByToken)
    }
}

extension PublicSigningKey {
    /// The `PublicKey` schema.
    var wire: Components.Schemas.PublicKey {
        .init(algorithm: .ed25519, pem: pem(), hex: Hex.encode(rawBytes), fingerprint: fingerprint)
    }
}
