import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import GRDB
import HTTPTypes
import Hummingbird

extension MatchingService {
    func health() async throws -> Response {
        let healthy = await isHealthy()
        return JSONResponse.make(
            .object([("status", .string(healthy ? "ok" : "unavailable"))]),
            status: healthy ? .ok : .serviceUnavailable)
    }

    func me(_ call: Call) throws -> Response {
        let token = try call.token
        return JSONResponse.make(
            .object([
                ("tokenId", .string(token.id)), ("role", .string(token.role.rawValue)), ("name", .string(token.name)),
                ("project", token.project.map(JSONValue.string) ?? .null),
                ("party", token.party.map(JSONValue.string) ?? .null),
            ]))
    }

    func metrics(_ call: Call) async throws -> Response {
        let type = try call.negotiate(["application/json", "text/plain"])
        let uptime = Int((ContinuousClock.now - startedAt).components.seconds)
        let snapshot = try await store.database.read { db in
            func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
                try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
            }
            func byStatus(_ table: String) throws -> [String: Int] {
                try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM \(table) GROUP BY status")
                    .reduce(into: [:]) { counts, row in counts[row["status"]] = row["n"] }
            }
            let projects = try byStatus("project")
            let runs = try byStatus("run")
            let last = try Row.fetchOne(
                db,
                sql:
                    "SELECT id, comparisons, fuzzySeconds FROM run WHERE status = 'succeeded' ORDER BY finishedAt DESC, ordinal DESC LIMIT 1"
            )
            let lastRate: Int? = last.map { row in
                let seconds: Double = row["fuzzySeconds"]
                let comparisons: Int = row["comparisons"]
                return seconds > 0 ? Int(Double(comparisons) / seconds) : 0
            }
            return (
                projects: projects, runs: runs,
                comparisons: try count(
                    "SELECT COALESCE(SUM(comparisons), 0) FROM run WHERE status IN ('succeeded', 'failed')"),
                lastRun: last.map { $0["id"] as String }, lastRate: lastRate,
                accepted: try ServiceStore.counter(db, "uploadsAccepted") ?? 0,
                refused: try ServiceStore.counter(db, "uploadsRefused") ?? 0,
                bytes: try ServiceStore.counter(db, "uploadBytes") ?? 0,
                largest: try ServiceStore.counter(db, "uploadLargest") ?? 0,
                lastBytes: try ServiceStore.counter(db, "uploadLast")
            )
        }
        if type == "text/plain" {
            var lines = ["# TYPE blindmatch_uptime_seconds gauge", "blindmatch_uptime_seconds \(uptime)"]
            lines.append("# TYPE blindmatch_projects gauge")
            for status in ProjectRecord.statuses {
                lines.append("blindmatch_projects{status=\"\(status)\"} \(snapshot.projects[status] ?? 0)")
            }
            lines.append("# TYPE blindmatch_runs gauge")
            for status in RunRecord.statuses {
                lines.append("blindmatch_runs{status=\"\(status)\"} \(snapshot.runs[status] ?? 0)")
            }
            lines += [
                "# TYPE blindmatch_comparisons_total counter", "blindmatch_comparisons_total \(snapshot.comparisons)",
                "# TYPE blindmatch_last_run_comparisons_per_second gauge",
                "blindmatch_last_run_comparisons_per_second \(snapshot.lastRate ?? 0)",
                "# TYPE blindmatch_uploads_total counter",
                "blindmatch_uploads_total{outcome=\"accepted\"} \(snapshot.accepted)",
                "blindmatch_uploads_total{outcome=\"refused\"} \(snapshot.refused)",
                "# TYPE blindmatch_upload_bytes_total counter", "blindmatch_upload_bytes_total \(snapshot.bytes)",
                "# TYPE blindmatch_upload_largest_bytes gauge", "blindmatch_upload_largest_bytes \(snapshot.largest)",
            ]
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
        }
        return JSONResponse.make(
            .object([
                ("uptimeSeconds", .integer(uptime)),
                ("projects", .object(ProjectRecord.statuses.map { ($0, .integer(snapshot.projects[$0] ?? 0)) })),
                (
                    "runs",
                    .object(
                        RunRecord.statuses.map { ($0, .integer(snapshot.runs[$0] ?? 0)) })
                ),
                (
                    "comparisons",
                    .object([
                        ("total", .integer(snapshot.comparisons)),
                        ("lastRunPerSecond", snapshot.lastRate.map(JSONValue.integer) ?? .null),
                        ("lastRun", snapshot.lastRun.map(JSONValue.string) ?? .null),
                    ])
                ),
                (
                    "uploads",
                    .object([
                        ("accepted", .integer(snapshot.accepted)), ("refused", .integer(snapshot.refused)),
                        ("bytesTotal", .integer(snapshot.bytes)), ("largestBytes", .integer(snapshot.largest)),
                        ("lastBytes", snapshot.lastBytes.map(JSONValue.integer) ?? .null),
                    ])
                ),
            ]))
    }

    /// `GET /audit/log`: appends `audit.exported` and a checkpoint, then streams the log from seq 0 in pages, so the
    /// log is never held in memory.
    func exportAudit(_ call: Call) async throws -> Response {
        _ = try call.negotiate(["application/jsonl"])
        let token = try call.token
        let checkpoint = try await store.database.write { [store] db -> AuditEntry? in
            try ServiceStore.append(db, actor: token.actor, action: .auditExported, project: nil)
            return try store.appendCheckpoint(db)
        }
        guard let checkpoint else { throw APIError(.internalServerError, "internal", "the audit log is empty") }
        let database = store.database
        let last = checkpoint.seq
        let body = ResponseBody { writer in
            var next = 0
            while next <= last {
                let from = next
                let lines = try await database.read { db in
                    try Data.fetchAll(
                        db, sql: "SELECT line FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT 2000",
                        arguments: [from, last])
                }
                guard !lines.isEmpty else { break }
                var buffer = ByteBuffer()
                for line in lines {
                    buffer.writeBytes(line)
                    buffer.writeInteger(UInt8(0x0A))
                }
                try await writer.write(buffer)
                next += lines.count
            }
            try await writer.finish(nil)
        }
        var headers: HTTPFields = [.contentType: "application/jsonl", .cacheControl: "no-store"]
        if let name = HTTPField.Name("Blindmatch-Last-Checkpoint") {
            headers[name] = "seq=\(checkpoint.seq); hash=\(checkpoint.hash)"
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    func matcherPublicKey(_ call: Call) throws -> Response {
        let type = try call.negotiate(["application/json", "application/x-pem-file"])
        let key = store.checkpointKey.publicKey
        if type == "application/x-pem-file" {
            return Response(
                status: .ok, headers: [.contentType: "application/x-pem-file"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: key.pem())))
        }
        return JSONResponse.make(key.json)
    }
}
