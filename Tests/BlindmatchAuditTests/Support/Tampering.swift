import BlindmatchProtocol

@testable import BlindmatchAudit

/// Ways an attacker might edit a log, working on its lines as text.
struct Tampering {
    var lines: [String]

    init(_ chain: AuditChain) {
        lines = chain.entries.map { String(decoding: $0.canonicalBytes, as: UTF8.self) }
    }

    var bytes: [UInt8] { Array(lines.map { $0 + "\n" }.joined().utf8) }

    static func json(_ line: String) -> JSONValue {
        (try? JSONValue(parsing: line, source: "test")) ?? .null
    }

    /// `value` with member `key` set to `new` (added when absent).
    static func setting(_ key: String, to new: JSONValue, in value: JSONValue) -> JSONValue {
        var members = value.objectValue ?? []
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = new
        } else {
            members.append((key: key, value: new))
        }
        return .object(members)
    }

    /// Replaces line `index` (0-based) after changing one member of its details, leaving `hash` as it was.
    mutating func alterDetail(at index: Int, _ key: String, to new: JSONValue) {
        let entry = Self.json(lines[index])
        let details = Self.setting(key, to: new, in: entry["details"] ?? .object([]))
        lines[index] = Self.setting("details", to: details, in: entry).canonicalText
    }

    /// Recomputes line `index`'s hash from its content, as an attacker who knows the format would.
    mutating func rehash(at index: Int) {
        let entry = Self.json(lines[index])
        let content = JSONValue.object((entry.objectValue ?? []).filter { $0.key != "hash" })
        let hash = Hex.encode(SHA256Hasher.hash(content.canonicalBytes))
        lines[index] = Self.setting("hash", to: .string(hash), in: entry).canonicalText
    }

    /// Sets line `index`'s `previous` to the digest of the line before it as it now stands, then rehashes it.
    mutating func relink(at index: Int) {
        let previous =
            index == 0 ? AuditEntry.firstPrevious : Hex.encode(SHA256Hasher.hash(Array(lines[index - 1].utf8)))
        lines[index] = Self.setting("previous", to: .string(previous), in: Self.json(lines[index])).canonicalText
        rehash(at: index)
    }

    /// Sets line `index`'s seq.
    mutating func renumber(at index: Int, to seq: Int) {
        lines[index] = Self.setting("seq", to: .number(String(seq)), in: Self.json(lines[index])).canonicalText
    }

    /// Renumbers, relinks and rehashes every line from `index` on, as an attacker without the matcher's key would;
    /// with `key`, checkpoints are also re-signed with it.
    mutating func reseal(from index: Int, signingWith key: SigningKey? = nil) throws {
        for position in index..<lines.count {
            renumber(at: position, to: position)
            if Self.json(lines[position])["action"]?.stringValue == "checkpoint" {
                alterDetail(at: position, "upTo", to: .number(String(position - 1)))
                if let key {
                    let covered = Hex.decode(Self.json(lines[position - 1])["hash"]?.stringValue ?? "") ?? []
                    let signature = try key.signature(for: AuditEntry.checkpointMessage(covering: covered))
                    alterDetail(at: position, "signature", to: .string(Base64.encode(signature)))
                    alterDetail(at: position, "key", to: .string(key.publicKey.fingerprint))
                }
            }
            relink(at: position)
        }
    }
}
