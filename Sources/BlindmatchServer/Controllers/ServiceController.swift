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
        routes.add(.get, "/me", roles: [.operator, .auditor, .party], me)
    }

    /// `GET /healthz`: the store answers and the data directory is writable. Reveals nothing else.
    @Sendable func health(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let storeAnswers = await store.isHealthy()
        let healthy = access(dataDirectory, W_OK) == 0 && storeAnswers
        return JSONResponse.make(
            .object([("status", .string(healthy ? "ok" : "unavailable"))]),
            status: healthy ? .ok : .serviceUnavailable)
    }

    /// `GET /me`.
    @Sendable func me(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        return JSONResponse.make(
            .object([
                ("tokenId", .string(token.id)), ("role", .string(token.role.rawValue)), ("name", .string(token.name)),
                ("project", token.project.map(JSONValue.string) ?? .null),
                ("party", token.party.map(JSONValue.string) ?? .null),
            ]))
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
        return JSONResponse.make(
            .object([
                ("uptimeSeconds", .integer(uptime)),
                (
                    "projects",
                    .object(ProjectStatus.allCases.map { ($0.rawValue, .integer(snapshot.projects[$0] ?? 0)) })
                ),
                ("runs", .object(RunStatus.allCases.map { ($0.rawValue, .integer(snapshot.runs[$0] ?? 0)) })),
                (
                    "comparisons",
                    .object([
                        ("total", .integer(snapshot.comparisons)),
                        ("lastRunPerSecond", snapshot.lastRunPerSecond.map(JSONValue.integer) ?? .null),
                        ("lastRun", snapshot.lastRun.map(JSONValue.string) ?? .null),
                    ])
                ),
                (
                    "uploads",
                    .object([
                        ("accepted", .integer(snapshot.uploadsAccepted)),
                        ("refused", .integer(snapshot.uploadsRefused)),
                        ("bytesTotal", .integer(snapshot.uploadBytes)),
                        ("largestBytes", .integer(snapshot.uploadLargest)),
                        ("lastBytes", snapshot.uploadLast.map(JSONValue.integer) ?? .null),
                    ])
                ),
            ]))
    }
}
