import BlindmatchProtocol

/// The published test keys of `Keys/test/`: their private halves are in the repository, so they prove nothing about
/// who signed. Refused as party keys and as the matcher's checkpoint key unless `serve --allow-test-keys` (trials).
enum TestKeys {
    /// The raw Ed25519 public keys of `Keys/test/test-agency-a.pub` and `test-agency-b.pub`.
    static let publicKeys: Set<String> = [
        "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d",
        "174553b456dddfc6908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd5",
    ]

    static func isTestKey(_ key: PublicSigningKey) -> Bool {
        publicKeys.contains(Hex.encode(key.rawBytes))
    }

    /// 422 `invalidPublicKey` for a test key, unless they are allowed.
    static func refuse(_ key: PublicSigningKey, named name: String, allowed: Bool) throws {
        guard !allowed, isTestKey(key) else { return }
        throw APIError(
            .unprocessableContent, .invalidPublicKey,
            "\(name) is a published test key (Keys/test/), whose private half anyone can read; real parties need keys of their own (serve --allow-test-keys for trials)"
        )
    }
}
