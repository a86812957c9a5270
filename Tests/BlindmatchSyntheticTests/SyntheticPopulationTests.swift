import BlindmatchProtocol
import Foundation
import Testing

@testable import BlindmatchSynthetic

/// A population of 20,000 watch-list and 60,000 bulk records, made once and shared by the tests below.
private enum Sample {
    static let population = try! SyntheticPopulation(.init(watchCount: 20_000, bulkCount: 60_000, seed: 42))
    static let watch = population.allWatchRecords()
    static let bulk = population.allBulkRecords()
}

/// A scratch folder, removed by `remove()`.
private struct ScratchFolder {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("synth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)")) }

    func lines(_ name: String) throws -> [String] {
        String(decoding: try read(name), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

struct SyntheticFileTests {
    static let files = ["watch.csv", "bulk.csv", "truth.csv"]

    @Test func sameSeedGivesTheSameBytesWhateverTheThreads() throws {
        let configuration = SyntheticPopulation.Configuration(watchCount: 500, bulkCount: 70_000, seed: 7)
        let first = try ScratchFolder()
        let second = try ScratchFolder()
        defer {
            first.remove()
            second.remove()
        }
        try SyntheticPopulation(configuration).write(toDirectory: first.path, threads: 1)
        try SyntheticPopulation(configuration).write(toDirectory: second.path, threads: 3)
        for name in Self.files {
            #expect(try first.read(name) == second.read(name), "\(name)")
        }
    }

    @Test func differentSeedsGiveDifferentData() throws {
        let one = try SyntheticPopulation(.init(watchCount: 200, bulkCount: 2_000, seed: 1))
        let two = try SyntheticPopulation(.init(watchCount: 200, bulkCount: 2_000, seed: 2))
        let sameNames = zip(one.watchPeople, two.watchPeople).filter {
            $0.givenName == $1.givenName && $0.surname == $1.surname
        }
        #expect(sameNames.count < 10)
        #expect(Set(one.watchPeople.map(\.nino)).isDisjoint(with: two.watchPeople.map(\.nino)))
        #expect(one.truePairs != two.truePairs)
        #expect(one.allBulkRecords().map(\.fields) != two.allBulkRecords().map(\.fields))
    }

    @Test func headersAreExactAndEveryRowHasSevenFields() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let population = try SyntheticPopulation(.init(watchCount: 300, bulkCount: 3_000, seed: 3))
        try population.write(toDirectory: folder.path, threads: 2)
        let watch = try folder.lines("watch.csv")
        let bulk = try folder.lines("bulk.csv")
        let truth = try folder.lines("truth.csv")
        #expect(watch.first == "id,given_name,surname,dob,sex,postcode,nino")
        #expect(bulk.first == "id,given_name,surname,dob,sex,postcode,nino")
        #expect(truth.first == "watch_id,bulk_id")
        #expect(watch.count == 301 && bulk.count == 3_001 && truth.count == population.truePairs.count + 1)
        // No field needs quoting in practice, so a plain split is the CSV parse.
        for line in watch + bulk {
            #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == 7, "\(line)")
        }
        #expect(!String(decoding: try folder.read("bulk.csv"), as: UTF8.self).contains("\r"))
    }

    @Test func truthRefersToExistingRecordsOfTheSamePerson() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let population = try SyntheticPopulation(.init(watchCount: 1_000, bulkCount: 40_000, seed: 5))
        try population.write(toDirectory: folder.path, threads: 2)
        let watchIDs = Set(try folder.lines("watch.csv").dropFirst().map { String($0.prefix { $0 != "," }) })
        let bulkIDs = Set(try folder.lines("bulk.csv").dropFirst().map { String($0.prefix { $0 != "," }) })
        let truth = try folder.lines("truth.csv").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(Set(truth.map { $0.joined(separator: ",") }).count == truth.count, "no pair twice")
        for pair in truth {
            #expect(pair.count == 2 && watchIDs.contains(pair[0]) && bulkIDs.contains(pair[1]), "\(pair)")
        }

        // Every bulk record of a watch-list person is a true pair, and no other.
        let bulk = population.allBulkRecords()
        let watchNumbers = Set(population.watchPeople.map(\.number))
        var expected: [SyntheticPopulation.TruePair] = []
        for (position, record) in bulk.enumerated() where watchNumbers.contains(record.person.number) {
            expected.append(.init(watch: record.person.number, bulk: position))
        }
        expected.sort { ($0.watch, $0.bulk) < ($1.watch, $1.bulk) }
        #expect(population.truePairs == expected)
        for pair in population.truePairs {
            #expect(population.watchPeople[pair.watch] == bulk[pair.bulk].person)
        }
    }

    @Test func aSmallBulkFileStillHasConsistentTruth() throws {
        let population = try SyntheticPopulation(.init(watchCount: 100, bulkCount: 10, seed: 9))
        let bulk = population.allBulkRecords()
        #expect(bulk.count == 10)
        #expect(population.truePairs.count <= 10)
        for pair in population.truePairs {
            #expect(bulk[pair.bulk].person == population.watchPeople[pair.watch])
        }
        let empty = try SyntheticPopulation(.init(watchCount: 0, bulkCount: 0, seed: 9))
        #expect(empty.allBulkRecords().isEmpty && empty.allWatchRecords().isEmpty && empty.truePairs.isEmpty)
    }

    @Test func negativeCountsAreRefused() {
        #expect(throws: ProtocolError.self) {
            _ = try SyntheticPopulation(.init(watchCount: -1, bulkCount: 10, seed: 1))
        }
    }

    @Test func fieldsWithCommasOrQuotesAreQuoted() {
        var record = Sample.bulk[0]
        record.givenName = "Mary, \"Molly\""
        var bytes: [UInt8] = []
        record.appendCSVLine(to: &bytes)
        #expect(
            String(decoding: bytes, as: UTF8.self).hasPrefix("\(record.id),\"Mary, \"\"Molly\"\"\",\(record.surname),"))
    }
}

struct SyntheticPopulationShapeTests {
    @Test func mostWatchListPeopleAreInBulk() {
        let matched = Set(Sample.population.truePairs.map(\.watch)).count
        let share = Double(matched) / Double(Sample.population.configuration.watchCount)
        #expect(abs(share - 0.88) < 0.015, "\(share)")
    }

    @Test func bulkHasDuplicatedPeople() {
        var counts: [Int: Int] = [:]
        for record in Sample.bulk { counts[record.person.number, default: 0] += 1 }
        let duplicated = counts.values.filter { $0 > 1 }.count
        let share = Double(duplicated) / Double(counts.count)
        #expect(abs(share - 0.08) < 0.015, "\(share)")
        #expect(counts.values.contains(3))
        #expect(!counts.values.contains { $0 > 3 })
    }

    @Test func namesakesOfWatchListPeopleAreInBulk() {
        let watchNumbers = Set(Sample.population.watchPeople.map(\.number))
        var byName: [String: [SyntheticPerson]] = [:]
        for person in Sample.population.watchPeople {
            byName[person.givenName + "|" + person.surname, default: []].append(person)
        }
        var namesakes = Set<Int>()
        var sameDate = 0
        for record in Sample.bulk where !watchNumbers.contains(record.person.number) {
            let person = record.person
            guard let matches = byName[person.givenName + "|" + person.surname], !namesakes.contains(person.number)
            else { continue }
            namesakes.insert(person.number)
            #expect(matches.allSatisfy { $0.nino != person.nino })
            if matches.contains(where: { $0.dateOfBirth == person.dateOfBirth }) { sameDate += 1 }
        }
        // 10% of 20,000 planned (10% of them born the same day), plus chance namesakes among ordinary bulk people.
        #expect(namesakes.count >= 1_800)
        #expect(sameDate >= 150)
    }

    @Test func twinsShareSurnameBirthAndAddress() {
        var groups: [String: Set<String>] = [:]
        var numbers: [String: Set<Int>] = [:]
        for record in Sample.bulk {
            let person = record.person
            let key = "\(person.surname)|\(person.dateOfBirth.iso)|\(person.postcode)"
            groups[key, default: []].insert(person.givenName)
            numbers[key, default: []].insert(person.number)
        }
        let twins = groups.filter { $0.value.count > 1 && (numbers[$0.key]?.count ?? 0) > 1 }
        #expect(twins.count > 100, "\(twins.count)")
    }

    @Test func ninosAreUniquePerPersonAndValid() {
        var byNumber: [Int: String] = [:]
        for record in Sample.bulk + Sample.watch { byNumber[record.person.number] = record.person.nino }
        #expect(Set(byNumber.values).count == byNumber.count)
        let normaliser = Normaliser(kind: .nino)
        for nino in byNumber.values.prefix(5_000) {
            #expect(normaliser.normalise(nino) == .value(String(nino.prefix(8))), "\(nino)")
        }
        // The allocator is a permutation: a run of numbers never repeats.
        let allocator = NationalInsuranceNumbers(seed: 1)
        let run = (0..<50_000).map { allocator.number(of: $0).prefix(8) }
        #expect(Set(run).count == run.count)
        #expect(NationalInsuranceNumbers.prefixes.count == 373)
    }

    @Test func commonNamesAreCommonAndRareNamesRare() {
        var surnames: [String: Int] = [:]
        for person in Sample.population.watchPeople { surnames[person.surname, default: 0] += 1 }
        let ranked = surnames.sorted { $0.value > $1.value }
        #expect(ranked.prefix(3).contains { $0.key == "Smith" })
        let smithShare = Double(surnames["Smith"] ?? 0) / 20_000
        #expect(smithShare > 0.008 && smithShare < 0.016, "\(smithShare)")
        let topTen = Double(ranked.prefix(10).map(\.value).reduce(0, +)) / 20_000
        #expect(topTen < 0.12, "\(topTen)")
        #expect(surnames.count > 500)
        let origins = Dictionary(grouping: Sample.population.watchPeople, by: \.origin).mapValues(\.count)
        for origin in NameOrigin.allCases {
            let share = Double(origins[origin] ?? 0) / 20_000
            #expect(abs(share - Double(origin.share) / 1_000) < 0.01, "\(origin) \(share)")
        }
        let sexes = Dictionary(grouping: Sample.population.watchPeople, by: \.sex).mapValues(\.count)
        #expect((sexes[.other] ?? 0) > 40 && (sexes[.other] ?? 0) < 200)
        let years = Sample.population.watchPeople.map(\.dateOfBirth.year)
        #expect(years.min() == 1930 && years.max() == 2008)
    }
}

struct NameListTests {
    static let allLists: [NameList] =
        NameFrequencies.maleGivenNames + NameFrequencies.femaleGivenNames + NameFrequencies.surnames

    @Test func listsAreLongEnoughAndHaveNoRepeats() {
        let male = Set(NameFrequencies.maleGivenNames.flatMap(\.names))
        let female = Set(NameFrequencies.femaleGivenNames.flatMap(\.names))
        let surnames = Set(NameFrequencies.surnames.flatMap(\.names))
        #expect(male.count >= 200 && female.count >= 200 && surnames.count >= 500)
        for list in Self.allLists {
            #expect(Set(list.names).count == list.names.count, "\(list.names.first ?? "")")
        }
        #expect(NameFrequencies.maleGivenNames.count == NameOrigin.allCases.count)
        #expect(NameFrequencies.femaleGivenNames.count == NameOrigin.allCases.count)
        #expect(NameFrequencies.surnames.count == NameOrigin.allCases.count)
    }

    @Test func namesKeepAccentsApostrophesHyphensAndSpaces() {
        let names = Self.allLists.flatMap(\.names)
        for expected in ["Zoë", "Siobhán", "José", "O'Brien", "Fitzgerald-Smythe", "van der Berg", "Wiśniewski"] {
            #expect(names.contains(expected), "\(expected)")
        }
    }

    @Test func everyNameNormalisesToAValue() {
        let normaliser = Normaliser(kind: .name)
        for name in Self.allLists.flatMap(\.names) + ShortForms.table.values.flatMap({ $0 }) {
            guard case .value = normaliser.normalise(name) else {
                Issue.record("\(name) does not normalise to a value")
                continue
            }
        }
    }

    @Test func shortFormsBelongToListedGivenNames() {
        let given = Set((NameFrequencies.maleGivenNames + NameFrequencies.femaleGivenNames).flatMap(\.names))
        #expect(ShortForms.table.count >= 60)
        for (name, forms) in ShortForms.table {
            #expect(given.contains(name), "\(name)")
            #expect(!forms.isEmpty && !forms.contains(name), "\(name)")
        }
    }

    @Test func slavicSurnamesTakeTheWomansForm() {
        #expect(SyntheticPerson.feminine(of: "Kowalski") == "Kowalska")
        #expect(SyntheticPerson.feminine(of: "Kamiński") == "Kamińska")
        #expect(SyntheticPerson.feminine(of: "Ivanov") == "Ivanova")
        #expect(SyntheticPerson.feminine(of: "Novák") == "Nováková")
        #expect(SyntheticPerson.feminine(of: "Nowak") == "Nowak")
        let women = Sample.population.watchPeople.filter { $0.sex == .female && $0.origin == .easternEuropean }
        #expect(women.count > 100)
        #expect(!women.contains { $0.surname.hasSuffix("ski") || $0.surname.hasSuffix("cki") })
    }

    @Test func districtsHaveAValidOutwardShape() {
        let normaliser = Normaliser(kind: .postcode)
        #expect(Set(PostcodeDistricts.districts).count == PostcodeDistricts.districts.count)
        for district in PostcodeDistricts.districts {
            #expect(normaliser.normalise("\(district) 9ZZ") == .value("\(district) 9ZZ"), "\(district)")
        }
    }
}

struct NoiseTests {
    /// The tolerance for a count of `eligible` draws at `rate`: five standard deviations and a little.
    static func isWithinTolerance(applied: Int, eligible: Int, rate: Double) -> Bool {
        let expected = Double(eligible) * rate
        let deviation = (Double(eligible) * rate * (1 - rate)).squareRoot()
        return abs(Double(applied) - expected) <= 5 * deviation + 2
    }

    @Test(arguments: NoiseKind.allCases)
    func ratesMatchTheModel(kind: NoiseKind) {
        for (records, model, file) in [
            (Sample.watch, ErrorModel.watchList, "watch"), (Sample.bulk, ErrorModel.bulk, "bulk"),
        ] {
            let eligible = records.filter { $0.eligible.contains(kind) }.count
            let applied = records.filter { $0.noise.contains(kind) }.count
            #expect(records.allSatisfy { !$0.noise.contains(kind) || $0.eligible.contains(kind) })
            #expect(eligible >= 50, "\(kind) in \(file): only \(eligible) eligible records")
            #expect(
                Self.isWithinTolerance(applied: applied, eligible: eligible, rate: model[kind]),
                "\(kind) in \(file): \(applied) of \(eligible), rate \(model[kind])")
        }
    }

    @Test func dateLayoutsMatchTheModel() {
        for (records, model) in [(Sample.watch, ErrorModel.watchList), (Sample.bulk, ErrorModel.bulk)] {
            let dates = records.map(\.dateOfBirth).filter { !$0.isEmpty }
            let iso = dates.filter { $0.count == 10 && $0.dropFirst(4).first == "-" }.count
            let dash = dates.filter { $0.count == 10 && $0.dropFirst(2).first == "-" }.count
            let slash = dates.filter { $0.contains("/") }.count
            // An unpadded date with a two-digit day and month (about 18% of dates) looks padded.
            let unpadded = dates.filter { $0.contains("/") && $0.count < 10 }.count
            #expect(Self.isWithinTolerance(applied: iso, eligible: dates.count, rate: model.share(of: .iso)))
            #expect(Self.isWithinTolerance(applied: dash, eligible: dates.count, rate: model.share(of: .dayFirstDash)))
            let slashShare = model.share(of: .dayFirstSlash) + model.share(of: .dayFirstSlashUnpadded)
            #expect(Self.isWithinTolerance(applied: slash, eligible: dates.count, rate: slashShare))
            let unpaddedShare = Double(unpadded) / Double(dates.count) / model.share(of: .dayFirstSlashUnpadded)
            #expect(unpaddedShare > 0.75 && unpaddedShare < 0.9, "\(unpaddedShare)")
        }
    }

    @Test func noiseIsVisibleInTheValues() {
        let names = Normaliser(kind: .name)
        let dates = Normaliser(kind: .date, dateOrder: .dayFirst)
        let postcodes = Normaliser(kind: .postcode)
        let sexes = Normaliser(kind: .sex)
        for record in Sample.watch + Sample.bulk {
            let person = record.person
            let noise = record.noise
            #expect(noise.contains(.ninoMissing) == record.nino.isEmpty)
            #expect(noise.contains(.postcodeMissing) == record.postcode.isEmpty)
            #expect(noise.contains(.dateOfBirthMissing) == record.dateOfBirth.isEmpty)
            #expect(noise.contains(.sexMissing) == (sexes.normalise(record.sex) == .missing))
            if noise.contains(.postcodeNoSpace) { #expect(!record.postcode.contains(" ")) }
            if noise.contains(.ninoSpaced) { #expect(record.nino.contains(" ")) }
            if noise.contains(.upperCase) { #expect(record.surname == record.surname.uppercased()) }
            if noise.contains(.title) {
                let given = record.givenName.trimmingCharacters(in: .whitespaces).uppercased()
                #expect(["MR", "MRS", "MS", "MISS", "DR", "MX"].contains { given.hasPrefix($0) }, "\(given)")
            }
            if !noise.contains(.postcodeMissing) {
                let moved = postcodes.normalise(record.postcode) != .value(person.postcode)
                #expect(moved == noise.contains(.moved), "\(record.postcode) \(person.postcode)")
            }
            if !noise.contains(.dateOfBirthMissing) {
                let changed = dates.normalise(record.dateOfBirth) != .value(person.dateOfBirth.iso)
                #expect(changed == (noise.contains(.dayMonthSwapped) || noise.contains(.dateOfBirthTypo)))
            }
            let nameNoise: NoiseKinds = [
                .init(.shortForm), .init(.initialOnly), .init(.marriedName), .init(.oneSurnameOnly),
                .init(.namePunctuation), .init(.middleName), .init(.givenNameTypo), .init(.surnameTypo),
                .init(.namesSwapped),
            ]
            if noise.isDisjoint(with: nameNoise) {
                #expect(names.normalise(record.givenName) == names.normalise(person.givenName))
                #expect(names.normalise(record.surname) == names.normalise(person.surname))
            }
            if noise.contains(.givenNameTypo) && noise.isDisjoint(with: [.init(.namesSwapped), .init(.title)]) {
                #expect(names.normalise(record.givenName) != names.normalise(person.givenName))
            }
        }
    }

    @Test func everyValueIsValidUnderTheExampleSchema() {
        let normalisers: [Normaliser] = [
            Normaliser(kind: .name), Normaliser(kind: .name), Normaliser(kind: .date, dateOrder: .dayFirst),
            Normaliser(kind: .sex), Normaliser(kind: .postcode), Normaliser(kind: .nino),
        ]
        for record in Sample.watch + Sample.bulk {
            for (normaliser, value) in zip(normalisers, record.fields.dropFirst()) {
                #expect(normaliser.normalise(value) != .invalid, "\(normaliser.kind): \(value)")
            }
        }
    }

    @Test func typosChangeNamesByOneEditAndDatesToOtherRealDates() {
        var random = SyntheticRandom(seed: 1, stream: "typo test")
        for name in ["Smith", "Li", "O'Brien", "Zoë", "Wiśniewski", "ANNA", "van der Berg"] {
            for _ in 0..<300 {
                let typo = Typos.introduce(into: name, random: &random)
                #expect(typo != name)
                #expect(editDistance(Array(typo.unicodeScalars), Array(name.unicodeScalars)) <= 2, "\(typo)")
                #expect(Typos.letterCount(in: typo) >= 2)
            }
        }
        for _ in 0..<2_000 {
            let date = SyntheticDate(
                year: 1930 + random.below(79), month: 1 + random.below(12), day: 1 + random.below(28))
            let typo = Typos.introduce(into: date, random: &random)
            #expect(typo.isValid && typo != date && (1900...2024).contains(typo.year), "\(typo)")
        }
    }

    @Test func aCleanModelChangesNothing() throws {
        var configuration = SyntheticPopulation.Configuration(watchCount: 500, bulkCount: 500, seed: 11)
        configuration.watchErrors = .clean
        configuration.bulkErrors = .clean
        let population = try SyntheticPopulation(configuration)
        for record in population.allWatchRecords() + population.allBulkRecords() {
            #expect(record.noise.isEmpty)
            #expect(record.givenName == record.person.givenName && record.surname == record.person.surname)
            #expect(record.dateOfBirth == record.person.dateOfBirth.iso && record.nino == record.person.nino)
            #expect(record.postcode == record.person.postcode)
        }
    }

    /// Levenshtein distance, with adjacent transpositions counting as two edits.
    private func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

struct SyntheticProfileTests {
    @Test func defaultProfileIsTheOriginalConfiguration() {
        let configuration = SyntheticPopulation.Configuration(watchCount: 10, bulkCount: 20, seed: 3)
        #expect(SyntheticProfile.standard.configuration(watchCount: 10, bulkCount: 20, seed: 3) == configuration)
        #expect(SyntheticProfile(rawValue: "default") == .standard)
    }

    @Test func harshProfileCorruptsBothSidesAtItsRates() throws {
        let population = try SyntheticPopulation(
            SyntheticProfile.harsh.configuration(watchCount: 6_000, bulkCount: 12_000, seed: 5))
        for (records, model) in [
            (population.allWatchRecords(), ErrorModel.harshWatchList),
            (population.allBulkRecords(), ErrorModel.harshBulk),
        ] {
            for kind in [NoiseKind.moved, .postcodeMissing, .surnameTypo, .dateOfBirthOffByDay, .ninoMissing] {
                let eligible = records.filter { $0.eligible.contains(kind) }.count
                let applied = records.filter { $0.noise.contains(kind) }.count
                #expect(
                    NoiseTests.isWithinTolerance(applied: applied, eligible: eligible, rate: model[kind]),
                    "\(kind): \(applied) of \(eligible)")
            }
            #expect(model[.moved] == 0.20)
        }
        #expect(ErrorModel.harshWatchList[.ninoMissing] == 0.45)
        #expect(ErrorModel.harshBulk[.ninoTypo] > ErrorModel.bulk[.ninoTypo])
    }

    @Test(arguments: [
        (SyntheticDate(year: 1980, month: 3, day: 1), SyntheticDate(year: 1980, month: 2, day: 29)),
        (SyntheticDate(year: 1981, month: 1, day: 1), SyntheticDate(year: 1980, month: 12, day: 31)),
        (SyntheticDate(year: 1981, month: 3, day: 1), SyntheticDate(year: 1981, month: 2, day: 28)),
    ])
    func dayBeforeAndAfterCrossMonthsAndYears(date: SyntheticDate, before: SyntheticDate) {
        #expect(date.dayBefore == before)
        #expect(before.dayAfter == date)
        #expect(date.dayBefore.isValid)
    }
}
