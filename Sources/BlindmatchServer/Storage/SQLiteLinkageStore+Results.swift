import BlindmatchAudit
import BlindmatchProtocol
import GRDB

extension SQLiteLinkageStore {
    func viewCounts(run: String, role: PartyRole) async throws -> [ResultStatus: Int] {
        let key = "\(run) \(role.rawValue)"
        if let known = viewCountCache.withLock({ $0[key] }) { return known }
        let own = role == .watchlist ? "rowA" : "rowB"
        let counts = try await database.read { db in
            var counts: [ResultStatus: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(DISTINCT \(own)) FROM result WHERE run = ? GROUP BY status",
                arguments: [run])
            {
                if let status = ResultStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
        viewCountCache.withLock { $0[key] = counts }
        return counts
    }

    func resultView(_ query: ResultQuery, by actor: Acting) async throws -> ResultPage {
        let divisor = [1000, 100, 10, 1][query.scoreDecimals]
        let own = query.party.role == .watchlist ? "rowA" : "rowB"
        let other = query.party.role == .watchlist ? "rowB" : "rowA"
        let fields = query.grant.fields
        let expressions = fields.map { field -> String in
            switch field {
            case .row: own
            case .counterpartRow: other
            case .rule: "rule"
            case .score: divisor == 1 ? "scoreMilli" : "(scoreMilli + \(divisor / 2)) / \(divisor)"
            case .status: "status"
            }
        }
        let columns = expressions.enumerated().map { "\($1) AS c\($0)" }.joined(separator: ", ")
        let order = fields.indices.map { "c\($0)" }.joined(separator: ", ")
        let statuses = query.grant.statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let view = "FROM result WHERE run = ? AND status IN (\(statuses))"
        var keyset = ""
        var arguments: StatementArguments = [query.run]
        if let last = query.after, last.count == fields.count {
            // Keyset: the rows after the previous page's last, in the view's order.
            keyset =
                " AND (\(expressions.joined(separator: ", "))) > (\(fields.map { _ in "?" }.joined(separator: ", ")))"
            for value in last {
                switch value {
                case .integer(let number): arguments += [number]
                case .text(let text): arguments += [text]
                }
            }
        }
        let pageArguments = arguments + [query.limit + 1]
        let after = keyset
        let sizeKey = "\(query.run) \(query.party.name)"
        let knownSize = viewSizes.withLock { $0[sizeKey] }
        let run = query.run
        let (rows, total) = try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT DISTINCT \(columns) \(view)\(after) ORDER BY \(order) LIMIT ?",
                arguments: pageArguments
            ).map { row in
                fields.indices.map { index -> ResultValue in
                    switch fields[index] {
                    case .row, .counterpartRow, .score: .integer(row[index])
                    case .rule, .status: .text(row[index])
                    }
                }
            }
            let total =
                try knownSize
                ?? Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM (SELECT DISTINCT \(columns) \(view))", arguments: [run]) ?? 0
            return (rows, total)
        }
        viewSizes.withLock { $0[sizeKey] = total }
        let page = Array(rows.prefix(query.limit))
        let project = query.project
        let count = page.count
        let receipt = try await database.write { db in
            let entry = try Self.append(
                db, actor: actor, action: .resultRead, project: project,
                details: ["run": .string(run), "rows": .integer(count)])
            return try Self.receipt(db, for: entry)
        }
        return ResultPage(rows: page, total: total, hasMore: rows.count > query.limit, receipt: receipt)
    }
}
