import BlindmatchAudit
import BlindmatchContract
import BlindmatchProtocol
import Foundation
import GRDB

/// A row of `token`: a bearer token's metadata. The token itself is never stored, only its SHA-256 (`hash`), which
/// never leaves the store.
struct TokenRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "token"

    var id: String
    var hash: Data
    var role: Role
    var name: String
    var project: String?
    var party: String?
    var issuedAt: String
    var expiresAt: String?
    var revokedAt: String?
    var ordinal: Int
    /// When the token was activated: at issue for staff tokens, by its party's signature for a party token.
    var activatedAt: String?
    /// What the party signs to activate a party token (`TokenActivation`): 32 random bytes in hex; nil otherwise.
    var challenge: String?

    /// Read column by column rather than through `Decodable`: every authenticated request reads one.
    init(row: Row) throws {
        id = row["id"]
        hash = row["hash"]
        role = try row.enumValue("role")
        name = row["name"]
        project = row["project"]
        party = row["party"]
        issuedAt = row["issuedAt"]
        expiresAt = row["expiresAt"]
        revokedAt = row["revokedAt"]
        ordinal = row["ordinal"]
        activatedAt = row["activatedAt"]
        challenge = row["challenge"]
    }

    init(
        id: String, hash: Data, role: Role, name: String, project: String?, party: String?, issuedAt: String,
        expiresAt: String?, revokedAt: String?, ordinal: Int, activatedAt: String?, challenge: String?
    ) {
        self.id = id
        self.hash = hash
        self.role = role
        self.name = name
        self.project = project
        self.party = party
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.ordinal = ordinal
        self.activatedAt = activatedAt
        self.challenge = challenge
    }

    /// Whether the token may be used at `now` (an `AuditTime` text).
    func isValid(at now: String) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }

    /// The actor and token a request with this token acts as, for the audit log.
    var acting: Acting { Acting(actor: actor, tokenID: id) }

    /// The audit actor a request with this token acts as.
    var actor: AuditActor {
        switch role {
        case ._operator: .operator
        case .auditor: .auditor(name)
        case .party: .party(party ?? name)
        }
    }

    /// The `TokenInfo` schema.
    var wire: Components.Schemas.TokenInfo {
        .init(
            id: id, role: role, name: name, project: project, party: party, issuedAt: issuedAt,
            expiresAt: expiresAt, revokedAt: revokedAt, activatedAt: activatedAt)
    }
}

extension Role: DatabaseValueConvertible {}
extension PartyRole: DatabaseValueConvertible {}
extension ProjectStatus: DatabaseValueConvertible {}
extension RunStatus: DatabaseValueConvertible {}
extension RunStage: DatabaseValueConvertible {}
extension ResultStatus: DatabaseValueConvertible {}
