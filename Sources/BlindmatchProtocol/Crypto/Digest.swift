import COpenSSL

/// A Merkle–Damgård hash whose running state is a plain C struct, so a keyed state can be copied per message.
///
/// Only for building ``HMACKey``: the low-level structs are the fastest way to reuse HMAC's precomputed inner and
/// outer states (see SPEC §4). Use ``SHA256Hasher`` for ordinary hashing.
protocol CopyableDigestState {
    static var blockSize: Int { get }
    static var digestSize: Int { get }
    init()
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    /// Writes `digestSize` bytes to `output`; the state must not be used afterwards.
    mutating func finish(into output: UnsafeMutableRawPointer?)
}

struct SHA256State: CopyableDigestState {
    static let blockSize = 64
    static let digestSize = 32
    private var context = SHA256_CTX()

    init() { SHA256_Init(&context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        SHA256_Update(&context, bytes.baseAddress, bytes.count)
    }

    mutating func finish(into output: UnsafeMutableRawPointer?) {
        SHA256_Final(output?.assumingMemoryBound(to: UInt8.self), &context)
    }

    /// Hashes one final block directly: `block` must already hold the message tail, the 0x80 byte, zeros and the
    /// 64-bit big-endian bit length (FIPS 180-4 §5.1.1), and the state must be at a block boundary. Writes the
    /// 32-byte digest to `output`. The fast path of short HMACs: no buffering, one compression.
    mutating func compressFinalBlock(_ block: UnsafePointer<UInt8>, into output: UnsafeMutableRawBufferPointer) {
        SHA256_Transform(&context, block)
        withUnsafeBytes(of: context.h) { words in
            for index in 0..<8 {
                let word = words.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                output.storeBytes(of: word.bigEndian, toByteOffset: index * 4, as: UInt32.self)
            }
        }
    }
}

struct SHA1State: CopyableDigestState {
    static let blockSize = 64
    static let digestSize = 20
    private var context = SHA_CTX()

    init() { SHA1_Init(&context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        SHA1_Update(&context, bytes.baseAddress, bytes.count)
    }

    mutating func finish(into output: UnsafeMutableRawPointer?) {
        SHA1_Final(output?.assumingMemoryBound(to: UInt8.self), &context)
    }
}

struct MD5State: CopyableDigestState {
    static let blockSize = 64
    static let digestSize = 16
    private var context = MD5_CTX()

    init() { MD5_Init(&context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        MD5_Update(&context, bytes.baseAddress, bytes.count)
    }

    mutating func finish(into output: UnsafeMutableRawPointer?) {
        MD5_Final(output?.assumingMemoryBound(to: UInt8.self), &context)
    }
}

/// Incremental SHA-256, for file digests and schema fingerprints.
public struct SHA256Hasher: Sendable {
    private var state = SHA256State()

    /// Starts an empty hash.
    public init() {}

    /// Feeds bytes to the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        state.update(bytes)
    }

    /// Feeds bytes to the hash.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { state.update($0) }
    }

    /// The 32-byte digest of everything fed so far.
    public mutating func finalize() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        output.withUnsafeMutableBytes { state.finish(into: $0.baseAddress) }
        return output
    }

    /// SHA-256 of `bytes` in one call.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
