import Foundation
import GRDB

/// A row of `consoleSession`: a web console session (Protocol/service.md, "The console"), opened by signing in with a
/// bearer token. Only the SHA-256 of the session's secret (the cookie) is kept; the session acts as its token, so
/// revoking the token ends it.
struct ConsoleSessionRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "consoleSession"

    /// The public id (`s-…`) that the audit log names.
    var id: String
    var hash: Data
    /// The id of the token the session acts as.
    var token: String
    var openedAt: String
    /// Seconds since 1970 when the session was last used (to the nearest `touchInterval`).
    var lastSeen: Int64
}

/// A row of `consoleTicket`: a one-time sign-in ticket (`blindmatch demo --console`) that opens one session acting as
/// its token, and is deleted when it does. Only its SHA-256 is kept.
struct ConsoleTicketRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "consoleTicket"

    var id: String
    var hash: Data
    var token: String
    var expiresAt: String
}
