import COpenSSL

/// Keyed BLAKE2b-512 with a salt, through OpenSSL's "BLAKE2BMAC" (RFC 7693 parameter block).
///
/// One instance holds one OpenSSL context and is re-initialised per message, so it is not thread-safe: give each
/// worker its own. Used only for clkhash's `blakeHash` (SPEC §5.3).
final class Blake2bMAC {
    private let context: OpaquePointer

    /// - Parameters:
    ///   - key: 1…64 bytes.
    ///   - salt: at most 16 bytes; BLAKE2b pads it with zeros.
    init(key: [UInt8], salt: [UInt8]) throws {
        guard let mac = EVP_MAC_fetch(nil, "BLAKE2BMAC", nil) else {
            throw ProtocolError(.crypto, "OpenSSL has no BLAKE2BMAC")
        }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw ProtocolError(.crypto, "EVP_MAC_CTX_new failed") }
        var keyBytes = key
        var saltBytes = salt
        var size = 64
        let status = keyBytes.withUnsafeMutableBytes { keyPointer in
            saltBytes.withUnsafeMutableBytes { saltPointer in
                withUnsafeMutablePointer(to: &size) { sizePointer in
                    var params = [
                        OSSL_PARAM_construct_octet_string(
                            OSSLParameterName.macSalt, saltPointer.baseAddress, saltPointer.count),
                        OSSL_PARAM_construct_size_t(OSSLParameterName.macSize, sizePointer),
                        OSSL_PARAM_construct_end(),
                    ]
                    guard EVP_MAC_CTX_set_params(context, &params) == 1 else { return Int32(0) }
                    return EVP_MAC_init(
                        context, keyPointer.baseAddress?.assumingMemoryBound(to: UInt8.self), keyPointer.count, nil)
                }
            }
        }
        guard status == 1 else {
            EVP_MAC_CTX_free(context)
            throw ProtocolError(.crypto, "BLAKE2b keying failed")
        }
        self.context = context
    }

    deinit { EVP_MAC_CTX_free(context) }

    /// Writes the 64-byte MAC of `message` to `output`.
    func authenticate(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<UInt8>) {
        precondition(output.count >= 64, "the BLAKE2b output buffer is too small")
        // Re-initialising with no key keeps the key and the salt (OpenSSL 3 blake2b_mac_init).
        EVP_MAC_init(context, nil, 0, nil)
        EVP_MAC_update(context, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count)
        var written = 0
        EVP_MAC_final(context, output.baseAddress, &written, 64)
    }
}
