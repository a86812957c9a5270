import BlindmatchAudit
import BlindmatchProtocol
import HTTPTypes
import Hummingbird
import Synchronization

/// The audit log: paged, verified on the server, and exported for offline verification.
extension ConsoleController {
    /// `GET /console/audit?before=SEQ[&recheck=1]`: 50 entries before `before` (the newest by default), newest
    /// first, under the verdict of the stored log checked with BlindmatchAudit's verifier (SPEC §10.5): from its first
    /// line on the first view after a start, or when asked (`recheck`), and every entry appended since on each view,
    /// so that a view costs what was appended since the last one, not the whole log.
    @Sendable func auditPage(
        _ request: Request, _ context: ServiceRequestContext, _ viewer: ConsoleViewer, _: ConsoleForm
    )
        async throws -> Response
    {
        let check = try await auditCheck.advance(store: store, fromTheStart: request.query("recheck") == "1")
        let verdict = check.follower.verification
        let total = check.follower.lineCount
        let pageSize = 50
        let before: Int
        if let text = request.query("before") {
            guard let value = Int(text), value >= 0 else { throw APIError.malformed("before must be a seq") }
            before = min(value, total)
        } else {
            before = total
        }
        let first = max(0, before - pageSize)
        let lines = before > first ? try await store.auditLines(from: first, through: before - 1, limit: pageSize) : []
        var items: [[String: Any]] = []
        for (offset, line) in lines.enumerated().reversed() {
            guard let entry = try? AuditEntry(parsing: line) else {
                items.append([
                    "seq": first + offset, "time": "", "actor": "", "action": "(unreadable)", "project": "",
                    "details": "",
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
            "rangeTo": max(first, before - 1), "checkedFrom": check.startedAt, "newlyChecked": check.newLines,
        ]
        if let seq = verdict.lastCheckpointSeq { values["lastCheckpoint"] = seq }
        if first > 0 { values["older"] = first }
        if before < total { values["newer"] = min(total, before + pageSize) }
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

/// The console's check of the stored audit log, kept between views: a follower that has read the log from its first
/// line (at `startedAt`) and is fed only the lines appended since. Shared by every session of this server.
final class ConsoleAuditCheck: Sendable {
    struct State: Sendable {
        var follower: AuditChainFollower
        /// When the follower began at the log's first line (an `AuditTime` text).
        var startedAt: String
        /// Lines this view checked.
        var newLines: Int
    }

    private let state = Mutex<State?>(nil)

    /// The follower brought to the end of the stored log (from its first line when `fromTheStart`, or on the first
    /// view), reading at most 10,000 lines at a time.
    func advance(store: some LinkageStore, fromTheStart: Bool) async throws -> State {
        var current =
            (fromTheStart ? nil : state.withLock { $0 })
            ?? State(
                follower: AuditChainFollower(publicKey: store.checkpointKey.publicKey), startedAt: AuditTime.now().text,
                newLines: 0)
        current.newLines = 0
        while true {
            let lines = try await store.auditLines(
                from: current.follower.lineCount, through: Int.max, limit: 10_000)
            for line in lines { current.follower.follow(line: line) }
            current.newLines += lines.count
            if lines.count < 10_000 { break }
        }
        let result = current
        // Two views at once: keep whichever has read further.
        state.withLock { stored in
            if fromTheStart || (stored?.follower.lineCount ?? -1) < result.follower.lineCount { stored = result }
        }
        return result
    }
}
