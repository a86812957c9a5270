import BlindmatchAudit
import BlindmatchProtocol
import GRDB

extension SQLiteLinkageStore {
    func auditRefusal(actor: AuditActor, reason: String, route: String) async throws {
        try await database.write { db in
            try Self.append(
                db, actor: actor, action: .accessRefused, project: nil,
                details: ["reason": .string(reason), "request": .string(route)])
            try CounterRecord.add(db, "accessRefused", 1)
        }
    }

    func auditRefusals(_ counts: [RefusalTally.Count]) async throws {
        try await database.write { db in
            for item in counts {
                try Self.append(
                    db, actor: item.actor, action: .accessRefused, project: nil,
                    details: [
                        "reason": .string(APIError.Code.unauthenticated.rawValue), "request": .string(item.route),
                        "count": .integer(item.count),
                    ])
                try CounterRecord.add(db, "accessRefused", item.count)
            }
        }
    }

    func beginAuditExport(by actor: Acting) async throws -> AuditEntry? {
        try await verifyWholeChain()
        return try await database.write { db in
            try Self.append(db, actor: actor, action: .auditExported, project: nil)
            TestHooks.pause(at: .export)
            return try self.appendCheckpoint(db)
        }
    }

    func auditLines(from seq: Int, through last: Int, limit: Int) async throws -> [[UInt8]] {
        try await database.read { db in
            try AuditRecord.filter(Column("seq") >= seq && Column("seq") <= last).order(Column("seq")).limit(limit)
                .fetchAll(db).map { [UInt8]($0.line) }
        }
    }

    func appendCheckpoint() async throws {
        try await verifyWholeChain()
        _ = try await database.write { db in try self.appendCheckpoint(db) }
    }

    /// Appends a checkpoint that signs everything before it, in the caller's transaction, once the stored chain
    /// verifies to its end.
    @discardableResult
    func appendCheckpoint(_ db: Database) throws -> AuditEntry? {
        try verifyChain(db)
        guard let last = try Self.lastEntry(db) else { return nil }
        if last.action == .checkpoint { return last }
        let entry = try AuditEntry.makeCheckpoint(after: last, signingKey: checkpointKey, time: AuditTime.now())
        try AuditRecord(entry).insert(db)
        TestHooks.pause(at: .checkpoint)
        return entry
    }

    @discardableResult
    func checkpointIfDue(interval: Int) async throws -> Bool {
        guard try await database.read({ db in try Self.isCheckpointDue(db, interval: interval) }) else { return false }
        try await verifyWholeChain()
        return try await database.write { db in
            guard try Self.isCheckpointDue(db, interval: interval) else { return false }
            return try self.appendCheckpoint(db) != nil
        }
    }

    /// Whether 1,000 entries or `interval` seconds' worth are unsigned.
    private static func isCheckpointDue(_ db: Database, interval: Int) throws -> Bool {
        let lastCheckpoint = try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM audit WHERE action = 'checkpoint'") ?? -1
        guard
            let firstUnsigned = try AuditRecord.filter(Column("seq") > lastCheckpoint).order(Column("seq"))
                .fetchOne(db)
        else { return false }
        let unsigned = try AuditRecord.filter(Column("seq") > lastCheckpoint).fetchCount(db)
        let since = try AuditEntry(parsing: [UInt8](firstUnsigned.line)).time
        let age = AuditTime.now().secondsSince1970 - since.secondsSince1970
        return unsigned >= 1000 || age >= Int64(interval)
    }

    /// Checks the whole stored log from its first line, as stored (SPEC §10.5), in a read transaction beside the
    /// writer, and keeps the result for ``verifyChain(_:)``. Run at start and before every checkpoint: an entry
    /// altered, removed or inserted behind the service's back anywhere in the log is a `ServerError.auditChain`,
    /// and nothing is signed. It reads and hashes every line, off the write path.
    func verifyWholeChain() async throws {
        let follower = try await database.read { db in
            var follower = AuditChainFollower(publicKey: self.checkpointKey.publicKey)
            try Self.follow(&follower, db)
            return follower
        }
        chain.withLock { $0 = follower }
    }

    /// Checks the lines appended since the last check, in the caller's (write) transaction, so that the checkpoint
    /// it is about to append signs exactly what was checked.
    func verifyChain(_ db: Database) throws {
        try chain.withLock { follower in try Self.follow(&follower, db) }
    }

    private static func follow(_ follower: inout AuditChainFollower, _ db: Database) throws {
        while true {
            let lines = try AuditRecord.filter(Column("seq") >= follower.lineCount).order(Column("seq"))
                .limit(10_000).fetchAll(db)
            for record in lines { follower.follow(line: [UInt8](record.line)) }
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
