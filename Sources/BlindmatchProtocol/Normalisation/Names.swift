import Foundation

/// Names and free text (SPEC §3.2, kinds `name` and `text`).
extension Normaliser {
    /// The titles and honorifics that the `name` kind drops when they stand as whole words, anywhere in the value.
    ///
    /// `mr mrs ms miss mx dr prof sir dame rev revd fr sr snr jr jnr esq`. "Lord" and "Lady" are left out on purpose:
    /// both are real surnames, and a surname field holding only a dropped word would become `.invalid`. Spelled-out
    /// forms ("doctor", "mister") are not dropped either.
    static let titles: [UInt64] = [
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "revd", "fr", "sr", "snr", "jr", "jnr",
        "esq",
    ].map { word in
        var word = word
        return word.withUTF8 { packedLowercased($0) }
    }

    /// Normalises a name or free text given as ASCII, or as the `a`–`z` letters and spaces that `foldedLetters`
    /// makes of Unicode text, into `output` (at least `bytes.count` bytes).
    ///
    /// Rules for `name` and `text` (SPEC §3.2), in this order, after trimming and the sentinel check:
    /// 1. Apostrophes are deleted, leaving no space: `'` `` ` `` `´` `‘` `’` `‛` `′` `ʻ` `ʼ` and the full-width
    ///    `＇` `｀` (O'Brien → obrien). This comes before NFKC, which would turn `´` into a space and an accent.
    /// 2. Unicode NFKC (ligatures, full-width forms and the like become plain letters: ﬁ → fi, Ｍ → M), then case
    ///    folding: lower case, and `ß` → `ss`.
    /// 3. Accents and diacritics removed: canonical decomposition with every combining mark dropped (é → e, ñ → n,
    ///    ç → c, ğ → g), and for letters that do not decompose: æ → ae, œ → oe, ø → o, ł → l, đ → d, ð → d,
    ///    þ → th, ı → i, ħ → h, ŧ → t, ȷ → j.
    /// 4. Also deleted: format characters (soft hyphen, zero-width space and joiners, byte order mark, direction
    ///    marks) and the Catalan middle dot `·` (Col·lell → collell).
    /// 5. Every other character that is not `a`–`z` becomes a space: hyphens, dots, commas, digits, other
    ///    punctuation and symbols, controls, and letters of other scripts (romanise names before tokenising).
    /// 6. `name` only: whole words in `titles` are dropped, wherever they stand.
    /// 7. Runs of spaces become one space; leading and trailing spaces go.
    /// 8. An empty result is `.invalid` (the input was not empty: it held only titles, digits or punctuation).
    ///    A result that is itself a sentinel word (`null`, `na`, `none`, `unknown`, as from "None.") is `.missing`,
    ///    so that normalising an output again gives the same output.
    ///
    /// The output holds only `a`–`z` and single spaces.
    static func normaliseWords(
        _ bytes: UnsafeBufferPointer<UInt8>, droppingTitles: Bool, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        let titles = droppingTitles ? Self.titles : []
        var count = 0
        var wordStart = -1  // where the current word starts in `output`; -1 between words

        // Ends the word in progress, taking it back out when it is a title.
        func endWord() {
            guard wordStart >= 0 else { return }
            let length = count - wordStart
            if length >= 2 && length <= 4 && !titles.isEmpty {
                let word = UnsafeBufferPointer(rebasing: output[wordStart..<count])
                if titles.contains(packedLowercased(word)) {
                    count = wordStart > 0 ? wordStart - 1 : 0  // also the space before it
                }
            }
            wordStart = -1
        }

        for byte in bytes {
            let lower = byte | 0x20
            if lower &- 0x61 < 26 {  // A–Z or a–z
                if wordStart < 0 {
                    if count > 0 {
                        output[count] = 0x20
                        count += 1
                    }
                    wordStart = count
                }
                output[count] = lower
                count += 1
            } else if byte == 0x27 || byte == 0x60 {  // ' and ` are deleted
                continue
            } else {
                endWord()
            }
        }
        endWord()
        if count == 0 { return .invalid }
        if count <= 7 && isSentinel(UnsafeBufferPointer(rebasing: output[0..<count])) { return .missing }
        return .value(count: count)
    }

    /// Folds Unicode text to `a`–`z` letters and spaces (rules 1–5 of `normaliseWords`); titles, space runs and
    /// the empty result are left to `normaliseWords`.
    ///
    /// The order is: delete apostrophes (before NFKC, which turns `´` into a space and a combining accent),
    /// compatibility decomposition (NFKD: NFKC's mappings, decomposed), lower case, decompose again (a lower-case
    /// mapping may compose), then scalar by scalar: keep `a`–`z`, drop combining marks, format characters,
    /// apostrophes and `·`, spell out the letters that do not decompose, and write a space for anything else.
    static func foldedLetters(_ text: Substring) -> [UInt8] {
        var kept = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where !isApostrophe(scalar) {
            kept.append(scalar)
        }
        let folded = String(kept).decomposedStringWithCompatibilityMapping.lowercased()
            .decomposedStringWithCompatibilityMapping
        var letters: [UInt8] = []
        letters.reserveCapacity(folded.utf8.count)
        for scalar in folded.unicodeScalars {
            let value = scalar.value
            if value >= 0x61 && value <= 0x7A {
                letters.append(UInt8(value))
                continue
            }
            if value >= 0x41 && value <= 0x5A {
                letters.append(UInt8(value) | 0x20)
                continue
            }
            if isApostrophe(scalar) || value == 0xB7 { continue }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark, .format:
                continue
            default:
                break
            }
            if let spelled = spelledOut(scalar) {
                letters.append(contentsOf: spelled.utf8)
            } else {
                letters.append(0x20)
            }
        }
        return letters
    }

    /// The apostrophes of rule 1: `'` `` ` `` `´` `‘` `’` `‛` `′` `ʻ` `ʼ` `＇` `｀`.
    static func isApostrophe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x27, 0x60, 0xB4, 0x2018, 0x2019, 0x201B, 0x2032, 0x2BB, 0x2BC, 0xFF07, 0xFF40: return true
        default: return false
        }
    }

    /// The lower-case Latin letters that have no decomposition, spelled in `a`–`z` (rule 3).
    static func spelledOut(_ scalar: Unicode.Scalar) -> String? {
        switch scalar.value {
        case 0xDF: return "ss"  // ß
        case 0xE6: return "ae"  // æ
        case 0x153: return "oe"  // œ
        case 0xF8: return "o"  // ø
        case 0x142: return "l"  // ł
        case 0x111: return "d"  // đ
        case 0xF0: return "d"  // ð
        case 0xFE: return "th"  // þ
        case 0x131: return "i"  // ı
        case 0x127: return "h"  // ħ
        case 0x167: return "t"  // ŧ
        case 0x237: return "j"  // ȷ
        default: return nil
        }
    }
}
