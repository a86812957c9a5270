/// Turns a person into one noisy record under an ``ErrorModel``. Each record draws its own noise, so two records of
/// one person differ independently (a bulk duplicate, or a watch-list entry and its bulk records).
struct RecordMaker: Sendable {
    let model: ErrorModel
    private let chances: [Probability]
    private let layouts: WeightedTable

    init(model: ErrorModel) {
        self.model = model
        chances = NoiseKind.allCases.map { Probability(model[$0]) }
        layouts = WeightedTable(weights: DateLayout.allCases.map { UInt64((model.share(of: $0) * 1e6).rounded()) })
    }

    /// The noise decisions of one record: each eligible kind is drawn once, at its rate.
    private struct Draw {
        var noise = NoiseKinds()
        var eligible = NoiseKinds()

        mutating func decide(_ kind: NoiseKind, _ chances: [Probability], _ random: inout SyntheticRandom) -> Bool {
            eligible.insert(NoiseKinds(kind))
            // A kind at rate 0 draws nothing, so that adding a kind leaves the other models' output unchanged.
            guard chances[kind.rawValue].threshold > 0, random.happens(chances[kind.rawValue]) else { return false }
            noise.insert(NoiseKinds(kind))
            return true
        }
    }

    func makeRecord(id: String, of person: SyntheticPerson, random: inout SyntheticRandom) -> SyntheticRecord {
        var draw = Draw()
        var (given, surname) = names(of: person, draw: &draw, random: &random)
        if draw.decide(.namesSwapped, chances, &random) { swap(&given, &surname) }
        applyPresentation(given: &given, surname: &surname, sex: person.sex, draw: &draw, random: &random)
        let dateOfBirth = dateOfBirth(of: person, draw: &draw, random: &random)
        let sex = sex(of: person, draw: &draw, random: &random)
        let postcode = postcode(of: person, draw: &draw, random: &random)
        let nino = nino(of: person, draw: &draw, random: &random)
        return SyntheticRecord(
            id: id, givenName: given, surname: surname, dateOfBirth: dateOfBirth, sex: sex, postcode: postcode,
            nino: nino, person: person, noise: draw.noise, eligible: draw.eligible)
    }

    // MARK: Names

    /// The names' content: short forms, initials, married names, punctuation, middle names, accents and typos.
    private func names(
        of person: SyntheticPerson, draw: inout Draw, random: inout SyntheticRandom
    ) -> (given: String, surname: String) {
        var given = person.givenName
        if let forms = ShortForms.table[given], draw.decide(.shortForm, chances, &random) {
            given = random.element(of: forms)
        }
        var isInitial = false
        if !draw.noise.contains(.shortForm), draw.decide(.initialOnly, chances, &random) {
            given = given.first.map { String($0) } ?? given
            isInitial = true
        }

        let parts = person.surnameParts
        var surname = person.surname
        if let married = person.marriedSurname, draw.decide(.marriedName, chances, &random) {
            surname = random.below(100) < 15 ? surname + "-" + married : married
        } else if parts.count == 2, draw.decide(.oneSurnameOnly, chances, &random) {
            surname = parts[random.below(2)]
        }

        let hasPunctuation =
            surname.contains(where: { $0 == "'" || $0 == "-" || $0 == " " })
            || given.contains(where: { $0 == "-" || $0 == " " })
        if hasPunctuation, draw.decide(.namePunctuation, chances, &random) {
            given = Self.varyingPunctuation(of: given, random: &random)
            surname = Self.varyingPunctuation(of: surname, random: &random)
        }

        if let middle = person.middleName, !isInitial, draw.decide(.middleName, chances, &random) {
            given += " " + middle
        }

        if !(given.utf8.allSatisfy { $0 < 0x80 } && surname.utf8.allSatisfy { $0 < 0x80 }),
            draw.decide(.accentsDropped, chances, &random)
        {
            given = Self.droppingAccents(from: given)
            surname = Self.droppingAccents(from: surname)
        }

        if Typos.letterCount(in: given) >= 2, draw.decide(.givenNameTypo, chances, &random) {
            given = Typos.introduce(into: given, random: &random)
        }
        if Typos.letterCount(in: surname) >= 2, draw.decide(.surnameTypo, chances, &random) {
            surname = Typos.introduce(into: surname, random: &random)
        }
        return (given, surname)
    }

    /// Titles, letter case and stray spaces: how the names were keyed, not what they are.
    private func applyPresentation(
        given: inout String, surname: inout String, sex: SyntheticPerson.Sex, draw: inout Draw,
        random: inout SyntheticRandom
    ) {
        if draw.decide(.title, chances, &random) {
            let title: String
            switch (sex, random.below(100)) {
            case (.male, 0..<88): title = "Mr"
            case (.female, 0..<45): title = "Mrs"
            case (.female, 45..<70): title = "Ms"
            case (.female, 70..<90): title = "Miss"
            case (.other, 0..<70): title = "Mx"
            default: title = "Dr"
            }
            given = title + (random.below(100) < 20 ? ". " : " ") + given
        }
        if draw.decide(.upperCase, chances, &random) {
            given = given.uppercased()
            surname = surname.uppercased()
        } else if draw.decide(.lowerCase, chances, &random) {
            given = given.lowercased()
            surname = surname.lowercased()
        }
        if draw.decide(.extraSpaces, chances, &random) {
            switch random.below(4) {
            case 0: given = " " + given
            case 1: surname += " "
            case 2: given += " "
            default:
                // A doubled inner space where there is one, else a leading space before the surname.
                if let space = given.firstIndex(of: " ") {
                    given.insert(" ", at: space)
                } else if let space = surname.firstIndex(of: " ") {
                    surname.insert(" ", at: space)
                } else {
                    surname = " " + surname
                }
            }
        }
    }

    /// Each apostrophe, hyphen or space dropped or changed: O'Brien → OBrien, O Brien or O’Brien; Smith-Jones →
    /// Smith Jones or SmithJones; van der Berg → vanderBerg or van-der-Berg.
    static func varyingPunctuation(of name: String, random: inout SyntheticRandom) -> String {
        var output = ""
        for character in name {
            switch character {
            case "'": output += ["", " ", "\u{2019}"][random.below(3)]
            case "-": output += random.below(3) == 0 ? "" : " "
            case " ": output += random.below(2) == 0 ? "" : "-"
            default: output.append(character)
            }
        }
        return output
    }

    /// Letters with accents replaced by their plain forms (as a system without Unicode would store them).
    static func droppingAccents(from name: String) -> String {
        var output = ""
        for character in name {
            if character.isASCII {
                output.append(character)
            } else if let plain = plainLetters[character] {
                output += plain
            } else {
                output.append(character)
            }
        }
        return output
    }

    private static let plainLetters: [Character: String] = {
        let pairs: [(String, String)] = [
            ("áàâäãåą", "a"), ("ÁÀÂÄÃÅĄ", "A"), ("çćč", "c"), ("ÇĆČ", "C"), ("éèêëęē", "e"), ("ÉÈÊËĘĒ", "E"),
            ("íìîïı", "i"), ("ÍÌÎÏİ", "I"), ("ł", "l"), ("Ł", "L"), ("ñń", "n"), ("ÑŃ", "N"), ("óòôöõø", "o"),
            ("ÓÒÔÖÕØ", "O"), ("śşš", "s"), ("ŚŞŠ", "S"), ("úùûüū", "u"), ("ÚÙÛÜŪ", "U"), ("źżž", "z"), ("ŹŻŽ", "Z"),
            ("ğ", "g"), ("Ğ", "G"), ("ņ", "n"), ("ß", "ss"),
        ]
        var table: [Character: String] = [:]
        for (accented, plain) in pairs {
            for character in accented { table[character] = plain }
        }
        return table
    }()

    // MARK: Date of birth, sex, postcode, NINO

    private func dateOfBirth(of person: SyntheticPerson, draw: inout Draw, random: inout SyntheticRandom) -> String {
        if draw.decide(.dateOfBirthMissing, chances, &random) { return "" }
        var date = person.dateOfBirth
        if date.day <= 12 && date.month <= 12 && date.day != date.month,
            draw.decide(.dayMonthSwapped, chances, &random)
        {
            date = SyntheticDate(year: date.year, month: date.day, day: date.month)
        }
        if draw.decide(.dateOfBirthTypo, chances, &random) {
            date = Typos.introduce(into: date, random: &random)
        }
        if draw.decide(.dateOfBirthOffByDay, chances, &random) {
            date = random.below(2) == 0 ? date.dayBefore : date.dayAfter
        }
        if draw.decide(.dateOfBirthOffByYear, chances, &random) {
            let year = date.year + (random.below(2) == 0 ? -1 : 1)
            date = SyntheticDate(
                year: year, month: date.month, day: min(date.day, SyntheticDate.daysIn(month: date.month, year: year)))
        }
        let layout = DateLayout(rawValue: layouts.sample(&random)) ?? .iso
        return layout.render(date)
    }

    private func sex(of person: SyntheticPerson, draw: inout Draw, random: inout SyntheticRandom) -> String {
        if draw.decide(.sexMissing, chances, &random) {
            return ["", "", "", "", "", "", "", "U", "U", "Not known"][random.below(10)]
        }
        var sex = person.sex
        if sex != .other, draw.decide(.sexWrong, chances, &random) {
            sex = sex == .male ? .female : .male
        }
        let isSpelledOut = draw.decide(.sexSpelledOut, chances, &random)
        switch (sex, isSpelledOut ? random.below(3) : -1) {
        case (.male, -1): return "M"
        case (.female, -1): return "F"
        case (.other, -1): return "X"
        case (.male, 0): return "Male"
        case (.female, 0): return "Female"
        case (.other, 0): return "Other"
        case (.male, 1): return "male"
        case (.female, 1): return "female"
        case (.other, 1): return "other"
        case (.male, _): return "m"
        case (.female, _): return "f"
        case (.other, _): return "x"
        }
    }

    private func postcode(of person: SyntheticPerson, draw: inout Draw, random: inout SyntheticRandom) -> String {
        var district = Int(person.district)
        var inward = Int(person.inward)
        if draw.decide(.moved, chances, &random) {
            let oldDistrict = district
            if random.below(100) < 70 {
                while district == oldDistrict { district = PostcodeDistricts.list.sample(&random) }
            }
            let oldInward = inward
            while inward == oldInward { inward = random.below(SyntheticPerson.inwardCount) }
        }
        if draw.decide(.postcodeMissing, chances, &random) { return "" }
        var text = SyntheticPerson.postcode(district: district, inward: inward)
        if draw.decide(.postcodeNoSpace, chances, &random) { text.removeAll { $0 == " " } }
        if draw.decide(.postcodeLowerCase, chances, &random) { text = text.lowercased() }
        return text
    }

    private func nino(of person: SyntheticPerson, draw: inout Draw, random: inout SyntheticRandom) -> String {
        if draw.decide(.ninoMissing, chances, &random) { return "" }
        var bytes = Array(person.nino.utf8)  // AB123456C: ASCII
        if draw.decide(.ninoTypo, chances, &random) {
            let position = 2 + random.below(6)
            let old = Int(bytes[position] - UInt8(ascii: "0"))
            bytes[position] = UInt8(ascii: "0") + UInt8((old + 1 + random.below(9)) % 10)
        }
        if draw.decide(.ninoSuffixDropped, chances, &random) { bytes.removeLast() }
        if draw.decide(.ninoSpaced, chances, &random) {
            // AB 12 34 56 C
            var spaced: [UInt8] = []
            for (index, byte) in bytes.enumerated() {
                if index == 2 || index == 4 || index == 6 || index == 8 { spaced.append(UInt8(ascii: " ")) }
                spaced.append(byte)
            }
            bytes = spaced
        }
        if draw.decide(.ninoLowerCase, chances, &random) {
            bytes = bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
