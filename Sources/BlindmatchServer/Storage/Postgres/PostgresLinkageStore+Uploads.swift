import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB

extension PostgresLinkageStore {
    static func latestUploadID(_ db: PostgresSession, project: String, party: String) async throws -> String? {
        try await db.string(
            "SELECT id FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1", [project, party])
    }

    static func upload(_ db: PostgresSession, id: String) async throws -> UploadRecord? {
        guard let row = try await db.row("SELECT * FROM upload WHERE id = ?", [id]) else { return nil }
        let latest = try await latestUploadID(db, project: row["project"], party: row["party"])
        return try UploadRecord(row: row, latest: latest)
    }

    static func currentUpload(_ db: PostgresSession, project: String, party: String) async throws -> UploadRecord? {
        guard
            let row = try await db.row(
                "SELECT * FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1", [project, party])
        else { return nil }
        let upload = try UploadRecord(row: row, latest: row["id"])
        return upload.current ? upload : nil
    }

    static func uploadLayout(_ db: PostgresSession, project: String) async throws -> UploadLayout? {
        guard
            let row = try await db.row(
                "SELECT layoutFilterBits, layoutMatchKeys, layoutBlockingKeys FROM project WHERE id = ?", [project]),
            let filterBits = row["layoutFilterBits"] as Int?
        else { return nil }
        return UploadLayout(
            filterBits: filterBits, matchKeys: try row.stringList("layoutMatchKeys"),
            blockingKeys: try row.stringList("layoutBlockingKeys"))
    }

    func uploadLayout(project: String) async throws -> UploadLayout? {
        try await pool.session { db in try await Self.uploadLayout(db, project: project) }
    }

    func upload(id: String) async throws -> UploadRecord? {
        try await pool.read { db in try await Self.upload(db, id: id) }
    }

    func uploads(_ page: PageRequest, project: String, party: String?) async throws -> Page<UploadRecord> {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = [("project = ?", [project])]
        if let party { conditions.append(("party = ?", [party])) }
        let filters = conditions
        return try await pool.read { db in
            var latestByParty: [String: String?] = [:]
            return try await Self.page(db, table: "upload", page, where: filters) { row in
                let party: String = row["party"]
                let latest: String?
                if let known = latestByParty[party] {
                    latest = known
                } else {
                    latest = try await Self.latestUploadID(db, project: project, party: party)
                    latestByParty[party] = latest
                }
                return try UploadRecord(row: row, latest: latest)
            }
        }
    }

    func acceptUpload(
        _ upload: NewUpload, tokenID: String, by actor: Acting, checkedAgainst layout: UploadLayout?,
        recheck: @Sendable (UploadLayout) throws -> Void, place: @Sendable () throws -> Bool,
        unplace: @Sendable () -> Void
    ) async throws -> (upload: UploadRecord, receipt: Receipt) {
        try await pool.write { db in
            try await Self.requireOpen(db, project: upload.project)
            guard let token = try await Self.token(db, id: tokenID), token.isValid(at: AuditTime.now().text)
            else { throw APIError.unauthenticated }
            if let now = try await Self.uploadLayout(db, project: upload.project) {
                if now != layout { try recheck(now) }
            } else {
                let header = upload.header
                try await db.execute(
                    """
                    UPDATE project SET layoutFilterBits = ?, layoutMatchKeys = ?, layoutBlockingKeys = ?
                    WHERE id = ?
                    """,
                    [
                        header.filterBits, JSONValue.canonicalList(header.matchKeys),
                        JSONValue.canonicalList(header.blockingKeys), upload.project,
                    ])
            }
            let placed = try place()
            do {
                let (record, entry) = try await Self.record(db, upload, actor: actor)
                return (record, try await Self.receipt(db, for: entry))
            } catch {
                if placed { unplace() }
                throw error
            }
        }
    }

    private static func record(_ db: PostgresSession, _ upload: NewUpload, actor: Acting) async throws -> (
        upload: UploadRecord, entry: AuditEntry
    ) {
        let header = upload.header
        let ordinal = try await nextOrdinal(db)
        try await db.execute(
            """
            INSERT INTO upload (id, project, party, sha256, bytes, records, signer, schemaFingerprint, keyId,
                filterBits, matchKeys, blockingKeys, fileCreatedAt, receivedAt, ordinal)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                upload.id, upload.project, upload.party, upload.sha256, upload.bytes, header.recordCount,
                upload.signer, header.schemaFingerprint, header.keyID, header.filterBits,
                JSONValue.canonicalList(header.matchKeys), JSONValue.canonicalList(header.blockingKeys),
                AuditTime(header.createdAt)?.text ?? AuditTime.now().text, AuditTime.now().text, ordinal,
            ])
        let entry = try await append(
            db, actor: actor, action: .uploadAccepted, project: upload.project,
            details: [
                "file": .string(upload.sha256), "records": .integer(header.recordCount),
                "signer": .string(upload.signer),
            ])
        try await add(db, "uploadsAccepted", 1)
        try await add(db, "uploadBytes", upload.bytes)
        try await raise(db, "uploadLargest", to: upload.bytes)
        try await set(db, "uploadLast", upload.bytes)
        guard let record = try await Self.upload(db, id: upload.id) else {
            throw ServerError(.storage, "an upload just written cannot be read back")
        }
        return (record, entry)
    }

    func withdrawUpload(_ upload: UploadRecord, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> (upload: UploadRecord, failedRuns: [String], receipt: Receipt)
    {
        try await pool.write { db in
            try await Self.requireOpen(db, project: upload.project)
            let changed = try await db.changes(
                "UPDATE upload SET withdrawnAt = ? WHERE id = ? AND withdrawnAt IS NULL",
                [AuditTime.now().text, upload.id])
            guard changed > 0 else {
                throw APIError.conflict(.uploadWithdrawn, "upload \(upload.id) was withdrawn already")
            }
            let entry = try await Self.append(
                db, actor: actor, action: .uploadWithdrawn, project: upload.project,
                details: ["upload": .string(upload.id), "file": .string(upload.sha256)])
            var failed: [String] = []
            for run in try await db.strings(
                """
                SELECT id FROM run WHERE project = ? AND (watchlistUpload = ? OR bulkUpload = ?)
                AND status IN ('awaitingApproval', 'queued', 'running') ORDER BY ordinal
                """, [upload.project, upload.id, upload.id])
            {
                if try await Self.fail(db, run: run, project: upload.project, code: .uploadWithdrawn, actor: actor) {
                    failed.append(run)
                }
            }
            let stillUsed =
                try await db.int(
                    """
                    SELECT COUNT(*) FROM upload u JOIN project p ON p.id = u.project
                    WHERE u.sha256 = ? AND u.withdrawnAt IS NULL AND p.status = 'open'
                    """, [upload.sha256]) ?? 0
            if stillUsed == 0 { removeFiles([upload.sha256]) }
            guard let withdrawn = try await Self.upload(db, id: upload.id) else {
                throw ServerError(.storage, "an upload just written cannot be read back")
            }
            return (withdrawn, failed, try await Self.receipt(db, for: entry))
        }
    }

    func storedBytes(project: String, party: String) async throws -> Int64 {
        try await pool.session { db in
            Int64(
                try await db.int(
                    """
                    SELECT COALESCE(SUM(bytes), 0)::BIGINT FROM (SELECT DISTINCT sha256, bytes FROM upload
                    WHERE project = ? AND party = ? AND withdrawnAt IS NULL) AS stored
                    """, [project, party]) ?? 0)
        }
    }

    func refuseUpload(project: String, reason: String, by actor: Acting) async throws {
        try await pool.write { db in
            try await Self.append(
                db, actor: actor, action: .uploadRefused, project: project, details: ["reason": .string(reason)])
            try await Self.add(db, "uploadsRefused", 1)
        }
    }

    func referencedFiles() async throws -> Set<String> {
        Set(
            try await pool.session { db in
                try await db.strings(
                    """
                    SELECT DISTINCT u.sha256 FROM upload u JOIN project p ON p.id = u.project
                    WHERE p.status = 'open' AND u.withdrawnAt IS NULL
                    """)
            })
    }
}
