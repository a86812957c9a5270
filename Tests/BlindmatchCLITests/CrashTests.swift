import BlindmatchProtocol
import Foundation
import GRDB
import Testing

/// The real `serve` binary killed with SIGKILL mid-upload and, again and again, mid-run, and started again each time:
/// nothing accepted is lost, nothing is left in `tmp/`, the run completes exactly once with the result an
/// uninterrupted run has, and the audit log still verifies.
extension ServiceAPITests {
    /// The SHA-256 of every stored token file matches its name (the store is content-addressed): none is torn.
    static func storedFilesAreIntact(_ server: ServerProcess) throws -> Int {
        let stored = try FileManager.default.subpathsOfDirectory(atPath: server.dataDirectory + "/tokens")
            .filter { $0.hasSuffix(".bmt") }
        for path in stored {
            var hasher = SHA256Hasher()
            hasher.update(try FileIO.readAll("\(server.dataDirectory)/tokens/\(path)"))
            let name = String(path.split(separator: "/").last ?? "").replacingOccurrences(of: ".bmt", with: "")
            #expect(Hex.encode(hasher.finalize()) == name, "\(path) is torn")
        }
        return stored.count
    }

    static func temporaryFiles(_ server: ServerProcess) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory + "/tmp")
    }

    @Test func killedMidUploadAndMidRunTheServiceLosesNothing() async throws {
        let data = try AgencyData()
        let server = ServerProcess(
            dataDirectory: data.scratch.path + "/server", operatorTokenFile: data.scratch.path + "/operator.token")
        let arguments = ["--max-run-attempts", "20"]
        try server.start(arguments: arguments)
        defer { server.stop() }
        let project = try await ServiceProject.create(on: server, data: data, blocking: false)
        try await project.uploadBoth(server, data: data)
        var base: String { "\(server.baseURL)/projects/\(project.id)" }

        // Mid-upload: half of a second watch-list file is in tmp/ when the server dies.
        let file = try FileIO.readAll("\(data.path)/a.bmt")
        let connection = try RawConnection(port: server.port)
        connection.send(RawConnection.uploadHead(project: project, length: file.count) + file[0..<(file.count / 2)])
        var streaming = false
        for _ in 0..<400 where !streaming {
            try await Task.sleep(for: .milliseconds(25))
            streaming = !(try Self.temporaryFiles(server)).isEmpty
        }
        #expect(streaming, "the upload never reached tmp/")
        server.kill()
        try server.start(arguments: arguments)
        #expect(try Self.temporaryFiles(server).isEmpty)
        let uploads = try await HTTP.request(.GET, base + "/uploads", token: try server.operatorToken)
        #expect(uploads.json?["items"]?.arrayValue?.count == 2, "\(uploads.text)")
        #expect(try Self.storedFilesAreIntact(server) == 2)

        // Mid-run: a queue of runs of the same uploads, the server killed the moment one is seen running (computing
        // or inserting its results), up to five times while runs remain.
        var runs: [String] = []
        for _ in 0..<16 {
            runs.append(
                try #require(
                    try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?
                        .stringValue))
        }
        var kills = 0
        for _ in 0..<5 {
            var running = false
            for _ in 0..<2000 where !running {
                let listed = try await HTTP.request(.GET, base + "/runs?status=running", token: project.bulkToken)
                running = listed.json?["items"]?.arrayValue?.isEmpty == false
                if !running { try await Task.sleep(for: .milliseconds(5)) }
            }
            guard running else { break }
            server.kill()
            kills += 1
            try server.start(arguments: arguments)
            #expect(try Self.temporaryFiles(server).isEmpty)
        }
        // Restarts are slow on a loaded machine, so the queue may run out first; two kills at least.
        #expect(kills >= 2)
        var attempts = 0
        for run in runs {
            let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.bulkToken)
            #expect(finished["status"]?.stringValue == "succeeded", "\(finished)")
            attempts += finished["attempt"]?.intValue ?? 0
        }
        // A kill that landed mid-run cost that run one more attempt; most kills did.
        #expect(attempts > runs.count && attempts <= runs.count + kills, "\(attempts) attempts after \(kills) kills")

        // Exactly once: one run.succeeded per run, as many run.started as attempts, and the log still verifies.
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        let lines = log.text.split(separator: "\n")
        for run in runs {
            let entries = lines.filter { $0.contains("\"run\":\"\(run)\"") }
            #expect(entries.filter { $0.contains(#""action":"run.succeeded""#) }.count == 1)
            #expect(entries.filter { $0.contains(#""action":"run.failed""#) }.isEmpty)
        }
        #expect(lines.filter { $0.contains(#""action":"run.started""#) }.count == attempts)
        try Data(log.body).write(to: URL(fileURLWithPath: data.path + "/audit.jsonl"))
        let verified = try CLI.run(
            ["audit", "verify", "audit.jsonl", "--public-key", server.dataDirectory + "/matcher.pub"], in: data.path)
        #expect(verified.status == 0, "\(verified.output)")

        // Every run, interrupted or not, has the same rows: the engine is deterministic and nothing is half-stored.
        var views: Set<String> = []
        for run in runs {
            views.insert(
                try await HTTP.request(
                    .GET, base + "/runs/\(run)/results/agency-a?limit=100000", token: project.watchlistToken,
                    accept: "text/csv"
                ).text)
        }
        #expect(views.count == 1)
        #expect(views.first?.split(separator: "\n").count ?? 0 > 50)
        #expect(try Self.storedFilesAreIntact(server) == 2)
        #expect(try Self.temporaryFiles(server).isEmpty)
    }

    /// Each run as the store holds it on disk: its status, attempt and result rows, read beside (or after) the server.
    static func storedRuns(_ server: ServerProcess) throws -> [String: (status: String, attempt: Int, rows: Int)] {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(
            path: server.dataDirectory + "/blindmatch.sqlite", configuration: configuration)
        return try database.read { db in
            var runs: [String: (status: String, attempt: Int, rows: Int)] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT id, status, attempt, (SELECT COUNT(*) FROM result WHERE result.run = run.id) FROM run")
            {
                runs[row[0]] = (row[1], row[2], row[3])
            }
            return runs
        }
    }

    /// Waits (up to 60 s) until the server says it is paused at `point` (``TestHooks``), the `count`th time.
    static func waitForPause(_ point: String, _ server: ServerProcess, count: Int) async throws -> Bool {
        for _ in 0..<1200 {
            if server.log.components(separatedBy: "test hook: paused at \(point)\n").count > count { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// What a crash must never cost: both accepted uploads listed and intact, nothing in `tmp/`, every run terminal
    /// and all-or-nothing (a succeeded run has exactly the pairs its `run.succeeded` entry counts, any other none), one
    /// `run.succeeded` per succeeded run, and an audit log that verifies against the matcher's key.
    static func checkNothingLost(_ server: ServerProcess, project: ServiceProject, data: AgencyData) async throws {
        let base = "\(server.baseURL)/projects/\(project.id)"
        let uploads = try await HTTP.request(.GET, base + "/uploads", token: try server.operatorToken)
        #expect(uploads.json?["items"]?.arrayValue?.count == 2, "\(uploads.text)")
        #expect(try storedFilesAreIntact(server) == 2)
        #expect(try temporaryFiles(server).isEmpty)
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken)
        let lines = log.text.split(separator: "\n")
        for (run, stored) in try storedRuns(server) {
            #expect(stored.status == "succeeded" || stored.status == "failed", "\(run) is \(stored.status)")
            let published = lines.filter { $0.contains(#""action":"run.succeeded""#) && $0.contains(run) }
            if stored.status == "succeeded" {
                #expect(published.count == 1)
                #expect(published.first?.contains("\"pairs\":\(stored.rows),") == true, "\(run): \(stored.rows) rows")
            } else {
                #expect(published.isEmpty && stored.rows == 0, "\(run) failed with \(stored.rows) rows")
            }
        }
        try Data(log.body).write(to: URL(fileURLWithPath: data.path + "/audit.jsonl"))
        let verified = try CLI.run(
            ["audit", "verify", "audit.jsonl", "--public-key", server.dataDirectory + "/matcher.pub"], in: data.path)
        #expect(verified.status == 0, "\(verified.output)")
    }

    /// The server killed inside the writes that matter most, each reached through a test hook (`serve --test-hooks`,
    /// debug builds only) so that the kill lands exactly there: twice inside a run's results insert (rows of the
    /// attempt committed, the run still running), inside an audit export's transaction and inside a checkpoint's.
    @Test func killedMidResultsInsertMidExportAndMidCheckpointTheServiceLosesNothing() async throws {
        let data = try AgencyData()
        let server = ServerProcess(
            dataDirectory: data.scratch.path + "/server", operatorTokenFile: data.scratch.path + "/operator.token")
        try server.start()
        defer { server.stop() }
        let project = try await ServiceProject.create(on: server, data: data, blocking: false)
        try await project.uploadBoth(server, data: data)
        // Each start listens on a port of its own.
        var base: String { "\(server.baseURL)/projects/\(project.id)" }
        let before = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        let reference = try #require(before.json?["id"]?.stringValue)
        _ = try await HTTP.waitForRun(server, project: project.id, run: reference, token: project.bulkToken)
        server.stop()

        // Mid-results insert, twice: the first chunk of rows committed, the second inside its transaction.
        try server.start(environment: ["BLINDMATCH_TEST_PAUSE": "results-insert"], arguments: ["--test-hooks"])
        let queued = try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        var kills = 0
        for attempt in 1...2 {
            #expect(try await Self.waitForPause("results-insert", server, count: attempt))
            server.kill()
            kills += 1
            let staged = try Self.storedRuns(server)[run]
            #expect(staged?.status == "running" && staged?.attempt == attempt, "\(String(describing: staged))")
            #expect((staged?.rows ?? 0) > 0, "the kill did not land mid-insert")
            if attempt == 1 {
                try server.start(environment: ["BLINDMATCH_TEST_PAUSE": "results-insert"], arguments: ["--test-hooks"])
            }
        }
        try server.start()
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.bulkToken)
        #expect(finished["status"]?.stringValue == "succeeded" && finished["attempt"]?.intValue == 3, "\(finished)")
        // The same rows as the run no one interrupted.
        func view(_ id: String) async throws -> String {
            try await HTTP.request(
                .GET, base + "/runs/\(id)/results/agency-a?limit=100000", token: project.watchlistToken,
                accept: "text/csv"
            ).text
        }
        #expect(try await view(run) == (try await view(reference)))
        #expect(try await view(run).split(separator: "\n").count > 50)
        try await Self.checkNothingLost(server, project: project, data: data)
        server.stop()

        // Mid-export and mid-checkpoint: the audit log's own writes, each inside its transaction.
        for point in ["export", "checkpoint"] {
            let entries = try Self.storedAuditEntries(server)
            try server.start(environment: ["BLINDMATCH_TEST_PAUSE": point], arguments: ["--test-hooks"])
            let url = server.baseURL + "/audit/log"
            let token = project.auditorToken
            let exporting = Task { try? await HTTP.request(.GET, url, token: token) }
            #expect(try await Self.waitForPause(point, server, count: 1))
            server.kill()
            kills += 1
            _ = await exporting.value
            // Nothing of the interrupted transaction was kept.
            #expect(try Self.storedAuditEntries(server) == entries)
            try server.start()
            try await Self.checkNothingLost(server, project: project, data: data)
            server.stop()
        }
        #expect(kills == 4)
        try server.start()
    }

    static func storedAuditEntries(_ server: ServerProcess) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(
            path: server.dataDirectory + "/blindmatch.sqlite", configuration: configuration)
        return try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit") ?? 0 }
    }
}
