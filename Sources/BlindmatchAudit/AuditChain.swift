import BlindmatchProtocol

/// An audit log held in memory (SPEC §10): entries appended in order, each chained to the one before, with
/// checkpoints signed by the matcher's key; written and read as JSON Lines.
///
/// A value: appending changes only this copy. A service that keeps its log in a database need not hold the whole
/// chain: each new entry depends only on the last one, so it can read the last entry back
/// (``AuditEntry/init(parsing:)``) and call ``AuditEntry/make(after:actor:action:project:details:time:)`` in the
/// same write transaction. Do not use a chain to decide whether a log is trustworthy: ``AuditVerification`` is the
/// auditor's check, with the key.
public struct AuditChain: Sendable, Equatable {
    /// The entries, seq 0 first.
    public private(set) var entries: [AuditEntry] = []

    /// An empty log.
    public init() {}

    /// A log of entries read back from storage.
    ///
    /// - Throws: `AuditError.invalidAuditLog` naming the first line that breaks SPEC §10.1–§10.4 (checkpoints'
    ///   form is checked, their signatures are not: no key is given).
    public init(entries: [AuditEntry]) throws {
        var checker = AuditVerification.Checker(publicKey: nil, keepingEntries: false)
        for entry in entries { checker.check(line: entry.canonicalBytes) }
        if let failure = checker.failures.first {
            throw AuditError(.invalidAuditLog, "audit log: \(failure)")
        }
        self.entries = entries
    }

    /// A log read from JSON Lines (SPEC §10.1).
    ///
    /// - Throws: `AuditError.invalidAuditLog` naming the first line that breaks SPEC §10.1–§10.4; signatures are not
    ///   checked. An empty input is an empty log.
    public init(jsonLines: [UInt8]) throws {
        guard !jsonLines.isEmpty else { return }
        var checker = AuditVerification.Checker(publicKey: nil, keepingEntries: true)
        checker.check(jsonLines: jsonLines)
        if let failure = checker.failures.first {
            throw AuditError(.invalidAuditLog, "audit log: \(failure)")
        }
        entries = checker.entries
    }

    /// Appends an entry for an action and returns it.
    ///
    /// - Throws: `AuditError.invalidAuditEntry` if the actor, project or details break SPEC §10.2, or `action` is
    ///   `.checkpoint` (use ``appendCheckpoint(signingKey:time:)``). The chain is then unchanged.
    @discardableResult
    public mutating func append(
        actor: AuditActor, action: AuditAction, project: String?, details: AuditDetails = [:], time: AuditTime
    ) throws -> AuditEntry {
        let entry = try AuditEntry.make(
            after: entries.last, actor: actor, action: action, project: project, details: details, time: time)
        entries.append(entry)
        return entry
    }

    /// Appends a checkpoint that signs every entry so far with the matcher's key (SPEC §10.4) and returns it.
    ///
    /// - Throws: `AuditError.invalidAuditEntry` on an empty chain (a checkpoint covers the entry before it), or the
    ///   key's `ProtocolError` if signing fails.
    @discardableResult
    public mutating func appendCheckpoint(signingKey: SigningKey, time: AuditTime) throws -> AuditEntry {
        guard let last = entries.last else {
            throw AuditError(.invalidAuditEntry, "SPEC §10.4: a checkpoint needs an entry before it to cover")
        }
        let entry = try AuditEntry.makeCheckpoint(after: last, signingKey: signingKey, time: time)
        entries.append(entry)
        return entry
    }

    /// Entries after the last checkpoint (all of them if there is none): what a checkpoint now would sign.
    public var entriesSinceLastCheckpoint: Int {
        entries.count - ((entries.lastIndex { $0.action == .checkpoint }).map { $0 + 1 } ?? 0)
    }

    /// The log as JSON Lines: each entry's canonical bytes followed by a line feed (SPEC §10.1).
    public var jsonLines: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(entries.reduce(0) { $0 + $1.canonicalBytes.count + 1 })
        for entry in entries {
            output += entry.canonicalBytes
            output.append(0x0A)
        }
        return output
    }

    /// Writes the log as JSON Lines to `path`, atomically (SPEC §6.8), mode 0644.
    public func write(to path: String) throws {
        let file = try AtomicFile(destination: path, mode: 0o644)
        try file.write(jsonLines)
        try file.commit()
    }
}
