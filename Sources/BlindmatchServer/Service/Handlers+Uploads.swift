import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import Hummingbird

extension MatchingService {
    /// `POST /projects/{projectId}/parties/{party}/uploads`: streams the body to a temporary file while hashing it,
    /// checks it (SPEC §6.5–6.7, in the contract's order), then moves it into the content-addressed store. A refused
    /// or interrupted upload leaves no file and no row.
    func upload(_ call: Call) async throws -> Response {
        let token = try call.token
        let project = try await self.project(call)
        let partyName = call.parameter("party")
        guard let party = project.party(named: partyName) else {
            throw APIError.notFound("no party of that name in this project")
        }
        do {
            return try await receive(call, project: project, party: party, actor: token.actor)
        } catch let error as APIError
            where [.contentTooLarge, .unsupportedMediaType, .unprocessableContent, .badRequest]
            .contains(error.status)
        {
            try await store.database.write { db in
                try ServiceStore.append(
                    db, actor: token.actor, action: .uploadRefused, project: project.id,
                    details: ["reason": .string(error.rule ?? error.code)])
                try ServiceStore.add(db, counter: "uploadsRefused", 1)
            }
            logger.notice("upload refused: \(error.code)", metadata: ["project": "\(project.id)"])
            throw error
        }
    }

    private func receive(_ call: Call, project: ProjectRecord, party: PartyRecord, actor: AuditActor) async throws
        -> Response
    {
        let tokenID = try call.token.id
        let request = call.request
        let type = call.mediaType
        guard type == "application/vnd.blindmatch.tokens" || type == "application/octet-stream" else {
            throw APIError(
                .unsupportedMediaType, "unsupportedMediaType",
                "expected application/vnd.blindmatch.tokens or application/octet-stream")
        }
        let limit = options.maxUploadBytes
        let tooLarge = APIError(.contentTooLarge, "payloadTooLarge", "the upload limit is \(limit) bytes")
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw tooLarge }
        guard project.isOpen else { throw APIError.projectClosed(project.id) }

        let sink = try UploadSink(store: files)
        defer { sink.discard() }
        do {
            for try await buffer in request.body {
                if sink.bytes + buffer.readableBytes > limit { throw tooLarge }
                try buffer.withUnsafeReadableBytes { try sink.write($0) }
            }
        } catch let error as APIError {
            throw error
        } catch let error as ServerError {
            logger.error("upload could not be stored: \(ServerError.logText(error))")
            throw APIError(.internalServerError, "internal", "the upload could not be stored")
        } catch {
            throw APIError(.badRequest, "truncatedUpload", "the body ended before it was complete")
        }
        if let declared, declared != sink.bytes {
            throw APIError(.badRequest, "truncatedUpload", "the body ended before its Content-Length")
        }
        let sha256 = try sink.finish()
        let path = sink.path
        let reference = try await store.database.read { db in try Self.compatibilityReference(db, project: project.id) }
        let file = try await offload {
            try Self.check(path: path, project: project, party: party, reference: reference)
        }
        let bytes = sink.bytes
        let header = file.header
        let signer = file.trailer.publicKey?.fingerprint ?? ""
        let id = try Identifier.make("u")
        let files = self.files
        let upload = try await store.database.write { db -> UploadRecord in
            // What may have changed while the file streamed and was checked: the project closed, the token was
            // revoked, or the other party's first upload arrived.
            try ProjectRecord.requireOpen(db, id: project.id)
            guard
                let token = try TokenRecord.fetch(db, id: tokenID), token.isValid(at: AuditTime.now().text)
            else { throw APIError.unauthenticated }
            if let now = try Self.compatibilityReference(db, project: project.id),
                !(reference.map { $0 == now } ?? false)
            {
                _ = try Self.check(path: path, project: project, party: party, reference: now)
            }
            let placed = try files.adopt(temporaryPath: path, sha256: sha256)
            do {
                return try Self.record(
                    db, id: id, project: project, party: party, sha256: sha256, bytes: bytes, header: header,
                    signer: signer, actor: actor)
            } catch {
                if placed { files.remove(sha256: sha256) }
                throw error
            }
        }
        logger.info("upload accepted", metadata: ["project": "\(project.id)", "upload": "\(id)", "bytes": "\(bytes)"])
        return JSONResponse.make(
            upload.json, status: .created, headers: [.location: "/projects/\(project.id)/uploads/\(id)"])
    }

    typealias Reference = (filterBits: Int, matchKeys: String, blockingKeys: String)

    /// What every upload of the project must share (SPEC §6.7), from its first accepted upload.
    static func compatibilityReference(_ db: Database, project: String) throws -> Reference? {
        try Row.fetchOne(
            db,
            sql: "SELECT filterBits, matchKeys, blockingKeys FROM upload WHERE project = ? ORDER BY ordinal LIMIT 1",
            arguments: [project]
        ).map { row in
            (
                filterBits: row["filterBits"] as Int, matchKeys: row["matchKeys"] as String,
                blockingKeys: row["blockingKeys"] as String
            )
        }
    }

    /// The upload's row, its audit entry and the counters, in the caller's transaction.
    static func record(
        _ db: Database, id: String, project: ProjectRecord, party: PartyRecord, sha256: String, bytes: Int,
        header: TokenFileHeader, signer: String, actor: AuditActor
    ) throws -> UploadRecord {
        try db.execute(
            sql: """
                INSERT INTO upload (id, project, party, sha256, bytes, records, signer, schemaFingerprint, keyId,
                    filterBits, matchKeys, blockingKeys, fileCreatedAt, receivedAt, ordinal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, project.id, party.name, sha256, bytes, header.recordCount, signer, header.schemaFingerprint,
                header.keyID, header.filterBits,
                JSONValue.array(header.matchKeys.map(JSONValue.string)).canonicalText,
                JSONValue.array(header.blockingKeys.map(JSONValue.string)).canonicalText,
                AuditTime(header.createdAt)?.text ?? AuditTime.now().text, AuditTime.now().text,
                try ServiceStore.nextOrdinal(db),
            ])
        try ServiceStore.append(
            db, actor: actor, action: .uploadAccepted, project: project.id,
            details: ["file": .string(sha256), "records": .integer(header.recordCount), "signer": .string(signer)])
        try ServiceStore.add(db, counter: "uploadsAccepted", 1)
        try ServiceStore.add(db, counter: "uploadBytes", bytes)
        try ServiceStore.setMaximum(db, counter: "uploadLargest", bytes)
        try ServiceStore.set(db, counter: "uploadLast", bytes)
        guard let upload = try UploadRecord.fetch(db, id: id) else {
            throw ServerError(.storage, "an upload just written cannot be read back")
        }
        return upload
    }

    /// The checks on arrival, in the order of the contract; the first failure is a 422 with its `tokenFile…` code.
    static func check(
        path: String, project: ProjectRecord, party: PartyRecord,
        reference: Reference?
    ) throws -> TokenFile {
        func refuse(_ code: String, _ rule: String, _ message: String) -> APIError {
            APIError(.unprocessableContent, code, message, rule: rule)
        }
        let file: TokenFile
        do {
            file = try TokenFile(contentsOf: path)
        } catch {
            throw refuse("tokenFileStructure", "SPEC §6.1-6.3 structure", "the body is not a well-formed token file")
        }
        let checks = file.verify(schema: nil, publicKey: party.publicKey, allowUnsigned: false)
        func failed(_ rule: String) -> VerificationCheck? { checks.first { $0.rule == rule && !$0.passed } }
        if failed("SPEC §6.5 digest") != nil {
            throw refuse(
                "tokenFileDigest", "SPEC §6.5 digest",
                "the content's SHA-256 does not match the trailer: the file was altered")
        }
        guard let signer = file.trailer.publicKey else {
            throw refuse(
                "tokenFileUnsigned", "SPEC §6.5 signature", "the file is not signed; unsigned files are refused")
        }
        if !file.trailer.isSignatureValid {
            throw refuse("tokenFileSignature", "SPEC §6.5 signature", "the signature does not verify")
        }
        if signer != party.publicKey {
            throw refuse(
                "tokenFileSigner", "SPEC §6.5 signer",
                "the file is signed by key \(signer.fingerprint.prefix(8))…, not by the key registered for \(party.name) (\(party.publicKey.fingerprint.prefix(8))…)"
            )
        }
        let header = file.header
        if header.schemaFingerprint != project.schemaFingerprint {
            throw refuse(
                "tokenFileSchema", "SPEC §2.1 schema fingerprint",
                "the file was made with schema \(header.schemaFingerprint.prefix(8))…, not the project's (\(project.schemaFingerprint.prefix(8))…)"
            )
        }
        if header.keyID != project.keyId {
            throw refuse(
                "tokenFileKeyId", "SPEC §1.3 key id",
                "the file's key id \(header.keyID.prefix(8))… is not the project's (\(project.keyId.prefix(8))…): made with another secret"
            )
        }
        if header.party != party.name {
            throw refuse(
                "tokenFileParty", "SPEC §6.3 party",
                "the file's party is not \(party.name) (tokenise --party \(party.name))")
        }
        if let reference {
            let same =
                reference.filterBits == header.filterBits
                && reference.matchKeys == JSONValue.array(header.matchKeys.map(JSONValue.string)).canonicalText
                && reference.blockingKeys == JSONValue.array(header.blockingKeys.map(JSONValue.string)).canonicalText
            if !same {
                throw refuse(
                    "tokenFileIncompatible", "SPEC §6.7 compatibility",
                    "filter length, match keys or blocking keys differ from the project's other uploads")
            }
        }
        if let check = failed("SPEC §6.6 header holds no data") {
            throw refuse(
                "tokenFileHeaderData", check.rule, "the header's free-form members do not have the tool's shape")
        }
        if let check = failed("SPEC §6.2 padding") {
            throw refuse("tokenFilePadding", check.rule, "padding holds non-zero bytes")
        }
        if let check = failed("SPEC §6.4 presence") {
            throw refuse("tokenFilePresence", check.rule, "presence bits and token columns disagree")
        }
        if let check = checks.first(where: { !$0.passed }) {
            throw refuse("tokenFilePlaintext", check.rule, "a column does not look like keyed tokens or Bloom filters")
        }
        return file
    }

    /// `GET /projects/{projectId}/uploads`.
    func listUploads(_ call: Call) async throws -> Response {
        let token = try call.token
        let project = try await self.project(call)
        var listing = try Listing("uploads", table: "upload", call: call)
        listing.filter("project = ?", [project.id])
        var party = call.query("party")
        if let party, !Patterns.isName(party) { throw APIError.malformed("party must be a party name") }
        if token.role == .party {
            if let party, party != token.party {
                throw APIError.forbidden("forbiddenParty", "a party token lists only its own uploads")
            }
            party = token.party
        }
        if let party { listing.filter("party = ?", [party]) }
        let query = listing
        let (items, total) = try await store.database.read { db in
            // One lookup of the latest upload per party, not per row.
            var latestByParty: [String: String?] = [:]
            return try query.items(db) { row in
                let party: String = row["party"]
                let latest: String?
                if let known = latestByParty[party] {
                    latest = known
                } else {
                    latest = try UploadRecord.latestID(db, project: project.id, party: party)
                    latestByParty[party] = latest
                }
                return try UploadRecord(row: row, current: latest == row["id"] as String)
            }
        }
        return listing.response(items.map(\.json), total: total)
    }

    /// `GET /projects/{projectId}/uploads/{uploadId}`.
    func getUpload(_ call: Call) async throws -> Response {
        let token = try call.token
        let project = try await self.project(call)
        let id = call.parameter("uploadId")
        let upload = try await store.database.read { db in try UploadRecord.fetch(db, id: id) }
        guard let upload, upload.project == project.id else {
            throw APIError.notFound("no upload \(Self.printableID(id)) in project \(project.id)")
        }
        if token.role == .party && upload.party != token.party {
            throw APIError.forbidden("forbiddenParty", "a party reads only its own uploads")
        }
        return JSONResponse.make(upload.json)
    }
}

/// Runs blocking work (file checks, the engine) on a thread of its own, off the server's executors.
func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
