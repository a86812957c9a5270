import BlindmatchAudit
import BlindmatchMatching
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
        let view = ResultViewSQL(grant: query.grant, role: query.party.role, scoreDecimals: query.scoreDecimals)
        let fields = query.grant.fields
        let expressions = view.expressions
        let columns = view.columns
        let order = fields.indices.map { "c\($0)" }.joined(separator: ", ")
        let from = view.from
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
        // A view that starts with both row numbers walks an index in its own order and stops at the page's end;
        // DISTINCT would make SQLite read and sort every row after the cursor first (a second a page at 1,000,000
        // rows). Its rows differ unless the store holds a row twice, and the equal rows such a store would give are
        // adjacent in this order: they are dropped here.
        let indexOrder = fields.count >= 2 && Set(fields.prefix(2)) == [.row, .counterpartRow]
        let distinct = indexOrder ? "" : "DISTINCT "
        let (rows, fetched, total) = try await database.read { db in
            var rows: [[ResultValue]] = []
            let fetched = try Row.fetchAll(
                db, sql: "SELECT \(distinct)\(columns) \(from)\(after) ORDER BY \(order) LIMIT ?",
                arguments: pageArguments)
            for row in fetched {
                let values = fields.indices.map { index -> ResultValue in
                    switch fields[index] {
                    case .row, .counterpartRow, .score: .integer(row[index])
                    case .rule, .status: .text(row[index])
                    }
                }
                if values != rows.last { rows.append(values) }
            }
            let total = try knownSize ?? Int.fetchOne(db, sql: view.count, arguments: [run]) ?? 0
            return (rows, fetched.count, total)
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
        return ResultPage(rows: page, total: total, hasMore: fetched > query.limit, receipt: receipt)
    }
}

/// The SQL of a party's view of a run's results under its grant: the granted fields (the score rounded to the
/// policy's decimals) of the rows with a granted status, each distinct row once.
struct ResultViewSQL {
    /// Each granted field's expression, in grant order.
    let expressions: [String]
    /// `expression AS cN, …`.
    let columns: String
    /// `FROM result WHERE run = ? AND status IN (…)`.
    let from: String

    init(grant: DisclosurePolicy.Grant, role: PartyRole, scoreDecimals: Int) {
        let divisor = [1000, 100, 10, 1][scoreDecimals]
        let own = role == .watchlist ? "rowA" : "rowB"
        let other = role == .watchlist ? "rowB" : "rowA"
        expressions = grant.fields.map { field -> String in
            switch field {
            case .row: own
            case .counterpartRow: other
            case .rule: "rule"
            case .score: divisor == 1 ? "scoreMilli" : "(scoreMilli + \(divisor / 2)) / \(divisor)"
            case .status: "status"
            }
        }
        columns = expressions.enumerated().map { "\($1) AS c\($0)" }.joined(separator: ", ")
        let statuses = grant.statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        from = "FROM result WHERE run = ? AND status IN (\(statuses))"
    }

    /// The view's size (one argument: the run).
    var count: String { "SELECT COUNT(*) FROM (SELECT DISTINCT \(columns) \(from))" }
}

/// A succeeded run's results are written in short transactions of their own before the one that publishes the run,
/// so that storing a large result set (1,000,000 rows take seconds) never holds the one writer that every other
/// request's audit entry waits on. Rows of a run that is not `succeeded` are never read (the results route and the
/// view counts look at succeeded runs only), so staged rows are invisible until the run is published, and the rows of
/// an attempt that did not publish (a crash, a stop, a cancel, a closed project) are removed.
extension SQLiteLinkageStore {
    /// Writes `results` as the rows of `run`'s current attempt, replacing any an earlier attempt left; stops and
    /// removes what it wrote as soon as the run is no longer this attempt's (cancelled, project closed). Returns
    /// whether every row was written and the run is still this attempt's.
    func stageResults(of run: RunRecord, _ results: [MatchResult], matchKeys keys: [String]) async throws -> Bool {
        let remove: () async throws -> Void = { try await self.removeResults(of: run.id) }
        return try await ResultStaging.stage(results, remove: remove) { chunk, later in
            try await database.write { db in
                guard try Self.isCurrentAttempt(db, run) else { return false }
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO result (run, rowA, rowB, rule, scoreMilli, status) VALUES (?, ?, ?, ?, ?, ?)")
                for result in chunk {
                    try insert.execute(arguments: [
                        run.id, Int(result.rowA), Int(result.rowB), result.rule.name(matchKeys: keys),
                        Int((result.score * 1000).rounded()), result.status.rawValue,
                    ])
                }
                if later { TestHooks.pause(at: .resultsInsert) }
                return true
            }
        }
    }

    /// Counts each party's view of a run whose rows are all written, before it is published, in read transactions
    /// beside the writer: the first page of a 1,000,000-row view then costs what any page costs, instead of a count
    /// of the whole view (seconds on a busy machine) while its reader waits.
    func countViews(of run: RunRecord) async throws {
        guard let project = try await database.read({ db in try Self.project(db, id: run.project) }) else { return }
        for party in project.parties {
            _ = try await viewCounts(run: run.id, role: party.role)
            guard let grant = project.disclosure.grant(for: party.role) else { continue }
            let view = ResultViewSQL(
                grant: grant, role: party.role, scoreDecimals: project.disclosure.scoreDecimals)
            let total = try await database.read { db in
                try Int.fetchOne(db, sql: view.count, arguments: [run.id]) ?? 0
            }
            viewSizes.withLock { $0["\(run.id) \(party.name)"] = total }
        }
    }

    /// Whether `run` is still running as this attempt, in the caller's transaction.
    static func isCurrentAttempt(_ db: Database, _ run: RunRecord) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT 1 FROM run WHERE id = ? AND status = 'running' AND attempt = ?",
            arguments: [run.id, run.attempt]) ?? false
    }

    /// Removes a run's rows, a chunk per transaction.
    func removeResults(of run: String) async throws {
        while true {
            let removed = try await database.write { db in
                try db.execute(
                    sql: "DELETE FROM result WHERE rowid IN (SELECT rowid FROM result WHERE run = ? LIMIT ?)",
                    arguments: [run, ResultStaging.chunk])
                return db.changesCount
            }
            if removed < ResultStaging.chunk { return }
        }
    }

    /// Removes the rows of every run of a closed project.
    func removeResults(ofProject project: String) async throws {
        let runs = try await database.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM run WHERE project = ?", arguments: [project])
        }
        for run in runs { try await removeResults(of: run) }
    }

    /// Removes the rows of every run that is not published (what an attempt cut short by a crash or a stop staged)
    /// and of every closed project's runs (a crash in the middle of removing them): at start, before any run is
    /// claimed.
    func removeUnpublishedResults() async throws {
        let runs = try await database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT run.id FROM run JOIN project ON project.id = run.project
                    WHERE (run.status <> 'succeeded' OR project.status <> 'open')
                        AND EXISTS (SELECT 1 FROM result WHERE result.run = run.id)
                    """)
        }
        for run in runs { try await removeResults(of: run) }
    }
}
