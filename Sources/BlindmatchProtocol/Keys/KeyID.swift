/// The public identifier of a linkage secret (SPEC §1.3): 16 bytes of HKDF output under a fixed label, in hex.
///
/// The matcher compares key ids to check that every upload of a project used the same secret; the id reveals
/// nothing of the secret itself.
public struct KeyID: Sendable, Hashable, Codable, CustomStringConvertible {
    /// 32 lower-case hex digits.
    public let hex: String

    public init(hex: String) { self.hex = hex }

    public var description: String { hex }
}

/// Per-purpose keys from the linkage secret (SPEC §4.1): HKDF-SHA256 with the salt `blindmatch/v1` and one
/// distinct `info` label per purpose, so that no two uses of the secret share a key.
public enum KeyDerivation {
    static let salt = Array("blindmatch/v1".utf8)
    static let keyIDLabel = "blindmatch/v1/key-id"

    /// The label for a match key's HMAC key.
    static func matchKeyLabel(_ name: String) -> String { "blindmatch/v1/match-key/\(name)" }
    /// The label for a blocking key's HMAC key.
    static func blockingKeyLabel(_ name: String) -> String { "blindmatch/v1/blocking-key/\(name)" }
    /// Where a filter's labels start (SPEC §4.1): `blindmatch/v1/` for the first filter (`bloom`), and
    /// `blindmatch/v1/filter/N/` for the extra filter named `N` (SPEC §5.6), so no two filters share a key.
    static func bloomPrefix(filter: String?) -> String {
        filter.map { "blindmatch/v1/filter/\($0)/" } ?? "blindmatch/v1/"
    }
    /// The label for the hashing key shared by a group of Bloom-filter fields.
    static func bloomGroupLabel(_ name: String, filter: String? = nil) -> String {
        "\(bloomPrefix(filter: filter))bloom-group/\(name)"
    }
    /// The label for a Bloom-filter field's hashing key.
    static func bloomFieldLabel(_ name: String, filter: String? = nil) -> String {
        "\(bloomPrefix(filter: filter))bloom-field/\(name)"
    }
    static func balanceLabel(filter: String? = nil) -> String { "\(bloomPrefix(filter: filter))bloom-balance" }
    static func diffusionLabel(filter: String? = nil) -> String { "\(bloomPrefix(filter: filter))bloom-diffusion" }
    static func randomisedResponseLabel(filter: String? = nil) -> String {
        "\(bloomPrefix(filter: filter))bloom-randomised-response"
    }

    /// HKDF-SHA256(IKM = secret, salt = "blindmatch/v1", info = label, L = length).
    static func derive(from secret: LinkageSecret, label: String, length: Int = 32) throws -> [UInt8] {
        try HKDF.deriveKey(inputKeyMaterial: secret.rawBytes, salt: salt, info: Array(label.utf8), length: length)
    }
}
