import BlindmatchMatching
import BlindmatchProtocol
import GRDB
import Testing

@testable import BlindmatchServer

/// The run queue: projects take turns at the matcher, so one project's queue does not hold the others behind it.
struct RunQueueTests {
    /// A store with open projects `projects` and queued runs, queued in the order given (project, run id).
    static func store(projects: [String], runs: [(String, String)]) async throws -> (SQLiteLinkageStore, Scratch) {
        let scratch = try Scratch()
        let store = try SQLiteLinkageStore(
            path: scratch.path + "/store.sqlite", checkpointKey: try SigningKey.generate())
        let settings = #"{"blocking":true,"reviewFrom":null,"solver":"many-to-one","threshold":"0.85","vetoKeys":[]}"#
        try await store.database.write { db in
            for (index, project) in projects.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO project (id, name, purpose, legalBasis, schemaFingerprint, keyId, matching,
                            vetoDefaulted, disclosure, status, createdAt, ordinal)
                        VALUES (?, ?, 'test', 'test', 'fp', ?, ?, 0, '{}', 'open', '2026-01-01T00:00:00Z', ?)
                        """, arguments: [project, project, "key-\(project)", settings, index])
            }
            for (index, (project, run)) in runs.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings, vetoDefaulted,
                            attempt, stage, fraction, requestedBy, queuedAt, ordinal)
                        VALUES (?, ?, 'queued', 'u-a', 'u-b', ?, 0, 0, 'queued', 0, 'operator',
                            '2026-01-01T00:00:00Z', ?)
                        """, arguments: [run, project, settings, 100 + index])
            }
        }
        return (store, scratch)
    }

    /// Claims runs one at a time, each finished before the next is claimed (one run at a time, as the scheduler
    /// does), queuing `later` runs after the `after`-th claim; returns the order.
    static func claimAll(
        _ store: SQLiteLinkageStore, queuing later: [(String, String)] = [], after: Int = 0
    ) async throws -> [String] {
        var order: [String] = []
        while let run = try await store.claimNextRun(maximumAttempts: 3) {
            order.append(run.id)
            try await store.finish(run, outcome: .failed(code: "internal", message: "test"))
            if order.count == after {
                try await store.database.write { db in
                    for (index, (project, id)) in later.enumerated() {
                        try db.execute(
                            sql: """
                                INSERT INTO run (id, project, status, watchlistUpload, bulkUpload, settings,
                                    vetoDefaulted, attempt, stage, fraction, requestedBy, queuedAt, ordinal)
                                SELECT ?, ?, 'queued', 'u-a', 'u-b', settings, 0, 0, 'queued', 0, 'operator',
                                    queuedAt, ? FROM run LIMIT 1
                                """, arguments: [id, project, 1000 + index])
                    }
                }
            }
        }
        return order
    }

    @Test func projectsTakeTurns() async throws {
        // Project a queued three runs before b and c queued one each: b and c do not wait for all of a's.
        let (store, scratch) = try await Self.store(
            projects: ["p-a", "p-b", "p-c"],
            runs: [("p-a", "r-a1"), ("p-a", "r-a2"), ("p-a", "r-a3"), ("p-b", "r-b1"), ("p-c", "r-c1")])
        defer { withExtendedLifetime(scratch) {} }
        #expect(try await Self.claimAll(store) == ["r-a1", "r-b1", "r-c1", "r-a2", "r-a3"])
    }

    @Test func aProjectArrivingLaterWaitsForOneRunOnly() async throws {
        let (store, scratch) = try await Self.store(
            projects: ["p-a", "p-b"], runs: [("p-a", "r-a1"), ("p-a", "r-a2"), ("p-a", "r-a3"), ("p-a", "r-a4")])
        defer { withExtendedLifetime(scratch) {} }
        // b queues two runs while a's first is running; then a and b alternate.
        let order = try await Self.claimAll(store, queuing: [("p-b", "r-b1"), ("p-b", "r-b2")], after: 1)
        #expect(order == ["r-a1", "r-b1", "r-a2", "r-b2", "r-a3", "r-a4"])
    }

    @Test func oneProjectAloneRunsInTheOrderItQueued() async throws {
        let (store, scratch) = try await Self.store(
            projects: ["p-a"], runs: [("p-a", "r-a1"), ("p-a", "r-a2"), ("p-a", "r-a3")])
        defer { withExtendedLifetime(scratch) {} }
        #expect(try await Self.claimAll(store) == ["r-a1", "r-a2", "r-a3"])
    }
}

/// The board that tells a computing run to stop.
struct RunBoardTests {
    static func run(_ id: String, project: String) throws -> RunRecord {
        try RunRecord(
            row: [
                "id": id, "project": project, "status": "running", "watchlistUpload": "u-a", "bulkUpload": "u-b",
                "settings":
                    #"{"blocking":true,"reviewFrom":null,"solver":"many-to-one","threshold":"0.85","vetoKeys":[]}"#,
                "vetoDefaulted": false, "attempt": 1, "stage": "exact",
                "fraction": 0.0, "requestedBy": "operator", "queuedAt": "2026-01-01T00:00:00Z", "ordinal": 1,
            ])
    }

    /// A run cancelled (or whose project was closed) after the scheduler claimed it but before it began computing
    /// starts with its flag set, so it stops at once rather than computing to the end for nothing.
    @Test func aCancelThatArrivesBeforeTheRunBeginsStillStopsIt() async throws {
        let board = RunBoard()
        await board.cancel(run: "r-1")
        let first = RunCancellation()
        await board.begin(try Self.run("r-1", project: "p-1"), flag: first)
        #expect(first.isCancelled)
        await board.end()
        // Remembered only until the next begin: a later run is not stopped by an old cancel.
        await board.cancel(run: "r-2")
        let other = RunCancellation()
        await board.begin(try Self.run("r-3", project: "p-1"), flag: other)
        #expect(!other.isCancelled)
        await board.end()
        await board.cancel(project: "p-2")
        let closed = RunCancellation()
        await board.begin(try Self.run("r-4", project: "p-2"), flag: closed)
        #expect(closed.isCancelled)
        // A cancel of the run computing now sets its flag directly.
        let now = RunCancellation()
        await board.begin(try Self.run("r-5", project: "p-3"), flag: now)
        await board.cancel(run: "r-5")
        #expect(now.isCancelled)
    }
}
