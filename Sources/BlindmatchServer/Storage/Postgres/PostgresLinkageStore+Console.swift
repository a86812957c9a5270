import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    func openConsoleSession(_ session: NewConsoleSession) async throws {
        try await pool.write { db in
            try await Self.closeIdleSessions(db, idleSeconds: session.idleSeconds, now: session.now)
            var details: AuditDetails = ["role": .string(session.token.role.rawValue), "session": .string(session.id)]
            if let ticket = session.ticket {
                details = [
                    "role": .string(session.token.role.rawValue), "session": .string(session.id),
                    "ticket": .string(ticket),
                ]
            }
            try await db.execute(
                "INSERT INTO consoleSession (id, hash, token, openedAt, lastSeen) VALUES (?, ?, ?, ?, ?)",
                [
                    session.id, Data(session.hash), session.token.id,
                    AuditTime(secondsSince1970: session.now)?.text ?? AuditTime.now().text, session.now,
                ])
            try await Self.append(
                db, actor: session.token.acting, action: .tokenIssued, project: session.token.project,
                details: details)
        }
    }

    func consoleSession(hash: [UInt8], idleSeconds: Int, now: Int64) async throws -> ConsoleSessionLookup {
        let found = try await pool.read { db -> (ConsoleSessionRecord, TokenRecord?)? in
            guard let row = try await db.row("SELECT * FROM consoleSession WHERE hash = ?", [Data(hash)]) else {
                return nil
            }
            let session = try ConsoleSessionRecord(row: row)
            return (session, try await Self.token(db, id: session.token))
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
            try await pool.write { db in
                guard try await db.changes("DELETE FROM consoleSession WHERE id = ?", [session.id]) > 0 else {
                    return
                }
                try await Self.append(
                    db, actor: .system, action: .tokenRevoked, project: token?.project,
                    details: ["reason": .string(reason), "session": .string(session.id)])
            }
            return .ended(reason)
        }
        guard let token else { return .none }
        if now - session.lastSeen >= ConsoleSessionLookup.touchInterval {
            try await pool.session { db in
                try await db.execute("UPDATE consoleSession SET lastSeen = ? WHERE id = ?", [now, session.id])
            }
        }
        return .open(session, token)
    }

    func closeConsoleSession(id: String, by actor: Acting, project: String?) async throws {
        try await pool.write { db in
            guard try await db.changes("DELETE FROM consoleSession WHERE id = ?", [id]) > 0 else { return }
            try await Self.append(
                db, actor: actor, action: .tokenRevoked, project: project,
                details: ["reason": .string("signedOut"), "session": .string(id)])
        }
    }

    func issueConsoleTicket(id: String, hash: [UInt8], for token: TokenRecord, expiresAt: String) async throws {
        try await pool.write { db in
            try await db.execute(
                "INSERT INTO consoleTicket (id, hash, token, expiresAt) VALUES (?, ?, ?, ?)",
                [id, Data(hash), token.id, expiresAt])
            try await Self.append(
                db, actor: token.acting, action: .tokenIssued, project: token.project,
                details: [
                    "expiresAt": .string(expiresAt), "role": .string(token.role.rawValue), "ticket": .string(id),
                ])
        }
    }

    func redeemConsoleTicket(hash: [UInt8], now: String) async throws -> (ticket: String, token: TokenRecord)? {
        try await pool.write { db in
            guard let row = try await db.row("SELECT * FROM consoleTicket WHERE hash = ?", [Data(hash)]) else {
                return nil
            }
            let ticket = try ConsoleTicketRecord(row: row)
            try await db.execute("DELETE FROM consoleTicket WHERE id = ?", [ticket.id])
            guard now < ticket.expiresAt, let token = try await Self.token(db, id: ticket.token),
                token.isValid(at: now)
            else { return nil }
            return (ticket.id, token)
        }
    }

    func auditEntries(action: AuditAction, project: String, limit: Int) async throws -> [AuditEntry] {
        try await pool.read { db in
            var entries: [AuditEntry] = []
            var before = Int.max
            // Newest first, a batch at a time, until `limit` entries of the project are found.
            while entries.count < limit {
                let batch = try await db.rows(
                    "SELECT seq, line FROM audit WHERE action = ? AND seq < ? ORDER BY seq DESC LIMIT 500",
                    [action.rawValue, before])
                for record in batch where entries.count < limit {
                    let entry = try AuditEntry(parsing: [UInt8](record["line"] as Data))
                    if entry.project == project { entries.append(entry) }
                }
                guard batch.count == 500, let last = batch.last else { break }
                before = last["seq"]
            }
            return entries
        }
    }

    private static func closeIdleSessions(_ db: PostgresSession, idleSeconds: Int, now: Int64) async throws {
        let idle = try await db.rows(
            "SELECT * FROM consoleSession WHERE lastSeen < ? ORDER BY openedAt, id", [now - Int64(idleSeconds)])
        for row in idle {
            let session = try ConsoleSessionRecord(row: row)
            try await db.execute("DELETE FROM consoleSession WHERE id = ?", [session.id])
            let project = try await Self.token(db, id: session.token)?.project
            try await append(
                db, actor: .system, action: .tokenRevoked, project: project,
                details: ["reason": .string("idle"), "session": .string(session.id)])
        }
    }
}
