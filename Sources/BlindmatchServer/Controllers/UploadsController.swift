import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// The `uploads` tag: token files (SPEC §6), streamed and checked on arrival.
struct UploadsController<Store: LinkageStore>: Sendable {
    let store: Store
    let files: TokenFileStore
    let limits: UploadLimits
    let streams = UploadStreams()
    let logger: Logger
    let board: RunBoard

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.post, "/projects/{projectId}/parties/{party}/uploads", roles: [.party], upload)
        routes.add(.get, "/projects/{projectId}/uploads", roles: [.operator, .auditor, .party], list)
        routes.add(.get, "/projects/{projectId}/uploads/{uploadId}", roles: [.operator, .auditor, .party], get)
        routes.add(.post, "/projects/{projectId}/uploads/{uploadId}/withdraw", roles: [.party], withdraw)
    }

    /// `POST /projects/{projectId}/uploads/{uploadId}/withdraw`: the party's own upload is no run's any more.
    @Sendable func withdraw(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let id = context.parameter("uploadId")
        guard let upload = try await store.upload(id: id), upload.project == project.id else {
            throw APIError.notFound("no upload \(Identifier.printable(id)) in project \(project.id)")
        }
        guard upload.party == token.party else {
            throw APIError.forbidden(.forbiddenParty, "a party withdraws only its own uploads")
        }
        let files = self.files
        let (withdrawn, failedRuns, receipt) = try await store.withdrawUpload(
            upload, by: token.acting, removeFiles: { for sha256 in $0 { files.remove(sha256: sha256) } })
        for run in failedRuns { await board.cancel(run: run) }
        return try JSONResponse.make(withdrawn.wire, headers: [.blindmatchReceipt: receipt.header])
    }

    /// `POST /projects/{projectId}/parties/{party}/uploads`: streams the body to a temporary file while hashing it,
    /// checks it (SPEC §6.5–6.7, in the contract's order), then moves it into the content-addressed store. A refused
    /// or interrupted upload leaves no file and no row.
    @Sendable func upload(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        guard let party = project.party(named: context.parameter("party")) else {
            throw APIError.notFound("no party of that name in this project")
        }
        do {
            return try await receive(request, project: project, party: party, token: token)
        } catch let error as APIError
            where [
                .contentTooLarge, .unsupportedMediaType, .unprocessableContent, .badRequest, .requestTimeout,
                .insufficientStorage, .tooManyRequests,
            ].contains(error.kind) || error.code == .partyQuotaExceeded
        {
            try await store.refuseUpload(
                project: project.id, reason: error.rule ?? error.code.rawValue, by: token.acting)
            logger.notice("upload refused: \(error.code.rawValue)", metadata: ["project": "\(project.id)"])
            throw error
        }
    }

    private func receive(_ request: Request, project: ProjectRecord, party: PartyRecord, token: TokenRecord)
        async throws -> Response
    {
        let type = request.mediaType
        guard type == "application/vnd.blindmatch.tokens" || type == "application/octet-stream" else {
            throw APIError(
                .unsupportedMediaType, .unsupportedMediaType,
                "expected application/vnd.blindmatch.tokens or application/octet-stream")
        }
        let limit = limits.maximumBytes
        let tooLarge = APIError(.contentTooLarge, .payloadTooLarge, "the upload limit is \(limit) bytes")
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw tooLarge }
        guard project.isOpen else { throw APIError.projectClosed(project.id) }
        let stored = try await store.storedBytes(project: project.id, party: party.name)
        try limits.checkPartyQuota(party: party.name, stored: stored, adding: Int64(declared ?? 0))
        try files.requireFreeSpace(forAnother: Int64(declared ?? 0), keeping: limits.minimumFreeBytes)
        guard let slot = streams.open(project: project.id, party: party.name, maximum: limits.maximumConcurrentUploads)
        else {
            throw APIError(
                .tooManyRequests, .tooManyUploads,
                "\(party.name) already has \(limits.maximumConcurrentUploads) uploads streaming; wait for them to finish"
            )
        }
        defer { streams.close(slot) }

        let sink = try UploadSink(store: files)
        defer { sink.discard() }
        let started = ContinuousClock.now
        do {
            for try await buffer in request.body {
                if sink.bytes + buffer.readableBytes > limit { throw tooLarge }
                try limits.checkPartyQuota(
                    party: party.name, stored: stored, adding: Int64(sink.bytes + buffer.readableBytes))
                if sink.bytes / spaceCheckInterval != (sink.bytes + buffer.readableBytes) / spaceCheckInterval {
                    try files.requireFreeSpace(
                        forAnother: Int64(buffer.readableBytes), keeping: limits.minimumFreeBytes)
                }
                try buffer.withUnsafeReadableBytes { try sink.write($0) }
                try limits.checkRate(bytes: sink.bytes, since: started)
            }
        } catch let error as APIError {
            throw error
        } catch let error as ServerError {
            logger.error("upload could not be stored: \(ServerError.logText(error))")
            throw APIError.internal("the upload could not be stored")
        } catch {
            throw APIError(.badRequest, .truncatedUpload, "the body ended before it was complete")
        }
        if let declared, declared != sink.bytes {
            throw APIError(.badRequest, .truncatedUpload, "the body ended before its Content-Length")
        }
        let sha256 = try sink.finish()
        let path = sink.path
        let layout = try await store.uploadLayout(project: project.id)
        let file = try await offload {
            try UploadCheck.check(path: path, project: project, party: party, layout: layout)
        }
        let upload = NewUpload(
            id: try Identifier.make("u"), project: project.id, party: party.name, sha256: sha256, bytes: sink.bytes,
            header: file.header, signer: file.trailer.publicKey?.fingerprint ?? "")
        let files = self.files
        let (record, receipt) = try await store.acceptUpload(
            upload, tokenID: token.id, by: token.acting, checkedAgainst: layout,
            recheck: { now in _ = try UploadCheck.check(path: path, project: project, party: party, layout: now) },
            place: { try files.adopt(temporaryPath: path, sha256: sha256) },
            unplace: { files.remove(sha256: sha256) })
        logger.info(
            "upload accepted",
            metadata: ["project": "\(project.id)", "upload": "\(record.id)", "bytes": "\(record.bytes)"])
        return try JSONResponse.make(
            record.wire, status: .created,
            headers: [
                .location: "/projects/\(project.id)/uploads/\(record.id)", .blindmatchReceipt: receipt.header,
            ])
    }

    /// `GET /projects/{projectId}/uploads`: a party lists only its own.
    @Sendable func list(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let page = try request.page(listing: "uploads")
        var party = request.query("party")
        if let party, !Patterns.isName(party) { throw APIError.malformed("party must be a party name") }
        if token.role == .party {
            if let party, party != token.party {
                throw APIError.forbidden(.forbiddenParty, "a party token lists only its own uploads")
            }
            party = token.party
        }
        return try Listing.response("uploads", try await store.uploads(page, project: project.id, party: party)) {
            Components.Schemas.UploadPage(items: $0.map(\.wire), nextCursor: $1)
        }
    }

    /// `GET /projects/{projectId}/uploads/{uploadId}`.
    @Sendable func get(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        let id = context.parameter("uploadId")
        guard let upload = try await store.upload(id: id), upload.project == project.id else {
            throw APIError.notFound("no upload \(Identifier.printable(id)) in project \(project.id)")
        }
        if token.role == .party && upload.party != token.party {
            throw APIError.forbidden(.forbiddenParty, "a party reads only its own uploads")
        }
        return try JSONResponse.make(upload.wire)
    }
}

/// How often (in bytes written) a streaming upload looks at the free space again.
private let spaceCheckInterval = 64 << 20

/// What an upload may be: its largest size and its slowest average rate; what a party may have; what the disk keeps.
struct UploadLimits: Sendable {
    /// The largest token file accepted.
    var maximumBytes: Int
    var minimumFreeBytes: Int64
    var maximumConcurrentUploads: Int
    var maximumPartyBytes: Int64
    /// The slowest average rate, in bytes per second, once `grace` has passed.
    var minimumRate: Int
    var grace: Duration

    init(_ configuration: ServiceConfiguration) {
        maximumBytes = configuration.maxUploadBytes
        minimumFreeBytes = configuration.minimumFreeBytes
        maximumConcurrentUploads = configuration.maximumConcurrentUploads
        maximumPartyBytes = configuration.maximumPartyBytes
        minimumRate = configuration.minimumUploadRate
        grace = configuration.uploadRateGrace
    }

    /// 409 `partyQuotaExceeded` when `adding` bytes to the `stored` ones would take the party past its quota.
    func checkPartyQuota(party: String, stored: Int64, adding: Int64) throws {
        guard stored + adding > maximumPartyBytes else { return }
        throw APIError.conflict(
            .partyQuotaExceeded,
            "\(party) would store more than \(maximumPartyBytes) bytes of token files in this project")
    }

    /// 408 `uploadTooSlow` when `bytes` since `started` average less than the minimum rate after the grace period.
    func checkRate(bytes: Int, since started: ContinuousClock.Instant) throws {
        let elapsed = ContinuousClock.now - started
        guard elapsed > grace else { return }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if Double(bytes) / seconds < Double(minimumRate) {
            throw APIError(
                .requestTimeout, .uploadTooSlow,
                "the upload arrived slower than \(minimumRate) bytes per second; send it again over a faster link")
        }
    }
}

/// The uploads streaming now, counted per party.
final class UploadStreams: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// A slot for one more upload of the party, or nil when it has `maximum` streaming already.
    func open(project: String, party: String, maximum: Int) -> String? {
        let key = project + "/" + party
        return counts.withLock { counts in
            guard counts[key, default: 0] < maximum else { return nil }
            counts[key, default: 0] += 1
            return key
        }
    }

    func close(_ slot: String) {
        counts.withLock { counts in
            counts[slot, default: 1] -= 1
            if counts[slot] == 0 { counts[slot] = nil }
        }
    }
}
