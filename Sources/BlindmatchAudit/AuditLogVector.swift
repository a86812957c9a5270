import BlindmatchProtocol

/// The known-answer audit log `Protocol/vectors/audit-log.jsonl` (SPEC §9, §10.7): a short project's life, signed
/// by the test key `Keys/test/test-agency-a.key` (seed 0x40 … 0x5f) standing in for a matcher's key.
///
/// Times are fixed and Ed25519 is deterministic, so the bytes never change unless SPEC §10 does. For vectors and
/// tests only: a real matcher's key is its own, never a test key.
public enum AuditLogVector {
    /// The seed of the test key that signs the vector's checkpoints.
    public static let signingSeed: [UInt8] = Array(0x40...0x5F)

    /// The file name in `Protocol/vectors/`.
    public static let fileName = "audit-log.jsonl"

    /// The vector's public key (`Keys/test/test-agency-a.pub`).
    public static func publicKey() throws -> PublicSigningKey {
        try SigningKey(seed: signingSeed).publicKey
    }

    /// Builds the vector's log.
    public static func build() throws -> AuditChain {
        let key = try SigningKey(seed: signingSeed)
        var chain = AuditChain()
        func at(_ text: String) throws -> AuditTime {
            guard let time = AuditTime(text) else { throw AuditError(.invalidAuditEntry, "bad vector time") }
            return time
        }
        let project = "p-2026-001"
        let schema = "0294208dee4443951eedf2ac3cb949d7ffc691e099c0aa852204956847ad4c36"
        // An illustrative token-file digest: SHA-256 of a fixed text, not of a real file.
        let file = Hex.encode(SHA256Hasher.hash(Array("blindmatch audit vector: a token file".utf8)))
        try chain.append(
            actor: .operator, action: .projectCreated, project: project,
            details: ["name": "Watch list × council tax", "schema": .string(schema)], time: at("2026-01-05T09:00:00Z"))
        try chain.append(
            actor: .operator, action: .partyRegistered, project: project,
            details: [
                "party": "agency-a", "role": "watchList",
                "key": "03396219237f75a64f12aeb7f39723abf400b160c364980a765dac24aeba2464",
            ], time: at("2026-01-05T09:01:10Z"))
        try chain.append(
            actor: .operator, action: .tokenIssued, project: project,
            details: ["party": "agency-a", "role": "party", "tokenId": "t-0001"], time: at("2026-01-05T09:01:30Z"))
        try chain.append(
            actor: .party("agency-a"), action: .uploadRefused, project: project,
            details: [
                "reason": "SPEC §2.1 schema fingerprint: the file was made with another schema, not \"uk-watchlist\"",
                "records": 5,
            ], time: at("2026-01-06T14:20:05Z"))
        try chain.append(
            actor: .party("agency-a"), action: .uploadAccepted, project: project,
            details: [
                "file": .string(file), "records": 5,
                "signer": "03396219237f75a64f12aeb7f39723abf400b160c364980a765dac24aeba2464",
            ],
            time: at("2026-01-06T14:31:47Z"))
        try chain.appendCheckpoint(signingKey: key, time: at("2026-01-06T15:00:00Z"))
        // The bulk party joins, activates its token with its key, and approves the run the watch list requests.
        let bulkKey = Hex.encode(SHA256Hasher.hash(Array("blindmatch audit vector: council-b's key".utf8)))
        try chain.append(
            actor: .operator, action: .partyRegistered, project: project,
            details: ["party": "council-b", "role": "bulk", "key": .string(bulkKey)], time: at("2026-01-06T16:00:00Z"))
        try chain.append(
            actor: .operator, action: .tokenIssued, project: project,
            details: ["party": "council-b", "role": "party", "tokenId": "t-0002"], time: at("2026-01-06T16:00:30Z"))
        try chain.append(
            actor: .party("council-b"), action: .tokenActivated, project: project,
            details: ["tokenId": "t-0002", "key": .string(bulkKey), "byToken": "t-0002"],
            time: at("2026-01-06T16:05:00Z"))
        try chain.append(
            actor: .party("agency-a"), action: .runQueued, project: project,
            details: ["run": "r-1", "threshold": "0.85", "byToken": "t-0001"], time: at("2026-01-07T08:00:00Z"))
        try chain.append(
            actor: .party("council-b"), action: .runApproved, project: project,
            details: ["run": "r-1", "byToken": "t-0002"], time: at("2026-01-07T08:00:00Z"))
        try chain.append(
            actor: .system, action: .runStarted, project: project, details: ["run": "r-1"],
            time: at("2026-01-07T08:00:01Z"))
        try chain.append(
            actor: .system, action: .runSucceeded, project: project,
            details: ["run": "r-1", "pairs": 3, "possible": 1],
            time: at("2026-01-07T08:00:09Z"))
        try chain.append(
            actor: .party("agency-a"), action: .resultRead, project: project, details: ["run": "r-1", "rows": 3],
            time: at("2026-01-07T10:12:44Z"))
        try chain.append(
            actor: .party("agency-a"), action: .uploadWithdrawn, project: project,
            details: ["upload": "u-1", "file": .string(file), "byToken": "t-0001"], time: at("2026-01-07T11:00:00Z"))
        try chain.append(
            actor: .auditor("ico"), action: .accessRefused, project: project,
            details: [
                "reason": "an auditor does not read results", "request": "GET /projects/{id}/runs/{run}/results",
            ],
            time: at("2026-01-08T11:00:00Z"))
        try chain.append(
            actor: .unauthenticated, action: .accessRefused, project: nil,
            details: ["reason": "unauthenticated", "request": "GET /me", "count": 42], time: at("2026-01-08T11:10:00Z"))
        try chain.append(
            actor: .operator, action: .tokenRevoked, project: project, details: ["tokenId": "t-0001"],
            time: at("2026-01-09T16:45:00Z"))
        try chain.append(actor: .auditor("ico"), action: .auditExported, project: nil, time: at("2026-01-10T09:30:00Z"))
        try chain.appendCheckpoint(signingKey: key, time: at("2026-01-10T09:30:00Z"))
        return chain
    }
}
