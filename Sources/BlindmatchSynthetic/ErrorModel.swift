/// One kind of noise a synthetic record can carry. Each has a rate per *eligible* record (``eligibility``) in an
/// ``ErrorModel``; kinds are drawn independently, in the order of the cases.
public enum NoiseKind: Int, CaseIterable, Sendable, CustomStringConvertible {
    case shortForm, initialOnly, marriedName, oneSurnameOnly, namePunctuation, middleName, accentsDropped
    case givenNameTypo, surnameTypo, namesSwapped, title, upperCase, lowerCase, extraSpaces
    case dateOfBirthMissing, dayMonthSwapped, dateOfBirthTypo
    case sexMissing, sexWrong, sexSpelledOut
    case moved, postcodeMissing, postcodeNoSpace, postcodeLowerCase
    case ninoMissing, ninoTypo, ninoSuffixDropped, ninoSpaced, ninoLowerCase
    /// Added after the others so that their bits and the default profiles' output stay as they were.
    case dateOfBirthOffByDay, dateOfBirthOffByYear

    /// A stable name, as in the documentation.
    public var description: String {
        switch self {
        case .shortForm: return "short-form"
        case .initialOnly: return "initial-only"
        case .marriedName: return "married-name"
        case .oneSurnameOnly: return "one-surname-only"
        case .namePunctuation: return "name-punctuation"
        case .middleName: return "middle-name"
        case .accentsDropped: return "accents-dropped"
        case .givenNameTypo: return "given-name-typo"
        case .surnameTypo: return "surname-typo"
        case .namesSwapped: return "names-swapped"
        case .title: return "title"
        case .upperCase: return "upper-case"
        case .lowerCase: return "lower-case"
        case .extraSpaces: return "extra-spaces"
        case .dateOfBirthMissing: return "dob-missing"
        case .dayMonthSwapped: return "day-month-swapped"
        case .dateOfBirthTypo: return "dob-typo"
        case .sexMissing: return "sex-missing"
        case .sexWrong: return "sex-wrong"
        case .sexSpelledOut: return "sex-spelled-out"
        case .moved: return "moved"
        case .postcodeMissing: return "postcode-missing"
        case .postcodeNoSpace: return "postcode-no-space"
        case .postcodeLowerCase: return "postcode-lower-case"
        case .ninoMissing: return "nino-missing"
        case .ninoTypo: return "nino-typo"
        case .ninoSuffixDropped: return "nino-suffix-dropped"
        case .ninoSpaced: return "nino-spaced"
        case .ninoLowerCase: return "nino-lower-case"
        case .dateOfBirthOffByDay: return "dob-off-by-a-day"
        case .dateOfBirthOffByYear: return "dob-off-by-a-year"
        }
    }

    /// What the noise does, in a few words (at most 46 characters, for the help table).
    public var summary: String {
        switch self {
        case .shortForm: return "nickname or variant (Robert → Bob)"
        case .initialOnly: return "given name cut to its initial (J)"
        case .marriedName: return "married surname (15% of them Smith-Jones)"
        case .oneSurnameOnly: return "one half of a double-barrelled surname"
        case .namePunctuation: return "' - or space dropped or changed (O Brien)"
        case .middleName: return "middle name in given name (John Paul)"
        case .accentsDropped: return "accents dropped (Siobhán → Siobhan)"
        case .givenNameTypo: return "one typo in the given name"
        case .surnameTypo: return "one typo in the surname"
        case .namesSwapped: return "given name and surname swapped"
        case .title: return "title first (Mr, Mrs, Ms, Miss, Dr, Mx)"
        case .upperCase: return "names in capitals (SMITH)"
        case .lowerCase: return "names in lower case (smith)"
        case .extraSpaces: return "a leading, trailing or doubled space"
        case .dateOfBirthMissing: return "date of birth empty"
        case .dayMonthSwapped: return "day and month transposed"
        case .dateOfBirthTypo: return "one digit wrong (still a real date)"
        case .sexMissing: return "sex empty, U or Not known"
        case .sexWrong: return "sex keyed wrongly (M for F)"
        case .sexSpelledOut: return "Male, female or m instead of M"
        case .moved: return "moved house: new postcode (70% new district)"
        case .postcodeMissing: return "postcode empty"
        case .postcodeNoSpace: return "postcode without its space (SW1A1AA)"
        case .postcodeLowerCase: return "postcode in lower case"
        case .ninoMissing: return "NINO empty"
        case .ninoTypo: return "one digit of the NINO wrong"
        case .ninoSuffixDropped: return "NINO without its suffix letter"
        case .ninoSpaced: return "NINO spaced (AB 12 34 56 C)"
        case .ninoLowerCase: return "NINO in lower case"
        case .dateOfBirthOffByDay: return "date of birth a day early or late"
        case .dateOfBirthOffByYear: return "year of birth one out (1979 for 1980)"
        }
    }

    /// Which records the rate applies to.
    public var eligibility: String {
        switch self {
        case .shortForm: return "given name has a short form (~45% of people)"
        case .initialOnly: return "no short form used"
        case .marriedName: return "women born 1990 or earlier"
        case .oneSurnameOnly: return "double-barrelled surname, not married-name"
        case .namePunctuation: return "surname has ' - or a space, or given name - or a space"
        case .middleName: return "person has a middle name (65%), not initial-only"
        case .accentsDropped: return "a name has an accented letter"
        case .givenNameTypo, .surnameTypo: return "the name has two or more letters a–z"
        case .lowerCase: return "names not in capitals"
        case .dayMonthSwapped: return "date present, day ≤ 12, month ≤ 12, day ≠ month"
        case .dateOfBirthTypo, .dateOfBirthOffByDay, .dateOfBirthOffByYear: return "date present"
        case .sexWrong: return "sex present and M or F"
        case .sexSpelledOut: return "sex present"
        case .postcodeNoSpace, .postcodeLowerCase: return "postcode present"
        case .ninoTypo, .ninoSuffixDropped, .ninoSpaced, .ninoLowerCase: return "NINO present"
        default: return "every record"
        }
    }
}

/// A set of ``NoiseKind``s: what a record carries, or what it could have carried.
public struct NoiseKinds: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ kind: NoiseKind) { rawValue = 1 << UInt64(kind.rawValue) }

    public func contains(_ kind: NoiseKind) -> Bool { contains(NoiseKinds(kind)) }
}

/// How a date of birth is written. All are read the same under the example schema (`dateOrder: dayFirst`).
public enum DateLayout: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// `1980-03-05`
    case iso
    /// `05/03/1980`
    case dayFirstSlash
    /// `5/3/1980`
    case dayFirstSlashUnpadded
    /// `05-03-1980`
    case dayFirstDash

    public var description: String {
        switch self {
        case .iso: return "1980-03-05"
        case .dayFirstSlash: return "05/03/1980"
        case .dayFirstSlashUnpadded: return "5/3/1980"
        case .dayFirstDash: return "05-03-1980"
        }
    }

    func render(_ date: SyntheticDate) -> String {
        let day = SyntheticDate.twoDigits(date.day)
        let month = SyntheticDate.twoDigits(date.month)
        switch self {
        case .iso: return "\(date.year)-\(month)-\(day)"
        case .dayFirstSlash: return "\(day)/\(month)/\(date.year)"
        case .dayFirstSlashUnpadded: return "\(date.day)/\(date.month)/\(date.year)"
        case .dayFirstDash: return "\(day)-\(month)-\(date.year)"
        }
    }
}

/// The noise put into records of one file: a rate per ``NoiseKind`` (per eligible record) and the shares of date
/// layouts. ``bulk`` and ``watchList`` are the documented defaults (docs/synthetic-data.md); ``clean`` has none.
///
/// The rates are chosen to be realistic for UK administrative data, not measured from any real dataset; a matcher
/// tuned to them alone may be over-fitted to this generator.
public struct ErrorModel: Sendable, Equatable {
    private var rates: [Double]
    private var layoutShares: [Double]

    /// A model with every rate zero and every date in ISO layout.
    public static let clean = ErrorModel(rates: [:], layouts: [.iso: 1])

    /// Bulk administrative data (tax, benefits, council tax): fairly clean, NINO usually present.
    public static let bulk = ErrorModel(
        rates: [
            .shortForm: 0.06, .initialOnly: 0.01, .marriedName: 0.04, .oneSurnameOnly: 0.10, .namePunctuation: 0.15,
            .middleName: 0.03, .accentsDropped: 0.40, .givenNameTypo: 0.02, .surnameTypo: 0.02, .namesSwapped: 0.01,
            .title: 0.02, .upperCase: 0.08, .lowerCase: 0.01, .extraSpaces: 0.02,
            .dateOfBirthMissing: 0.01, .dayMonthSwapped: 0.02, .dateOfBirthTypo: 0.015,
            .sexMissing: 0.02, .sexWrong: 0.003, .sexSpelledOut: 0.05,
            .moved: 0.08, .postcodeMissing: 0.02, .postcodeNoSpace: 0.04, .postcodeLowerCase: 0.02,
            .ninoMissing: 0.10, .ninoTypo: 0.005, .ninoSuffixDropped: 0.10, .ninoSpaced: 0.08, .ninoLowerCase: 0.02,
        ],
        layouts: [.iso: 0.60, .dayFirstSlash: 0.30, .dayFirstSlashUnpadded: 0.05, .dayFirstDash: 0.05])

    /// A watch list: compiled by hand from many sources, dirtier than bulk, NINO missing half the time.
    public static let watchList = ErrorModel(
        rates: [
            .shortForm: 0.10, .initialOnly: 0.02, .marriedName: 0.06, .oneSurnameOnly: 0.15, .namePunctuation: 0.20,
            .middleName: 0.05, .accentsDropped: 0.60, .givenNameTypo: 0.04, .surnameTypo: 0.04, .namesSwapped: 0.02,
            .title: 0.05, .upperCase: 0.15, .lowerCase: 0.02, .extraSpaces: 0.04,
            .dateOfBirthMissing: 0.05, .dayMonthSwapped: 0.03, .dateOfBirthTypo: 0.03,
            .sexMissing: 0.05, .sexWrong: 0.005, .sexSpelledOut: 0.10,
            .moved: 0.12, .postcodeMissing: 0.08, .postcodeNoSpace: 0.06, .postcodeLowerCase: 0.04,
            .ninoMissing: 0.50, .ninoTypo: 0.01, .ninoSuffixDropped: 0.15, .ninoSpaced: 0.10, .ninoLowerCase: 0.04,
        ],
        layouts: [.iso: 0.25, .dayFirstSlash: 0.55, .dayFirstSlashUnpadded: 0.10, .dayFirstDash: 0.10])

    /// Bulk data in the harsh profile (docs/synthetic-data.md): the watch list's rates and more, so that a true pair
    /// often differs in two places; a fifth moved, 1 in 12 without postcode, a tenth of names with a typo, a few
    /// NINO typos, dates a day or a year out, married surnames.
    public static let harshBulk: ErrorModel = {
        var model = ErrorModel.watchList
        model.layoutShares = ErrorModel.bulk.layoutShares
        for (kind, rate) in harshRates { model[kind] = rate }
        model[.ninoMissing] = 0.10
        model[.ninoTypo] = 0.02
        return model
    }()

    /// The watch list in the harsh profile: as ``harshBulk``, with nearly half the NINOs missing.
    public static let harshWatchList: ErrorModel = {
        var model = ErrorModel.watchList
        for (kind, rate) in harshRates { model[kind] = rate }
        model[.ninoMissing] = 0.45
        model[.ninoTypo] = 0.01
        return model
    }()

    /// The rates both sides share in the harsh profile.
    private static let harshRates: [NoiseKind: Double] = [
        .marriedName: 0.15, .givenNameTypo: 0.10, .surnameTypo: 0.10, .namesSwapped: 0.04, .upperCase: 0.20,
        .extraSpaces: 0.08, .dayMonthSwapped: 0.03, .dateOfBirthTypo: 0.01, .dateOfBirthOffByDay: 0.03,
        .dateOfBirthOffByYear: 0.02, .moved: 0.20, .postcodeMissing: 1.0 / 12,
    ]

    /// A model with the given rates (others zero) and date-layout shares (normalised to sum to 1).
    public init(rates: [NoiseKind: Double], layouts: [DateLayout: Double]) {
        self.rates = NoiseKind.allCases.map { rates[$0] ?? 0 }
        let total = layouts.values.reduce(0, +)
        layoutShares = DateLayout.allCases.map { total > 0 ? (layouts[$0] ?? 0) / total : ($0 == .iso ? 1 : 0) }
    }

    /// The rate of `kind` per eligible record, 0...1.
    public subscript(kind: NoiseKind) -> Double {
        get { rates[kind.rawValue] }
        set { rates[kind.rawValue] = min(max(newValue, 0), 1) }
    }

    /// The share of dates written in `layout`.
    public func share(of layout: DateLayout) -> Double { layoutShares[layout.rawValue] }

    /// The model as a plain-text table of at most 80 columns, one line per kind: name, bulk and watch-list rates,
    /// summary; then the date layouts.
    public static func describe(bulk: ErrorModel, watchList: ErrorModel) -> String {
        var lines = ["noise               bulk / watch  (rate per eligible record)"]
        for kind in NoiseKind.allCases {
            let rates = "\(percent(bulk[kind])) / \(percent(watchList[kind]))"
            lines.append(kind.description.padding(toLength: 20) + rates.padding(toLength: 12) + kind.summary)
        }
        lines.append("date layout")
        for layout in DateLayout.allCases {
            let rates = "\(percent(bulk.share(of: layout))) / \(percent(watchList.share(of: layout)))"
            lines.append(layout.description.padding(toLength: 20) + rates)
        }
        return lines.joined(separator: "\n")
    }

    /// `2%`, `1.5%`, `0.3%`: a rate as a percentage with at most one decimal.
    public static func percent(_ rate: Double) -> String {
        let tenths = Int((rate * 1000).rounded())
        return tenths % 10 == 0 ? "\(tenths / 10)%" : "\(tenths / 10).\(tenths % 10)%"
    }
}

extension String {
    /// The string padded with spaces to `length` characters (never truncated).
    fileprivate func padding(toLength length: Int) -> String {
        count >= length ? self + " " : self + String(repeating: " ", count: length - count)
    }
}
