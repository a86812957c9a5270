import BlindmatchProtocol

/// The outcome of checking an audit log against the matcher's public key (SPEC §10.5): whether the chain holds and
/// every checkpoint verifies, the counts, and each failure with its line, seq and the rule it breaks.
///
/// A log that fails is an expected outcome, so this is a value, not an error. Checking goes on after a failure (the
/// next line is judged against the line before it as found), so that one altered entry gives one or two failures,
/// not one per later line; the first failure is where the log was broken.
///
/// What passing proves, and what it does not (a log cut back to an earlier checkpoint passes): SPEC §10.6.
public struct AuditVerification: Sendable, Equatable {
    /// The rules of SPEC §10.5, named as printed.
    public enum Rule: String, Sendable, Equatable, CaseIterable {
        case line = "SPEC §10.1 line"
        case canonicalForm = "SPEC §10.1 canonical form"
        case members = "SPEC §10.2 members"
        case action = "SPEC §10.2 action"
        case details = "SPEC §10.2 details"
        case sequence = "SPEC §10.3 seq"
        case previous = "SPEC §10.3 previous"
        case hash = "SPEC §10.3 hash"
        case checkpointForm = "SPEC §10.4 checkpoint form"
        case checkpointKey = "SPEC §10.4 checkpoint key"
        case checkpointSignature = "SPEC §10.4 checkpoint signature"
        case signedToTheEnd = "SPEC §10.5 signed to the end"
    }

    /// One failure: where, and which rule.
    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        /// The line of the log, from 1.
        public let line: Int
        /// The entry's seq, when the line could be read that far.
        public let seq: Int?
        /// The rule it breaks.
        public let rule: Rule
        /// What is wrong, and what it usually means; never the line's own text.
        public let detail: String

        /// E.g. `line 17 (seq 16): hash does not match its content: the entry was altered (SPEC §10.3 hash)`.
        public var description: String {
            "line \(line)\(seq.map { " (seq \($0))" } ?? ""): \(detail) (\(rule.rawValue))"
        }
    }

    /// The most failures kept in ``failures``; ``failureCount`` counts them all.
    public static let maximumReportedFailures = 1000

    /// The lines of the log: entries, whether or not they hold.
    public let entryCount: Int
    /// Checkpoints whose signature verifies under the key.
    public let checkpointCount: Int
    /// The seq of the last checkpoint that verifies, if any.
    public let lastCheckpointSeq: Int?
    /// Entries after the last checkpoint that verifies (all of them when none does): signed by nothing yet.
    public let unsignedEntryCount: Int
    /// The failures line by line, then the unsigned end (SPEC §10.5), at most ``maximumReportedFailures`` of them.
    public let failures: [Failure]
    /// How many failures there were.
    public let failureCount: Int
    /// The fingerprint of the key checkpoints were checked against (nil when they were not).
    public let keyFingerprint: String?

    /// Whether the chain holds, every checkpoint verifies and, if required, the log ends with a checkpoint.
    public var isValid: Bool { failureCount == 0 }

    /// Where the log first breaks.
    public var firstFailure: Failure? { failures.first }

    /// Checks a log as exported: JSON Lines, one canonical entry per line, each ending with a line feed.
    ///
    /// - Parameters:
    ///   - publicKey: the matcher's key, obtained out of band; every checkpoint must be signed by it.
    ///   - requiringFinalCheckpoint: when true (an export's rule, SPEC §10.5), entries after the last checkpoint
    ///     are a failure; when false they are only counted in ``unsignedEntryCount``.
    public init(jsonLines: [UInt8], publicKey: PublicSigningKey, requiringFinalCheckpoint: Bool = true) {
        var checker = Checker(publicKey: publicKey, keepingEntries: false)
        checker.check(jsonLines: jsonLines)
        self.init(checker, requiringFinalCheckpoint: requiringFinalCheckpoint)
    }

    /// Checks entries as held in memory or read from storage, as if they were the lines of a log.
    public init(entries: [AuditEntry], publicKey: PublicSigningKey, requiringFinalCheckpoint: Bool = true) {
        var checker = Checker(publicKey: publicKey, keepingEntries: false)
        for entry in entries { checker.check(line: entry.canonicalBytes) }
        if entries.isEmpty { checker.check(jsonLines: []) }
        self.init(checker, requiringFinalCheckpoint: requiringFinalCheckpoint)
    }

    init(_ checker: Checker, requiringFinalCheckpoint: Bool) {
        var failures = checker.failures
        var failureCount = checker.failureCount
        let unsigned = checker.lineCount - (checker.lastCheckpoint?.line ?? 0)
        if requiringFinalCheckpoint && unsigned > 0 && checker.lineCount > 0 {
            let first = (checker.lastCheckpoint?.line ?? 0) + 1
            let detail =
                checker.lastCheckpoint == nil
                ? "no checkpoint verifies, so none of the \(checker.lineCount) entries is signed"
                : unsigned == 1
                    ? "1 entry after the last checkpoint (line \(first)) is not signed"
                    : "\(unsigned) entries after the last checkpoint (lines \(first)–\(checker.lineCount)) are not signed"
            if failures.count < Self.maximumReportedFailures {
                failures.append(
                    Failure(line: first, seq: checker.firstUnsignedSeq, rule: .signedToTheEnd, detail: detail))
            }
            failureCount += 1
        }
        entryCount = checker.lineCount
        checkpointCount = checker.checkpointCount
        lastCheckpointSeq = checker.lastCheckpoint?.seq
        unsignedEntryCount = unsigned
        self.failures = failures
        self.failureCount = failureCount
        keyFingerprint = checker.publicKey?.fingerprint
    }

    /// Checks lines one by one, each against the line before it as found.
    struct Checker {
        let publicKey: PublicSigningKey?
        let keepingEntries: Bool
        private(set) var entries: [AuditEntry] = []
        private(set) var failures: [Failure] = []
        private(set) var failureCount = 0
        private(set) var lineCount = 0
        private(set) var checkpointCount = 0
        private(set) var lastCheckpoint: (line: Int, seq: Int?)?
        /// The seq of the first line after the last checkpoint, when it could be read.
        private(set) var firstUnsignedSeq: Int?
        /// The line before: its seq and `hash` if readable, and the SHA-256 of its bytes as found.
        private var before: (seq: Int?, hash: String?, digest: String)?

        /// - Parameter publicKey: nil checks everything but checkpoint keys and signatures.
        init(publicKey: PublicSigningKey?, keepingEntries: Bool) {
            self.publicKey = publicKey
            self.keepingEntries = keepingEntries
        }

        /// Checks a whole log.
        mutating func check(jsonLines bytes: [UInt8]) {
            guard !bytes.isEmpty else {
                fail(line: 1, seq: nil, .line, "the log is empty: it holds no entry")
                return
            }
            var start = 0
            while start < bytes.count {
                guard let end = bytes[start...].firstIndex(of: 0x0A) else {
                    let last = Array(bytes[start...])
                    if AuditEntry.reading(last).entry == nil {
                        beginLine(seq: nil)
                        fail(
                            line: lineCount, seq: nil, .line,
                            "the last line is incomplete (no line feed, not a whole entry): the log was cut off")
                    } else {
                        check(line: last)
                        fail(
                            line: lineCount, seq: before?.seq, .line,
                            "the last line does not end with a line feed: the log may have been cut off")
                    }
                    return
                }
                check(line: Array(bytes[start..<end]))
                start = end + 1
            }
        }

        /// Checks the next line (without its line feed).
        mutating func check(line bytes: [UInt8]) {
            let digest = Hex.encode(SHA256Hasher.hash(bytes))
            if bytes.isEmpty {
                beginLine(seq: nil)
                fail(line: lineCount, seq: nil, .line, "is empty: every line is one entry")
                before = (seq: nil, hash: nil, digest: digest)
                return
            }
            let reading = AuditEntry.reading(bytes)
            let seq = reading.seq
            beginLine(seq: seq)
            let line = lineCount
            for problem in reading.problems { fail(line: line, seq: seq, problem.rule, problem.detail) }

            if let seq {
                if let before {
                    if let previousSeq = before.seq, seq != previousSeq + 1 {
                        fail(
                            line: line, seq: seq, .sequence,
                            "seq is \(seq) where \(previousSeq + 1) was expected after line \(line - 1): an entry is missing, inserted or out of order"
                        )
                    }
                } else if seq != 0 {
                    fail(
                        line: line, seq: seq, .sequence,
                        "the log starts at seq \(seq), not 0: the entries before it are missing")
                }
            }
            if let previous = reading.previous {
                if let before, previous != before.digest {
                    fail(
                        line: line, seq: seq, .previous,
                        "previous is not the SHA-256 of line \(line - 1): an entry before it was altered, removed, inserted or moved"
                    )
                } else if before == nil, previous != AuditEntry.firstPrevious {
                    fail(
                        line: line, seq: seq, .previous,
                        "previous of the first line is not 64 zeros: the entries before it are missing")
                }
            }
            if let hash = reading.hash, let content = reading.content,
                Hex.encode(SHA256Hasher.hash(JSONValue.object(content).canonicalBytes)) != hash
            {
                fail(line: line, seq: seq, .hash, "hash does not match its content: the entry was altered")
            }
            if reading.action == .checkpoint, !reading.problems.contains(where: { $0.rule == .checkpointForm }) {
                checkCheckpoint(reading, line: line)
            }
            if keepingEntries, let entry = reading.entry { entries.append(entry) }
            // The next line is judged against this one as it stands.
            before = (seq: seq, hash: reading.hash, digest: digest)
        }

        /// Counts a line, noting its seq if it is the first after the last checkpoint so far.
        private mutating func beginLine(seq: Int?) {
            lineCount += 1
            if lineCount == (lastCheckpoint?.line ?? 0) + 1 { firstUnsignedSeq = seq }
        }

        private mutating func checkCheckpoint(_ reading: AuditEntry.Reading, line: Int) {
            guard let publicKey else { return }
            guard let content = reading.content, let details = JSONValue.object(content)["details"],
                let key = details["key"]?.stringValue,
                let signature = details["signature"]?.stringValue.flatMap(Base64.decode)
            else { return }
            guard key == publicKey.fingerprint else {
                fail(
                    line: line, seq: reading.seq, .checkpointKey,
                    "signed by key \(key), not the given key \(publicKey.fingerprint): forged, or the wrong key was given"
                )
                return
            }
            guard let covered = before?.hash.flatMap(Hex.decode) else {
                fail(
                    line: line, seq: reading.seq, .checkpointSignature,
                    "covers line \(line - 1), whose hash cannot be read, so its signature cannot be checked")
                return
            }
            guard publicKey.isValidSignature(signature, for: AuditEntry.checkpointMessage(covering: covered)) else {
                fail(
                    line: line, seq: reading.seq, .checkpointSignature,
                    "the signature does not verify over the hash of line \(line - 1): the entries it covers changed after signing, or it was forged"
                )
                return
            }
            checkpointCount += 1
            lastCheckpoint = (line: line, seq: reading.seq)
        }

        private mutating func fail(line: Int, seq: Int?, _ rule: Rule, _ detail: String) {
            failureCount += 1
            if failures.count < AuditVerification.maximumReportedFailures {
                failures.append(Failure(line: line, seq: seq, rule: rule, detail: detail))
            }
        }
    }
}
