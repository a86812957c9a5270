import Glibc
import Testing

@testable import BlindmatchProtocol

struct SecretTests {
    @Test func secretFileRoundTripsWithMode0600() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/project.secret"
        let secret = try LinkageSecret.generate()
        try secret.write(toFile: path)
        #expect(try FileIO.permissions(of: path) == 0o600)
        let loaded = try LinkageSecret(contentsOfFile: path)
        #expect(loaded.keyID == secret.keyID)
        #expect(loaded.rawBytes == secret.rawBytes)
    }

    @Test func readableSecretFilesAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/project.secret"
        try LinkageSecret.generate().write(toFile: path)
        chmod(path, 0o640)
        let error = try #require(throws: ProtocolError.self) { try LinkageSecret(contentsOfFile: path) }
        #expect(error.code == .insecureSecretFile)
        #expect(error.reason.contains("chmod 600"))
    }

    /// SPEC §1.2: a symbolic link is not followed (the file checked must be the file read).
    @Test func secretFilesBehindSymbolicLinksAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/project.secret"
        try LinkageSecret.generate().write(toFile: path)
        symlink(path, "\(directory.path)/link.secret")
        let error = try #require(throws: ProtocolError.self) {
            try LinkageSecret(contentsOfFile: "\(directory.path)/link.secret")
        }
        #expect(error.code == .insecureSecretFile)
        #expect(error.reason.contains("symbolic link"))
    }

    /// SPEC §1.2: a secret file owned by another user is refused, even for root, who could read it.
    @Test func secretFilesOfAnotherUserAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        chmod(directory.path, 0o755)
        let path = "\(directory.path)/project.secret"
        try LinkageSecret.generate().write(toFile: path)
        // Only root can give a file away; elsewhere there is no other user's file to try.
        guard geteuid() == 0 else { return }
        #expect(chown(path, 1, 1) == 0)
        let error = try #require(throws: ProtocolError.self) { try LinkageSecret(contentsOfFile: path) }
        #expect(error.code == .insecureSecretFile)
        #expect(error.reason.contains("belongs to user 1"))
    }

    @Test func descriptionsNeverShowKeyMaterial() throws {
        let secret = try LinkageSecret(importing: Array("correct horse battery staple".utf8))
        #expect(!secret.description.contains("horse"))
        #expect(secret.description.contains("redacted"))
        #expect(!String(describing: secret).contains(Base64.encode(secret.rawBytes)))
        let key = try SigningKey(seed: Array(repeating: 7, count: 32))
        #expect(key.description.contains("redacted"))
        #expect(!key.description.contains(Hex.encode(Array(repeating: UInt8(7), count: 32))))
    }

    @Test func shortImportedSecretsAreRefused() {
        #expect(throws: ProtocolError.self) { try LinkageSecret(importing: Array("short".utf8)) }
    }

    @Test func signingKeysRoundTripThroughPEM() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let key = try SigningKey.generate()
        let file = try AtomicFile(destination: "\(directory.path)/a.key", mode: 0o600)
        try file.write(try key.privateKeyPEM())
        try file.commit()
        let publicFile = try AtomicFile(destination: "\(directory.path)/a.pub")
        try publicFile.write(key.publicKey.pem())
        try publicFile.commit()
        let loaded = try SigningKey(contentsOfFile: "\(directory.path)/a.key")
        let publicKey = try PublicSigningKey(contentsOfFile: "\(directory.path)/a.pub")
        #expect(publicKey == key.publicKey)
        let signature = try loaded.signature(for: [1, 2, 3])
        #expect(publicKey.isValidSignature(signature, for: [1, 2, 3]))
        #expect(!publicKey.isValidSignature(signature, for: [1, 2, 4]))
    }

    /// A throwaway Ed25519 key, encrypted with `openssl pkcs8 -topk8 -v2 aes-256-cbc` (passphrase irrelevant).
    static let encryptedKey = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAguC9nLyHv/ewICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEELPrScY/7ly9Su9J7eIorS4EQHL2
        1fxlJz4AxV4j/wSJZvUBRhd/Tqb3LAbdVFTkzWaysAstmrywUbnVNHcwVBdAf1Ip
        k++jgxo2pM/qZzORG0Q=
        -----END ENCRYPTED PRIVATE KEY-----

        """

    /// An encrypted key is refused with a clear message; OpenSSL never prompts for a passphrase on the terminal.
    @Test func encryptedPrivateKeysAreRefused() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/encrypted.key"
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(Self.encryptedKey)
        try file.commit()
        let error = try #require(throws: ProtocolError.self) { try SigningKey(contentsOfFile: path) }
        #expect(error.code == .invalidSigningKey)
        #expect(error.reason.contains("\(path): encrypted private keys are not supported"))
    }

    /// RFC 8032 §7.1 test 1: the empty message.
    @Test func ed25519MatchesRFC8032() throws {
        let seed = try #require(Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let key = try SigningKey(seed: seed)
        #expect(
            Hex.encode(key.publicKey.rawBytes) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try key.signature(for: [])
        #expect(
            Hex.encode(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        )
    }

    /// RFC 4231 test case 2 and RFC 5869 test case 1.
    @Test func hmacAndHKDFMatchTheirRFCs() throws {
        let mac = HMACSHA256Key(key: Array("Jefe".utf8)).authenticationCode(
            for: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        let okm = try HKDF.deriveKey(
            inputKeyMaterial: Array(repeating: 0x0b, count: 22), salt: Hex.decode("000102030405060708090a0b0c"),
            info: Hex.decode("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(
            Hex.encode(okm)
                == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }
}
