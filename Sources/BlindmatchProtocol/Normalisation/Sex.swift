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
        // The key, lower case with single spaces, is at most 15 bytes.
        var key = PackedWord()
        var afterSpace = false
        for byte in bytes {
            if isASCIIWhitespace(byte) {
                afterSpace = true
                continue
            }
            if afterSpace {
                key.append(0x20)
                afterSpace = false
            }
            key.append(lowercasedASCII(byte))
        }
        guard let code = sexCodes[key] else { return .invalid }
        guard code != 0 else { return .missing }
        output[0] = code
        return .value(count: 1)
    }

    /// The words of `normaliseSex`, packed as it packs its key, and their code (0 for `.missing`).
    private static let sexCodes: [PackedWord: UInt8] = {
        var table: [PackedWord: UInt8] = [:]
        for (words, code) in [
            (["m", "male", "man", "boy", "1"], UInt8(ascii: "m")),
            (["f", "female", "woman", "girl", "2"], UInt8(ascii: "f")),
            (["x", "other", "non-binary", "nonbinary", "i", "indeterminate"], UInt8(ascii: "x")),
            (["u", "0", "9", "not known", "not specified"], 0),
        ] {
            for word in words { if let key = PackedWord(word.utf8) { table[key] = code } }
        }
        return table
    }()
}
