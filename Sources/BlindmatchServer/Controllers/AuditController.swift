import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `audit` tag: the audit log (SPEC §10) and the matcher's public key.
struct AuditController<Store: LinkageStore>: Sendable {
    let store: Store
    let refusals: RefusalTally

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.get, "/audit/log", roles: [.auditor, .operator], export)
        routes.add(.get, "/audit/public-key", roles: [.auditor, .operator], publicKey)
    }

    /// `GET /audit/log`: appends `audit.exported` and a checkpoint, then streams the log from seq 0 in pages, so the
    /// log is never held in memory.
    @Sendable func export(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        _ = try request.negotiate(["application/jsonl"])
        // An export holds every refusal counted so far.
        try await refusals.flush(to: store)
        guard let checkpoint = try await store.beginAuditExport(by: try context.token.acting) else {
            throw APIError.internal("the audit log is empty")
        }
        let store = self.store
        let last = checkpoint.seq
        let body = ResponseBody { writer in
            var next = 0
            while next <= last {
                let lines = try await store.auditLines(from: next, through: last, limit: 2000)
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

    /// `GET /audit/public-key`, as JSON or PEM.
    @Sendable func publicKey(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let type = try request.negotiate(["application/json", "application/x-pem-file"])
        let key = store.checkpointKey.publicKey
        if type == "application/x-pem-file" {
            return Response(
                status: .ok, headers: [.contentType: "application/x-pem-file"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: key.pem())))
        }
        return try JSONResponse.make(key.wire)
    }
}
