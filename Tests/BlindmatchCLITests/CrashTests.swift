import BlindmatchProtocol
import Foundation
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
}
