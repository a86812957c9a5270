import BlindmatchServer

extension MatchingService {
    /// Serves for as long as `body` runs, which receives the bound port; then stops the server gracefully and waits
    /// until it has stopped, also when `body` throws.
    ///
    /// For a command that runs the service inside itself (`demo`), talking to it over loopback HTTP as any client
    /// would; `blindmatch serve` calls ``MatchingService/run(onListening:)`` and serves until a signal.
    func serving<Result>(_ body: (_ port: Int) async throws -> Result) async throws -> Result {
        let (ports, listening) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { server in
            server.addTask {
                defer { listening.finish() }
                try await self.run { port in listening.yield(port) }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await server.waitForAll()
                throw ServerError(.startup, "the matching service stopped before it listened")
            }
            let result: Result
            do {
                result = try await body(port)
            } catch {
                stop()
                try? await server.waitForAll()
                throw error
            }
            stop()
            try await server.waitForAll()
            return result
        }
    }
}
