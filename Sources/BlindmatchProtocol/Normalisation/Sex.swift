/// Sex codes (SPEC §3.4, kind `sex`).
extension Normaliser {
    /// Normalises a sex or gender code to `m`, `f` or `x`.
    ///
    /// Rules for `sex` (SPEC §3.4), after trimming and the sentinel check (non-ASCII input is put in NFKC first),
    /// ignoring ASCII case, with each inner run of white space read as one space:
    /// - `m`, `male`, `man`, `boy`, `1` → `m`
    /// - `f`, `female`, `woman`, `girl`, `2` → `f`
    /// - `x`, `other`, `non-binary`, `nonbinary`, `i`, `indeterminate` → `x`
    /// - `u`, `0`, `9`, `not known`, `not specified` → `.missing` (`0`, `1`, `2`, `9` are the ISO/IEC 5218 codes)
    /// - anything else → `.invalid` (also `non binary`, `M.` or `m/f`).
    static func normaliseSex(_ bytes: UnsafeBufferPointer<UInt8>) -> NormalisedValue {
        guard bytes.count <= 15 else { return .invalid }
        // At most 15 bytes: a small string, no allocation.
        let key = String(unsafeUninitializedCapacity: bytes.count) { output in
            var count = 0
            var afterSpace = false
            for byte in bytes {
                if isASCIIWhitespace(byte) {
                    afterSpace = true
                    continue
                }
                if afterSpace {
                    output[count] = 0x20
                    count += 1
                    afterSpace = false
                }
                output[count] = lowercasedASCII(byte)
                count += 1
            }
            return count
        }
        switch key {
        case "m", "male", "man", "boy", "1": return .value("m")
        case "f", "female", "woman", "girl", "2": return .value("f")
        case "x", "other", "non-binary", "nonbinary", "i", "indeterminate": return .value("x")
        case "u", "0", "9", "not known", "not specified": return .missing
        default: return .invalid
        }
    }
}
