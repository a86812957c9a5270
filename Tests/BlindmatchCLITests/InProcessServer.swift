import BlindmatchMatching
import BlindmatchProtocol
import Foundation
import Glibc
import ServiceLifecycle
import Synchronization
import Testing

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

    /// The service of one test's agencies: its data directory `server/` and operator token `operator.token` in the
    /// agencies' scratch directory.
    convenience init(
        for data: AgencyData, executor: any RunExecutor, configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws {
        try await self.init(
            dataDirectory: data.scratch.path + "/server", operatorTokenFile: data.scratch.path + "/operator.token",
            executor: executor, configure: configure)
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
        if PostgresTestStore.requested && configuration.database == nil {
            try PostgresTestStore.configure(&configuration)
        }
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

    /// Starts a graceful stop without waiting for it, for a `defer` in a test that may end early. The stop is awaited
    /// when the test ends (the suite's ``AwaitsServerStops`` trait): a server still shutting down when the test
    /// process exits can take the process down with it.
    func stopSoon() {
        let group = self.group
        let task = self.task
        PendingServerStops.add(
            Task {
                await group.triggerGracefulShutdown()
                _ = await task.result
            })
    }

    /// Stops gracefully: requests in flight finish, the log ends with a checkpoint.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }

    /// Stops abruptly, as a crash would as far as the store is concerned: the run executor is frozen first, so that
    /// the run in progress is lost (`interrupted`) and nothing of its outcome or release is written; then the
    /// service's task is cancelled. Waits until the data directory's lock is free again, so that the next server can
    /// start on the same directory.
    func abandon(freezing executor: HeldRunExecutor) async {
        executor.freeze()
        task.cancel()
        for _ in 0..<200 {
            let descriptor = open(dataDirectory + "/lock", O_RDWR | O_CLOEXEC)
            defer { close(descriptor) }
            if descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                flock(descriptor, LOCK_UN)
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Holds each run for `hold` before the engine starts (or until the run is cancelled), so that a test can act while
/// a run is `running`; records when the executor let go of a run.
final class HeldRunExecutor: RunExecutor {
    let hold: Duration
    let released = Mutex<Int>(0)
    /// Set by ``freeze()``: the run held now is lost (`interrupted`), as if the process had died under it.
    private let frozen = Mutex(false)
    private let engine = EngineRunExecutor(threads: 2)

    init(hold: Duration) { self.hold = hold }

    func freeze() { frozen.withLock { $0 = true } }

    func execute(
        _ run: RunRecord, files: RunFiles, cancellation: RunCancellation,
        progress: @escaping @Sendable (RunProgress) -> Void
    ) async -> RunOutcome {
        let end = ContinuousClock.now + hold
        while ContinuousClock.now < end && !cancellation.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // A frozen executor lost its run, as a process that died would: nothing of it is written.
        if frozen.withLock({ $0 }) { return .interrupted }
        let outcome = await engine.execute(run, files: files, cancellation: cancellation, progress: progress)
        released.withLock { $0 += 1 }
        return outcome
    }
}

/// The stops that `stopSoon` started and nobody has awaited yet.
enum PendingServerStops {
    private static let tasks = Mutex<[Task<Void, Never>]>([])

    static func add(_ task: Task<Void, Never>) { tasks.withLock { $0.append(task) } }

    /// Waits for every stop started so far.
    static func awaitAll() async {
        while let next = tasks.withLock({ $0.popLast() }) { await next.value }
    }
}

/// Awaits, after each test of the suite, the stops its `defer { server.stopSoon() }` started, so that no in-process
/// server outlives the test that made it.
struct AwaitsServerStops: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        do {
            try await function()
        } catch {
            await PendingServerStops.awaitAll()
            throw error
        }
        await PendingServerStops.awaitAll()
    }
}

extension Trait where Self == AwaitsServerStops {
    /// ``AwaitsServerStops``.
    static var awaitsServerStops: Self { AwaitsServerStops() }
}
