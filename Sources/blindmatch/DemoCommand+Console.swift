import BlindmatchServer
import UnixSignals

extension DemoCommand {
    /// `demo --console`: the service keeps running; the operator signs in to the web console once with a one-time
    /// ticket (it stands for the demo's operator token, which is never printed, and a second sign-in with it is
    /// refused); the other actors' token files in the demo's folder sign in as themselves. Ctrl-C stops.
    func keepServingTheConsole(server: String, operatorToken: String, service: BuiltService) async throws {
        guard let ticket = try await service.makeConsoleTicket(operatorToken, .seconds(3600)) else {
            throw ServerError(.startup, "the demo's operator token is no longer valid")
        }
        step(
            "14a. The web console is open at \(server)/console until Ctrl-C. Sign in as the operator with this one-time ticket (one sign-in, within the hour; nothing else accepts it):"
        )
        step("    \(ticket)")
        step(
            "    The auditor and the agencies sign in with the tokens in auditor.token, agency-a.token and council-b.token\(directory == nil ? " (in the demo's temporary folder, removed at the end)" : " in \(directory ?? ".")")."
        )
        for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) { break }
    }
}
