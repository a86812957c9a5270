import BlindmatchProtocol
import Foundation

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
