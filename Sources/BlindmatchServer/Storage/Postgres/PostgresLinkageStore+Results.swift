import BlindmatchAudit
import BlindmatchMatching
import BlindmatchProtocol
import GRDB
import PostgresNIO

extension PostgresLinkageStore {
    func viewCounts(run: String, role: PartyRole) async throws -> [ResultStatus: Int] {
        let key = "\(run) \(role.rawValue)"
        if let known = viewCountCache.withLock({ $0[key] }) { return known }
        let own = role == .watchlist ? "rowA" : "rowB"
        let counts = try await pool.read { db in
            var counts: [ResultStatus: Int] = [:]
            for row in try await db.rows(
                "SELECT status, COUNT(DISTINCT \(own)) AS n FROM result WHERE run = ? GROUP BY status", [run])
            {
                if let status = ResultStatus(rawValue: row["status"]) { counts[status] = row["n"] }
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
        let order = fields.indices.map { "c\($0)" }.joined(separator: ", ")
        var keyset = ""
        var arguments: [(any DatabaseValueConvertible)?] = [query.run]
        if let last = query.after, last.count == fields.count {
            keyset =
                " AND (\(expressions.joined(separator: ", "))) > (\(fields.map { _ in "?" }.joined(separator: ", ")))"
            for value in last {
                switch value {
                case .integer(let number): arguments.append(number)
                case .text(let text): arguments.append(text)
                }
            }
        }
        let pageArguments = arguments + [query.limit + 1]
        let after = keyset
        let sizeKey = "\(query.run) \(query.party.name)"
        let knownSize = viewSizes.withLock { $0[sizeKey] }
        let run = query.run
        let indexOrder = fields.count >= 2 && Set(fields.prefix(2)) == [.row, .counterpartRow]
        let distinct = indexOrder ? "" : "DISTINCT "
        let (rows, fetched, total) = try await pool.read { db in
            var rows: [[ResultValue]] = []
            let fetched = try await db.cells(
                "SELECT \(distinct)\(view.columns) \(view.from)\(after) ORDER BY \(order) LIMIT ?", pageArguments)
            for row in fetched {
                let values = fields.indices.map { index -> ResultValue in
                    switch fields[index] {
                    case .row, .counterpartRow, .score: .integer(Int.fromDatabaseValue(row[index].1) ?? 0)
                    case .rule, .status: .text(String.fromDatabaseValue(row[index].1) ?? "")
                    }
                }
                if values != rows.last { rows.append(values) }
            }
            let total: Int
            if let knownSize {
                total = knownSize
            } else {
                total = try await db.int(Self.countSQL(view), [run]) ?? 0
            }
            return (rows, fetched.count, total)
        }
        viewSizes.withLock { $0[sizeKey] = total }
        let page = Array(rows.prefix(query.limit))
        let project = query.project
        let count = page.count
        let receipt = try await pool.write { db in
            let entry = try await Self.append(
                db, actor: actor, action: .resultRead, project: project,
                details: ["run": .string(run), "rows": .integer(count)])
            return try await Self.receipt(db, for: entry)
        }
        return ResultPage(rows: page, total: total, hasMore: fetched > query.limit, receipt: receipt)
    }

    /// The view's size: SQLite's count, with the alias PostgreSQL requires of a subquery.
    static func countSQL(_ view: ResultViewSQL) -> String {
        "SELECT COUNT(*) FROM (SELECT DISTINCT \(view.columns) \(view.from)) AS view"
    }
}

/// A run's rows, written in transactions of ``ResultStaging/chunk`` rows before the run is published
/// (``ResultStaging``, as SQLite does): each chunk is one INSERT of arrays (UNNEST), one round trip.
extension PostgresLinkageStore {
    func stageResults(of run: RunRecord, _ results: [MatchResult], matchKeys keys: [String]) async throws -> Bool {
        let remove: () async throws -> Void = { try await self.removeResults(of: run.id) }
        return try await ResultStaging.stage(results, remove: remove) { chunk, later in
            let insert = try Self.insertQuery(run: run.id, chunk, matchKeys: keys)
            return try await pool.session { db in
                try await db.transaction { db in
                    // Not waiting for the disk at each chunk is safe: the rows count only once the run is published,
                    // and the publishing commit, which waits, makes every earlier commit durable with it (the WAL is
                    // written in order). A crash before it loses the chunks, which the next attempt writes again.
                    try await db.execute("SET LOCAL synchronous_commit = off")
                    guard try await Self.isCurrentAttempt(db, run) else { return false }
                    try await db.execute(insert)
                    if later { TestHooks.pause(at: .resultsInsert) }
                    return true
                }
            }
        }
    }

    static func insertQuery(run: String, _ chunk: ArraySlice<MatchResult>, matchKeys keys: [String]) throws
        -> PostgresQuery
    {
        var rowA: [Int64] = []
        var rowB: [Int64] = []
        var rules: [String] = []
        var scores: [Int64] = []
        var statuses: [String] = []
        rowA.reserveCapacity(chunk.count)
        rowB.reserveCapacity(chunk.count)
        rules.reserveCapacity(chunk.count)
        scores.reserveCapacity(chunk.count)
        statuses.reserveCapacity(chunk.count)
        for result in chunk {
            rowA.append(Int64(result.rowA))
            rowB.append(Int64(result.rowB))
            rules.append(result.rule.name(matchKeys: keys))
            scores.append(Int64((result.score * 1000).rounded()))
            statuses.append(result.status.rawValue)
        }
        var binds = PostgresBindings(capacity: 6)
        binds.append(run)
        binds.append(rowA)
        binds.append(rowB)
        binds.append(rules)
        binds.append(scores)
        binds.append(statuses)
        return PostgresQuery(
            unsafeSQL: """
                INSERT INTO result (run, rowA, rowB, rule, scoreMilli, status)
                SELECT $1, a, b, r, s, t FROM UNNEST($2::BIGINT[], $3::BIGINT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[])
                    AS chunk(a, b, r, s, t)
                """, binds: binds)
    }

    func countViews(of run: RunRecord) async throws {
        guard let project = try await pool.read({ db in try await Self.project(db, id: run.project) }) else { return }
        for party in project.parties {
            _ = try await viewCounts(run: run.id, role: party.role)
            guard let grant = project.disclosure.grant(for: party.role) else { continue }
            let view = ResultViewSQL(
                grant: grant, role: party.role, scoreDecimals: project.disclosure.scoreDecimals)
            let total = try await pool.read { db in try await db.int(Self.countSQL(view), [run.id]) ?? 0 }
            viewSizes.withLock { $0["\(run.id) \(party.name)"] = total }
        }
    }

    static func isCurrentAttempt(_ db: PostgresSession, _ run: RunRecord) async throws -> Bool {
        try await db.int(
            "SELECT 1 FROM run WHERE id = ? AND status = 'running' AND attempt = ? FOR SHARE", [run.id, run.attempt])
            != nil
    }

    func removeResults(of run: String) async throws {
        while true {
            let removed = try await pool.session { db in
                try await db.transaction { db in
                    // Rows nobody reads (an unpublished attempt's, a closed project's): a crash that loses the
                    // delete leaves them to the next start's sweep.
                    try await db.execute("SET LOCAL synchronous_commit = off")
                    return try await db.changes(
                        "DELETE FROM result WHERE ctid IN (SELECT ctid FROM result WHERE run = ? LIMIT ?)",
                        [run, ResultStaging.chunk])
                }
            }
            if removed < ResultStaging.chunk { return }
        }
    }

    func removeResults(ofProject project: String) async throws {
        let runs = try await pool.session { db in
            try await db.strings("SELECT id FROM run WHERE project = ?", [project])
        }
        for run in runs { try await removeResults(of: run) }
    }

    func removeUnpublishedResults() async throws {
        let runs = try await pool.session { db in
            try await db.strings(
                """
                SELECT run.id FROM run JOIN project ON project.id = run.project
                WHERE ((run.status <> 'succeeded' AND run.status <> 'running') OR project.status <> 'open')
                    AND EXISTS (SELECT 1 FROM result WHERE result.run = run.id)
                """)
        }
        for run in runs { try await removeResults(of: run) }
    }
}
