import BlindmatchAudit
import BlindmatchProtocol
import GRDB

extension SQLiteLinkageStore {
    /// The id of a party's latest accepted upload.
    static func latestUploadID(_ db: Database, project: String, party: String) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT id FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1",
            arguments: [project, party])
    }

    /// The upload, with `current` worked out against the party's latest accepted upload.
    static func upload(_ db: Database, id: String) throws -> UploadRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM upload WHERE id = ?", arguments: [id]) else {
            return nil
        }
        let latest = try latestUploadID(db, project: row["project"], party: row["party"])
        return try UploadRecord(row: row, latest: latest)
    }

    /// The party's current upload: its latest accepted one, unless it withdrew that (an earlier upload never
    /// becomes current again).
    static func currentUpload(_ db: Database, project: String, party: String) throws -> UploadRecord? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT * FROM upload WHERE project = ? AND party = ? ORDER BY ordinal DESC LIMIT 1",
                arguments: [project, party])
        else { return nil }
        let upload = try UploadRecord(row: row, latest: row["id"])
        return upload.current ? upload : nil
    }

    /// The project's layout, recorded at its creation (nil only for a project made before layouts were recorded,
    /// until its first upload).
    static func uploadLayout(_ db: Database, project: String) throws -> UploadLayout? {
        guard
            let row = try Row.fetchOne(
                db, sql: "SELECT layoutFilterBits, layoutMatchKeys, layoutBlockingKeys FROM project WHERE id = ?",
                arguments: [project]),
            let filterBits = row["layoutFilterBits"] as Int?
        else { return nil }
        return UploadLayout(
            filterBits: filterBits, matchKeys: try row.stringList("layoutMatchKeys"),
            blockingKeys: try row.stringList("layoutBlockingKeys"))
    }

    func uploadLayout(project: String) async throws -> UploadLayout? {
        try await database.read { db in try Self.uploadLayout(db, project: project) }
    }

    func upload(id: String) async throws -> UploadRecord? {
        try await database.read { db in try Self.upload(db, id: id) }
    }

    func uploads(_ page: PageRequest, project: String, party: String?) async throws -> Page<UploadRecord> {
        var conditions: [(String, StatementArguments)] = [("project = ?", [project])]
        if let party { conditions.append(("party = ?", [party])) }
        let filters = conditions
        return try await database.read { db in
            // One lookup of the latest upload per party, not per row.
            var latestByParty: [String: String?] = [:]
            return try Self.page(db, table: UploadRecord.databaseTableName, page, where: filters) { row in
                let party: String = row["party"]
                let latest: String?
                if let known = latestByParty[party] {
                    latest = known
                } else {
                    latest = try Self.latestUploadID(db, project: project, party: party)
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
        try await database.write { db in
            // What may have changed while the file streamed and was checked: the project closed, the token was
            // revoked, or the other party's first upload arrived.
            try Self.requireOpen(db, project: upload.project)
            guard let token = try TokenRecord.fetchOne(db, key: tokenID), token.isValid(at: AuditTime.now().text)
            else { throw APIError.unauthenticated }
            if let now = try Self.uploadLayout(db, project: upload.project) {
                if now != layout { try recheck(now) }
            } else {
                // A project made before layouts were recorded takes its first upload's.
                let header = upload.header
                try db.execute(
                    sql: """
                        UPDATE project SET layoutFilterBits = ?, layoutMatchKeys = ?, layoutBlockingKeys = ?
                        WHERE id = ?
                        """,
                    arguments: [
                        header.filterBits, JSONValue.canonicalList(header.matchKeys),
                        JSONValue.canonicalList(header.blockingKeys), upload.project,
                    ])
            }
            let placed = try place()
            do {
                let (record, entry) = try Self.record(db, upload, actor: actor)
                return (record, try Self.receipt(db, for: entry))
            } catch {
                if placed { unplace() }
                throw error
            }
        }
    }

    /// The upload's row, its audit entry and the counters, in the caller's transaction.
    private static func record(_ db: Database, _ upload: NewUpload, actor: Acting) throws -> (
        upload: UploadRecord, entry: AuditEntry
    ) {
        let header = upload.header
        try db.execute(
            sql: """
                INSERT INTO upload (id, project, party, sha256, bytes, records, signer, schemaFingerprint, keyId,
                    filterBits, matchKeys, blockingKeys, fileCreatedAt, receivedAt, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                upload.id, upload.project, upload.party, upload.sha256, upload.bytes, header.recordCount,
                upload.signer, header.schemaFingerprint, header.keyID, header.filterBits,
                JSONValue.canonicalList(header.matchKeys), JSONValue.canonicalList(header.blockingKeys),
                AuditTime(header.createdAt)?.text ?? AuditTime.now().text, AuditTime.now().text,
                try nextOrdinal(db),
            ])
        let entry = try append(
            db, actor: actor, action: .uploadAccepted, project: upload.project,
            details: [
                "file": .string(upload.sha256), "records": .integer(header.recordCount),
                "signer": .string(upload.signer),
            ])
        try CounterRecord.add(db, "uploadsAccepted", 1)
        try CounterRecord.add(db, "uploadBytes", upload.bytes)
        try CounterRecord.raise(db, "uploadLargest", to: upload.bytes)
        try CounterRecord.set(db, "uploadLast", upload.bytes)
        guard let record = try Self.upload(db, id: upload.id) else {
            throw ServerError(.storage, "an upload just written cannot be read back")
        }
        return (record, entry)
    }

    func withdrawUpload(_ upload: UploadRecord, by actor: Acting, removeFiles: @Sendable ([String]) -> Void)
        async throws -> (upload: UploadRecord, failedRuns: [String], receipt: Receipt)
    {
        try await database.write { db in
            try Self.requireOpen(db, project: upload.project)
            try db.execute(
                sql: "UPDATE upload SET withdrawnAt = ? WHERE id = ? AND withdrawnAt IS NULL",
                arguments: [AuditTime.now().text, upload.id])
            guard db.changesCount > 0 else {
                throw APIError.conflict(.uploadWithdrawn, "upload \(upload.id) was withdrawn already")
            }
            let entry = try Self.append(
                db, actor: actor, action: .uploadWithdrawn, project: upload.project,
                details: ["upload": .string(upload.id), "file": .string(upload.sha256)])
            var failed: [String] = []
            for run in try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM run WHERE project = ? AND (watchlistUpload = ? OR bulkUpload = ?)
                    AND status IN ('awaitingApproval', 'queued', 'running') ORDER BY ordinal
                    """, arguments: [upload.project, upload.id, upload.id])
            where try Self.fail(db, run: run, project: upload.project, code: .uploadWithdrawn, actor: actor) {
                failed.append(run)
            }
            let stillUsed =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM upload u JOIN project p ON p.id = u.project
                        WHERE u.sha256 = ? AND u.withdrawnAt IS NULL AND p.status = 'open'
                        """, arguments: [upload.sha256]) ?? 0
            // In the transaction, so that no upload of the same content slips in between.
            if stillUsed == 0 { removeFiles([upload.sha256]) }
            guard let withdrawn = try Self.upload(db, id: upload.id) else {
                throw ServerError(.storage, "an upload just written cannot be read back")
            }
            return (withdrawn, failed, try Self.receipt(db, for: entry))
        }
    }

    func storedBytes(project: String, party: String) async throws -> Int64 {
        try await database.read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(bytes), 0) FROM (SELECT DISTINCT sha256, bytes FROM upload
                    WHERE project = ? AND party = ? AND withdrawnAt IS NULL)
                    """, arguments: [project, party]) ?? 0
        }
    }

    func refuseUpload(project: String, reason: String, by actor: Acting) async throws {
        try await database.write { db in
            try Self.append(
                db, actor: actor, action: .uploadRefused, project: project, details: ["reason": .string(reason)])
            try CounterRecord.add(db, "uploadsRefused", 1)
        }
    }

    func referencedFiles() async throws -> Set<String> {
        Set(
            try await database.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT u.sha256 FROM upload u JOIN project p ON p.id = u.project
                        WHERE p.status = 'open' AND u.withdrawnAt IS NULL
                        """)
            })
    }
}
