import BlindmatchServer
import ServiceLifecycle

/// The matching service embedded in another command (`demo`), talked to over loopback HTTP as any client would.
enum EmbeddedService {
    /// Builds the service, serves for as long as `body` runs (which receives the bound port and the first operator
    /// token, if this start made one, and the service for what else it offers), then stops the server gracefully and waits until it has stopped, also when
    /// `body` throws. `blindmatch serve` instead serves until a signal.
    static func serving<Result: Sendable>(
        _ configuration: ServiceConfiguration,
        _ body: @Sendable (_ port: Int, _ firstOperatorToken: String?, _ service: BuiltService) async throws -> Result
    ) async throws -> Result {
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        let built = try await buildApplication(configuration: configuration) { port in listening.yield(port) }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [built.application], logger: built.application.logger))
        return try await withThrowingTaskGroup(of: Void.self) { server in
            server.addTask {
                defer { listening.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await server.waitForAll()
                throw ServerError(.startup, "the matching service stopped before it listened")
            }
            let result: Result
            do {
                result = try await body(port, built.firstOperatorToken, built)
            } catch {
                await group.triggerGracefulShutdown()
                try? await server.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await server.waitForAll()
            return result
        }
    }
}
