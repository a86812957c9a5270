/// Makes synthetic people: ordinary ones, namesakes of a given person, and twins.
struct PersonFactory: Sendable {
    /// Years of birth and their weights (fewer of the oldest people are alive and in administrative data).
    static let years = Array(1930...2008)
    static let yearTable = WeightedTable(weights: years.map { $0 < 1940 ? 4 : $0 < 1945 ? 7 : 10 })
    /// Sex at birth registration per 10,000: male, female, other (X).
    static let sexTable = WeightedTable(weights: [4_975, 4_975, 50])
    /// Per 1,000 British-surnamed people: double-barrelled surnames.
    static let doubleBarrelledPerThousand = 15
    /// Per 1,000 people of an origin other than British: a British given name.
    static let britishGivenNamePerThousand = 150

    let ninos: NationalInsuranceNumbers

    init(seed: UInt64) {
        ninos = NationalInsuranceNumbers(seed: seed)
    }

    /// A new person, every attribute drawn afresh.
    func makePerson(number: Int, random: inout SyntheticRandom) -> SyntheticPerson {
        let sex = drawSex(&random)
        let surnameOrigin = NameFrequencies.origins.sample(&random)
        let givenOrigin =
            surnameOrigin != NameOrigin.british.rawValue && random.below(1_000) < Self.britishGivenNamePerThousand
            ? NameOrigin.british.rawValue : surnameOrigin
        let isFemaleList = sex == .female || (sex == .other && random.below(2) == 0)
        let given = drawGivenName(origin: givenOrigin, female: isFemaleList, random: &random)
        let surname = drawSurname(origin: surnameOrigin, sex: sex, random: &random)
        var second = UInt16.max
        if surnameOrigin == NameOrigin.british.rawValue && random.below(1_000) < Self.doubleBarrelledPerThousand {
            let list = NameFrequencies.surnames[surnameOrigin]
            var index = list.sample(&random)
            if index == surname { index = (index + 1) % list.names.count }
            second = UInt16(index)
        }
        let (district, inward) = drawAddress(&random)
        return SyntheticPerson(
            number: number, sex: sex, dateOfBirth: drawDateOfBirth(&random), nino: ninos.number(of: number),
            givenOrigin: UInt8(givenOrigin), givenIsFemaleList: isFemaleList, givenIndex: UInt16(given),
            surnameOrigin: UInt8(surnameOrigin), surnameIndex: UInt16(surname), secondSurnameIndex: second,
            district: UInt16(district), inward: UInt16(inward), traits: random.next())
    }

    /// Someone else with the same given name and surname as `person`: a different number (so NINO), address and
    /// usually date of birth. Of namesakes, `sameDate` share the whole date, and `sameYear` of the others the year.
    func makeNamesake(
        of person: SyntheticPerson, number: Int, sameYear: Probability, sameDate: Probability,
        random: inout SyntheticRandom
    ) -> SyntheticPerson {
        var dateOfBirth = drawDateOfBirth(&random)
        if random.happens(sameDate) {
            dateOfBirth = person.dateOfBirth
        } else if random.happens(sameYear) {
            let month = random.within(1...12)
            let day = random.within(1...SyntheticDate.daysIn(month: month, year: person.dateOfBirth.year))
            dateOfBirth = SyntheticDate(year: person.dateOfBirth.year, month: month, day: day)
        }
        let (district, inward) = drawAddress(&random)
        return SyntheticPerson(
            number: number, sex: person.sex, dateOfBirth: dateOfBirth, nino: ninos.number(of: number),
            givenOrigin: person.givenOrigin, givenIsFemaleList: person.givenIsFemaleList, givenIndex: person.givenIndex,
            surnameOrigin: person.surnameOrigin, surnameIndex: person.surnameIndex,
            secondSurnameIndex: person.secondSurnameIndex, district: UInt16(district), inward: UInt16(inward),
            traits: random.next())
    }

    /// A twin of `person`: same surname, date of birth and address, a different given name, their own sex and NINO.
    func makeTwin(of person: SyntheticPerson, number: Int, random: inout SyntheticRandom) -> SyntheticPerson {
        let sex = random.below(2) == 0 ? person.sex : drawSex(&random)
        let isFemaleList = sex == .female || (sex == .other && random.below(2) == 0)
        var given = drawGivenName(origin: Int(person.givenOrigin), female: isFemaleList, random: &random)
        if isFemaleList == person.givenIsFemaleList && given == Int(person.givenIndex) {
            let count = (isFemaleList ? NameFrequencies.femaleGivenNames : NameFrequencies.maleGivenNames)[
                Int(person.givenOrigin)
            ].names.count
            given = (given + 1) % count
        }
        return SyntheticPerson(
            number: number, sex: sex, dateOfBirth: person.dateOfBirth, nino: ninos.number(of: number),
            givenOrigin: person.givenOrigin, givenIsFemaleList: isFemaleList, givenIndex: UInt16(given),
            surnameOrigin: person.surnameOrigin, surnameIndex: person.surnameIndex,
            secondSurnameIndex: person.secondSurnameIndex, district: person.district, inward: person.inward,
            traits: random.next())
    }

    /// A district (Zipf by population) and an inward code (uniform).
    func drawAddress(_ random: inout SyntheticRandom) -> (district: Int, inward: Int) {
        (PostcodeDistricts.list.sample(&random), random.below(SyntheticPerson.inwardCount))
    }

    private func drawSex(_ random: inout SyntheticRandom) -> SyntheticPerson.Sex {
        switch Self.sexTable.sample(&random) {
        case 0: return .male
        case 1: return .female
        default: return .other
        }
    }

    private func drawGivenName(origin: Int, female: Bool, random: inout SyntheticRandom) -> Int {
        (female ? NameFrequencies.femaleGivenNames : NameFrequencies.maleGivenNames)[origin].sample(&random)
    }

    private func drawSurname(origin: Int, sex: SyntheticPerson.Sex, random: inout SyntheticRandom) -> Int {
        let list = NameFrequencies.surnames[origin]
        var index = list.sample(&random)
        // Begum, Kaur and the like are women's surnames: draw again for men.
        while sex != .female && NameFrequencies.femaleOnlySurnames.contains(list.names[index]) {
            index = list.sample(&random)
        }
        return index
    }

    private func drawDateOfBirth(_ random: inout SyntheticRandom) -> SyntheticDate {
        let year = Self.years[Self.yearTable.sample(&random)]
        let isLeap = SyntheticDate.daysIn(month: 2, year: year) == 29
        var dayOfYear = random.below(isLeap ? 366 : 365)
        var month = 1
        while dayOfYear >= SyntheticDate.daysIn(month: month, year: year) {
            dayOfYear -= SyntheticDate.daysIn(month: month, year: year)
            month += 1
        }
        return SyntheticDate(year: year, month: month, day: dayOfYear + 1)
    }
}
