/// Dates (SPEC §3.3, kind `date`).
extension Normaliser {
    /// Normalises a date to ISO 8601 `YYYY-MM-DD`, written to `output` (at least 10 bytes).
    ///
    /// Rules for `date` (SPEC §3.3), after trimming and the sentinel check (non-ASCII input is put in NFKC first, so
    /// full-width digits are read; other digits, such as Arabic-Indic ones, are not):
    /// 1. Year first: `YYYY-M-D`, `YYYY/M/D` or `YYYY.M.D`, the same separator twice, month and day of 1 or 2 digits.
    /// 2. Compact: exactly 8 digits, `YYYYMMDD`.
    /// 3. Numeric, year last: `D/M/YYYY`, `D-M-YYYY` or `D.M.YYYY` (the same separator twice, 1 or 2 digits each);
    ///    `dateOrder` says whether the first number is the day (`dayFirst`) or the month (`monthFirst`).
    /// 4. Month names: `D Mon YYYY` (between the parts a run of spaces, or one `-`, `/` or `.`: `3 Mar 1980`,
    ///    `03-MAR-1980`), and `Mon D, YYYY` or `Mon D YYYY` (`March 3, 1980`). A month is its English name or its
    ///    3-letter abbreviation, in any case; `Sept` is accepted too. No ordinals (`3rd`) and no weekdays.
    /// 5. After a layout of rule 1 or 3, a time may follow a `T` or one space: `h:mm` or `hh:mm`, optionally `:ss`
    ///    and a fraction after `.` or `,`, optionally a zone `Z`, `±hh`, `±hhmm` or `±hh:mm` (hours ≤ 23,
    ///    minutes ≤ 59, seconds ≤ 60). Only the date as written is kept: a zone never moves it.
    /// 6. The year must have exactly 4 digits (a two-digit year is ambiguous: `.invalid`) and lie in 1800...2100; the
    ///    month in 1...12; the day must exist in that month of the Gregorian calendar (29 February only in leap
    ///    years; no 31 April).
    /// 7. Anything else is `.invalid`.
    static func normaliseDate(
        _ bytes: UnsafeBufferPointer<UInt8>, order: DateOrder, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        var scanner = DateScanner(bytes: bytes)
        guard let (year, month, day) = scanner.scanDate(order: order),
            (1800...2100).contains(year),
            (1...12).contains(month),
            day >= 1 && day <= daysIn(month: month, year: year)
        else { return .invalid }
        func put(_ value: Int, digits: Int, at offset: Int) {
            var value = value
            for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                output[index] = 0x30 + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, digits: 4, at: 0)
        output[4] = 0x2D
        put(month, digits: 2, at: 5)
        output[7] = 0x2D
        put(day, digits: 2, at: 8)
        return .value(count: 10)
    }

    /// The number of days in `month` (1...12) of `year` in the Gregorian calendar.
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2:
            let isLeap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return isLeap ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Reads the layouts of `Normaliser.normaliseDate` from ASCII bytes, left to right, without backtracking.
private struct DateScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { position == bytes.count }
    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    /// Year, month and day as written, before the calendar check; `nil` when no layout fits.
    mutating func scanDate(order: DateOrder) -> (year: Int, month: Int, day: Int)? {
        guard let first = current else { return nil }
        if !Normaliser.isASCIIDigit(first) {
            return scanMonthFirstName()
        }
        let (leading, leadingDigits) = number()
        switch leadingDigits {
        case 8:  // YYYYMMDD
            guard isAtEnd else { return nil }
            return (leading / 10_000, leading / 100 % 100, leading % 100)
        case 4:  // YYYY-M-D
            guard let separator = take(anyOf: 0x2D, 0x2F, 0x2E) else { return nil }
            let (month, monthDigits) = number()
            guard (1...2).contains(monthDigits), take(separator) else { return nil }
            let (day, dayDigits) = number()
            guard (1...2).contains(dayDigits), scanTimeOrEnd() else { return nil }
            return (leading, month, day)
        case 1, 2:
            if let separator = current, separator == 0x2D || separator == 0x2F || separator == 0x2E,
                position + 1 < bytes.count, Normaliser.isASCIIDigit(bytes[position + 1])
            {
                // D/M/YYYY or M/D/YYYY
                position += 1
                let (second, secondDigits) = number()
                guard (1...2).contains(secondDigits), take(separator) else { return nil }
                let (year, yearDigits) = number()
                guard yearDigits == 4, scanTimeOrEnd() else { return nil }
                return order == .dayFirst ? (year, second, leading) : (year, leading, second)
            }
            // D Mon YYYY
            guard scanSeparator(), let month = monthName(), scanSeparator() else { return nil }
            let (year, yearDigits) = number()
            guard yearDigits == 4, isAtEnd else { return nil }
            return (year, month, leading)
        default:
            return nil
        }
    }

    /// `Mon D, YYYY` or `Mon D YYYY`.
    private mutating func scanMonthFirstName() -> (year: Int, month: Int, day: Int)? {
        guard let month = monthName(), spaces() > 0 else { return nil }
        let (day, dayDigits) = number()
        guard (1...2).contains(dayDigits) else { return nil }
        if take(0x2C) {
            _ = spaces()
        } else {
            guard spaces() > 0 else { return nil }
        }
        let (year, yearDigits) = number()
        guard yearDigits == 4, isAtEnd else { return nil }
        return (year, month, day)
    }

    /// The end, or `T`/`t`/space and a time (rule 5).
    private mutating func scanTimeOrEnd() -> Bool {
        if isAtEnd { return true }
        guard take(anyOf: 0x54, 0x74, 0x20) != nil else { return false }
        let (hour, hourDigits) = number()
        guard (1...2).contains(hourDigits), hour <= 23, take(0x3A) else { return false }
        let (minute, minuteDigits) = number()
        guard minuteDigits == 2, minute <= 59 else { return false }
        if take(0x3A) {
            let (second, secondDigits) = number()
            guard secondDigits == 2, second <= 60 else { return false }
            if take(anyOf: 0x2E, 0x2C) != nil {
                guard number().digits > 0 else { return false }
            }
        }
        if take(anyOf: 0x5A, 0x7A) != nil {
            return isAtEnd
        }
        if take(anyOf: 0x2B, 0x2D) != nil {
            let (zone, zoneDigits) = number()
            switch zoneDigits {
            case 2:
                guard zone <= 23 else { return false }
                if take(0x3A) {
                    let (zoneMinute, zoneMinuteDigits) = number()
                    guard zoneMinuteDigits == 2, zoneMinute <= 59 else { return false }
                }
            case 4:
                guard zone / 100 <= 23, zone % 100 <= 59 else { return false }
            default:
                return false
            }
        }
        return isAtEnd
    }

    /// Between the parts of `D Mon YYYY`: a run of spaces, or one `-`, `/` or `.`.
    private mutating func scanSeparator() -> Bool {
        spaces() > 0 || take(anyOf: 0x2D, 0x2F, 0x2E) != nil
    }

    /// A run of ASCII letters naming a month (1...12), or `nil`.
    private mutating func monthName() -> Int? {
        let start = position
        while let byte = current, Normaliser.lowercasedASCII(byte) &- 0x61 < 26 { position += 1 }
        let length = position - start
        guard length >= 3 else { return nil }
        func letter(_ offset: Int) -> UInt8 { Normaliser.lowercasedASCII(bytes[start + offset]) }
        let abbreviation = UInt32(letter(0)) | UInt32(letter(1)) << 8 | UInt32(letter(2)) << 16
        guard let index = Self.abbreviations.firstIndex(of: abbreviation) else { return nil }
        if length == 3 { return index + 1 }
        if index == 8 && length == 4 && letter(3) == 0x74 { return 9 }  // "sept"
        let name = Self.monthNames[index]
        guard length == name.count else { return nil }
        for offset in 3..<length where letter(offset) != name[offset] { return nil }
        return index + 1
    }

    /// A run of ASCII digits: its value (meaningful up to 9 digits) and its length.
    private mutating func number() -> (value: Int, digits: Int) {
        var value = 0
        var digits = 0
        while let byte = current, Normaliser.isASCIIDigit(byte) {
            if digits < 9 { value = value * 10 + Int(byte &- 0x30) }
            digits += 1
            position += 1
        }
        return (value, digits)
    }

    /// Skips a run of spaces, returning its length.
    private mutating func spaces() -> Int {
        let start = position
        while current == 0x20 { position += 1 }
        return position - start
    }

    /// Takes `byte` if it comes next.
    private mutating func take(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// Takes whichever of the given bytes comes next.
    private mutating func take(anyOf first: UInt8, _ second: UInt8, _ third: UInt8? = nil) -> UInt8? {
        guard let byte = current, byte == first || byte == second || byte == third else { return nil }
        position += 1
        return byte
    }

    static let monthNames: [[UInt8]] = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    ].map { Array($0.utf8) }

    static let abbreviations: [UInt32] = monthNames.map {
        UInt32($0[0]) | UInt32($0[1]) << 8 | UInt32($0[2]) << 16
    }
}
