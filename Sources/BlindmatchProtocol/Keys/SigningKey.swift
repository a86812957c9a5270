import COpenSSL

/// A party's Ed25519 signing key (SPEC §6.5). The private part stays with the agency; the public part is
/// registered with the matcher and given to auditors.
///
/// Files are PEM (PKCS #8 for the private key, SubjectPublicKeyInfo for the public key), so `openssl pkey` can read
/// them too. The private key file must be mode 0600.
public struct SigningKey: Sendable, CustomStringConvertible {
    private let seed: [UInt8]
    /// The matching public key.
    public let publicKey: PublicSigningKey

    /// A fresh key pair.
    public static func generate() throws -> SigningKey {
        let pair = try Ed25519.generateKeyPair()
        return SigningKey(seed: pair.privateKey, publicKey: PublicSigningKey(rawBytes: pair.publicKey))
    }

    private init(seed: [UInt8], publicKey: PublicSigningKey) {
        self.seed = seed
        self.publicKey = publicKey
    }

    /// A key from its 32-byte seed (test keys and vectors).
    public init(seed: [UInt8]) throws {
        self.seed = seed
        self.publicKey = PublicSigningKey(rawBytes: try Ed25519.publicKey(forPrivateKey: seed))
    }

    /// Reads an unencrypted PEM private key file, refusing one that others can read (SPEC §1.2, §6.5).
    ///
    /// An encrypted key is refused with an error, never by asking for a passphrase on the terminal.
    public init(contentsOfFile path: String) throws {
        let pem = try FileIO.readSecretFile(path)
        switch PEM.readPrivateKey(pem) {
        case .key(let seed):
            try self.init(seed: seed)
        case .encrypted:
            throw ProtocolError(
                .invalidSigningKey,
                "\(path): encrypted private keys are not supported (SPEC §6.5): keep the key unencrypted with mode 0600"
            )
        case .unreadable:
            throw ProtocolError(.invalidSigningKey, "\(path): not a PEM Ed25519 private key")
        }
    }

    /// Signs `message`.
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        try Ed25519.sign(message, privateKey: seed)
    }

    /// The PEM text of the private key.
    public func privateKeyPEM() throws -> String {
        guard let text = PEM.writePrivateKey(seed) else { throw ProtocolError(.crypto, "cannot encode the key") }
        return text
    }

    public var description: String { "SigningKey(public: \(publicKey.fingerprint), redacted)" }
}

/// An Ed25519 public key.
public struct PublicSigningKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 raw bytes.
    public let rawBytes: [UInt8]

    public init(rawBytes: [UInt8]) { self.rawBytes = rawBytes }

    /// Reads a PEM public key file.
    public init(contentsOfFile path: String) throws {
        guard let raw = PEM.readPublicKey(try FileIO.readAll(path)) else {
            throw ProtocolError(.invalidSigningKey, "\(path): not a PEM Ed25519 public key")
        }
        self.rawBytes = raw
    }

    /// Reads PEM text (`-----BEGIN PUBLIC KEY-----`); nil unless it is an Ed25519 public key.
    public init?(pem text: String) {
        guard let raw = PEM.readPublicKey(Array(text.utf8)) else { return nil }
        self.rawBytes = raw
    }

    /// SHA-256 of the raw key, in hex: how headers, logs and the matcher name a key.
    public var fingerprint: String { Hex.encode(SHA256Hasher.hash(rawBytes)) }

    /// Whether `signature` is this key's signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Ed25519.isValidSignature(signature, for: message, publicKey: rawBytes)
    }

    /// The PEM text.
    public func pem() -> String { PEM.writePublicKey(rawBytes) ?? "" }

    public var description: String { "PublicSigningKey(\(fingerprint))" }
}

enum PEM {
    static func writePrivateKey(_ seed: [UInt8]) -> String? {
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else { return nil }
        defer { EVP_PKEY_free(key) }
        return withMemoryBIO { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) == 1 }
    }

    static func writePublicKey(_ raw: [UInt8]) -> String? {
        guard let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else { return nil }
        defer { EVP_PKEY_free(key) }
        return withMemoryBIO { PEM_write_bio_PUBKEY($0, key) == 1 }
    }

    /// What reading a private key gave.
    enum PrivateKeyRead: Equatable {
        /// The 32-byte Ed25519 seed.
        case key([UInt8])
        /// The key is encrypted: OpenSSL asked for a passphrase, and was refused.
        case encrypted
        /// Not a PEM Ed25519 private key.
        case unreadable
    }

    static func readPrivateKey(_ pem: [UInt8]) -> PrivateKeyRead {
        var askedForPassphrase = false
        let seed = withUnsafeMutablePointer(to: &askedForPassphrase) { flag in
            readKey(pem) { bio in
                // A passphrase callback that refuses, and notes that it was asked: with none, OpenSSL would prompt
                // on the terminal.
                PEM_read_bio_PrivateKey(
                    bio, nil,
                    { _, _, _, userdata in
                        userdata?.assumingMemoryBound(to: Bool.self).pointee = true
                        return -1
                    }, flag)
            } extract: { key in
                var output = [UInt8](repeating: 0, count: 32)
                var length = 32
                return EVP_PKEY_get_raw_private_key(key, &output, &length) == 1 && length == 32 ? output : nil
            }
        }
        if let seed { return .key(seed) }
        return askedForPassphrase ? .encrypted : .unreadable
    }

    static func readPublicKey(_ pem: [UInt8]) -> [UInt8]? {
        readKey(pem) {
            PEM_read_bio_PUBKEY($0, nil, nil, nil)
        } extract: { key in
            var output = [UInt8](repeating: 0, count: 32)
            var length = 32
            return EVP_PKEY_get_raw_public_key(key, &output, &length) == 1 && length == 32 ? output : nil
        }
    }

    private static func readKey(
        _ pem: [UInt8], read: (OpaquePointer) -> OpaquePointer?, extract: (OpaquePointer) -> [UInt8]?
    ) -> [UInt8]? {
        pem.withUnsafeBytes { pointer -> [UInt8]? in
            guard let bio = BIO_new_mem_buf(pointer.baseAddress, Int32(pointer.count)) else { return nil }
            defer { BIO_free(bio) }
            guard let key = read(bio) else {
                ERR_clear_error()
                return nil
            }
            defer { EVP_PKEY_free(key) }
            guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else { return nil }
            return extract(key)
        }
    }

    private static func withMemoryBIO(_ write: (OpaquePointer) -> Bool) -> String? {
        guard let method = BIO_s_mem(), let bio = BIO_new(method) else { return nil }
        defer { BIO_free(bio) }
        guard write(bio) else { return nil }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard let pointer, length > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
