extension JSONValue {
    /// The canonical serialisation (SPEC §2.1): no insignificant whitespace; object members sorted by their names'
    /// UTF-16 code units; strings escaped minimally (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`,
    /// everything else literal UTF-8); integer literals that fit in 64 bits in plain decimal; every other number as
    /// ECMAScript's `Number.prototype.toString` writes its binary64 value (``ecmaScriptString(_:)``).
    ///
    /// This is RFC 8785 (JCS) except for integer literals beyond ±2⁵³ that fit in 64 bits, which are kept exact
    /// (JCS would round them to binary64). Do not rely on it for numbers that were not parsed: a `.number` whose text
    /// is not a finite JSON number (parsing refuses those) is written as `null`, as ECMAScript's `JSON.stringify`
    /// writes a non-finite number.
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

    /// SPEC §2.1 canonical numbers: rule 1 (a 64-bit integer literal, exactly) or rule 2 (ECMAScript's form).
    static func canonicalNumber(_ text: String) -> String {
        if let integer = Int(text) { return String(integer) }
        guard let double = Double(text), let formatted = ecmaScriptString(double) else { return "null" }
        return formatted
    }

    /// ECMAScript's `Number::toString` (ECMA-262 §6.1.6.1.20, required by RFC 8785 §3.2.2.3) for a finite double:
    /// the shortest digits that round-trip, positional when the decimal exponent allows, otherwise `1e-7`, `1.5e+21`.
    /// Nil for infinities and NaN, which JSON cannot hold.
    static func ecmaScriptString(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if value == 0 { return "0" }
        // Swift's description holds the shortest round-tripping digits (the closest of them on a tie, as ECMAScript
        // asks) in its own layout: "0.0001", "123.5", "1e-05", "1.5e+20".
        let text = value.magnitude.description
        var mantissa = Substring(text)
        var exponent = 0
        if let marker = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<marker]
            exponent = Int(text[text.index(after: marker)...]) ?? 0
        }
        let point = mantissa.firstIndex(of: ".")
        let integerPart = point.map { mantissa[..<$0] } ?? mantissa
        let fractionPart = point.map { mantissa[mantissa.index(after: $0)...] } ?? ""
        // value = 0.d₁d₂…d_k × 10ⁿ with d₁ ≠ 0 and d_k ≠ 0.
        var digits = Array(integerPart + fractionPart)
        var n = integerPart.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            n -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let k = digits.count
        let sign = value < 0 ? "-" : ""
        if k <= n && n <= 21 { return sign + String(digits) + String(repeating: "0", count: n - k) }
        if 0 < n && n <= 21 { return sign + String(digits[..<n]) + "." + String(digits[n...]) }
        if -6 < n && n <= 0 { return sign + "0." + String(repeating: "0", count: -n) + String(digits) }
        let power = n - 1
        let written = k == 1 ? String(digits) : String(digits[0]) + "." + String(digits[1...])
        return sign + written + "e" + (power < 0 ? "-" : "+") + String(power.magnitude)
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
