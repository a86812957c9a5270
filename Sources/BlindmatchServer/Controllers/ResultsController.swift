import BlindmatchContract
import BlindmatchProtocol
import HTTPTypes
import Hummingbird

/// The `results` tag: each party's view of a run's results under the disclosure policy.
struct ResultsController<Store: LinkageStore>: Sendable {
    let store: Store

    func register(in routes: inout RouteRegistry<Store>) {
        routes.add(.get, "/projects/{projectId}/runs/{runId}/results/{party}", roles: [.party], results)
    }

    /// `GET /projects/{projectId}/runs/{runId}/results/{party}`: the party's own view, as JSON or CSV, in pages.
    @Sendable func results(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let token = try context.token
        let project = try await store.project(in: context)
        guard let party = project.party(named: context.parameter("party")) else {
            throw APIError.notFound("no party of that name in this project")
        }
        // Before the run is looked up, so that a party without a grant cannot learn which runs exist.
        guard let grant = project.disclosure.grant(for: party.role) else {
            throw APIError.forbidden(
                .notGranted, "the disclosure policy grants the \(party.role.rawValue) party no results")
        }
        let run = try await store.run(in: context, of: project)
        let type = try request.negotiate(["application/json", "text/csv"])
        let limit = try request.limit(defaultLimit: 10_000, maximum: 100_000)
        let after = try request.query("cursor").map { try ResultCursor.values(of: $0, fields: grant.fields) }
        guard project.isOpen else {
            throw APIError.conflict(.projectClosed, "project \(project.id) is closed; its results were destroyed")
        }
        guard run.status == .succeeded else {
            throw APIError.conflict(.runNotFinished, "run \(run.id) is \(run.status.rawValue)")
        }
        let decimals = project.disclosure.scoreDecimals
        let page = try await store.resultView(
            ResultQuery(
                project: project.id, run: run.id, party: party, grant: grant, scoreDecimals: decimals, limit: limit,
                after: after),
            by: token.acting)
        let next = page.hasMore ? page.rows.last.map(ResultCursor.make) : nil
        if type == "text/csv" {
            let cells = page.rows.map { row in
                zip(grant.fields, row).map { field, value in Self.cell(value, field: field, decimals: decimals) }
            }
            var text = Array((grant.fields.map(\.csvName).joined(separator: ",") + "\n").utf8)
            for row in cells {
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
            var headers: HTTPFields = [
                .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                .blindmatchReceipt: page.receipt.header,
            ]
            if let next, let link = HTTPField.Name("Link") {
                headers[link] =
                    "</projects/\(project.id)/runs/\(run.id)/results/\(party.name)?cursor=\(next)&limit=\(limit)>; rel=\"next\""
            }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        let counterpart = project.parties.first { $0.name != party.name }?.name ?? ""
        return try JSONResponse.make(
            Components.Schemas.ResultPage(
                run: run.id, party: party.name, role: party.role, counterpartParty: counterpart, fields: grant.fields,
                scoreDecimals: decimals, totalRows: page.total,
                items: page.rows.map { Self.item($0, fields: grant.fields, decimals: decimals) }, nextCursor: next),
            headers: [.cacheControl: "no-store", .blindmatchReceipt: page.receipt.header])
    }

    /// A `ResultRow` with exactly the granted fields (the others are left out, as the contract asks).
    static func item(_ values: [ResultValue], fields: [ResultField], decimals: Int) -> Components.Schemas.ResultRow {
        var item = Components.Schemas.ResultRow(row: 0)
        for (field, value) in zip(fields, values) {
            switch (field, value) {
            case (.row, .integer(let number)): item.row = number
            case (.counterpartRow, .integer(let number)): item.counterpartRow = number
            case (.rule, .text(let text)): item.rule = text
            case (.score, .integer(let units)): item.score = score(units, decimals: decimals)
            case (.status, .text(let text)): item.status = ResultStatus(rawValue: text)
            default: break
            }
        }
        return item
    }

    static func cell(_ value: ResultValue, field: ResultField, decimals: Int) -> JSONValue {
        switch (field, value) {
        case (.score, .integer(let units)): .string(score(units, decimals: decimals))
        case (_, .integer(let number)): .integer(number)
        case (_, .text(let text)): .string(text)
        }
    }

    /// A rounded score in units of 10^-decimals, as text with exactly that many decimals.
    static func score(_ units: Int, decimals: Int) -> String {
        let scale = [1, 10, 100, 1000][decimals]
        let fraction = String(units % scale)
        return "\(units / scale)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}

/// The cursor of a results page: `results_` and the previous page's last row, each value as `i` and a number or `t`
/// and its UTF-8 in hex, joined by `~` (URL-safe, and never more than the party may already read).
enum ResultCursor {
    static func make(_ row: [ResultValue]) -> String {
        "results_"
            + row.map { value in
                switch value {
                case .integer(let number): "i\(number)"
                case .text(let text): "t" + Hex.encode(Array(text.utf8))
                }
            }.joined(separator: "~")
    }

    static func values(of cursor: String, fields: [ResultField]) throws -> [ResultValue] {
        let malformed = APIError.malformed("cursor is not one this listing gave")
        guard cursor.hasPrefix("results_") else { throw malformed }
        let parts = cursor.dropFirst("results_".count).split(separator: "~", omittingEmptySubsequences: false)
        guard parts.count == fields.count else { throw malformed }
        return try parts.map { part -> ResultValue in
            if part.hasPrefix("i"), let number = Int(part.dropFirst()) { return .integer(number) }
            if part.hasPrefix("t"), let bytes = Hex.decode(String(part.dropFirst())),
                let text = String(validating: bytes, as: UTF8.self)
            {
                return .text(text)
            }
            throw malformed
        }
    }
}
