import GRDB

extension SQLiteLinkageStore {
    func metrics() async throws -> MetricsSnapshot {
        try await database.read { db in
            func byStatus<Status: RawRepresentable & Hashable>(_ table: String, _: Status.Type) throws -> [Status: Int]
            where Status.RawValue == String {
                try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM \(table) GROUP BY status")
                    .reduce(into: [:]) { counts, row in
                        if let status = Status(rawValue: row["status"]) { counts[status] = row["n"] }
                    }
            }
            let last = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, comparisons, fuzzySeconds FROM run WHERE status = 'succeeded'
                    ORDER BY finishedAt DESC, ordinal DESC LIMIT 1
                    """)
            let lastRate: Int? = last.map { row in
                let seconds: Double = row["fuzzySeconds"]
                let comparisons: Int = row["comparisons"]
                return seconds > 0 ? Int(Double(comparisons) / seconds) : 0
            }
            return MetricsSnapshot(
                projects: try byStatus("project", ProjectStatus.self), runs: try byStatus("run", RunStatus.self),
                comparisons: try Int.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(comparisons), 0) FROM run WHERE status IN ('succeeded', 'failed')")
                    ?? 0,
                lastRun: last.map { $0["id"] as String }, lastRunPerSecond: lastRate,
                uploadsAccepted: try CounterRecord.value(db, "uploadsAccepted") ?? 0,
                uploadsRefused: try CounterRecord.value(db, "uploadsRefused") ?? 0,
                uploadBytes: try CounterRecord.value(db, "uploadBytes") ?? 0,
                uploadLargest: try CounterRecord.value(db, "uploadLargest") ?? 0,
                uploadLast: try CounterRecord.value(db, "uploadLast"))
        }
    }
}
