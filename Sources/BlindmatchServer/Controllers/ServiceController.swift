import BlindmatchContract
import BlindmatchProtocol
import Glibc
import HTTPTypes
import Hummingbird

/// The `service` tag: health, metrics and the caller's identity.
struct ServiceController<Store: LinkageStore>: Sendable {
    let store: Store
    let dataDirectory: String
    let startedAt: ContinuousClock.Instant

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.get, "/healthz", roles: nil, health)
        routes.add(.get, "/metrics", roles: [.operator], metrics)
        routes.add(.get, "/me", roles: [.operator, .auditor, .party], allowsInactive: true, me)
        routes.add(.post, "/me/activate", roles: [.party], allowsInactive: true, activate)
    }

    /// `GET /healthz`: the store answers and the data directory is writable. Reveals nothing else.
    @Sendable func health(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let storeAnswers = await store.isHealthy()
        let healthy = access(dataDirectory, W_OK) == 0 && storeAnswers
        return try JSONResponse.make(
            Components.Schemas.Health(status: healthy ? .ok : .unavailable), status: healthy ? .ok : .serviceUnavailable
        )
    }

    /// `GET /me`.
    @Sendable func me(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        try JSONResponse.make(try await caller(try context.token))
    }

    /// `POST /me/activate`: a party proves possession of its registered key by signing its token's challenge.
    @Sendable func activate(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let body = try await request.contractBody(Components.Schemas.ActivationRequest.self)
        let signature = try Rule.check(body.signature, "signature", must: "the base64 of a 64-byte Ed25519 signature") {
            Base64.decode($0)?.count == 64
        }
        let activated = try await store.activateToken(
            token, signature: Base64.decode(signature) ?? [], by: token.acting)
        return try JSONResponse.make(try await caller(activated))
    }

    /// The `Caller` schema: for a party token, its activation challenge while inactive, and its party's key and who
    /// registered it, so that a rotation the party did not ask for shows.
    private func caller(_ token: TokenRecord) async throws -> Components.Schemas.Caller {
        var activation: Components.Schemas.Caller.ActivationPayload?
        var partyKey: Components.Schemas.Caller.PartyKeyPayload?
        if token.role == .party, let project = token.project, let name = token.party,
            let party = try await store.party(project: project, name: name)
        {
            if token.activatedAt == nil, let challenge = token.challenge {
                activation = .init(challenge: challenge, key: party.publicKey.fingerprint)
            }
            partyKey = .init(
                fingerprint: party.publicKey.fingerprint, registeredAt: party.registeredAt,
                registeredBy: party.registeredBy, registeredByToken: party.registeredByToken)
        }
        return Components.Schemas.Caller(
            tokenId: token.id, role: token.role, name: token.name, project: token.project, party: token.party,
            activatedAt: token.activatedAt, activation: activation, partyKey: partyKey)
    }

    /// `GET /metrics`, as JSON or in Prometheus's text format.
    @Sendable func metrics(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let type = try request.negotiate(["application/json", "text/plain"])
        let uptime = Int((ContinuousClock.now - startedAt).components.seconds)
        let snapshot = try await store.metrics()
        if type == "text/plain" {
            var lines = ["# TYPE blindmatch_uptime_seconds gauge", "blindmatch_uptime_seconds \(uptime)"]
            lines.append("# TYPE blindmatch_projects gauge")
            for status in ProjectStatus.allCases {
                lines.append("blindmatch_projects{status=\"\(status.rawValue)\"} \(snapshot.projects[status] ?? 0)")
            }
            lines.append("# TYPE blindmatch_runs gauge")
            for status in RunStatus.allCases {
                lines.append("blindmatch_runs{status=\"\(status.rawValue)\"} \(snapshot.runs[status] ?? 0)")
            }
            lines += [
                "# TYPE blindmatch_comparisons_total counter", "blindmatch_comparisons_total \(snapshot.comparisons)",
                "# TYPE blindmatch_last_run_comparisons_per_second gauge",
                "blindmatch_last_run_comparisons_per_second \(snapshot.lastRunPerSecond ?? 0)",
                "# TYPE blindmatch_uploads_total counter",
                "blindmatch_uploads_total{outcome=\"accepted\"} \(snapshot.uploadsAccepted)",
                "blindmatch_uploads_total{outcome=\"refused\"} \(snapshot.uploadsRefused)",
                "# TYPE blindmatch_upload_bytes_total counter", "blindmatch_upload_bytes_total \(snapshot.uploadBytes)",
                "# TYPE blindmatch_upload_largest_bytes gauge",
                "blindmatch_upload_largest_bytes \(snapshot.uploadLargest)",
            ]
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
        }
        return try JSONResponse.make(
            Components.Schemas.Metrics(
                uptimeSeconds: uptime,
                projects: .init(open: snapshot.projects[.open] ?? 0, closed: snapshot.projects[.closed] ?? 0),
                runs: .init(
                    queued: snapshot.runs[.queued] ?? 0, running: snapshot.runs[.running] ?? 0,
                    succeeded: snapshot.runs[.succeeded] ?? 0, failed: snapshot.runs[.failed] ?? 0),
                comparisons: .init(
                    total: snapshot.comparisons, lastRunPerSecond: snapshot.lastRunPerSecond, lastRun: snapshot.lastRun),
                uploads: .init(
                    accepted: snapshot.uploadsAccepted, refused: snapshot.uploadsRefused,
                    bytesTotal: snapshot.uploadBytes,
                    largestBytes: snapshot.uploadLargest, lastBytes: snapshot.uploadLast)))
    }
}
