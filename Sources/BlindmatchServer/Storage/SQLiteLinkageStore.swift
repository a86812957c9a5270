import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import Synchronization

/// The embedded store: one SQLite database (`blindmatch.sqlite`) in the data directory, in WAL mode, through a
/// `DatabasePool` so that readers run beside the one writer.
///
/// It holds tokens (their SHA-256 only), projects and parties, upload metadata, runs and their results, the audit log
/// and a few counters. Every change that the audit log records is written in the same transaction as its audit entry.
final class SQLiteLinkageStore: LinkageStore {
    let database: DatabasePool
    let checkpointKey: SigningKey
    /// Rows in each party's view of a run (results never change once published), so that paging does not count the
    /// whole view again for every page.
    let viewSizes = Mutex<[String: Int]>([:])
    /// `viewCounts` by run and side: a succeeded run's results never change.
    let viewCountCache = Mutex<[String: [ResultStatus: Int]]>([:])
    /// The stored audit log as checked so far, line by line (`verifyChain`): read to the end at start and before
    /// every checkpoint, so that the service never signs a chain that does not verify.
    let chain: Mutex<AuditChainFollower>

    init(path: String, checkpointKey: SigningKey) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // What is deleted (a closed project's results) is overwritten, not left in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            self.checkpointKey = checkpointKey
            chain = Mutex(AuditChainFollower(publicKey: checkpointKey.publicKey))
            try Self.migrator.migrate(database)
            try database.read { db in try self.verifyChain(db) }  // the whole log: the follower starts empty
        } catch let error as DatabaseError {
            throw ServerError(.storage, "\(path): the store cannot be opened (SQLite \(error.resultCode))")
        }
    }

    /// The audit entry after the log's last one, in the caller's transaction.
    @discardableResult
    static func append(
        _ db: Database, actor: AuditActor, action: AuditAction, project: String?, details: AuditDetails = [:]
    ) throws -> AuditEntry {
        let entry = try AuditEntry.make(
            after: try lastEntry(db), actor: actor, action: action, project: project, details: details,
            time: AuditTime.now())
        try AuditRecord(entry).insert(db)
        return entry
    }

    /// The audit entry of an action by a token holder: `details.byToken` names the token it acted with.
    @discardableResult
    static func append(
        _ db: Database, actor acting: Acting, action: AuditAction, project: String?, details: AuditDetails = [:]
    ) throws -> AuditEntry {
        var members = details.members.map { (name: $0.name, value: $0.value) }
        if let token = acting.tokenID { members.append((name: "byToken", value: .string(token))) }
        return try append(db, actor: acting.actor, action: action, project: project, details: AuditDetails(members))
    }

    static func lastEntry(_ db: Database) throws -> AuditEntry? {
        try AuditRecord.order(Column("seq").desc).fetchOne(db).map { try AuditEntry(parsing: [UInt8]($0.line)) }
    }

    /// A number that grows with every insert, for newest-first listings that do not depend on the clock.
    static func nextOrdinal(_ db: Database) throws -> Int {
        try CounterRecord.add(db, "ordinal", 1)
        return try CounterRecord.value(db, "ordinal") ?? 1
    }

    /// 409 `projectClosed` unless the project is open now, in the caller's transaction: for writes that must not
    /// land in a project closed while the request was on its way.
    static func requireOpen(_ db: Database, project id: String) throws {
        let status = try String.fetchOne(db, sql: "SELECT status FROM project WHERE id = ?", arguments: [id])
        guard status == ProjectStatus.open.rawValue else { throw APIError.projectClosed(id) }
    }

    /// A newest-first page of `table`'s rows matching `conditions`, by ordinal.
    static func page<Item>(
        _ db: Database, table: String, _ request: PageRequest, where conditions: [(String, StatementArguments)],
        _ make: (Row) throws -> Item
    ) throws -> Page<Item> {
        var conditions = conditions
        if let before = request.before { conditions.append(("ordinal < ?", [before])) }
        let clause = conditions.isEmpty ? "" : "WHERE " + conditions.map(\.0).joined(separator: " AND ")
        let arguments = conditions.reduce(into: StatementArguments()) { $0 += $1.1 }
        let rows = try Row.fetchAll(
            db, sql: "SELECT * FROM \(table) \(clause) ORDER BY ordinal DESC LIMIT ?",
            arguments: arguments + [request.limit + 1])
        let items = try rows.prefix(request.limit).map(make)
        let next: Int? = rows.count > request.limit ? rows[request.limit - 1]["ordinal"] : nil
        return Page(items: items, nextBefore: next)
    }

    func isHealthy() async -> Bool {
        (try? await database.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) != nil
    }
}
