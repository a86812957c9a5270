import BlindmatchAudit
import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// Consent to run, key-bound party tokens and receipts (issue 10), through the real server: the project's run policy
/// decides who requests and who approves, a withdrawn upload is never matched, probing is bounded, a token the
/// operator minted alone reads nothing, and a party's receipts catch a log the operator rewrote.
@Suite(.serialized, .awaitsServerStops) struct ServiceConsentTests {
    static func start(_ data: AgencyData) async throws -> InProcessServer {
        try await InProcessServer(for: data, executor: EngineRunExecutor(threads: 2))
    }

    @Test func underTheDefaultPolicyTheWatchListRequestsAndTheBulkPartyApproves() async throws {
        let data = try AgencyData()
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data, runPolicy: nil)
        let base = "\(server.baseURL)/projects/\(project.id)"
        let shown = try await HTTP.request(.GET, base, token: project.bulkToken)
        ServiceAPITests.conforming(shown, "GET", "/projects/{projectId}")
        let policy = shown.json?["runPolicy"]
        #expect(policy?["requesters"] == .array(["watchlist"]) && policy?["approvers"] == .array(["bulk"]))
        #expect(policy?["minimumRecords"]?["bulk"]?.intValue == 1000 && policy?["runsPerDay"]?.intValue == 10)
        try await project.uploadBoth(server, data: data)

        // The bulk party cannot match on its own initiative; the watch-list party names only its own upload.
        let byBulk = try await HTTP.request(.POST, base + "/runs", token: project.bulkToken)
        ServiceAPITests.conforming(byBulk, "POST", "/projects/{projectId}/runs")
        #expect(byBulk.status == 403 && byBulk.code == "forbiddenParty")
        let bulkUpload = try #require(
            try await HTTP.request(.GET, base + "/uploads?party=council-b", token: project.bulkToken)
                .json?["items"]?.arrayValue?.first?["id"]?.stringValue)
        let namingTheOther = try await HTTP.request(
            .POST, base + "/runs", token: project.watchlistToken,
            body: HTTP.json(.object([("bulkUpload", .string(bulkUpload))])))
        #expect(namingTheOther.status == 422 && namingTheOther.code == "invalidRequest", "\(namingTheOther.text)")

        let requested = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        ServiceAPITests.conforming(requested, "POST", "/projects/{projectId}/runs")
        #expect(requested.status == 202 && requested.json?["status"]?.stringValue == "awaitingApproval")
        #expect(requested.headers["Blindmatch-Receipt"].first.flatMap(AuditReceipt.init(header:)) != nil)
        let run = try #require(requested.json?["id"]?.stringValue)
        // It does not start until approved.
        try await Task.sleep(for: .milliseconds(600))
        let waiting = try await HTTP.request(.GET, base + "/runs/\(run)", token: project.watchlistToken)
        #expect(waiting.json?["status"]?.stringValue == "awaitingApproval" && waiting.json?["startedAt"] == .null)
        let byRequester = try await HTTP.request(.POST, base + "/runs/\(run)/approve", token: project.watchlistToken)
        ServiceAPITests.conforming(byRequester, "POST", "/projects/{projectId}/runs/{runId}/approve")
        #expect(byRequester.status == 403 && byRequester.code == "forbiddenParty")

        let approved = try await HTTP.request(.POST, base + "/runs/\(run)/approve", token: project.bulkToken)
        ServiceAPITests.conforming(approved, "POST", "/projects/{projectId}/runs/{runId}/approve")
        #expect(approved.status == 200, "\(approved.text)")
        #expect(approved.json?["approvals"]?.arrayValue?.first?["party"]?.stringValue == "council-b")
        #expect(approved.headers["Blindmatch-Receipt"].first.flatMap(AuditReceipt.init(header:)) != nil)
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.watchlistToken)
        #expect(finished["status"]?.stringValue == "succeeded")
        let twice = try await HTTP.request(.POST, base + "/runs/\(run)/approve", token: project.bulkToken)
        #expect(twice.status == 409 && twice.code == "runNotAwaitingApproval")

        // Each step is in the log, by its party and token.
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        let queued = try #require(log.split(separator: "\n").first { $0.contains("\"run.queued\"") })
        #expect(queued.contains("\"actor\":\"party:agency-a\"") && queued.contains("\"byToken\":\"t-"))
        #expect(log.contains("\"action\":\"run.approved\",\"actor\":\"party:council-b\""))
    }

    @Test func aWithdrawnUploadIsNeverMatched() async throws {
        let data = try AgencyData()
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data, runPolicy: nil)
        let base = "\(server.baseURL)/projects/\(project.id)"
        try await project.uploadBoth(server, data: data)
        let run = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?.stringValue)
        let upload = try #require(
            try await HTTP.request(.GET, base + "/uploads", token: project.bulkToken)
                .json?["items"]?.arrayValue?.first?["id"]?.stringValue)

        let byOther = try await HTTP.request(.POST, base + "/uploads/\(upload)/withdraw", token: project.watchlistToken)
        ServiceAPITests.conforming(byOther, "POST", "/projects/{projectId}/uploads/{uploadId}/withdraw")
        #expect(byOther.status == 403 && byOther.code == "forbiddenParty")
        let withdrawn = try await HTTP.request(.POST, base + "/uploads/\(upload)/withdraw", token: project.bulkToken)
        ServiceAPITests.conforming(withdrawn, "POST", "/projects/{projectId}/uploads/{uploadId}/withdraw")
        #expect(withdrawn.status == 200 && withdrawn.json?["current"] == .bool(false))
        #expect(withdrawn.json?["withdrawnAt"]?.stringValue != nil)
        #expect(withdrawn.headers["Blindmatch-Receipt"].first.flatMap(AuditReceipt.init(header:)) != nil)
        let again = try await HTTP.request(.POST, base + "/uploads/\(upload)/withdraw", token: project.bulkToken)
        #expect(again.status == 409 && again.code == "uploadWithdrawn")

        // The run awaiting approval on it failed, and cannot be approved; no new run can use it.
        let failed = try await HTTP.request(.GET, base + "/runs/\(run)", token: project.bulkToken)
        #expect(failed.json?["status"]?.stringValue == "failed")
        #expect(failed.json?["failure"]?["code"]?.stringValue == "uploadWithdrawn")
        let approve = try await HTTP.request(.POST, base + "/runs/\(run)/approve", token: project.bulkToken)
        #expect(approve.status == 409 && approve.code == "runNotAwaitingApproval")
        let none = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        #expect(none.status == 409 && none.code == "uploadMissing", "\(none.text)")
        // Its file is gone from the store (no other upload of an open project used it).
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        #expect(stored.count == 1)

        // A new upload is current again, and a run on it succeeds.
        let again2 = try await project.upload(
            server, data: data, file: "b.bmt", party: "council-b", token: project.bulkToken)
        #expect(again2.status == 201)
        let second = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?.stringValue)
        #expect(
            try await HTTP.request(.POST, base + "/runs/\(second)/approve", token: project.bulkToken).status == 200)
        let done = try await HTTP.waitForRun(server, project: project.id, run: second, token: project.bulkToken)
        #expect(done["status"]?.stringValue == "succeeded" && done["bulkUpload"]?.stringValue != upload)
    }

    @Test func probingIsBoundedBySizeAndRunsADay() async throws {
        let data = try AgencyData(watch: 150, bulk: 1500)
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let policy: JSONValue = .object([
            ("requesters", .array(["watchlist", "bulk"])), ("approvers", .array([])),
            ("minimumRecords", .object([("watchlist", .number("151"))])), ("runsPerDay", .number("1")),
        ])
        let project = try await ServiceProject.create(on: server, data: data, runPolicy: policy)
        let base = "\(server.baseURL)/projects/\(project.id)"
        let small = try await project.upload(
            server, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken)
        ServiceAPITests.conforming(small, "POST", "/projects/{projectId}/parties/{party}/uploads")
        #expect(small.status == 422 && small.code == "tokenFileTooFewRecords", "\(small.text)")
        let shown = try await HTTP.request(.GET, base, token: project.auditorToken)
        #expect(shown.json?["runPolicy"]?["minimumRecords"]?["watchlist"]?.intValue == 151)
        #expect(shown.json?["runPolicy"]?["minimumRecords"]?["bulk"]?.intValue == 1000)

        let other = try AgencyData(watch: 160, bulk: 1500)
        let second = try await ServiceProject.create(
            on: server, data: other, name: "bounded runs",
            runPolicy: .object([("approvers", .array([])), ("runsPerDay", .number("1"))]))
        try await second.uploadBoth(server, data: other)
        let path = "\(server.baseURL)/projects/\(second.id)/runs"
        #expect(try await HTTP.request(.POST, path, token: second.watchlistToken).status == 202)
        let more = try await HTTP.request(.POST, path, token: second.watchlistToken)
        ServiceAPITests.conforming(more, "POST", "/projects/{projectId}/runs")
        #expect(more.status == 429 && more.code == "tooManyRuns", "\(more.text)")
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.contains("\"reason\":\"runPolicy.minimumRecords\""))
        #expect(log.contains("\"reason\":\"tooManyRuns\""))
        #expect(log.contains("\"runPolicy\":\"requesters watchlist; approvers none; minimum records 100 watchlist"))
    }

    @Test func aTokenTheOperatorMintedAloneReadsNothing() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        let minted = try #require(
            try await HTTP.request(
                .POST, server.baseURL + "/tokens", token: operatorToken,
                body: HTTP.json(.object([("role", "party"), ("project", .string(project.id)), ("party", "agency-a")]))
            ).json?["token"]?.stringValue)
        for path in ["/projects/\(project.id)", "/projects/\(project.id)/runs", "/projects"] {
            let reply = try await HTTP.request(.GET, server.baseURL + path, token: minted)
            #expect(reply.status == 403 && reply.code == "tokenNotActivated", "\(path): \(reply.text)")
        }
        let me = try await HTTP.request(.GET, server.baseURL + "/me", token: minted)
        ServiceAPITests.conforming(me, "GET", "/me")
        #expect(me.json?["activatedAt"] == .null && me.json?["activation"]?["challenge"]?.stringValue != nil)
        // Signed by any key but the party's own (here the other party's), activation is refused.
        let forged = try await data.activation(minted, party: "agency-a", key: "council-b", on: server)
        #expect(forged.status == 422 && forged.code == "activationRefused")
        try await data.activate(minted, party: "agency-a", on: server)
        #expect(try await HTTP.request(.GET, base(server, project), token: minted).status == 200)
        let again = try await HTTP.request(
            .POST, server.baseURL + "/me/activate", token: minted,
            body: HTTP.json(.object([("signature", .string(Base64.encode([UInt8](repeating: 7, count: 64))))])))
        ServiceAPITests.conforming(again, "POST", "/me/activate")
        #expect(again.status == 409 && again.code == "tokenActive")
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.components(separatedBy: "\"action\":\"token.activated\"").count - 1 == 3)
    }

    private func base(_ server: InProcessServer, _ project: ServiceProject) -> String {
        "\(server.baseURL)/projects/\(project.id)"
    }

    /// The operator holds the database and the checkpoint key, so it can rewrite the log consistently and re-sign
    /// it; such a log verifies on its own. A party's receipts catch it, and `--previous` catches a log cut back.
    @Test func receiptsCatchALogTheOperatorRewrote() async throws {
        let data = try AgencyData(watch: 20, bulk: 100)
        let server = try await Self.start(data)
        defer { server.stopSoon() }
        let project = try await ServiceProject.create(on: server, data: data)
        let base = "\(server.baseURL)/projects/\(project.id)"
        let receipts = data.path + "/receipts"
        try FileManager.default.createDirectory(atPath: receipts, withIntermediateDirectories: true)
        var kept: [AuditReceipt] = []
        func keep(_ reply: HTTPReply, _ action: String) throws {
            guard let receipt = reply.headers["Blindmatch-Receipt"].first.flatMap(AuditReceipt.init(header:)) else {
                throw ServiceTestError("no receipt for \(action): \(reply.status) \(reply.text)")
            }
            kept.append(receipt)
            let file: JSONValue = .object([
                ("action", .string(action)), ("project", .string(project.id)), ("receipt", .string(receipt.header)),
                ("server", .string(server.baseURL)),
            ])
            try Data(file.canonicalBytes).write(to: URL(fileURLWithPath: "\(receipts)/\(receipt.seq)-\(action).json"))
        }
        try keep(
            try await project.upload(
                server, data: data, file: "a.bmt", party: "agency-a", token: project.watchlistToken),
            "upload.accepted")
        let bulk = try await project.upload(
            server, data: data, file: "b.bmt", party: "council-b", token: project.bulkToken)
        #expect(bulk.status == 201)
        let requested = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        try keep(requested, "run.queued")
        let run = try #require(requested.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.watchlistToken)
        try keep(
            try await HTTP.request(.GET, base + "/runs/\(run)/results/agency-a", token: project.watchlistToken),
            "result.read")

        let exported = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        try Data(exported.body).write(to: URL(fileURLWithPath: data.path + "/audit.jsonl"))
        let matcherPub = server.dataDirectory + "/matcher.pub"
        let verify = { (log: String, extra: [String]) throws -> CLI.Result in
            try CLI.run(["audit", "verify", log, "--public-key", matcherPub] + extra, in: data.path)
        }
        let honest = try verify("audit.jsonl", ["--receipts", "receipts"])
        #expect(honest.status == 0, "\(honest.output)")
        #expect(honest.output.contains("3 receipts hold"))
        let lastLine = try #require(honest.output.split(separator: "\n").first { $0.hasPrefix("last entry: ") })
        let last = String(lastLine.dropFirst("last entry: ".count).prefix { $0 != " " })

        // The operator drops the upload's entry, re-chains the rest and re-signs every checkpoint with its key.
        let key = try SigningKey(contentsOfFile: server.dataDirectory + "/matcher.key")
        let entries = try exported.text.split(separator: "\n").map { try AuditEntry(parsing: Array($0.utf8)) }
        let dropped = try Self.rewrite(entries.filter { $0.seq != kept[0].seq }, key: key)
        try scratchWrite(data, "dropped.jsonl", dropped)
        let alone = try verify("dropped.jsonl", [])
        #expect(alone.status == 0, "the rewritten log verifies on its own: \(alone.output)")
        let caught = try verify("dropped.jsonl", ["--receipts", "receipts"])
        #expect(caught.status == 1)
        #expect(caught.output.contains("FAIL  receipts/\(kept[0].seq)-upload.accepted.json"), "\(caught.output)")

        // An edit (the rows a results read returned) is caught the same way.
        let edited = try Self.rewrite(
            entries.map { entry in
                guard entry.seq == kept[2].seq else { return entry }
                return
                    (try? AuditEntry.make(
                        after: nil, actor: entry.actor, action: entry.action, project: entry.project,
                        details: ["rows": .integer(0), "run": .string(run)], time: entry.time)) ?? entry
            }, key: key)
        try scratchWrite(data, "edited.jsonl", edited)
        #expect(try verify("edited.jsonl", []).status == 0)
        let editCaught = try verify("edited.jsonl", ["--receipts", "receipts"])
        #expect(editCaught.status == 1 && editCaught.output.contains("-result.read.json"), "\(editCaught.output)")

        // A later export continues this one; a log cut back before its end (and re-signed) does not.
        _ = try await HTTP.request(.GET, base + "/runs/\(run)/results/agency-a", token: project.watchlistToken)
        let later = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        try Data(later.body).write(to: URL(fileURLWithPath: data.path + "/later.jsonl"))
        let continues = try verify("later.jsonl", ["--previous", last, "--receipts", "receipts"])
        #expect(continues.status == 0, "\(continues.output)")
        let cut = try Self.rewrite(Array(entries.prefix(entries.count - 4)), key: key)
        try scratchWrite(data, "cut.jsonl", cut)
        #expect(try verify("cut.jsonl", []).status == 0)
        let cutCaught = try verify("cut.jsonl", ["--previous", last])
        #expect(cutCaught.status == 1 && cutCaught.output.contains("FAIL  --previous"), "\(cutCaught.output)")
    }

    private func scratchWrite(_ data: AgencyData, _ name: String, _ entries: [AuditEntry]) throws {
        let bytes: [UInt8] = entries.flatMap { $0.canonicalBytes + [0x0A] }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(data.path)/\(name)"))
    }

    /// The entries re-chained from the first (seq, previous and hash recomputed; checkpoints re-signed by `key`),
    /// ending with a checkpoint, as an operator holding the database and the key could write them.
    static func rewrite(_ entries: [AuditEntry], key: SigningKey) throws -> [AuditEntry] {
        var out: [AuditEntry] = []
        for entry in entries {
            if entry.action == .checkpoint {
                if let last = out.last, last.action != .checkpoint {
                    out.append(try AuditEntry.makeCheckpoint(after: last, signingKey: key, time: entry.time))
                }
            } else {
                out.append(
                    try AuditEntry.make(
                        after: out.last, actor: entry.actor, action: entry.action, project: entry.project,
                        details: entry.details, time: entry.time))
            }
        }
        if let last = out.last, last.action != .checkpoint {
            out.append(try AuditEntry.makeCheckpoint(after: last, signingKey: key, time: last.time))
        }
        return out
    }
}
