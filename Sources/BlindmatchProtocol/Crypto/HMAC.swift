/// An HMAC key with its inner and outer hash states precomputed (RFC 2104).
///
/// Keying costs two compression-function calls; each message then costs only its own blocks plus one, which is
/// what makes per-token HMAC affordable on the tokeniser's hot path. The value is copied per message, so one key
/// may be used from many threads at once. HMAC authenticates; it does not hide a low-entropy input from whoever
/// holds the key (SPEC §1, dictionary attacks).
struct HMACKey<State: CopyableDigestState>: @unchecked Sendable {
    fileprivate let inner: State
    fileprivate let outer: State

    init(key: some Collection<UInt8>) {
        var block = [UInt8](repeating: 0, count: State.blockSize)
        if key.count > State.blockSize {
            var state = State()
            let bytes = Array(key)
            bytes.withUnsafeBytes { state.update($0) }
            block.withUnsafeMutableBytes { state.finish(into: $0.baseAddress) }
        } else {
            for (index, byte) in key.enumerated() { block[index] = byte }
        }
        var inner = State()
        var outer = State()
        let innerPad = block.map { $0 ^ 0x36 }
        let outerPad = block.map { $0 ^ 0x5c }
        innerPad.withUnsafeBytes { inner.update($0) }
        outerPad.withUnsafeBytes { outer.update($0) }
        self.inner = inner
        self.outer = outer
    }

    /// Writes the MAC of `message` (`State.digestSize` bytes) to `output`.
    @inline(__always)
    func authenticate(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= State.digestSize, "the MAC output buffer is too small")
        var state = inner
        state.update(message)
        state.finish(into: output.baseAddress)
        var outerState = outer
        outerState.update(UnsafeRawBufferPointer(rebasing: output[0..<State.digestSize]))
        outerState.finish(into: output.baseAddress)
    }

    /// The MAC of `message` as a new array.
    func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: State.digestSize)
        let bytes = Array(message)
        bytes.withUnsafeBytes { messageBytes in
            output.withUnsafeMutableBytes { authenticate(messageBytes, into: $0) }
        }
        return output
    }
}

typealias HMACSHA256Key = HMACKey<SHA256State>

extension HMACKey where State == SHA256State {
    /// HMAC-SHA256 of a message of at most 55 bytes in exactly two compressions, writing the 32-byte MAC to
    /// `output` (the tokeniser's hot path: match-key messages are short). Longer messages take the general path.
    @inline(__always)
    func authenticateShort(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        guard message.count <= 55 else {
            authenticate(message, into: output)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { block in
            guard let base = block.baseAddress else { return }
            for (index, byte) in message.enumerated() { base[index] = byte }
            authenticate(messageInBlock: base, length: message.count, into: output)
        }
    }

    /// HMAC-SHA256 of the `length` (≤ 55) message bytes at the start of the 64-byte `block`, which this overwrites
    /// with padding and then with the outer block. For callers that assemble the message in place.
    @inline(__always)
    func authenticate(
        messageInBlock block: UnsafeMutablePointer<UInt8>, length: Int, into output: UnsafeMutableRawBufferPointer
    ) {
        precondition(length <= 55 && output.count >= 32, "a short HMAC block holds at most 55 message bytes")
        block[length] = 0x80
        for index in (length + 1)..<56 { block[index] = 0 }
        // The inner hash has already absorbed one 64-byte block (the padded key).
        let bits = UInt64(64 + length) * 8
        for index in 0..<8 { block[63 - index] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(index))) }
        var state = inner
        state.compressFinalBlock(block, into: output)
        for index in 0..<32 { block[index] = output[index] }
        block[32] = 0x80
        for index in 33..<62 { block[index] = 0 }
        block[62] = 0x03  // (64 + 32) × 8 = 768 bits = 0x0300
        block[63] = 0x00
        var outerState = outer
        outerState.compressFinalBlock(block, into: output)
    }
}
typealias HMACSHA1Key = HMACKey<SHA1State>
typealias HMACMD5Key = HMACKey<MD5State>
