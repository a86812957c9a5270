/// Sex codes (SPEC §3.4, kind `sex`).
extension Normaliser {
    /// Normalises a sex or gender code to `m`, `f` or `x`, written to `output` (at least 1 byte).
    ///
    /// Rules for `sex` (SPEC §3.4), after trimming and the sentinel check (non-ASCII input is put in NFKC first),
    /// ignoring ASCII case, with each inner run of white space read as one space:
    /// - `m`, `male`, `man`, `boy`, `1` → `m`
    /// - `f`, `female`, `woman`, `girl`, `2` → `f`
    /// - `x`, `other`, `non-binary`, `nonbinary`, `i`, `indeterminate` → `x`
    /// - `u`, `0`, `9`, `not known`, `not specified` → `.missing` (`0`, `1`, `2`, `9` are the ISO/IEC 5218 codes)
    /// - anything else → `.invalid` (also `non binary`, `M.` or `m/f`).
    static func normaliseSex(
        _ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        guard bytes.count <= 15 else { return .invalid }
        // The key, lower case with single spaces, is at most 15 bytes: two words.
        var key = (UInt64(0), UInt64(0))
        var count = 0
        var afterSpace = false
        func put(_ byte: UInt8) {
            let shift = 8 * UInt64(count & 7)
            if count < 8 { key.0 |= UInt64(byte) << shift } else { key.1 |= UInt64(byte) << shift }
            count += 1
        }
        for byte in bytes {
            if isASCIIWhitespace(byte) {
                afterSpace = true
                continue
            }
            if afterSpace {
                put(0x20)
                afterSpace = false
            }
            put(lowercasedASCII(byte))
        }
        key.1 |= UInt64(count) << 56
        guard let code = sexCodes.first(where: { $0.key == key })?.code else { return .invalid }
        guard code != 0 else { return .missing }
        output[0] = code
        return .value(count: 1)
    }

    /// The words of `normaliseSex`, packed as it packs its key, and their code (0 for `.missing`).
    private static let sexCodes: [(key: (UInt64, UInt64), code: UInt8)] = [
        (["m", "male", "man", "boy", "1"], UInt8(ascii: "m")),
        (["f", "female", "woman", "girl", "2"], UInt8(ascii: "f")),
        (["x", "other", "non-binary", "nonbinary", "i", "indeterminate"], UInt8(ascii: "x")),
        (["u", "0", "9", "not known", "not specified"], 0),
    ].flatMap { words, code in
        words.map { word in
            var key = (UInt64(0), UInt64(0))
            for (index, byte) in word.utf8.enumerated() {
                let shift = 8 * UInt64(index & 7)
                if index < 8 { key.0 |= UInt64(byte) << shift } else { key.1 |= UInt64(byte) << shift }
            }
            key.1 |= UInt64(word.utf8.count) << 56
            return (key, code)
        }
    }
}
