/// Keying errors: one edit to a name or a date, as a person at a keyboard makes them.
///
/// A name typo touches only the ASCII letters `a`–`z`/`A`–`Z` (so accented letters stay whole and the text stays
/// valid UTF-8) and is one of: substitution by a QWERTY neighbour (35%), substitution by any other letter (10%),
/// deletion (20%, names of three letters or more), insertion of a doubled or neighbouring letter (15%), or
/// transposition of two adjacent different letters (20%). The result always differs from the input.
enum Typos {
    /// QWERTY neighbours of each lower-case letter.
    static let neighbours: [[UInt8]] = {
        let rows: [Character: String] = [
            "q": "wa", "w": "qeas", "e": "wrds", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
            "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
            "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb",
            "b": "vghn", "n": "bhjm", "m": "njk",
        ]
        return (UInt8(ascii: "a")...UInt8(ascii: "z")).map { letter in
            Array(rows[Character(Unicode.Scalar(letter))]?.utf8 ?? "".utf8)
        }
    }()

    /// How many ASCII letters `text` holds.
    static func letterCount(in text: String) -> Int {
        text.utf8.reduce(0) { $0 + (isLetter($1) ? 1 : 0) }
    }

    /// `text` with one typo (it must hold at least two ASCII letters).
    static func introduce(into text: String, random: inout SyntheticRandom) -> String {
        var bytes = Array(text.utf8)
        let letters = bytes.indices.filter { isLetter(bytes[$0]) }
        guard letters.count >= 2 else { return text }
        let position = letters[random.below(letters.count)]
        let original = bytes[position]
        let isUpper = original < UInt8(ascii: "a")
        let lower = original | 0x20
        func cased(_ letter: UInt8) -> UInt8 { isUpper ? letter & ~0x20 : letter }

        var operation = random.below(100)
        if operation >= 45 && operation < 65 && letters.count < 3 { operation = 0 }  // keep short names two letters
        if operation >= 80 {
            // Transpose with the next letter, or the previous one, when they differ.
            let partner = [position + 1, position - 1].first {
                $0 >= 0 && $0 < bytes.count && isLetter(bytes[$0]) && bytes[$0] | 0x20 != lower
            }
            if let partner {
                bytes.swapAt(position, partner)
                return String(decoding: bytes, as: UTF8.self)
            }
            operation = 0
        }
        switch operation {
        case 0..<35:
            bytes[position] = cased(random.element(of: neighbours[Int(lower - UInt8(ascii: "a"))]))
        case 35..<45:
            var letter = lower
            while letter == lower { letter = UInt8(ascii: "a") + UInt8(random.below(26)) }
            bytes[position] = cased(letter)
        case 45..<65:
            bytes.remove(at: position)
        default:
            let inserted =
                random.below(2) == 0 ? original : cased(random.element(of: neighbours[Int(lower - UInt8(ascii: "a"))]))
            bytes.insert(inserted, at: position + 1)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `date` with one digit of its `DDMMYYYY` form changed so that it is a different date that exists, born
    /// between 1900 and 2024: mostly the day, the month or the last two digits of the year.
    static func introduce(into date: SyntheticDate, random: inout SyntheticRandom) -> SyntheticDate {
        let positions = [0, 1, 2, 3, 6, 6, 7, 7, 7, 5]
        for _ in 0..<50 {
            var digits = Array(
                "\(SyntheticDate.twoDigits(date.day))\(SyntheticDate.twoDigits(date.month))\(date.year)".utf8)
            let position = random.element(of: positions)
            let old = Int(digits[position] - UInt8(ascii: "0"))
            // Half the time a neighbouring key on the number row, otherwise any other digit.
            let new =
                random.below(2) == 0 ? (old + (random.below(2) == 0 ? 1 : 9)) % 10 : (old + 1 + random.below(9)) % 10
            digits[position] = UInt8(ascii: "0") + UInt8(new)
            func number(_ range: Range<Int>) -> Int {
                digits[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            }
            let candidate = SyntheticDate(year: number(4..<8), month: number(2..<4), day: number(0..<2))
            if candidate.isValid && candidate != date && (1900...2024).contains(candidate.year) { return candidate }
        }
        // Very unlikely: a day one off instead.
        let day = date.day == 1 ? 2 : date.day - 1
        return SyntheticDate(year: date.year, month: date.month, day: day)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }
}
