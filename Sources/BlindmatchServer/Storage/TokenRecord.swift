import BlindmatchAudit
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

    /// Whether the token may be used at `now` (an `AuditTime` text).
    func isValid(at now: String) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }

    /// The audit actor a request with this token acts as.
    var actor: AuditActor {
        switch role {
        case .operator: .operator
        case .auditor: .auditor(name)
        case .party: .party(party ?? name)
        }
    }

    /// The `TokenInfo` schema.
    var json: JSONValue {
        .object([
            ("id", .string(id)), ("role", .string(role.rawValue)), ("name", .string(name)),
            ("project", project.map(JSONValue.string) ?? .null), ("party", party.map(JSONValue.string) ?? .null),
            ("issuedAt", .string(issuedAt)), ("expiresAt", expiresAt.map(JSONValue.string) ?? .null),
            ("revokedAt", revokedAt.map(JSONValue.string) ?? .null),
        ])
    }
}

extension Role: DatabaseValueConvertible {}
extension PartyRole: DatabaseValueConvertible {}
extension ProjectStatus: DatabaseValueConvertible {}
extension RunStatus: DatabaseValueConvertible {}
extension RunStage: DatabaseValueConvertible {}
extension ResultStatus: DatabaseValueConvertible {}
