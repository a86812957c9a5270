import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import Synchronization

/// The shared store: PostgreSQL (`serve --database`), which several servers use at once.
///
/// The same tables, semantics and audit lines as ``SQLiteLinkageStore``, whose methods these are ported from one by
/// one. Every transaction that appends to the audit log takes one advisory lock first (``PostgresLocks/audit``) and
/// reads the log's last entry inside it, so the log stays one chain whichever server extends it; as in SQLite, where
/// one writer at a time does the same, refusals are decided inside that transaction.
final class PostgresLinkageStore: LinkageStore {
    let pool: PostgresPool
    let checkpointKey: SigningKey
    /// This server's name as the owner of the runs it claims (`run.owner`): host, process and a random part.
    let owner: String
    /// How long a claimed run stays this server's without a heartbeat (``renewLease(of:)``).
    let leaseSeconds: Int64
    let viewSizes = Mutex<[String: Int]>([:])
    let viewCountCache = Mutex<[String: [ResultStatus: Int]]>([:])
    let chain: Mutex<AuditChainFollower>

    /// Opens the store on a pool whose migrations have run, checking the whole stored audit log first.
    init(pool: PostgresPool, checkpointKey: SigningKey, leaseSeconds: Int64 = 60) async throws {
        self.pool = pool
        self.checkpointKey = checkpointKey
        self.leaseSeconds = leaseSeconds
        owner = "\(Self.hostName())/\(getpid())/" + Hex.encode(try SecureRandom.bytes(6))
        chain = Mutex(AuditChainFollower(publicKey: checkpointKey.publicKey))
        try await verifyWholeChain()
    }

    /// The host's name as `gethostname` gives it (no name lookup).
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The audit entry after the log's last one, in the caller's transaction (which holds the audit lock).
    @discardableResult
    static func append(
        _ db: PostgresSession, actor: AuditActor, action: AuditAction, project: String?, details: AuditDetails = [:]
    ) async throws -> AuditEntry {
        let entry = try AuditEntry.make(
            after: try await lastEntry(db), actor: actor, action: action, project: project, details: details,
            time: AuditTime.now())
        try await db.execute(
            "INSERT INTO audit (seq, line, action) VALUES (?, ?, ?)",
            [entry.seq, Data(entry.canonicalBytes), entry.action.rawValue])
        return entry
    }

    /// The audit entry of an action by a token holder: `details.byToken` names the token it acted with.
    @discardableResult
    static func append(
        _ db: PostgresSession, actor acting: Acting, action: AuditAction, project: String?,
        details: AuditDetails = [:]
    ) async throws -> AuditEntry {
        var members = details.members.map { (name: $0.name, value: $0.value) }
        if let token = acting.tokenID { members.append((name: "byToken", value: .string(token))) }
        return try await append(
            db, actor: acting.actor, action: action, project: project, details: AuditDetails(members))
    }

    static func lastEntry(_ db: PostgresSession) async throws -> AuditEntry? {
        guard let row = try await db.row("SELECT line FROM audit ORDER BY seq DESC LIMIT 1") else { return nil }
        return try AuditEntry(parsing: [UInt8](row["line"] as Data))
    }

    /// The receipt of `entry`, just appended in the caller's transaction.
    static func receipt(_ db: PostgresSession, for entry: AuditEntry) async throws -> Receipt {
        let checkpoint = try await db.row(
            "SELECT line FROM audit WHERE action = 'checkpoint' AND seq < ? ORDER BY seq DESC LIMIT 1", [entry.seq]
        ).map { try AuditEntry(parsing: [UInt8]($0["line"] as Data)) }
        return Receipt(
            seq: entry.seq, hash: entry.hash, checkpointSeq: checkpoint?.seq, checkpointHash: checkpoint?.hash)
    }

    /// A number that grows with every insert, for newest-first listings that do not depend on the clock.
    static func nextOrdinal(_ db: PostgresSession) async throws -> Int {
        try await add(db, "ordinal", 1)
        return try await counter(db, "ordinal") ?? 1
    }

    static func add(_ db: PostgresSession, _ name: String, _ amount: Int) async throws {
        try await db.execute(
            """
            INSERT INTO counter (name, value) VALUES (?, ?)
            ON CONFLICT (name) DO UPDATE SET value = counter.value + EXCLUDED.value
            """, [name, amount])
    }

    static func raise(_ db: PostgresSession, _ name: String, to value: Int) async throws {
        try await db.execute(
            """
            INSERT INTO counter (name, value) VALUES (?, ?)
            ON CONFLICT (name) DO UPDATE SET value = GREATEST(counter.value, EXCLUDED.value)
            """, [name, value])
    }

    static func set(_ db: PostgresSession, _ name: String, _ value: Int) async throws {
        try await db.execute(
            "INSERT INTO counter (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            [name, value])
    }

    static func counter(_ db: PostgresSession, _ name: String) async throws -> Int? {
        try await db.int("SELECT value FROM counter WHERE name = ?", [name])
    }

    /// 409 `projectClosed` unless the project is open now, in the caller's transaction.
    static func requireOpen(_ db: PostgresSession, project id: String) async throws {
        let status = try await db.string("SELECT status FROM project WHERE id = ?", [id])
        guard status == ProjectStatus.open.rawValue else { throw APIError.projectClosed(id) }
    }

    /// A newest-first page of `table`'s rows matching `conditions`, by ordinal.
    static func page<Item>(
        _ db: PostgresSession, table: String, _ request: PageRequest,
        where conditions: [(String, [(any DatabaseValueConvertible)?])], _ make: (Row) async throws -> Item
    ) async throws -> Page<Item> {
        var conditions = conditions
        if let before = request.before { conditions.append(("ordinal < ?", [before])) }
        let clause = conditions.isEmpty ? "" : "WHERE " + conditions.map(\.0).joined(separator: " AND ")
        let arguments = conditions.flatMap(\.1)
        let rows = try await db.rows(
            "SELECT * FROM \(table) \(clause) ORDER BY ordinal DESC LIMIT ?", arguments + [request.limit + 1])
        var items: [Item] = []
        for row in rows.prefix(request.limit) { items.append(try await make(row)) }
        let next: Int? = rows.count > request.limit ? rows[request.limit - 1]["ordinal"] : nil
        return Page(items: items, nextBefore: next)
    }

    func isHealthy() async -> Bool {
        (try? await pool.session { db in try await db.int("SELECT 1") }) != nil
    }
}
