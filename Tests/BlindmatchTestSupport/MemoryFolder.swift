import Foundation

/// A temporary folder in memory (`/dev/shm`) where the machine has one, else in the temporary directory: for tests
/// that write thousands of small files (the parser fuzz tests), which a busy disk would slow to seconds.
public final class MemoryFolder {
    public let path: String

    public init() throws {
        let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = base + "/blindmatch-fuzz-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
