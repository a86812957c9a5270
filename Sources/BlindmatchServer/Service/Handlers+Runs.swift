import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import GRDB
import HTTPTypes
import Hummingbird

extension MatchingService {
    /// `POST /projects/{projectId}/runs`.
    func createRun(_ call: Call) async throws -> Response {
        let token = try call.token
        let project = try await self.project(call)
        var named: [String: String] = [:]
        if let body = try await call.jsonBody(optional: true) {
            let reader = try ObjectReader(body)
            try reader.only(["watchlistUpload", "bulkUpload"])
            for side in ["watchlist", "bulk"] {
                named[side] = try reader.string(
                    side + "Upload", required: false, must: "an upload id", { Patterns.isID($0, kind: "u") })
            }
        }
        let actor = token.actor
        let id = try Identifier.make("r")
        let chosen = named
        let run = try await store.database.write { db -> RunRecord in
            var uploads: [String: UploadRecord] = [:]
            var parties: [String: PartyRecord] = [:]
            for side in ["watchlist", "bulk"] {
                guard let party = project.party(role: side) else {
                    throw ServerError(.storage, "project \(project.id) has no \(side) party")
                }
                parties[side] = party
            }
            // 422 for a named upload that is not that side's, before the 409s (the contract's order of checks).
            for (side, uploadID) in chosen {
                guard let upload = try UploadRecord.fetch(db, id: uploadID), upload.project == project.id,
                    upload.party == parties[side]?.name
                else {
                    throw APIError.invalid(
                        "\(side)Upload is not an upload of the \(side) party \(parties[side]?.name ?? "")")
                }
                uploads[side] = upload
            }
            try ProjectRecord.requireOpen(db, id: project.id)
            for side in ["watchlist", "bulk"] where uploads[side] == nil {
                let name = parties[side]?.name ?? ""
                guard let upload = try UploadRecord.current(db, project: project.id, party: name) else {
                    throw APIError.conflict("uploadMissing", "the \(side) party \(name) has no accepted upload")
                }
                uploads[side] = upload
            }
            guard let a = uploads["watchlist"], let b = uploads["bulk"] else {
                throw ServerError(.storage, "a run needs two uploads")
            }
            guard a.filterBits == b.filterBits, a.matchKeys == b.matchKeys, a.blockingKeys == b.blockingKeys,
                a.schemaFingerprint == b.schemaFingerprint, a.keyId == b.keyId
            else {
                throw APIError(
                    .unprocessableContent, "incompatibleUploads",
                    "the two uploads cannot be compared (SPEC §6.7): schema, key id, filter length or keys differ")
            }
            try db.execute(
                sql: """
                    INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings, vetoDefaulted, attempt,
                        stage, fraction, requestedBy, queuedAt, ordinal)
                    VALUES (?, ?, 'queued', ?, ?, ?, ?, 0, 'queued', 0, ?, ?, ?)
                    """,
                arguments: [
                    id, project.id, a.id, b.id, project.matching.json.canonicalText, project.vetoDefaulted, actor.text,
                    AuditTime.now().text, try ServiceStore.nextOrdinal(db),
                ])
            try ServiceStore.append(
                db, actor: actor, action: .runQueued, project: project.id,
                details: ["run": .string(id), "threshold": .string(project.matching.threshold)])
            guard let run = try RunRecord.fetch(db, id: id) else {
                throw ServerError(.storage, "a run just written cannot be read back")
            }
            return run
        }
        await scheduler.wake()
        return JSONResponse.make(
            run.json(), status: .accepted, headers: [.location: "/projects/\(project.id)/runs/\(id)"])
    }

    /// `GET /projects/{projectId}/runs`.
    func listRuns(_ call: Call) async throws -> Response {
        let project = try await self.project(call)
        var listing = try Listing("runs", table: "run", call: call)
        listing.filter("project = ?", [project.id])
        if let status = call.query("status") {
            guard RunRecord.statuses.contains(status) else {
                throw APIError.malformed("status must be queued, running, succeeded or failed")
            }
            listing.filter("status = ?", [status])
        }
        let query = listing
        let (items, total) = try await store.database.read { db in try query.items(db, RunRecord.init(row:)) }
        var rendered: [JSONValue] = []
        for run in items { rendered.append(run.json(progress: await scheduler.progress(of: run))) }
        return listing.response(rendered, total: total)
    }

    func run(_ call: Call, in project: ProjectRecord) async throws -> RunRecord {
        let id = call.parameter("runId")
        let run = try await store.database.read { db in try RunRecord.fetch(db, id: id) }
        guard let run, run.project == project.id else {
            throw APIError.notFound("no run \(Self.printableID(id)) in project \(project.id)")
        }
        return run
    }

    /// `GET /projects/{projectId}/runs/{runId}`.
    func getRun(_ call: Call) async throws -> Response {
        let run = try await self.run(call, in: try await project(call))
        return JSONResponse.make(run.json(progress: await scheduler.progress(of: run)))
    }

    /// `GET /projects/{projectId}/runs/{runId}/results/{party}`: the party's own view under the disclosure policy.
    func results(_ call: Call) async throws -> Response {
        let token = try call.token
        let project = try await self.project(call)
        guard let party = project.party(named: call.parameter("party")) else {
            throw APIError.notFound("no party of that name in this project")
        }
        // Before the run is looked up, so that a party without a grant cannot learn which runs exist.
        guard let grant = project.disclosure.grant(for: party.role) else {
            throw APIError.forbidden("notGranted", "the disclosure policy grants the \(party.role) party no results")
        }
        let run = try await self.run(call, in: project)
        let type = try call.negotiate(["application/json", "text/csv"])
        let (limit, offset) = try call.page(listing: "results", defaultLimit: 10_000, maximum: 100_000)
        guard project.isOpen else {
            throw APIError.conflict("projectClosed", "project \(project.id) is closed; its results were destroyed")
        }
        guard run.status == "succeeded" else {
            throw APIError.conflict("runNotFinished", "run \(run.id) is \(run.status)")
        }

        let decimals = project.disclosure.scoreDecimals
        let divisor = [1000, 100, 10, 1][decimals]
        let own = party.role == "watchlist" ? "rowA" : "rowB"
        let other = party.role == "watchlist" ? "rowB" : "rowA"
        let expressions: [String: String] = [
            "row": own, "counterpartRow": other, "rule": "rule",
            "score": divisor == 1 ? "scoreMilli" : "(scoreMilli + \(divisor / 2)) / \(divisor)", "status": "status",
        ]
        let fields = grant.fields
        let columns = fields.enumerated().map { "\(expressions[$1] ?? "NULL") AS c\($0)" }.joined(separator: ", ")
        let order = fields.indices.map { "c\($0)" }.joined(separator: ", ")
        let statuses = grant.statuses.map { "'\($0)'" }.joined(separator: ", ")
        let selection = "SELECT DISTINCT \(columns) FROM result WHERE run = ? AND status IN (\(statuses))"
        let viewKey = "\(run.id) \(party.name)"
        let knownSize = viewSizes.withLock { $0[viewKey] }
        let (rows, total) = try await store.database.read { db in
            (
                try Row.fetchAll(
                    db, sql: "\(selection) ORDER BY \(order) LIMIT ? OFFSET ?", arguments: [run.id, limit, offset]
                ).map { row in fields.indices.map { Self.cell(row, index: $0, field: fields[$0], decimals: decimals) }
                },
                try knownSize ?? Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (\(selection))", arguments: [run.id]) ?? 0
            )
        }
        viewSizes.withLock { $0[viewKey] = total }
        let rowCount = rows.count
        _ = try await store.database.write { db in
            try ServiceStore.append(
                db, actor: token.actor, action: .resultRead, project: project.id,
                details: ["run": .string(run.id), "rows": .integer(rowCount)])
        }
        let next = Call.nextCursor(listing: "results", offset: offset, limit: limit, returned: rows.count, total: total)
        if type == "text/csv" {
            let names = [
                "row": "row", "counterpartRow": "counterpart_row", "rule": "rule", "score": "score", "status": "status",
            ]
            var text = Array((fields.compactMap { names[$0] }.joined(separator: ",") + "\n").utf8)
            for row in rows {
                for (index, value) in row.enumerated() {
                    if index > 0 { text.append(UInt8(ascii: ",")) }
                    switch value {
                    case .string(let value): CSVText.appendField(value.utf8, to: &text)
                    case .number(let value): text.append(contentsOf: value.utf8)
                    default: break
                    }
                }
                text.append(0x0A)
            }
            var headers: HTTPFields = [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store"]
            if let next {
                if let link = HTTPField.Name("Link") {
                    headers[link] =
                        "</projects/\(project.id)/runs/\(run.id)/results/\(party.name)?cursor=\(next)&limit=\(limit)>; rel=\"next\""
                }
            }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        let items = rows.map { row in JSONValue.object(fields.indices.map { (fields[$0], row[$0]) }) }
        let counterpart = project.parties.first { $0.name != party.name }?.name ?? ""
        return JSONResponse.make(
            .object([
                ("run", .string(run.id)), ("party", .string(party.name)), ("role", .string(party.role)),
                ("counterpartParty", .string(counterpart)), ("fields", .array(fields.map(JSONValue.string))),
                ("scoreDecimals", .integer(decimals)), ("totalRows", .integer(total)), ("items", .array(items)),
                ("nextCursor", next.map(JSONValue.string) ?? .null),
            ]), headers: [.cacheControl: "no-store"])
    }

    static func cell(_ row: Row, index: Int, field: String, decimals: Int) -> JSONValue {
        switch field {
        // The columns are selected in this order (c0, c1, …): read them by position.
        case "row", "counterpartRow": return .integer(row[index])
        case "score": return .string(score(row[index], decimals: decimals))
        default: return .string(row[index])
        }
    }

    /// A rounded score in units of 10^-decimals, as text with exactly that many decimals.
    static func score(_ units: Int, decimals: Int) -> String {
        let scale = [1, 10, 100, 1000][decimals]
        let fraction = String(units % scale)
        return "\(units / scale)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
