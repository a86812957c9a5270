import BlindmatchProtocol

/// One entry of the matcher's audit log (SPEC §10.2): a canonical JSON object of exactly `action`, `actor`,
/// `details`, `hash`, `previous`, `project`, `seq` and `time`, chained to the entry before it by SHA-256 (§10.3).
///
/// ```
/// {"action":"run.started","actor":"system","details":{"run":"r-1"},"hash":"…","previous":"…","project":"p-1","seq":8,"time":"2025-01-31T09:30:00Z"}
/// ```
///
/// Make entries with ``make(after:actor:action:project:details:time:)`` and
/// ``makeCheckpoint(after:signingKey:time:)``, which compute `seq`, `previous` and `hash` from the entry before; read
/// them with ``init(parsing:)``, which checks one entry's shape but not that it belongs where it stands: only the
/// whole log shows that (``AuditVerification``).
public struct AuditEntry: Sendable, Equatable, CustomStringConvertible {
    /// The position in the log: 0, 1, 2, … without gaps.
    public let seq: Int
    /// When the matcher recorded the action.
    public let time: AuditTime
    /// Who acted.
    public let actor: AuditActor
    /// What was done.
    public let action: AuditAction
    /// The project it concerns, by the matcher's id, or nil.
    public let project: String?
    /// Identifiers and counts (never data: see ``AuditDetails``).
    public let details: AuditDetails
    /// Lower-case hex SHA-256 of the previous entry's canonical bytes (its ``digest``); 64 zeros for seq 0.
    public let previous: String
    /// Lower-case hex SHA-256 of this entry's canonical bytes without the `hash` member.
    public let hash: String
    /// The entry's canonical JSON (SPEC §2.1), `hash` included: one line of the log without its line feed.
    public let canonicalBytes: [UInt8]

    /// `previous` of the first entry.
    public static let firstPrevious = String(repeating: "0", count: 64)
    /// The longest project id, in Unicode scalar values.
    public static let maximumProjectLength = 100
    /// The members of an entry, in canonical order.
    static let memberNames = ["action", "actor", "details", "hash", "previous", "project", "seq", "time"]
    /// The largest `seq`: 2⁵³ − 1.
    static let maximumSeq = 9_007_199_254_740_991

    /// SHA-256 of ``canonicalBytes``: what the next entry holds as `previous`.
    public var digest: [UInt8] { SHA256Hasher.hash(canonicalBytes) }

    /// The entry that follows `previous` (nil for the first entry of a log).
    ///
    /// - Throws: `AuditError.invalidAuditEntry` if the actor's name, the project id or the details break
    ///   SPEC §10.2, or if `action` is `.checkpoint` (use ``makeCheckpoint(after:signingKey:time:)``).
    public static func make(
        after previous: AuditEntry?, actor: AuditActor, action: AuditAction, project: String?,
        details: AuditDetails = [:], time: AuditTime
    ) throws -> AuditEntry {
        guard action != .checkpoint else {
            throw AuditError(
                .invalidAuditEntry, "SPEC §10.4: a checkpoint is made with makeCheckpoint(after:signingKey:time:)")
        }
        return try build(after: previous, actor: actor, action: action, project: project, details: details, time: time)
    }

    /// A checkpoint (SPEC §10.4) that follows `previous` and signs its `hash` with the matcher's key.
    ///
    /// Its details are `upTo` (`previous.seq`), `key` (the key's fingerprint) and `signature` (base64 Ed25519 of
    /// ``checkpointMessage(covering:)``). A checkpoint signs every entry up to `previous`, since each hash covers
    /// the one before.
    public static func makeCheckpoint(after previous: AuditEntry, signingKey: SigningKey, time: AuditTime) throws
        -> AuditEntry
    {
        let signature = try signingKey.signature(for: checkpointMessage(covering: Hex.decode(previous.hash) ?? []))
        let details: AuditDetails = [
            "upTo": .integer(previous.seq), "key": .string(signingKey.publicKey.fingerprint),
            "signature": .string(Base64.encode(signature)),
        ]
        return try build(
            after: previous, actor: .system, action: .checkpoint, project: nil, details: details, time: time)
    }

    /// What a checkpoint signs (SPEC §10.4): `"blindmatch audit checkpoint v1" ‖ 0x00 ‖ hash`, where `hash` is the
    /// raw 32 bytes of the covered entry's `hash`.
    public static func checkpointMessage(covering hash: [UInt8]) -> [UInt8] {
        Array("blindmatch audit checkpoint v1".utf8) + [0] + hash
    }

    /// A checkpoint's details, read.
    public struct Checkpoint: Sendable, Equatable {
        /// The seq of the entry it covers: the one just before it.
        public let upTo: Int
        /// The fingerprint of the key that signed it (``PublicSigningKey/fingerprint``).
        public let keyFingerprint: String
        /// The 64-byte Ed25519 signature.
        public let signature: [UInt8]
    }

    /// The checkpoint's details, when this entry is a checkpoint.
    public var checkpoint: Checkpoint? {
        guard action == .checkpoint, let upTo = details["upTo"]?.integerValue,
            let key = details["key"]?.stringValue,
            let signature = details["signature"]?.stringValue.flatMap(Base64.decode)
        else { return nil }
        return Checkpoint(upTo: upTo, keyFingerprint: key, signature: signature)
    }

    public var description: String { "audit entry \(seq): \(action) by \(actor)" }

    init(
        seq: Int, time: AuditTime, actor: AuditActor, action: AuditAction, project: String?, details: AuditDetails,
        previous: String, hash: String, canonicalBytes: [UInt8]
    ) {
        self.seq = seq
        self.time = time
        self.actor = actor
        self.action = action
        self.project = project
        self.details = details
        self.previous = previous
        self.hash = hash
        self.canonicalBytes = canonicalBytes
    }

    private static func build(
        after previous: AuditEntry?, actor: AuditActor, action: AuditAction, project: String?,
        details: AuditDetails, time: AuditTime
    ) throws -> AuditEntry {
        var problems: [String] = []
        if !actor.isValid { problems.append(actorProblem) }
        if let project, !isValidProject(project) { problems.append(projectProblem) }
        problems += details.problems
        guard problems.isEmpty else {
            throw AuditError(.invalidAuditEntry, "SPEC §10.2: " + problems.joined(separator: "; "))
        }
        let seq = previous.map { $0.seq + 1 } ?? 0
        let previousHex = previous.map { Hex.encode($0.digest) } ?? firstPrevious
        let content = contentMembers(
            seq: seq, time: time, actor: actor, action: action, project: project, details: details,
            previous: previousHex)
        let hash = Hex.encode(SHA256Hasher.hash(JSONValue.object(content).canonicalBytes))
        return AuditEntry(
            seq: seq, time: time, actor: actor, action: action, project: project, details: details,
            previous: previousHex, hash: hash,
            canonicalBytes: JSONValue.object(content + [(key: "hash", value: .string(hash))]).canonicalBytes)
    }

    /// Every member but `hash`: what `hash` is computed over (SPEC §10.3).
    static func contentMembers(
        seq: Int, time: AuditTime, actor: AuditActor, action: AuditAction, project: String?,
        details: AuditDetails, previous: String
    ) -> [(key: String, value: JSONValue)] {
        [
            (key: "action", value: .string(action.rawValue)),
            (key: "actor", value: .string(actor.text)),
            (key: "details", value: details.jsonValue),
            (key: "previous", value: .string(previous)),
            (key: "project", value: project.map { .string($0) } ?? .null),
            (key: "seq", value: .number(String(seq))),
            (key: "time", value: .string(time.text)),
        ]
    }

    static func isValidProject(_ project: String) -> Bool {
        AuditText.isValid(project, length: 1...maximumProjectLength)
    }

    static let actorProblem =
        "actor is not operator, system, party:NAME or auditor:NAME with a NAME of 1–100 characters and no control, invisible or direction-changing character"
    static let projectProblem =
        "project is not null or an id of 1–100 characters with no control, invisible or direction-changing character"
}
