/// A project's linkage secret (SPEC §1): the key material every agency of one project shares and the matcher never
/// sees.
///
/// Its bytes are reachable only through ``withUnsafeBytes(_:)`` and never through `description`, so a secret
/// cannot end up in a log line by accident. Load it from a file with ``init(contentsOfFile:)``, which refuses files
/// that group or others can read; never take it from a command-line argument.
public struct LinkageSecret: Sendable, CustomStringConvertible {
    /// The size of a secret made by `blindmatch keygen`.
    public static let generatedLength = 32
    /// Imported secrets (e.g. an existing clkhash secret string) must be at least this long.
    public static let minimumLength = 8

    static let fileHeader = "# blindmatch linkage secret v1 (SPEC §1.2). Keep private: never send it to the matcher."

    private let bytes: [UInt8]

    /// A fresh random secret.
    public static func generate() throws -> LinkageSecret {
        LinkageSecret(validated: try SecureRandom.bytes(generatedLength))
    }

    /// A secret from existing bytes (for `keygen --import`).
    public init(importing bytes: [UInt8]) throws {
        guard bytes.count >= Self.minimumLength else {
            throw ProtocolError(.invalidSecret, "SPEC §1.1: a linkage secret has at least \(Self.minimumLength) bytes")
        }
        self.bytes = bytes
    }

    private init(validated bytes: [UInt8]) { self.bytes = bytes }

    /// Reads a secret file written by ``write(toFile:)``.
    public init(contentsOfFile path: String) throws {
        let contents = try FileIO.readSecretFile(path)
        let lines = String(decoding: contents, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters() }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let decoded = Base64.decode(lines[0]) else {
            throw ProtocolError(.invalidSecret, "\(path): not a Blindmatch secret file (SPEC §1.2: one base64 line)")
        }
        do {
            try self.init(importing: decoded)
        } catch let error as ProtocolError {
            throw ProtocolError(error.code, "\(path): \(error.reason)")
        }
    }

    /// The secret file's text (SPEC §1.2): a comment line, then the secret in base64.
    public var fileContents: String {
        "\(Self.fileHeader)\n\(Base64.encode(bytes))\n"
    }

    /// Writes the secret atomically with mode 0600.
    public func write(toFile path: String) throws {
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(fileContents)
        try file.commit()
    }

    /// The public key id (SPEC §1.3).
    public var keyID: KeyID {
        // HKDF over SHA-256 cannot fail for these sizes.
        let digest = (try? KeyDerivation.derive(from: self, label: KeyDerivation.keyIDLabel, length: 16)) ?? []
        return KeyID(hex: Hex.encode(digest))
    }

    /// Calls `body` with the secret's bytes; do not let them escape.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes(body)
    }

    var rawBytes: [UInt8] { bytes }

    public var description: String { "LinkageSecret(keyID: \(keyID.hex), redacted)" }
}

extension Substring {
    func trimmingCharacters() -> String {
        var text = self
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
