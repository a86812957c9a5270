import GRDB

extension PostgresLinkageStore {
    func metrics() async throws -> MetricsSnapshot {
        try await pool.read { db in
            func byStatus<Status: RawRepresentable & Hashable>(_ table: String, _: Status.Type) async throws
                -> [Status: Int]
            where Status.RawValue == String {
                try await db.rows("SELECT status, COUNT(*) AS n FROM \(table) GROUP BY status")
                    .reduce(into: [:]) { counts, row in
                        if let status = Status(rawValue: row["status"]) { counts[status] = row["n"] }
                    }
            }
            let last = try await db.row(
                """
                SELECT id, comparisons, fuzzySeconds FROM run WHERE status = 'succeeded'
                ORDER BY finishedAt DESC, ordinal DESC LIMIT 1
                """)
            let lastRate: Int? = last.map { row in
                let seconds: Double = row["fuzzySeconds"]
                let comparisons: Int = row["comparisons"]
                return seconds > 0 ? Int(Double(comparisons) / seconds) : 0
            }
            return MetricsSnapshot(
                projects: try await byStatus("project", ProjectStatus.self),
                runs: try await byStatus("run", RunStatus.self),
                comparisons: try await db.int(
                    "SELECT COALESCE(SUM(comparisons), 0)::BIGINT FROM run WHERE status IN ('succeeded', 'failed')")
                    ?? 0,
                lastRun: last.map { $0["id"] as String }, lastRunPerSecond: lastRate,
                uploadsAccepted: try await Self.counter(db, "uploadsAccepted") ?? 0,
                uploadsRefused: try await Self.counter(db, "uploadsRefused") ?? 0,
                uploadBytes: try await Self.counter(db, "uploadBytes") ?? 0,
                uploadLargest: try await Self.counter(db, "uploadLargest") ?? 0,
                uploadLast: try await Self.counter(db, "uploadLast"))
        }
    }
}
