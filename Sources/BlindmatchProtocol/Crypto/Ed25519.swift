import COpenSSL

/// Ed25519 (RFC 8032) signing and verification through OpenSSL's EVP_PKEY.
enum Ed25519 {
    static let publicKeySize = 32
    static let privateKeySize = 32
    static let signatureSize = 64

    /// A new random key pair: (32-byte private seed, 32-byte public key).
    static func generateKeyPair() throws -> (privateKey: [UInt8], publicKey: [UInt8]) {
        let seed = try SecureRandom.bytes(privateKeySize)
        return (seed, try publicKey(forPrivateKey: seed))
    }

    static func publicKey(forPrivateKey seed: [UInt8]) throws -> [UInt8] {
        let key = try makePrivateKey(seed)
        defer { EVP_PKEY_free(key) }
        var output = [UInt8](repeating: 0, count: publicKeySize)
        var length = publicKeySize
        guard EVP_PKEY_get_raw_public_key(key, &output, &length) == 1, length == publicKeySize else {
            throw ProtocolError(.crypto, "could not derive the Ed25519 public key")
        }
        return output
    }

    static func sign(_ message: [UInt8], privateKey seed: [UInt8]) throws -> [UInt8] {
        let key = try makePrivateKey(seed)
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { throw ProtocolError(.crypto, "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: signatureSize)
        var length = signatureSize
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
            EVP_DigestSign(context, &signature, &length, message, message.count) == 1,
            length == signatureSize
        else { throw ProtocolError(.crypto, "Ed25519 signing failed") }
        return signature
    }

    static func isValidSignature(_ signature: [UInt8], for message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureSize, publicKey.count == publicKeySize,
            let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, publicKey.count)
        else { return false }
        defer { EVP_PKEY_free(key) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }

    private static func makePrivateKey(_ seed: [UInt8]) throws -> OpaquePointer {
        guard seed.count == privateKeySize,
            let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count)
        else { throw ProtocolError(.crypto, "an Ed25519 private key is 32 bytes") }
        return key
    }
}
