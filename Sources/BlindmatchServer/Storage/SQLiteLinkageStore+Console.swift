import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

/// The web console's sessions and one-time sign-in tickets (Protocol/service.md, "The console"). A session is a
/// credential the service hands out against a bearer token, so it is audited as the existing actions say: opening one
/// is `token.issued` with `session` (its public id) and closing one is `token.revoked` with `session` and `reason`
/// (SPEC §10.2's details column is informative; no new action).
extension SQLiteLinkageStore {
    /// "v8: console sessions": registered after the other migrations.
    static func registerConsoleMigrations(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8: console sessions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE consoleSession (
                        id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, token TEXT NOT NULL REFERENCES token(id),
                        openedAt TEXT NOT NULL, lastSeen INTEGER NOT NULL);
                    CREATE TABLE consoleTicket (
                        id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, token TEXT NOT NULL REFERENCES token(id),
                        expiresAt TEXT NOT NULL);
                    """)
        }
    }

    func openConsoleSession(_ session: NewConsoleSession) async throws {
        try await database.write { db in
            try Self.closeIdleSessions(db, idleSeconds: session.idleSeconds, now: session.now)
            var details: AuditDetails = ["role": .string(session.token.role.rawValue), "session": .string(session.id)]
            if let ticket = session.ticket {
                details = [
                    "role": .string(session.token.role.rawValue), "session": .string(session.id),
                    "ticket": .string(ticket),
                ]
            }
            try ConsoleSessionRecord(
                id: session.id, hash: Data(session.hash), token: session.token.id,
                openedAt: AuditTime(secondsSince1970: session.now)?.text ?? AuditTime.now().text,
                lastSeen: session.now
            ).insert(db)
            try Self.append(
                db, actor: session.token.acting, action: .tokenIssued, project: session.token.project,
                details: details)
        }
    }

    func consoleSession(hash: [UInt8], idleSeconds: Int, now: Int64) async throws -> ConsoleSessionLookup {
        let found = try await database.read { db -> (ConsoleSessionRecord, TokenRecord?)? in
            guard
                let session = try ConsoleSessionRecord.filter(Column("hash") == Data(hash)).fetchOne(db)
            else { return nil }
            return (session, try TokenRecord.fetchOne(db, key: session.token))
        }
        guard let (session, token) = found else { return .none }
        let reason: String?
        if now - session.lastSeen > Int64(idleSeconds) {
            reason = "idle"
        } else if let token, token.isValid(at: AuditTime(secondsSince1970: now)?.text ?? AuditTime.now().text) {
            reason = nil
        } else {
            reason = "tokenInvalid"
        }
        if let reason {
            try await database.write { db in
                guard try ConsoleSessionRecord.deleteOne(db, key: session.id) else { return }
                try Self.append(
                    db, actor: .system, action: .tokenRevoked, project: token?.project,
                    details: ["reason": .string(reason), "session": .string(session.id)])
            }
            return .ended(reason)
        }
        guard let token else { return .none }
        // One write at most every `touchInterval` seconds per session, not one per page.
        if now - session.lastSeen >= ConsoleSessionLookup.touchInterval {
            try await database.write { db in
                try db.execute(
                    sql: "UPDATE consoleSession SET lastSeen = ? WHERE id = ?", arguments: [now, session.id])
            }
        }
        return .open(session, token)
    }

    func closeConsoleSession(id: String, by actor: Acting, project: String?) async throws {
        try await database.write { db in
            guard try ConsoleSessionRecord.deleteOne(db, key: id) else { return }
            try Self.append(
                db, actor: actor, action: .tokenRevoked, project: project,
                details: ["reason": .string("signedOut"), "session": .string(id)])
        }
    }

    func issueConsoleTicket(id: String, hash: [UInt8], for token: TokenRecord, expiresAt: String) async throws {
        try await database.write { db in
            try ConsoleTicketRecord(id: id, hash: Data(hash), token: token.id, expiresAt: expiresAt).insert(db)
            try Self.append(
                db, actor: token.acting, action: .tokenIssued, project: token.project,
                details: [
                    "expiresAt": .string(expiresAt), "role": .string(token.role.rawValue), "ticket": .string(id),
                ])
        }
    }

    func redeemConsoleTicket(hash: [UInt8], now: String) async throws -> (ticket: String, token: TokenRecord)? {
        try await database.write { db in
            guard let ticket = try ConsoleTicketRecord.filter(Column("hash") == Data(hash)).fetchOne(db) else {
                return nil
            }
            // Used or not, a ticket that was presented is gone: it serves one sign-in at most.
            try ConsoleTicketRecord.deleteOne(db, key: ticket.id)
            guard now < ticket.expiresAt, let token = try TokenRecord.fetchOne(db, key: ticket.token),
                token.isValid(at: now)
            else { return nil }
            return (ticket.id, token)
        }
    }

    func auditEntries(action: AuditAction, project: String, limit: Int) async throws -> [AuditEntry] {
        try await database.read { db in
            var entries: [AuditEntry] = []
            let cursor = try AuditRecord.filter(Column("action") == action.rawValue).order(Column("seq").desc)
                .fetchCursor(db)
            while entries.count < limit, let record = try cursor.next() {
                let entry = try AuditEntry(parsing: [UInt8](record.line))
                if entry.project == project { entries.append(entry) }
            }
            return entries
        }
    }

    /// Ends the sessions unused for longer than `idleSeconds`, each audited (`token.revoked`, reason `idle`).
    private static func closeIdleSessions(_ db: Database, idleSeconds: Int, now: Int64) throws {
        let idle = try ConsoleSessionRecord.filter(Column("lastSeen") < now - Int64(idleSeconds)).fetchAll(db)
        for session in idle {
            try ConsoleSessionRecord.deleteOne(db, key: session.id)
            let project = try TokenRecord.fetchOne(db, key: session.token)?.project
            try append(
                db, actor: .system, action: .tokenRevoked, project: project,
                details: ["reason": .string("idle"), "session": .string(session.id)])
        }
    }
}

/// A console session about to be opened: its public id, the SHA-256 of its secret, the token it acts as and, when a
/// one-time ticket opened it, the ticket's id.
struct NewConsoleSession: Sendable {
    var id: String
    var hash: [UInt8]
    var token: TokenRecord
    var ticket: String?
    /// Seconds since 1970.
    var now: Int64
    /// Sessions idle longer than this are closed when this one opens.
    var idleSeconds: Int
}

/// What a session cookie stands for.
enum ConsoleSessionLookup: Sendable {
    /// No such session (never was, or already closed).
    case none
    /// The session was open but has just ended (`idle` or `tokenInvalid`); the audit log records it.
    case ended(String)
    /// An open session and the valid token it acts as.
    case open(ConsoleSessionRecord, TokenRecord)

    /// A session's last use is written again only after this many seconds.
    static let touchInterval: Int64 = 15
}
