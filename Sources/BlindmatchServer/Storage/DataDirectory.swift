import BlindmatchProtocol
import Foundation
import Synchronization

/// The data directory: created 0700 and refused when others can read it; the matcher's checkpoint key inside it.
enum DataDirectory {
    static func prepare(_ directory: String) throws {
        if !FileIO.exists(directory) {
            guard mkdir(directory, 0o700) == 0 else { throw ServerError(.startup, "cannot create \(directory)") }
        }
        let mode = try FileIO.permissions(of: directory)
        guard mode & 0o077 == 0 else {
            throw ServerError(
                .startup,
                "\(directory): others can read the data directory (mode \(String(mode, radix: 8))); chmod 700 it")
        }
    }

    /// Takes the data directory's lock (`DIR/lock`, an exclusive `flock`) for as long as the returned value lives, so
    /// that a second `serve` on the same directory refuses to start instead of sweeping away the first one's uploads
    /// in flight. The lock goes with the process, however it ends.
    static func lock(_ directory: String) throws -> DataDirectoryLock {
        let path = directory + "/lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ServerError(.startup, "cannot open \(path)") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw ServerError(
                .startup,
                "\(directory) is in use by another blindmatch serve (its lock file is held); stop that one first")
        }
        return DataDirectoryLock(descriptor: descriptor)
    }

    /// The matcher's checkpoint-signing key from a file of its own (`serve --checkpoint-key`): a PEM Ed25519 private
    /// key of mode 0600, refused when others can read it, never made here.
    static func checkpointKey(file path: String) throws -> SigningKey {
        do {
            return try SigningKey(contentsOfFile: path)
        } catch let error as ProtocolError {
            throw ServerError(.startup, "--checkpoint-key: \(error.reason)")
        }
    }

    /// The matcher's checkpoint-signing key (SPEC §10.4): `matcher.key` (0600) and `matcher.pub` in the data
    /// directory, made on first start.
    static func checkpointKey(in directory: String) throws -> SigningKey {
        let path = directory + "/matcher.key"
        if FileIO.exists(path) { return try SigningKey(contentsOfFile: path) }
        let key = try SigningKey.generate()
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(try key.privateKeyPEM())
        try file.commit()
        let pub = try AtomicFile(destination: directory + "/matcher.pub", mode: 0o644)
        try pub.write(key.publicKey.pem())
        try pub.commit()
        return key
    }
}

/// The held lock of a data directory; released by ``release()`` when the service stops, or when the last reference
/// goes (or the process ends).
final class DataDirectoryLock: Sendable {
    private let descriptor: Mutex<Int32>

    init(descriptor: Int32) { self.descriptor = Mutex(descriptor) }

    func release() {
        descriptor.withLock { descriptor in
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }
    }

    deinit { release() }
}
