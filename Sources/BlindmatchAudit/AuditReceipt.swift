import BlindmatchProtocol

/// What a party keeps of an action it took (Protocol/service.md, "Receipts"): the seq and hash of the audit entry
/// that records it, and the latest checkpoint before it. Checked against an exported log
/// (`blindmatch audit verify LOG --receipts DIR`), it proves that the entry is in the log, unchanged: an operator who
/// drops or edits an entry a party holds a receipt for is caught offline, because the entry at that seq then has
/// another hash (every hash covers every entry before it, SPEC §10.3).
public struct AuditReceipt: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int
    public var hash: String
    /// The seq and hash of the last checkpoint entry before this one, when the log had one.
    public var checkpointSeq: Int?
    public var checkpointHash: String?

    public init(seq: Int, hash: String, checkpointSeq: Int? = nil, checkpointHash: String? = nil) {
        self.seq = seq
        self.hash = hash
        self.checkpointSeq = checkpointSeq
        self.checkpointHash = checkpointHash
    }

    /// The `Blindmatch-Receipt` header's text: `seq=N; hash=H[; checkpoint=M:C]`.
    public var header: String {
        var text = "seq=\(seq); hash=\(hash)"
        if let checkpointSeq, let checkpointHash { text += "; checkpoint=\(checkpointSeq):\(checkpointHash)" }
        return text
    }

    public var description: String { header }

    /// A receipt from its header text, or nil when the text does not have that shape.
    public init?(header text: String) {
        var seq: Int?
        var hash: String?
        var checkpoint: (Int, String)?
        for part in text.split(separator: ";") {
            let item = part.trimmingASCIISpaces
            guard let equals = item.firstIndex(of: "=") else { return nil }
            let name = item[..<equals]
            let value = String(item[item.index(after: equals)...])
            switch name {
            case "seq" where seq == nil: seq = Self.number(value)
            case "hash" where hash == nil && Self.isHash(value): hash = value
            case "checkpoint" where checkpoint == nil:
                guard let colon = value.firstIndex(of: ":"), let number = Self.number(String(value[..<colon])) else {
                    return nil
                }
                let digest = String(value[value.index(after: colon)...])
                guard Self.isHash(digest) else { return nil }
                checkpoint = (number, digest)
            default: return nil
            }
        }
        guard let seq, let hash else { return nil }
        self.init(seq: seq, hash: hash, checkpointSeq: checkpoint?.0, checkpointHash: checkpoint?.1)
    }

    /// An earlier export's last entry as `SEQ:HASH` (`audit verify --previous`), as a receipt without checkpoint.
    public init?(previous text: String) {
        guard let colon = text.firstIndex(of: ":"), let seq = Self.number(String(text[..<colon])) else { return nil }
        let hash = String(text[text.index(after: colon)...])
        guard Self.isHash(hash) else { return nil }
        self.init(seq: seq, hash: hash)
    }

    /// How a receipt fails against a log: each problem in one line, naming the seq and never an entry's content.
    public static func problems(of receipt: AuditReceipt, in entries: [Int: AuditEntry]) -> [String] {
        var problems: [String] = []
        if let entry = entries[receipt.seq] {
            if entry.hash != receipt.hash {
                problems.append(
                    "the entry at seq \(receipt.seq) has hash \(entry.hash.prefix(16))…, not the receipt's \(receipt.hash.prefix(16))…: it was changed, or an entry before it was dropped or inserted"
                )
            }
        } else {
            problems.append("the log has no entry at seq \(receipt.seq): it was cut back or the entry was dropped")
        }
        if let seq = receipt.checkpointSeq, let hash = receipt.checkpointHash {
            if let entry = entries[seq] {
                if entry.action != .checkpoint || entry.hash != hash {
                    problems.append(
                        "the checkpoint the receipt names at seq \(seq) is not in the log as it was (hash \(entry.hash.prefix(16))…, not \(hash.prefix(16))…)"
                    )
                }
            } else {
                problems.append("the log has no entry at seq \(seq), where the receipt names a checkpoint")
            }
        }
        return problems
    }

    /// The entries of a log's lines that can be read, by seq (the chain itself is ``AuditVerification``'s to
    /// check).
    public static func entries(jsonLines: [UInt8]) -> [Int: AuditEntry] {
        var entries: [Int: AuditEntry] = [:]
        for line in jsonLines.split(separator: UInt8(ascii: "\n")) {
            if let entry = try? AuditEntry(parsing: Array(line)) { entries[entry.seq] = entry }
        }
        return entries
    }

    private static func number(_ text: String) -> Int? {
        guard (1...16).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        return Int(text)
    }

    private static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

extension Substring {
    fileprivate var trimmingASCIISpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
