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

    func beginAuditExport(by actor: AuditActor) async throws -> AuditEntry? {
        try await database.write { db in
            try Self.append(db, actor: actor, action: .auditExported, project: nil)
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
        _ = try await database.write { db in try self.appendCheckpoint(db) }
    }

    /// Appends a checkpoint that signs everything before it, in the caller's transaction.
    @discardableResult
    func appendCheckpoint(_ db: Database) throws -> AuditEntry? {
        guard let last = try Self.lastEntry(db) else { return nil }
        if last.action == .checkpoint { return last }
        let entry = try AuditEntry.makeCheckpoint(after: last, signingKey: checkpointKey, time: AuditTime.now())
        try AuditRecord(entry).insert(db)
        return entry
    }

    @discardableResult
    func checkpointIfDue(interval: Int) async throws -> Bool {
        try await database.write { db in
            let lastCheckpoint =
                try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM audit WHERE action = 'checkpoint'") ?? -1
            guard
                let firstUnsigned = try AuditRecord.filter(Column("seq") > lastCheckpoint).order(Column("seq"))
                    .fetchOne(db)
            else { return false }
            let unsigned = try AuditRecord.filter(Column("seq") > lastCheckpoint).fetchCount(db)
            let since = try AuditEntry(parsing: [UInt8](firstUnsigned.line)).time
            let age = AuditTime.now().secondsSince1970 - since.secondsSince1970
            guard unsigned >= 1000 || age >= Int64(interval) else { return false }
            return try self.appendCheckpoint(db) != nil
        }
    }
}
