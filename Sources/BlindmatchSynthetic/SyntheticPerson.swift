/// A synthetic person: the truth behind every record made of them, before any noise.
///
/// Compact (indices into the embedded lists), so that a watch list of millions fits in memory. The middle name and
/// the married surname are derived from `traits`, so every record of the person agrees on them.
public struct SyntheticPerson: Sendable, Hashable {
    /// Sex as recorded at birth registration; `other` is the small share registered as X.
    public enum Sex: Sendable, Hashable {
        case male, female, other
    }

    /// Unique in the population; fixes the National Insurance number.
    public let number: Int
    public let sex: Sex
    public let dateOfBirth: SyntheticDate
    /// The canonical National Insurance number with its suffix letter, `AB123456C`; unique per person.
    public let nino: String
    let givenOrigin: UInt8
    let givenIsFemaleList: Bool
    let givenIndex: UInt16
    let surnameOrigin: UInt8
    let surnameIndex: UInt16
    /// The second half of a double-barrelled surname (British surnames list), or `UInt16.max`.
    let secondSurnameIndex: UInt16
    let district: UInt16
    let inward: UInt16
    /// Random bits fixed at creation, from which derived attributes come.
    let traits: UInt64

    /// The formal given name.
    public var givenName: String {
        let lists = givenIsFemaleList ? NameFrequencies.femaleGivenNames : NameFrequencies.maleGivenNames
        return lists[Int(givenOrigin)].names[Int(givenIndex)]
    }

    /// The surname at birth, double-barrelled with a hyphen where the person has two.
    public var surname: String {
        surnameParts.joined(separator: "-")
    }

    /// The surname, or both halves of a double-barrelled one.
    public var surnameParts: [String] {
        var first = NameFrequencies.surnames[Int(surnameOrigin)].names[Int(surnameIndex)]
        if sex == .female && surnameOrigin == NameOrigin.easternEuropean.rawValue { first = Self.feminine(of: first) }
        guard secondSurnameIndex != .max else { return [first] }
        return [first, NameFrequencies.surnames[NameOrigin.british.rawValue].names[Int(secondSurnameIndex)]]
    }

    /// A middle name, which about 65% of people have.
    public var middleName: String? {
        guard traits % 100 < 65 else { return nil }
        let lists = givenIsFemaleList ? NameFrequencies.femaleGivenNames : NameFrequencies.maleGivenNames
        let list = lists[Int(givenOrigin)]
        var index = list.table.sample(hash: Mix.hash(traits, 1))
        if index == Int(givenIndex) { index = (index + 1) % list.names.count }
        return list.names[index]
    }

    /// The surname taken at marriage, for women born in 1990 or earlier; records may show either surname.
    public var marriedSurname: String? {
        guard sex == .female, dateOfBirth.year <= 1990 else { return nil }
        // Mostly a British surname; a third of the time one from the woman's own tradition.
        let origin = Mix.hash(traits, 2) % 3 == 0 ? Int(surnameOrigin) : NameOrigin.british.rawValue
        let list = NameFrequencies.surnames[origin]
        var index = list.table.sample(hash: Mix.hash(traits, 3))
        if origin == Int(surnameOrigin) && index == Int(surnameIndex) { index = (index + 1) % list.names.count }
        return origin == NameOrigin.easternEuropean.rawValue ? Self.feminine(of: list.names[index]) : list.names[index]
    }

    /// A woman's form of a Slavic surname: Kowalski → Kowalska, Ivanov → Ivanova, Novák → Nováková.
    static func feminine(of surname: String) -> String {
        if surname.hasSuffix("ski") || surname.hasSuffix("cki") || surname.hasSuffix("zki") {
            return surname.dropLast() + "a"
        }
        if surname.hasSuffix("ov") || surname.hasSuffix("ev") { return surname + "a" }
        if surname.hasSuffix("ák") { return surname + "ová" }
        return surname
    }

    /// The origin of the person's surname (and, 85% of the time, of the given name).
    public var origin: NameOrigin { NameOrigin(rawValue: Int(surnameOrigin)) ?? .british }

    /// The postcode of the person's current address, `SW1A 1AA`.
    public var postcode: String {
        Self.postcode(district: Int(district), inward: Int(inward))
    }

    /// The postcode for a district index and an inward index (`0 ..< 4000`: digit, then two letters).
    static func postcode(district: Int, inward: Int) -> String {
        let letters = PostcodeDistricts.inwardLetters
        let count = letters.count
        return PostcodeDistricts.districts[district] + " " + String(inward / (count * count))
            + String(letters[inward / count % count]) + String(letters[inward % count])
    }

    /// Inward codes: 10 digits × 20 × 20 letters.
    static let inwardCount = 10 * PostcodeDistricts.inwardLetters.count * PostcodeDistricts.inwardLetters.count
}

/// A calendar date (proleptic Gregorian), for dates of birth.
public struct SyntheticDate: Sendable, Hashable, Comparable {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Whether the date exists.
    public var isValid: Bool {
        (1...12).contains(month) && day >= 1 && day <= Self.daysIn(month: month, year: year)
    }

    /// `YYYY-MM-DD`.
    public var iso: String {
        "\(year)-\(Self.twoDigits(month))-\(Self.twoDigits(day))"
    }

    public static func < (lhs: SyntheticDate, rhs: SyntheticDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// The day before.
    var dayBefore: SyntheticDate {
        if day > 1 { return SyntheticDate(year: year, month: month, day: day - 1) }
        if month > 1 {
            return SyntheticDate(year: year, month: month - 1, day: Self.daysIn(month: month - 1, year: year))
        }
        return SyntheticDate(year: year - 1, month: 12, day: 31)
    }

    /// The day after.
    var dayAfter: SyntheticDate {
        if day < Self.daysIn(month: month, year: year) { return SyntheticDate(year: year, month: month, day: day + 1) }
        if month < 12 { return SyntheticDate(year: year, month: month + 1, day: 1) }
        return SyntheticDate(year: year + 1, month: 1, day: 1)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }
}
