import COpenSSL

/// Keyed BLAKE2b-512 with a per-message salt, through OpenSSL's "BLAKE2BMAC" (RFC 7693 parameter block).
///
/// One instance holds one keyed OpenSSL context; each message re-initialises it with that message's salt, so it is
/// not thread-safe: give each worker its own. Used only for clkhash's `blakeHash` (SPEC §5.3.2), which salts block
/// `b` of a token's positions with the decimal digits of `b`.
final class Blake2bMAC {
    private let context: OpaquePointer

    /// Keys a context; throws when OpenSSL refuses the key (BLAKE2b keys are 1…64 bytes).
    init(key: [UInt8]) throws {
        guard let mac = EVP_MAC_fetch(nil, "BLAKE2BMAC", nil) else {
            throw ProtocolError(.crypto, "OpenSSL has no BLAKE2BMAC")
        }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw ProtocolError(.crypto, "EVP_MAC_CTX_new failed") }
        var keyBytes = key
        var size = 64
        let status = keyBytes.withUnsafeMutableBytes { keyPointer in
            withUnsafeMutablePointer(to: &size) { sizePointer in
                var params = [
                    OSSL_PARAM_construct_size_t(OSSLParameterName.macSize, sizePointer),
                    OSSL_PARAM_construct_end(),
                ]
                guard EVP_MAC_CTX_set_params(context, &params) == 1 else { return Int32(0) }
                return EVP_MAC_init(
                    context, keyPointer.baseAddress?.assumingMemoryBound(to: UInt8.self), keyPointer.count, nil)
            }
        }
        guard status == 1, !key.isEmpty else {
            EVP_MAC_CTX_free(context)
            throw ProtocolError(.crypto, "BLAKE2b keying failed (a key of \(key.count) bytes; 1 to 64 are allowed)")
        }
        self.context = context
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Writes the 64-byte MAC of `message` under `salt` (1…16 bytes, padded with zeros by BLAKE2b) to `output`.
    func authenticate(
        _ message: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>
    ) {
        precondition(output.count >= 64, "the BLAKE2b output buffer is too small")
        precondition((1...16).contains(salt.count), "a BLAKE2b salt has 1 to 16 bytes")
        var params = [
            OSSL_PARAM_construct_octet_string(
                OSSLParameterName.macSalt, UnsafeMutableRawPointer(mutating: salt.baseAddress), salt.count),
            OSSL_PARAM_construct_end(),
        ]
        var written = 0
        // Re-initialising with no key keeps the key and applies the new salt (OpenSSL 3 blake2_mac_init). None of
        // these can fail once the context is keyed; if OpenSSL ever did, a wrong filter must not go unnoticed.
        let status =
            EVP_MAC_init(context, nil, 0, &params) == 1
            && EVP_MAC_update(context, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
            && EVP_MAC_final(context, output.baseAddress, &written, 64) == 1 && written == 64
        precondition(status, "OpenSSL BLAKE2b failed on a keyed context")
    }
}
