import COpenSSL

/// HKDF (RFC 5869) through OpenSSL's EVP_KDF.
enum HKDF {
    enum Hash: String, Sendable {
        case sha256 = "SHA256"
        case sha512 = "SHA512"
    }

    /// Extract-then-expand: `length` bytes of output keying material.
    static func deriveKey(
        hash: Hash = .sha256,
        inputKeyMaterial: [UInt8],
        salt: [UInt8]?,
        info: [UInt8]?,
        length: Int
    ) throws -> [UInt8] {
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else {
            throw ProtocolError(.crypto, "OpenSSL has no HKDF")
        }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else { throw ProtocolError(.crypto, "EVP_KDF_CTX_new failed") }
        defer { EVP_KDF_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: length)
        var ikm = inputKeyMaterial
        var saltBytes = salt ?? []
        var infoBytes = info ?? []
        var digestName = Array(hash.rawValue.utf8CString)
        let status = digestName.withUnsafeMutableBufferPointer { digest in
            ikm.withUnsafeMutableBytes { ikmPointer in
                saltBytes.withUnsafeMutableBytes { saltPointer in
                    infoBytes.withUnsafeMutableBytes { infoPointer in
                        var params: [OSSL_PARAM] = [
                            OSSL_PARAM_construct_utf8_string(OSSLParameterName.digest, digest.baseAddress, 0),
                            OSSL_PARAM_construct_octet_string(
                                OSSLParameterName.key, ikmPointer.baseAddress, ikmPointer.count),
                        ]
                        if salt != nil {
                            params.append(
                                OSSL_PARAM_construct_octet_string(
                                    OSSLParameterName.salt, saltPointer.baseAddress, saltPointer.count))
                        }
                        if info != nil {
                            params.append(
                                OSSL_PARAM_construct_octet_string(
                                    OSSLParameterName.info, infoPointer.baseAddress, infoPointer.count))
                        }
                        params.append(OSSL_PARAM_construct_end())
                        return output.withUnsafeMutableBufferPointer {
                            EVP_KDF_derive(context, $0.baseAddress, length, &params)
                        }
                    }
                }
            }
        }
        guard status == 1 else { throw ProtocolError(.crypto, "HKDF derivation failed") }
        return output
    }
}
