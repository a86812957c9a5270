import Logging

/// How `blindmatch serve` (or an embedded service, as in `demo`) is configured.
public struct ServiceConfiguration: Sendable {
    /// The data directory (created 0700): the store, the token files and the matcher's checkpoint key.
    public var dataDirectory: String
    public var host = "127.0.0.1"
    /// The port to listen on; 0 for any free port (reported through `onListening`).
    public var port = 8080
    /// The largest token file accepted (`serve --max-upload-bytes`).
    public var maxUploadBytes = 8 << 30
    /// Threads the engine uses for a run.
    public var threads = 1
    /// The least severe log message written (`.warning` keeps an embedded service quiet, as in `demo`).
    public var logLevel = Logger.Level.info

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }
}
