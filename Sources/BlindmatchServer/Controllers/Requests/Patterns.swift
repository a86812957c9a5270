import BlindmatchAudit

/// The value patterns of `Protocol/openapi.yaml`.
enum Patterns {
    /// A server id: the kind's letter, `-`, 16 lower-case hex digits.
    static func isID(_ text: String, kind: Character) -> Bool {
        text.first == kind && text.dropFirst().first == "-" && isHex(String(text.dropFirst(2)), count: 16)
    }

    static func isName(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...100).contains(scalars.count), let first = scalars.first, isAlphanumeric(first) else { return false }
        return scalars.allSatisfy { isAlphanumeric($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// A match-key or blocking-key name: `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`.
    static func isKeyName(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...64).contains(scalars.count), let first = scalars.first, first == "_" || isAlphanumeric(first) else {
            return false
        }
        return scalars.allSatisfy { isAlphanumeric($0) || $0 == "_" || $0 == "." || $0 == "-" }
    }

    static func isHex(_ text: String, count: Int) -> Bool {
        text.utf8.count == count
            && text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    static func isTimestamp(_ text: String) -> Bool { AuditTime(text) != nil }

    /// Free text (SPEC §10.2's text rule), 1…`maximum` characters.
    static func isText(_ text: String, maximum: Int) -> Bool {
        let scalars = text.unicodeScalars
        return (1...maximum).contains(scalars.count) && scalars.allSatisfy(AuditText.isAllowed)
            && !text.allSatisfy(\.isWhitespace)
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        isLetter(scalar) || ("0"..."9").contains(scalar)
    }
}
