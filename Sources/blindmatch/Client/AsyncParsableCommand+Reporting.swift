import ArgumentParser

extension AsyncParsableCommand {
    /// Runs `body`, turning any module's error into one clear line on standard error and exit code 1: the
    /// asynchronous twin of ``ParsableCommand/reportingErrors(_:)``, for the commands that talk to the service.
    func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as any ReportableError {
            Console.error("blindmatch: error: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
