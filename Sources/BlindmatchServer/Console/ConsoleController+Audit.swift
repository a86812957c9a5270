import BlindmatchAudit
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The audit log: paged, verified on the server, and exported for offline verification.
extension ConsoleController {
    /// `GET /console/audit?before=SEQ`: 50 entries before `before` (the newest by default), newest first, under the
    /// verdict of the whole stored log checked from its first line with BlindmatchAudit's verifier (SPEC §10.5).
    /// It reads and hashes the whole log on every view, as `audit verify` would.
    @Sendable func auditPage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        var lines: [[UInt8]] = []
        while true {
            let chunk = try await store.auditLines(from: lines.count, through: Int.max, limit: 10_000)
            lines += chunk
            if chunk.count < 10_000 { break }
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(lines.reduce(0) { $0 + $1.count + 1 })
        for line in lines {
            joined += line
            joined.append(0x0A)
        }
        let verdict = AuditVerification(
            jsonLines: joined, publicKey: store.checkpointKey.publicKey, requiringFinalCheckpoint: false)
        let pageSize = 50
        let before: Int
        if let text = request.query("before") {
            guard let value = Int(text), value >= 0 else { throw APIError.malformed("before must be a seq") }
            before = min(value, lines.count)
        } else {
            before = lines.count
        }
        let first = max(0, before - pageSize)
        var items: [[String: Any]] = []
        for index in stride(from: before - 1, through: first, by: -1) {
            guard let entry = try? AuditEntry(parsing: lines[index]) else {
                items.append([
                    "seq": index, "time": "", "actor": "", "action": "(unreadable)", "project": "", "details": "",
                ])
                continue
            }
            items.append([
                "seq": entry.seq, "time": entry.time.text, "actor": entry.actor.text, "action": entry.action.rawValue,
                "project": entry.project ?? "—",
                "details": entry.details.members.map { member -> String in
                    switch member.value {
                    case .string(let text): "\(member.name)=\(text)"
                    case .integer(let number): "\(member.name)=\(number)"
                    }
                }.joined(separator: ", "),
            ])
        }
        var values: [String: Any] = [
            "holds": verdict.isValid, "entries": ConsoleFormat.count(verdict.entryCount),
            "checkpoints": verdict.checkpointCount, "keyFingerprint": verdict.keyFingerprint ?? "",
            "unsigned": verdict.unsignedEntryCount, "failureCount": verdict.failureCount,
            "firstFailure": verdict.firstFailure?.description ?? "", "items": items, "rangeFrom": first,
            "rangeTo": max(first, before - 1),
        ]
        if let seq = verdict.lastCheckpointSeq { values["lastCheckpoint"] = seq }
        if first > 0 { values["older"] = first }
        if before < lines.count { values["newer"] = min(lines.count, before + pageSize) }
        return page("audit", title: "Audit log", values, viewer: viewer, current: "/console/audit")
    }

    /// `POST /console/audit/export`: the API's export (`GET /audit/log`: `audit.exported`, a checkpoint, the log
    /// streamed), as a download.
    @Sendable func auditExport(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        var response = try await AuditController(store: store, refusals: refusals).export(request, context)
        response.headers[.contentDisposition] = "attachment; filename=\"audit.jsonl\""
        return response
    }
}
