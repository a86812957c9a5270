import Glibc

/// When an audit entry was made: a UTC time to the second, written `YYYY-MM-DDThh:mm:ssZ` (SPEC §10.2).
///
/// The matcher's clock, as it was. Entries are ordered by `seq`, not by time: a clock stepped back gives an earlier
/// time after a later one, and the log does not refuse it.
public struct AuditTime: Sendable, Hashable, CustomStringConvertible {
    /// The time as written, e.g. `2025-01-31T09:30:00Z`.
    public let text: String

    /// The time written as `text`, or nil if it is not a real UTC date and time in that layout (month 01–12, a day
    /// the month has, hour 00–23, minute and second 00–59).
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
        guard bytes.count == pattern.count,
            zip(bytes, pattern).allSatisfy({ byte, expected in
                expected == UInt8(ascii: "d") ? (0x30...0x39).contains(byte) : byte == expected
            })
        else { return nil }
        func number(_ range: Range<Int>) -> Int {
            bytes[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        let year = number(0..<4)
        let month = number(5..<7)
        guard (1...12).contains(month), (1...Self.days(inMonth: month, of: year)).contains(number(8..<10)),
            number(11..<13) < 24, number(14..<16) < 60, number(17..<19) < 60
        else { return nil }
        self.text = text
    }

    /// The time `seconds` after 1970-01-01T00:00:00Z, or nil outside the years 1970–9999.
    public init?(secondsSince1970 seconds: Int64) {
        guard (0...253_402_300_799).contains(seconds) else { return nil }
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        text =
            Self.digits(year, 4) + "-" + Self.digits(month, 2) + "-" + Self.digits(day, 2) + "T"
            + Self.digits(rest / 3600, 2) + ":" + Self.digits(rest / 60 % 60, 2) + ":" + Self.digits(rest % 60, 2) + "Z"
    }

    /// The system clock's time now.
    public static func now() -> AuditTime {
        // A clock before 1970 or after 9999 is broken; the log then says 1970 rather than failing to record.
        AuditTime(secondsSince1970: Int64(time(nil))) ?? AuditTime(checkedText: "1970-01-01T00:00:00Z")
    }

    private init(checkedText: String) { text = checkedText }

    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64 {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64 { bytes[range].reduce(0) { $0 * 10 + Int64($1 - 0x30) } }
        var parts = tm()
        parts.tm_year = Int32(number(0..<4) - 1900)
        parts.tm_mon = Int32(number(5..<7) - 1)
        parts.tm_mday = Int32(number(8..<10))
        parts.tm_hour = Int32(number(11..<13))
        parts.tm_min = Int32(number(14..<16))
        parts.tm_sec = Int32(number(17..<19))
        return Int64(timegm(&parts))
    }

    public var description: String { text }

    private static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// The proleptic Gregorian date of a day count (Howard Hinnant's `civil_from_days`, for non-negative days).
    private static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
