/// Phonetic codes of normalised names, for match keys such as "Soundex of surname + date of birth" (SPEC §3.7).
///
/// A phonetic code groups names that sound alike, and so also groups many people: use it only inside a match key
/// with other fields, never alone.
public enum Phonetic {
    /// The American Soundex code of a normalised name (`robert` → `R163`), or `nil` when it has no letters.
    ///
    /// Rules (SPEC §3.7), as in the US National Archives' description of Soundex:
    /// 1. Only the letters `a`–`z` count (`A`–`Z` are read as lower case); every other character, spaces included,
    ///    is skipped, so `de la cruz` is coded as `delacruz`.
    /// 2. The first letter is kept, in upper case.
    /// 3. The other letters are coded `b f p v` → 1, `c g j k q s x z` → 2, `d t` → 3, `l` → 4, `m n` → 5, `r` → 6;
    ///    `a e i o u y` are not coded but separate letters, `h` and `w` are not coded and do not separate.
    /// 4. A code equal to the code before it is written once: letters side by side, or separated only by `h` or `w`
    ///    (`ashcraft` → A261), and the first letter counts (`pfister` → P236). Letters separated by a vowel are
    ///    coded twice (`tymczak` → T522).
    /// 5. The code is cut to, or padded with zeros to, one letter and three digits (`lee` → L000).
    public static func soundex(_ normalisedName: String) -> String? {
        var name = normalisedName
        return name.withUTF8 { bytes -> String? in
            var isCoded = false
            let code = String(unsafeUninitializedCapacity: 4) { output in
                isCoded = soundex(bytes, into: output)
                return isCoded ? 4 : 0
            }
            return isCoded ? code : nil
        }
    }

    /// The Soundex code of a normalised name's UTF-8, written to `output` (at least 4 bytes); false when the name
    /// has no letters. The rules are those of `soundex(_:)`.
    static func soundex(_ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        var first: UInt8 = 0
        var digits: (UInt8, UInt8, UInt8) = (0x30, 0x30, 0x30)
        var digitCount = 0
        var previous: UInt8 = 0  // the code of the letter before, 0 after a vowel
        for byte in bytes {
            let letter = Normaliser.lowercasedASCII(byte)
            guard letter &- 0x61 < 26 else { continue }
            let code = soundexCode(letter)
            if first == 0 {
                first = letter & 0xDF
                previous = code
                continue
            }
            if letter == 0x68 || letter == 0x77 { continue }  // h, w
            if code != 0 && code != previous {
                switch digitCount {
                case 0: digits.0 = 0x30 + code
                case 1: digits.1 = 0x30 + code
                case 2: digits.2 = 0x30 + code
                default: break
                }
                digitCount += 1
                if digitCount == 3 { break }
            }
            previous = code
        }
        guard first != 0 else { return false }
        output[0] = first
        output[1] = digits.0
        output[2] = digits.1
        output[3] = digits.2
        return true
    }

    /// The Soundex digit of a lower-case letter, 0 for those not coded.
    private static func soundexCode(_ letter: UInt8) -> UInt8 {
        switch letter {
        case 0x62, 0x66, 0x70, 0x76: return 1  // b f p v
        case 0x63, 0x67, 0x6A, 0x6B, 0x71, 0x73, 0x78, 0x7A: return 2  // c g j k q s x z
        case 0x64, 0x74: return 3  // d t
        case 0x6C: return 4  // l
        case 0x6D, 0x6E: return 5  // m n
        case 0x72: return 6  // r
        default: return 0  // a e i o u y h w
        }
    }
}
