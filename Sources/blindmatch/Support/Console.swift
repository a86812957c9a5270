import Glibc

/// Writes to standard output and standard error without buffering surprises.
enum Console {
    static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    static func output(_ text: String) { write(text, to: STDOUT_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                let rest = UnsafeMutableRawBufferPointer(rebasing: $0[done...])
                return Glibc.write(descriptor, rest.baseAddress, rest.count)
            }
            if count <= 0 { return }
            done += count
        }
        bytes.removeAll()
    }
}

/// Text from a file that may be hostile, made safe to show on a terminal: control characters (C0, DEL, C1) and the
/// invisible and bidirectional formatting characters of SPEC §10.2's text rule are shown as escapes, so that a header
/// string cannot move the cursor, recolour the screen, forge a line or reorder what is shown.
enum Terminal {
    /// `line` with every such character as `\u{…}` (or, in JSON text, as the JSON escape `\u00XX`, still valid JSON).
    static func printable(_ line: String, json: Bool = false) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(line.unicodeScalars.count)
        for scalar in line.unicodeScalars {
            if isUnsafe(scalar) {
                let hex = String(scalar.value, radix: 16)
                result += json ? "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex : "\\u{\(hex)}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
    }
}
