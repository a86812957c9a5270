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

    init(row: Row) throws {
        name = row["name"]
        role = try row.enumValue("role")
        publicKey = PublicSigningKey(rawBytes: [UInt8](row["publicKey"] as Data))
        registeredAt = row["registeredAt"]
    }

    /// The `Party` schema.
    var json: JSONValue {
        .object([
            ("name", .string(name)), ("role", .string(role.rawValue)), ("publicKey", publicKey.json),
            ("registeredAt", .string(registeredAt)),
        ])
    }
}

extension PublicSigningKey {
    /// The `PublicKey` schema.
    var json: JSONValue {
        .object([
            ("algorithm", .string("Ed25519")), ("pem", .string(pem())), ("hex", .string(Hex.encode(rawBytes))),
            ("fingerprint", .string(fingerprint)),
        ])
    }
}
