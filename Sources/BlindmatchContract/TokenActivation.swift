/// What a party signs to activate a party token (`POST /me/activate`; Protocol/service.md, "Party tokens are bound
/// to the party's key"): six lines, each ended by LF, in UTF-8 —
///
///     blindmatch-token-activation-v1
///     <token id>
///     <project id>
///     <party name>
///     <fingerprint of the party's registered key>
///     <the token's challenge>
///
/// signed with Ed25519 by the party's registered key. The token id and challenge bind the signature to this token,
/// so a signature made for one token activates no other.
public enum TokenActivation {
    public static let context = "blindmatch-token-activation-v1"

    public static func message(token: String, project: String, party: String, key: String, challenge: String)
        -> [UInt8]
    {
        Array([context, token, project, party, key, challenge].map { $0 + "\n" }.joined().utf8)
    }
}
