/// An HMAC key with its inner and outer hash states precomputed (RFC 2104).
///
/// Keying costs two compression-function calls; each message then costs only its own blocks plus one, which is
/// what makes per-token HMAC affordable on the tokeniser's hot path. The value is copied per message, so one key
/// may be used from many threads at once. HMAC authenticates; it does not hide a low-entropy input from whoever
/// holds the key (SPEC §1, dictionary attacks).
struct HMACKey<State: CopyableDigestState>: @unchecked Sendable {
    private let inner: State
    private let outer: State

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
typealias HMACSHA1Key = HMACKey<SHA1State>
typealias HMACMD5Key = HMACKey<MD5State>
