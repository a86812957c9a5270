import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    func auditRefusal(actor: AuditActor, reason: String, route: String) async throws {
        try await pool.write { db in
            try await Self.append(
                db, actor: actor, action: .accessRefused, project: nil,
                details: ["reason": .string(reason), "request": .string(route)])
            try await Self.add(db, "accessRefused", 1)
        }
    }

    func auditRefusals(_ counts: [RefusalTally.Count]) async throws {
        try await pool.write { db in
            for item in counts {
                try await Self.append(
                    db, actor: item.actor, action: .accessRefused, project: nil,
                    details: [
                        "reason": .string(APIError.Code.unauthenticated.rawValue), "request": .string(item.route),
                        "count": .integer(item.count),
                    ])
                try await Self.add(db, "accessRefused", item.count)
            }
        }
    }

    func beginAuditExport(by actor: Acting) async throws -> AuditEntry? {
        try await verifyWholeChain()
        return try await pool.write { db in
            try await Self.append(db, actor: actor, action: .auditExported, project: nil)
            TestHooks.pause(at: .export)
            return try await self.appendCheckpoint(db)
        }
    }

    func auditLines(from seq: Int, through last: Int, limit: Int) async throws -> [[UInt8]] {
        try await pool.session { db in
            try await db.rows(
                "SELECT line FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?", [seq, last, limit]
            ).map { [UInt8]($0["line"] as Data) }
        }
    }

    func appendCheckpoint() async throws {
        try await verifyWholeChain()
        _ = try await pool.write { db in try await self.appendCheckpoint(db) }
    }

    /// Appends a checkpoint that signs everything before it, in the caller's transaction (which holds the audit
    /// lock), once the stored chain verifies to its end: every server's entries, since they form one chain.
    @discardableResult
    func appendCheckpoint(_ db: PostgresSession) async throws -> AuditEntry? {
        try await verifyChain(db)
        guard let last = try await Self.lastEntry(db) else { return nil }
        if last.action == .checkpoint { return last }
        let entry = try AuditEntry.makeCheckpoint(after: last, signingKey: checkpointKey, time: AuditTime.now())
        try await db.execute(
            "INSERT INTO audit (seq, line, action) VALUES (?, ?, ?)",
            [entry.seq, Data(entry.canonicalBytes), entry.action.rawValue])
        TestHooks.pause(at: .checkpoint)
        return entry
    }

    @discardableResult
    func checkpointIfDue(interval: Int) async throws -> Bool {
        guard try await pool.session({ db in try await Self.isCheckpointDue(db, interval: interval) }) else {
            return false
        }
        try await verifyWholeChain()
        return try await pool.write { db in
            guard try await Self.isCheckpointDue(db, interval: interval) else { return false }
            return try await self.appendCheckpoint(db) != nil
        }
    }

    private static func isCheckpointDue(_ db: PostgresSession, interval: Int) async throws -> Bool {
        let lastCheckpoint =
            try await db.int("SELECT MAX(seq) FROM audit WHERE action = 'checkpoint'") ?? -1
        guard
            let firstUnsigned = try await db.row(
                "SELECT line FROM audit WHERE seq > ? ORDER BY seq LIMIT 1", [lastCheckpoint])
        else { return false }
        let unsigned = try await db.int("SELECT COUNT(*) FROM audit WHERE seq > ?", [lastCheckpoint]) ?? 0
        let since = try AuditEntry(parsing: [UInt8](firstUnsigned["line"] as Data)).time
        let age = AuditTime.now().secondsSince1970 - since.secondsSince1970
        return unsigned >= 1000 || age >= Int64(interval)
    }

    /// Checks the whole stored log from its first line (SPEC §10.5) and keeps the result for ``verifyChain(_:)``.
    func verifyWholeChain() async throws {
        let key = checkpointKey.publicKey
        let follower = try await pool.read { db in
            var follower = AuditChainFollower(publicKey: key)
            try await Self.follow(&follower, db)
            return follower
        }
        chain.withLock { $0 = follower }
    }

    /// Checks the lines appended since the last check (by any server), in the caller's transaction.
    func verifyChain(_ db: PostgresSession) async throws {
        var follower = chain.withLock { $0 }
        try await Self.follow(&follower, db)
        let checked = follower
        chain.withLock { $0 = checked }
    }

    private static func follow(_ follower: inout AuditChainFollower, _ db: PostgresSession) async throws {
        while true {
            let lines = try await db.rows(
                "SELECT line FROM audit WHERE seq >= ? ORDER BY seq LIMIT 10000", [follower.lineCount])
            for record in lines { follower.follow(line: [UInt8](record["line"] as Data)) }
            if let failure = follower.firstFailure {
                throw ServerError(
                    .auditChain,
                    "the stored audit log does not verify at \(failure): it was changed outside the service; the service will not extend or sign it"
                )
            }
            if lines.count < 10_000 { return }
        }
    }
}
