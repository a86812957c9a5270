extension JSONValue {
    /// The canonical serialisation (SPEC §2.1): no insignificant whitespace; object members sorted by their names'
    /// UTF-16 code units; strings escaped minimally (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`,
    /// everything else literal UTF-8); integers in plain decimal; other numbers in shortest round-trip form.
    ///
    /// This follows RFC 8785 (JCS) for every value a Blindmatch schema or token-file header contains.
    public var canonicalBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        writeCanonical(into: &output)
        return output
    }

    /// The canonical serialisation as text.
    public var canonicalText: String { String(decoding: canonicalBytes, as: UTF8.self) }

    private func writeCanonical(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: Array("null".utf8))
        case .bool(let value): output.append(contentsOf: Array((value ? "true" : "false").utf8))
        case .number(let text): output.append(contentsOf: Array(Self.canonicalNumber(text).utf8))
        case .string(let value): Self.writeString(value, into: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (position, value) in values.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                value.writeCanonical(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (position, member) in sorted.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                member.value.writeCanonical(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    static func canonicalNumber(_ text: String) -> String {
        if let integer = Int(text) { return String(integer) }
        guard let double = Double(text) else { return text }
        if double.rounded() == double, abs(double) < 9.0e15 { return String(Int(double)) }
        return "\(double)"
    }

    private static func writeString(_ value: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x08: output.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)],
                ])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
