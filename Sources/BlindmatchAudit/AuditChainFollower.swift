import BlindmatchProtocol

/// Checks a log line by line as it grows, with the rules of SPEC §10.5 (sequence, `previous`, `hash`, checkpoint
/// signatures): the matching service follows its own stored chain with it, at start and before each checkpoint it
/// signs, so that it never signs a chain that does not verify.
public struct AuditChainFollower: Sendable {
    private var checker: AuditVerification.Checker

    /// - Parameter publicKey: the key every checkpoint must be signed by (the service's own).
    public init(publicKey: PublicSigningKey) {
        checker = AuditVerification.Checker(publicKey: publicKey, keepingEntries: false)
    }

    /// Checks the next line of the log, as stored (without its line feed).
    public mutating func follow(line: [UInt8]) {
        checker.check(line: line)
    }

    /// How many lines have been followed.
    public var lineCount: Int { checker.lineCount }

    /// Where the chain first broke, if it did.
    public var firstFailure: AuditVerification.Failure? { checker.failures.first }

    /// The outcome so far, as ``AuditVerification`` reports a whole log: entries after the last checkpoint are
    /// counted as unsigned, not failed (the log is still growing).
    public var verification: AuditVerification { AuditVerification(checker, requiringFinalCheckpoint: false) }
}
