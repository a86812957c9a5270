import BlindmatchAudit
import GRDB

/// What a party keeps of an action it took: BlindmatchAudit's ``AuditReceipt``, sent as `Blindmatch-Receipt`.
typealias Receipt = AuditReceipt

extension SQLiteLinkageStore {
    /// The receipt of `entry`, just appended in the caller's transaction: its seq and hash, and the last checkpoint
    /// before it.
    static func receipt(_ db: Database, for entry: AuditEntry) throws -> Receipt {
        let checkpoint = try AuditRecord.filter(Column("action") == AuditAction.checkpoint.rawValue)
            .filter(Column("seq") < entry.seq).order(Column("seq").desc).fetchOne(db)
            .map { try AuditEntry(parsing: [UInt8]($0.line)) }
        return Receipt(
            seq: entry.seq, hash: entry.hash, checkpointSeq: checkpoint?.seq, checkpointHash: checkpoint?.hash)
    }
}
