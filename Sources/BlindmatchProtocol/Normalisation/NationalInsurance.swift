/// UK National Insurance numbers (SPEC §3.6, kind `nino`).
extension Normaliser {
    /// Validates a National Insurance number and writes its 8-character prefix and digits (`AB123456`) to `output`
    /// (at least 9 bytes).
    ///
    /// Rules for `nino` (SPEC §3.6), after trimming and the sentinel check (non-ASCII input is put in NFKC first):
    /// 1. Letters are put in upper case and all white space is removed (`ab 12 34 56 c` → `AB123456C`). Any other
    ///    character (`-`, `.`) makes the value `.invalid`.
    /// 2. Then: two prefix letters, six digits, and optionally one suffix letter `A`–`D`.
    /// 3. The first prefix letter is not `D`, `F`, `I`, `Q`, `U` or `V`; the second is not `D`, `F`, `I`, `O`, `Q`,
    ///    `U` or `V`; the prefixes `BG`, `GB`, `KN`, `NK`, `NT`, `TN` and `ZZ` are not allocated.
    /// 4. The output is the prefix and the digits: the suffix is dropped, since it carries no identity and is often
    ///    left out.
    static func normaliseNINO(
        _ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        var count = 0
        for byte in bytes where !isASCIIWhitespace(byte) {
            guard count < 9 else { return .invalid }
            output[count] = uppercasedASCII(byte)
            count += 1
        }
        guard count == 8 || (count == 9 && output[8] >= 0x41 && output[8] <= 0x44) else { return .invalid }
        guard isFirstPrefixLetter(output[0]), isSecondPrefixLetter(output[1]) else { return .invalid }
        for index in 2..<8 where !isASCIIDigit(output[index]) { return .invalid }
        switch (output[0], output[1]) {
        case (0x42, 0x47), (0x47, 0x42), (0x4B, 0x4E), (0x4E, 0x4B), (0x4E, 0x54), (0x54, 0x4E), (0x5A, 0x5A):
            return .invalid  // BG GB KN NK NT TN ZZ
        default:
            return .value(count: 8)
        }
    }

    /// A letter allowed first in a prefix: `A`–`Z` but not `D`, `F`, `I`, `Q`, `U`, `V`.
    private static func isFirstPrefixLetter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x44, 0x46, 0x49, 0x51, 0x55, 0x56: return false
        default: return isASCIIUpperLetter(byte)
        }
    }

    /// A letter allowed second in a prefix: `A`–`Z` but not `D`, `F`, `I`, `O`, `Q`, `U`, `V`.
    private static func isSecondPrefixLetter(_ byte: UInt8) -> Bool {
        byte != 0x4F && isFirstPrefixLetter(byte)
    }
}
