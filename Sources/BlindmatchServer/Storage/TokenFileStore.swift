import BlindmatchProtocol
import Foundation

/// The content-addressed store of accepted token files: `DIR/tokens/ab/abcdef….bmt`, named by the SHA-256 of the
/// whole file, beside a `DIR/tmp/` where uploads stream until they are checked.
///
/// A file appears under its final name only after it was written completely, fsynced and accepted; anything left in
/// `tmp/` by a crash is deleted at the next start (``removeTemporaryFiles()``).
struct TokenFileStore: Sendable {
    let root: String
    let temporaryDirectory: String

    init(dataDirectory: String) throws {
        root = dataDirectory + "/tokens"
        temporaryDirectory = dataDirectory + "/tmp"
        for directory in [root, temporaryDirectory] where !FileIO.exists(directory) {
            guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
                throw ServerError(.storage, "cannot create \(directory)")
            }
        }
    }

    /// 507 `insufficientStorage` unless writing `bytes` more would leave at least `reserve` bytes free on the data
    /// directory's file system.
    func requireFreeSpace(forAnother bytes: Int64, keeping reserve: Int64) throws {
        var info = statvfs()
        guard statvfs(temporaryDirectory, &info) == 0 else { return }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        if free - bytes < reserve {
            throw APIError(
                .insufficientStorage, .insufficientStorage,
                "the matcher is short of disk space for uploads; try again once the operator has made room")
        }
    }

    func path(for sha256: String) -> String {
        "\(root)/\(sha256.prefix(2))/\(sha256).bmt"
    }

    /// Removes what interrupted uploads left behind.
    func removeTemporaryFiles(unchangedFor age: Duration? = nil) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory) else { return }
        for name in names where Self.isOlder("\(temporaryDirectory)/\(name)", than: age) {
            unlink("\(temporaryDirectory)/\(name)")
        }
    }

    /// Whether the file was last changed longer than `age` ago (always, when `age` is nil). Servers that share the
    /// directory (`serve --database`) leave alone what another may be writing, or has placed but not yet recorded.
    static func isOlder(_ path: String, than age: Duration?) -> Bool {
        guard let age else { return true }
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        return Int64(time(nil)) - Int64(info.st_mtim.tv_sec) > age.components.seconds
    }

    /// Moves a checked temporary file into the store under its digest (or drops it when the same content is already
    /// there), and syncs the directory so that the name survives a crash.
    /// - Returns: whether the file was placed now (false when the same content was already stored).
    @discardableResult
    func adopt(temporaryPath: String, sha256: String) throws -> Bool {
        let destination = path(for: sha256)
        let directory = "\(root)/\(sha256.prefix(2))"
        if !FileIO.exists(directory) { mkdir(directory, 0o700) }
        if FileIO.exists(destination) {
            unlink(temporaryPath)
            return false
        }
        guard rename(temporaryPath, destination) == 0 else {
            unlink(temporaryPath)
            throw ServerError(.storage, "cannot move an accepted upload into the token store")
        }
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
        return true
    }

    func remove(sha256: String) {
        unlink(path(for: sha256))
    }

    /// Deletes stored token files that are not in `referenced` (what a crash between storing a file and recording
    /// it, or between closing a project and deleting its files, left behind); returns their digests.
    func removeFiles(notIn referenced: Set<String>, unchangedFor age: Duration? = nil) -> [String] {
        var removed: [String] = []
        let manager = FileManager.default
        for directory in (try? manager.contentsOfDirectory(atPath: root)) ?? [] {
            let path = root + "/" + directory
            for name in (try? manager.contentsOfDirectory(atPath: path)) ?? [] where name.hasSuffix(".bmt") {
                let sha = String(name.dropLast(4))
                if !referenced.contains(sha) && Self.isOlder(path + "/" + name, than: age) {
                    unlink(path + "/" + name)
                    removed.append(sha)
                }
            }
        }
        return removed
    }
}

/// An upload being streamed to a temporary file, hashed as it goes.
final class UploadSink {
    let path: String
    private var descriptor: Int32
    private var hasher = SHA256Hasher()
    private(set) var bytes = 0

    init(store: TokenFileStore) throws {
        let suffix = Hex.encode(try SecureRandom.bytes(8))
        path = "\(store.temporaryDirectory)/upload-\(suffix).partial"
        descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ServerError(.storage, "cannot create a temporary upload file") }
    }

    deinit { discard() }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        hasher.update(chunk)
        bytes += chunk.count
        var done = 0
        while done < chunk.count {
            let count = Foundation.write(descriptor, chunk.baseAddress.map { $0 + done }, chunk.count - done)
            if count < 0 {
                if errno == EINTR { continue }
                throw ServerError(.storage, "cannot write a temporary upload file")
            }
            done += count
        }
    }

    /// Syncs and closes the file; returns the SHA-256 of everything written.
    func finish() throws -> String {
        guard fsync(descriptor) == 0 else { throw ServerError(.storage, "cannot sync a temporary upload file") }
        close(descriptor)
        descriptor = -1
        return Hex.encode(hasher.finalize())
    }

    /// Deletes the temporary file (after a refusal, an interruption, or once the store adopted it).
    func discard() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        unlink(path)
    }
}
