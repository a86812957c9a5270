/// The text rule for names and detail strings in audit entries (SPEC §10.2): Unicode scalar values, none of them a
/// control character or an invisible or direction-changing one, so that what an auditor reads on a terminal is what
/// the log holds.
public enum AuditText {
    /// Whether `scalar` may appear: not U+0000–U+001F, U+007F–U+009F (controls), U+200B–U+200F, U+2028–U+202E,
    /// U+2060–U+2069 or U+FEFF (zero-width, line-separating and bidirectional formatting characters).
    public static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: return false
        default: return true
        }
    }

    /// Whether `text` has a length (in Unicode scalar values) within `length` and only allowed scalars.
    public static func isValid(_ text: String, length: ClosedRange<Int>) -> Bool {
        let scalars = text.unicodeScalars
        return length.contains(scalars.count) && scalars.allSatisfy(isAllowed)
    }
}
