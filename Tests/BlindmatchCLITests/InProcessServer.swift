import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import ServiceLifecycle
import Synchronization

@testable import BlindmatchServer

/// The matching service built in this process with `buildApplication` (as `serve` builds it), on a free loopback
/// port, with a run executor of the test's choosing.
final class InProcessServer: TestServer, @unchecked Sendable {
    let dataDirectory: String
    let operatorTokenFile: String
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    var operatorToken: String {
        get throws { try String(contentsOfFile: operatorTokenFile, encoding: .utf8).trimmingCharacters(in: .newlines) }
    }

    /// Builds and starts the service; waits until it listens. A first start writes the operator token (0600).
    init(
        dataDirectory: String, operatorTokenFile: String, executor: any RunExecutor,
        configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws {
        self.dataDirectory = dataDirectory
        self.operatorTokenFile = operatorTokenFile
        var configuration = ServiceConfiguration(dataDirectory: dataDirectory)
        configuration.port = 0
        configuration.threads = 2
        configuration.logLevel = .critical
        configure(&configuration)
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let built = try await buildApplication(configuration: configuration, executor: executor) { port in
            listening.yield(port)
        }
        if let token = built.firstOperatorToken {
            let file = try AtomicFile(destination: operatorTokenFile, mode: 0o600)
            try file.write(token + "\n")
            try file.commit()
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [built.application], logger: built.application.logger))
        self.group = group
        task = Task {
            defer { listening.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ServiceTestError("the in-process service did not start") }
        self.port = port
    }

    /// Stops gracefully: requests in flight finish, the log ends with a checkpoint.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Stops abruptly, as a crash would as far as the store is concerned: the run in progress is abandoned where it
    /// is, `running`, with nothing of its outcome written.
    func abandon() async {
        task.cancel()
        _ = await task.result
    }
}

/// Holds each run for `hold` before the engine starts (or until the run is cancelled), so that a test can act while
/// a run is `running`; records when the executor let go of a run.
final class HeldRunExecutor: RunExecutor {
    let hold: Duration
    let released = Mutex<Int>(0)
    private let engine = EngineRunExecutor(threads: 2)

    init(hold: Duration) { self.hold = hold }

    func execute(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) async -> RunOutcome {
        let end = ContinuousClock.now + hold
        while ContinuousClock.now < end && !cancellation.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
        let outcome = await engine.execute(run, files: files, cancellation: cancellation, progress: progress)
        released.withLock { $0 += 1 }
        return outcome
    }
}
