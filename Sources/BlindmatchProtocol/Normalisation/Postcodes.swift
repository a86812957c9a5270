/// UK postcodes (SPEC §3.5, kind `postcode`).
extension Normaliser {
    /// Validates a UK postcode and writes it to `output` (at least 8 bytes) as outward code, one space, inward code
    /// (`SW1A 1AA`).
    ///
    /// Rules for `postcode` (SPEC §3.5), after trimming and the sentinel check (non-ASCII input is put in NFKC
    /// first, so full-width characters and the ideographic space are read):
    /// 1. Letters are put in upper case and all white space is removed (`sw1a1aa`, `SW1A  1AA`, `SW1A 1A A` are
    ///    all `SW1A 1AA`). Any other character (`-`, `.`) makes the value `.invalid`.
    /// 2. The last three characters are the inward code, `9AA`: a digit and two letters, neither of them
    ///    `C`, `I`, `K`, `M`, `O` or `V`.
    /// 3. The rest is the outward code, one of `A9`, `A99`, `AA9`, `AA99`, `A9A`, `AA9A` (`A` a letter, `9` a digit).
    /// 4. `GIR 0AA` (Girobank) is valid as well.
    /// This checks the format only: it does not apply the per-position letter lists of the Postcode Address File, and
    /// a well-formed postcode may not exist.
    static func normalisePostcode(
        _ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        var count = 0
        for byte in bytes where !isASCIIWhitespace(byte) {
            guard count < 7 else { return .invalid }
            output[count] = uppercasedASCII(byte)
            count += 1
        }
        guard count >= 5 else { return .invalid }
        let compact = UnsafeBufferPointer(rebasing: output[0..<count])
        guard isPostcode(compact) else { return .invalid }
        // Open the space before the inward code.
        output[count] = output[count - 1]
        output[count - 1] = output[count - 2]
        output[count - 2] = output[count - 3]
        output[count - 3] = 0x20
        return .value(count: count + 1)
    }

    /// Whether 5 to 7 upper-case characters without spaces are a postcode (rules 2–4).
    private static func isPostcode(_ code: UnsafeBufferPointer<UInt8>) -> Bool {
        let inward = code.count - 3
        guard isASCIIDigit(code[inward]), isInwardLetter(code[inward + 1]), isInwardLetter(code[inward + 2]) else {
            return false
        }
        // The outward code as a shape: `A` for a letter, `9` for a digit, packed (at most 4 bytes).
        var shape: UInt32 = 0
        for index in 0..<inward {
            let byte = code[index]
            let symbol: UInt8 = isASCIIUpperLetter(byte) ? 0x41 : isASCIIDigit(byte) ? 0x39 : 0x3F
            shape |= UInt32(symbol) << (8 * UInt32(index))
        }
        if outwardShapes.contains(shape) { return true }
        // GIR 0AA
        return code.count == 6 && code[0] == 0x47 && code[1] == 0x49 && code[2] == 0x52 && code[3] == 0x30
            && code[4] == 0x41 && code[5] == 0x41
    }

    /// The outward-code shapes of rule 3, packed as `isPostcode` packs them.
    private static let outwardShapes: [UInt32] = ["A9", "A99", "AA9", "AA99", "A9A", "AA9A"].map { shape in
        var packed: UInt32 = 0
        for (index, byte) in shape.utf8.enumerated() { packed |= UInt32(byte) << (8 * UInt32(index)) }
        return packed
    }

    /// An inward-code letter: `A`–`Z` but not `C`, `I`, `K`, `M`, `O`, `V`.
    private static func isInwardLetter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x43, 0x49, 0x4B, 0x4D, 0x4F, 0x56: return false
        default: return isASCIIUpperLetter(byte)
        }
    }
}
