/// SPEC §6.5: the last 144 bytes of a token file.
///
/// ```
/// offset  size  content
/// 0       8     "BMTRAILR"
/// 8       4     flags, u32 little-endian: bit 0 set = signed; other bits zero
/// 12      4     reserved, zero
/// 16      32    SHA-256 of every byte of the file before the trailer
/// 48      32    the signer's Ed25519 public key (zero when unsigned)
/// 80      64    Ed25519 signature of ("blindmatch token file v<version>" ‖ 0x00 ‖ digest) (zero when unsigned)
/// ```
public struct TokenFileTrailer: Sendable, Equatable {
    public let digest: [UInt8]
    public let publicKey: PublicSigningKey?
    public let signature: [UInt8]?
    /// The file's format version, which names the signed message's context (SPEC §6.5).
    public let formatVersion: UInt32

    static func make(digest: [UInt8], signingKey: SigningKey?, version: UInt32) throws -> [UInt8] {
        var bytes = TokenFileLayout.trailerMagic
        bytes.append(contentsOf: TokenFileWriter.littleEndian(signingKey == nil ? 0 : 1))
        bytes.append(contentsOf: [0, 0, 0, 0])
        bytes.append(contentsOf: digest)
        if let signingKey {
            bytes.append(contentsOf: signingKey.publicKey.rawBytes)
            bytes.append(
                contentsOf: try signingKey.signature(for: TokenFileLayout.signatureContext(version: version) + digest))
        } else {
            bytes.append(contentsOf: [UInt8](repeating: 0, count: 96))
        }
        return bytes
    }

    init(bytes: UnsafeRawBufferPointer, source: String, version: UInt32) throws {
        formatVersion = version
        guard bytes.count == TokenFileLayout.trailerSize, Array(bytes[0..<8]) == TokenFileLayout.trailerMagic else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.5: the trailer is missing or damaged (truncated file?)")
        }
        let flags = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
        let reserved = bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
        guard flags & ~1 == 0, reserved == 0 else {
            throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.5: unknown trailer flags")
        }
        digest = Array(bytes[16..<48])
        let key = Array(bytes[48..<80])
        let signature = Array(bytes[80..<144])
        if flags & 1 == 1 {
            publicKey = PublicSigningKey(rawBytes: key)
            self.signature = signature
        } else {
            guard key.allSatisfy({ $0 == 0 }), signature.allSatisfy({ $0 == 0 }) else {
                throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.5: an unsigned trailer must hold zeros")
            }
            publicKey = nil
            self.signature = nil
        }
    }

    /// Whether the trailer's signature is valid for its digest under its own public key.
    public var isSignatureValid: Bool {
        guard let publicKey, let signature else { return false }
        return publicKey.isValidSignature(
            signature, for: TokenFileLayout.signatureContext(version: formatVersion) + digest)
    }
}
