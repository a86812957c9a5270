import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchServer

/// Runs that cannot hold the service hostage: each budget fails a run with its own code (not a crash, and not started
/// again), and an operator cancels a queued or running run.
extension ServiceAPITests {
    /// Queues a run of both sides' current uploads and waits until it ends; returns it.
    static func runToTheEnd(_ server: InProcessServer, _ project: ServiceProject) async throws -> JSONValue {
        let queued = try await HTTP.request(
            .POST, "\(server.baseURL)/projects/\(project.id)/runs", token: project.watchlistToken)
        let run = try #require(queued.json?["id"]?.stringValue)
        let finished = try await HTTP.waitForRun(server, project: project.id, run: run, token: project.bulkToken)
        conforming(
            try await HTTP.request(
                .GET, "\(server.baseURL)/projects/\(project.id)/runs/\(run)", token: project.bulkToken),
            "GET", "/projects/{projectId}/runs/{runId}")
        return finished
    }

    @Test func eachRunBudgetFailsARunWithItsCode() async throws {
        let data = try AgencyData(watch: 40, bulk: 400)
        func server(
            _ name: String, executor: any RunExecutor, _ configure: @escaping (inout ServiceConfiguration) -> Void
        ) async throws -> InProcessServer {
            try await InProcessServer(
                dataDirectory: "\(data.scratch.path)/\(name)", operatorTokenFile: "\(data.scratch.path)/\(name).token",
                executor: executor, configure: configure)
        }

        // Comparisons: the real engine, a budget of 10 pairs.
        var budgeted = try await server("comparisons", executor: EngineRunExecutor(threads: 1)) {
            $0.runComparisonLimit = 10
        }
        var project = try await ServiceProject.create(on: budgeted, data: data)
        try await project.uploadBoth(budgeted, data: data)
        var run = try await Self.runToTheEnd(budgeted, project)
        #expect(run["status"]?.stringValue == "failed")
        #expect(run["failure"]?["code"]?.stringValue == "comparisonLimitExceeded", "\(run)")
        #expect(run["attempt"]?.intValue == 1)
        // The same uploads within a generous budget succeed: the budget, not the data, failed the run.
        await budgeted.stop()
        budgeted = try await server("comparisons", executor: EngineRunExecutor(threads: 1)) {
            $0.runComparisonLimit = 100_000_000
        }
        run = try await Self.runToTheEnd(budgeted, project)
        #expect(run["status"]?.stringValue == "succeeded", "\(run)")
        await budgeted.stop()

        // Memory: the estimate alone is over a 64 KiB budget, so the run fails before it starts.
        budgeted = try await server("memory", executor: EngineRunExecutor(threads: 1, memoryLimit: 64 << 10)) { _ in }
        project = try await ServiceProject.create(on: budgeted, data: data)
        try await project.uploadBoth(budgeted, data: data)
        run = try await Self.runToTheEnd(budgeted, project)
        #expect(run["failure"]?["code"]?.stringValue == "resourceExhausted", "\(run)")
        #expect(run["failure"]?["message"]?.stringValue?.contains("--run-memory-limit") == true)
        await budgeted.stop()

        // Time: a run held far longer than its 300 ms budget is stopped at the budget.
        let held = HeldRunExecutor(hold: .seconds(60))
        budgeted = try await server("time", executor: held) { $0.runTimeLimit = .milliseconds(300) }
        project = try await ServiceProject.create(on: budgeted, data: data)
        try await project.uploadBoth(budgeted, data: data)
        let started = ContinuousClock.now
        run = try await Self.runToTheEnd(budgeted, project)
        #expect(run["failure"]?["code"]?.stringValue == "timeLimitExceeded", "\(run)")
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(held.released.withLock { $0 } == 1)
        // Failed for good: a restart does not queue it again.
        await budgeted.stop()
        budgeted = try await server("time", executor: HeldRunExecutor(hold: .zero)) { _ in }
        let id = try #require(run["id"]?.stringValue)
        try await Task.sleep(for: .milliseconds(300))
        let after = try await HTTP.request(
            .GET, "\(budgeted.baseURL)/projects/\(project.id)/runs/\(id)", token: project.bulkToken)
        #expect(after.json?["status"]?.stringValue == "failed" && after.json?["attempt"]?.intValue == 1)
        await budgeted.stop()
    }

    @Test func theRequesterOrTheOperatorCancelsAQueuedOrRunningRun() async throws {
        let data = try AgencyData(watch: 40, bulk: 400)
        let executor = HeldRunExecutor(hold: .seconds(60))
        let server = try await InProcessServer(for: data, executor: executor)
        let project = try await ServiceProject.create(on: server, data: data)
        let operatorToken = try server.operatorToken
        let base = "\(server.baseURL)/projects/\(project.id)"
        try await project.uploadBoth(server, data: data)
        let first = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?.stringValue)
        #expect(
            try await HTTP.waitForStatus("running", server, project: project.id, run: first, token: operatorToken))
        let second = try #require(
            try await HTTP.request(.POST, base + "/runs", token: project.watchlistToken).json?["id"]?.stringValue)

        // A party that did not request the run may not cancel it; its requester cancels the queued run.
        let refused = try await HTTP.request(.POST, base + "/runs/\(second)/cancel", token: project.bulkToken)
        #expect(refused.status == 403 && refused.code == "forbiddenParty")
        let queued = Self.conforming(
            try await HTTP.request(.POST, base + "/runs/\(second)/cancel", token: project.watchlistToken),
            "POST", "/projects/{projectId}/runs/{runId}/cancel")
        #expect(queued.status == 200 && queued.json?["status"]?.stringValue == "failed")
        #expect(queued.json?["failure"]?["code"]?.stringValue == "cancelled")
        #expect(queued.json?["failure"]?["message"]?.stringValue?.contains("party:agency-a") == true)
        #expect(queued.json?["attempt"]?.intValue == 0)

        // The running run fails at once, and its worker lets go within moments, not when the hold would end.
        let running = try await HTTP.request(.POST, base + "/runs/\(first)/cancel", token: operatorToken)
        #expect(running.status == 200 && running.json?["failure"]?["code"]?.stringValue == "cancelled")
        var stopped = false
        for _ in 0..<100 where !stopped {
            try await Task.sleep(for: .milliseconds(50))
            stopped = executor.released.withLock { $0 } == 1
        }
        #expect(stopped)
        let still = try await HTTP.request(.GET, base + "/runs/\(first)", token: operatorToken)
        #expect(still.json?["status"]?.stringValue == "failed" && still.json?["summary"] == .null)

        // A finished run is not cancelled again.
        let again = Self.conforming(
            try await HTTP.request(.POST, base + "/runs/\(first)/cancel", token: operatorToken),
            "POST", "/projects/{projectId}/runs/{runId}/cancel")
        #expect(again.status == 409 && again.code == "runFinished")
        let log = try await HTTP.request(.GET, server.baseURL + "/audit/log", token: project.auditorToken).text
        #expect(log.components(separatedBy: #""reason":"cancelled""#).count - 1 == 2)
        await server.stop()
    }
}
