import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded by the operating system).
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard status == 1 else { throw ProtocolError(.crypto, "the random number generator failed") }
        return output
    }
}

/// A `RandomNumberGenerator` drawing from OpenSSL's DRBG in blocks, for shuffles that must be unpredictable.
public struct SecureRandomGenerator: RandomNumberGenerator {
    private var buffer = [UInt64](repeating: 0, count: 512)
    private var index = 512

    /// A generator with nothing buffered yet.
    public init() {}

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        if index == buffer.count {
            let status = buffer.withUnsafeMutableBytes {
                RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32($0.count))
            }
            precondition(status == 1, "OpenSSL's random number generator failed")
            index = 0
        }
        defer { index += 1 }
        return buffer[index]
    }
}
