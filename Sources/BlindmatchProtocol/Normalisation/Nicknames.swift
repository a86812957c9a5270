/// The protocol's table of given-name equivalence groups (SPEC §4.2, `Protocol/nicknames.json`), behind the
/// `canonical` transform: Bob, Rob and Robbie all become "robert", so a match key survives a short form.
///
/// The table is public data and part of the protocol: every party must use the same version, so it is embedded
/// and covered by the schema fingerprint only through the transform's name. Change it only with a new version.
public enum Nicknames {
    /// Name → its group's name; a name in several groups belongs to the first.
    static let groupOf: [String: String] = {
        guard let document = try? JSONValue(parsing: tableText, source: "nicknames.json"),
            let groups = document["groups"]?.arrayValue
        else { return [:] }
        var table: [String: String] = [:]
        for group in groups {
            let names = group.arrayValue?.compactMap(\.stringValue) ?? []
            guard let canonical = names.first else { continue }
            for name in names where table[name] == nil { table[name] = canonical }
        }
        return table
    }()

    /// The table's version (its `version` member).
    public static let version: Int = {
        (try? JSONValue(parsing: tableText, source: "nicknames.json"))?["version"]?.intValue ?? 0
    }()

    /// SPEC §4.2 `first`: the value up to its first space.
    public static func firstWord(of value: String) -> String {
        // A space is one UTF-8 byte and never part of another character's encoding, so a byte search is exact.
        guard let space = value.utf8.firstIndex(of: UInt8(ascii: " ")) else { return value }
        return String(value[..<space])
    }

    /// SPEC §4.2 `canonical` (applied to a first word): its group's name, or the word itself.
    public static func canonical(_ word: String) -> String { groupOf[word] ?? word }

    /// `canonical` of an ASCII word given as bytes: its group's name as UTF-8, or nil when the word is not in the
    /// table (its canonical form is itself). ASCII only: other text compares as Unicode, so use `canonical(_:)`.
    static func canonicalName(ofASCII word: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let key = PackedWord(word) else {
            return groupOf[String(decoding: word, as: UTF8.self)].map { Array($0.utf8) }
        }
        return packedGroupOf[key]
    }

    private typealias PackedWord = Normaliser.PackedWord

    /// `groupOf` keyed by packed words, for `canonicalName(ofASCII:)`.
    private static let packedGroupOf: [PackedWord: [UInt8]] = {
        var table: [PackedWord: [UInt8]] = [:]
        for (name, canonical) in groupOf {
            var name = name
            if let key = name.withUTF8({ PackedWord($0) }) { table[key] = Array(canonical.utf8) }
        }
        return table
    }()
}
