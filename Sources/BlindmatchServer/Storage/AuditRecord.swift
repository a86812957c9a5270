import BlindmatchAudit
import Foundation
import GRDB

/// A row of `audit`: one entry of the log (SPEC §10.2) as its canonical line, and its action so that checkpoints can
/// be found without parsing the log.
struct AuditRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "audit"

    var seq: Int
    var line: Data
    var action: String?

    init(_ entry: AuditEntry) {
        seq = entry.seq
        line = Data(entry.canonicalBytes)
        action = entry.action.rawValue
    }
}

/// A row of `counter`: a named running total for `/metrics`.
struct CounterRecord: Sendable, Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "counter"

    var name: String
    var value: Int

    static func add(_ db: Database, _ name: String, _ amount: Int) throws {
        try db.execute(
            sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            arguments: [name, amount, amount])
    }

    static func raise(_ db: Database, _ name: String, to value: Int) throws {
        try db.execute(
            sql:
                "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = max(value, ?)",
            arguments: [name, value, value])
    }

    static func set(_ db: Database, _ name: String, _ value: Int) throws {
        try db.execute(
            sql: "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = ?",
            arguments: [name, value, value])
    }

    static func value(_ db: Database, _ name: String) throws -> Int? {
        try CounterRecord.fetchOne(db, key: name)?.value
    }
}
