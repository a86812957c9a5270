import BlindmatchProtocol

/// Realistic synthetic ground truth for record linkage: a watch list, a bulk dataset, and the true pairs between
/// them, deterministic by seed (docs/synthetic-data.md).
///
/// Planning (``init(_:)``) makes every watch-list person and decides, once and in memory, which bulk positions hold
/// records of watch-list people, of their namesakes and of their twins. The bulk file is then made in independent
/// chunks of ``chunkSize`` records, each from its own generator seeded by the seed and the chunk's index, so any
/// number of threads makes the same bytes and memory stays flat: ordinary bulk people (with their duplicates and
/// twins) are made inside their chunk and forgotten.
///
/// The data is made up; its names come from frequency lists and its rates from judgement (``ErrorModel``). Use it to
/// compare matchers and settings, not as evidence about any real dataset.
public struct SyntheticPopulation: Sendable {
    /// What to make.
    public struct Configuration: Sendable, Equatable {
        /// People on the watch list (one record each).
        public var watchCount: Int
        /// Records in the bulk file.
        public var bulkCount: Int
        public var seed: UInt64
        public var watchErrors = ErrorModel.watchList
        public var bulkErrors = ErrorModel.bulk
        /// Share of watch-list people who have records in the bulk data; the others have none.
        public var watchInBulk = 0.88
        /// Share of bulk people with more than one bulk record (each record with its own noise).
        public var duplicated = 0.08
        /// Of the duplicated, the share with three records rather than two.
        public var tripled = 0.25
        /// Share of watch-list people with a namesake in bulk: someone else with the same given name and surname.
        public var namesakes = 0.10
        /// Of namesakes, the share born on the very same date as the watch-list person.
        public var namesakeSameDate = 0.10
        /// Of the other namesakes, the share born in the same year (on another day).
        public var namesakeSameYear = 0.35
        /// Share of watch-list people with a twin in bulk (same surname, date of birth and address).
        public var watchTwins = 0.02
        /// Share of other bulk people with a twin in bulk.
        public var bulkTwins = 0.01

        public init(watchCount: Int, bulkCount: Int, seed: UInt64) {
            self.watchCount = watchCount
            self.bulkCount = bulkCount
            self.seed = seed
        }

        /// The population's shape in a sentence or two, for help texts.
        public var populationSummary: String {
            let percent = ErrorModel.percent
            return "\(percent(watchInBulk)) of watch-list people have records in bulk (every one of them a true pair); "
                + "\(percent(duplicated)) of bulk people have 2 or 3 records (\(percent(tripled)) of those 3); "
                + "\(percent(namesakes)) of watch-list people have a namesake in bulk, another person with the same names "
                + "(\(percent(namesakeSameDate)) born on the same day, \(percent(namesakeSameYear)) of the others in the same year), "
                + "\(percent(watchTwins)) a twin in bulk (same surname, date of birth and postcode, another given name); "
                + "\(percent(bulkTwins)) of other bulk people have a twin."
        }
    }

    /// A true pair: the watch-list record at `watch` and the bulk record at `bulk` (0-based positions) are one
    /// person.
    public struct TruePair: Sendable, Hashable {
        public let watch: Int
        public let bulk: Int
    }

    /// Records per independently generated chunk: fixed, so that output does not depend on the machine.
    public static let chunkSize = 32_768

    public let configuration: Configuration
    /// The watch list's people, in file order.
    public let watchPeople: [SyntheticPerson]
    /// Every true pair, by watch-list position and then bulk position.
    public let truePairs: [TruePair]
    /// Namesakes and twins of watch-list people, placed in bulk.
    private let extraPeople: [SyntheticPerson]
    /// Bulk positions planned in advance, ascending, and who is there: a watch-list index, or `-1 - i` for
    /// `extraPeople[i]`.
    private let plannedPositions: [Int]
    private let plannedSources: [Int32]
    /// The first person number of ordinary bulk people.
    private let ordinaryBase: Int
    private let factory: PersonFactory
    private let watchMaker: RecordMaker
    private let bulkMaker: RecordMaker

    /// Plans the population: makes the watch list's people and places their bulk records, namesakes and twins.
    ///
    /// - Throws: `ProtocolError(.invalidArgument)` for negative counts or more people than there are distinct
    ///   National Insurance numbers.
    public init(_ configuration: Configuration) throws {
        let watchCount = configuration.watchCount
        let bulkCount = configuration.bulkCount
        guard watchCount >= 0, bulkCount >= 0 else {
            throw ProtocolError(.invalidArgument, "synthetic data: the record counts must not be negative")
        }
        // Person numbers: watch list, then at most two extra people each, then at most one per bulk slot.
        guard watchCount <= NationalInsuranceNumbers.capacity / 4,
            3 * watchCount + bulkCount + Self.chunkSize <= NationalInsuranceNumbers.capacity
        else {
            throw ProtocolError(
                .invalidArgument,
                "synthetic data: too many people for distinct National Insurance numbers (at most about \(NationalInsuranceNumbers.capacity) in all)"
            )
        }
        self.configuration = configuration
        let factory = PersonFactory(seed: configuration.seed)
        self.factory = factory
        watchMaker = RecordMaker(model: configuration.watchErrors)
        bulkMaker = RecordMaker(model: configuration.bulkErrors)

        var random = SyntheticRandom(seed: configuration.seed, stream: "plan")
        var people: [SyntheticPerson] = []
        people.reserveCapacity(watchCount)
        for number in 0..<watchCount { people.append(factory.makePerson(number: number, random: &random)) }
        watchPeople = people

        // One source per planned bulk record, while the bulk file has room.
        let inBulk = Probability(configuration.watchInBulk)
        let namesake = Probability(configuration.namesakes)
        let sameYear = Probability(configuration.namesakeSameYear)
        let sameDate = Probability(configuration.namesakeSameDate)
        let twin = Probability(configuration.watchTwins)
        var sources: [Int32] = []
        var extras: [SyntheticPerson] = []
        func place(_ source: Int32, copies: Int) -> Bool {
            guard sources.count + copies <= bulkCount else { return false }
            sources.append(contentsOf: repeatElement(source, count: copies))
            return true
        }
        for (index, person) in people.enumerated() {
            let isInBulk = random.happens(inBulk)
            let copies = Self.drawCopies(configuration, &random)
            if isInBulk { _ = place(Int32(index), copies: copies) }
            if random.happens(namesake) {
                let other = factory.makeNamesake(
                    of: person, number: watchCount + extras.count, sameYear: sameYear, sameDate: sameDate,
                    random: &random)
                if place(-1 - Int32(extras.count), copies: Self.drawCopies(configuration, &random)) {
                    extras.append(other)
                }
            }
            if random.happens(twin) {
                let other = factory.makeTwin(of: person, number: watchCount + extras.count, random: &random)
                if place(-1 - Int32(extras.count), copies: Self.drawCopies(configuration, &random)) {
                    extras.append(other)
                }
            }
        }
        extraPeople = extras
        ordinaryBase = watchCount + extras.count

        // Where they go: a uniform random subset of the bulk positions (selection sampling, already in order), and a
        // random order of the sources over it, so that a person's records are scattered through the file.
        var positions: [Int] = []
        positions.reserveCapacity(sources.count)
        var needed = sources.count
        var position = 0
        while needed > 0 {
            if random.below(bulkCount - position) < needed {
                positions.append(position)
                needed -= 1
            }
            position += 1
        }
        Self.shuffle(&sources, &random)
        plannedPositions = positions
        plannedSources = sources

        var pairs: [TruePair] = []
        for (position, source) in zip(positions, sources) where source >= 0 {
            pairs.append(TruePair(watch: Int(source), bulk: position))
        }
        pairs.sort { ($0.watch, $0.bulk) < ($1.watch, $1.bulk) }
        truePairs = pairs
    }

    // MARK: Records

    /// Chunks in the watch list.
    public var watchChunkCount: Int { (configuration.watchCount + Self.chunkSize - 1) / Self.chunkSize }

    /// Chunks in the bulk file.
    public var bulkChunkCount: Int { (configuration.bulkCount + Self.chunkSize - 1) / Self.chunkSize }

    /// The record id of the watch-list record at `position`: `W000001` onwards.
    public func watchID(_ position: Int) -> String {
        Self.id(prefix: "W", number: position + 1, width: max(6, String(configuration.watchCount).count))
    }

    /// The record id of the bulk record at `position`: `B00000001` onwards.
    public func bulkID(_ position: Int) -> String {
        Self.id(prefix: "B", number: position + 1, width: max(8, String(configuration.bulkCount).count))
    }

    /// The watch-list records of chunk `chunk` (positions `chunk × chunkSize` onwards).
    public func watchRecords(inChunk chunk: Int) -> [SyntheticRecord] {
        let start = chunk * Self.chunkSize
        let end = min(configuration.watchCount, start + Self.chunkSize)
        var random = SyntheticRandom(seed: configuration.seed, stream: "watch \(chunk)")
        return (start..<end).map { watchMaker.makeRecord(id: watchID($0), of: watchPeople[$0], random: &random) }
    }

    /// The bulk records of chunk `chunk` (positions `chunk × chunkSize` onwards).
    public func bulkRecords(inChunk chunk: Int) -> [SyntheticRecord] {
        let start = chunk * Self.chunkSize
        let end = min(configuration.bulkCount, start + Self.chunkSize)
        guard start < end else { return [] }
        var random = SyntheticRandom(seed: configuration.seed, stream: "bulk \(chunk)")
        var planned = Self.firstIndex(in: plannedPositions, notBelow: start)
        let plannedEnd = Self.firstIndex(in: plannedPositions, notBelow: end)

        // Ordinary people fill the other slots, with their duplicates and twins, in random order.
        let slots = (end - start) - (plannedEnd - planned)
        var ordinary: [SyntheticPerson] = []
        ordinary.reserveCapacity(slots)
        var number = ordinaryBase + chunk * Self.chunkSize
        let twin = Probability(configuration.bulkTwins)
        while ordinary.count < slots {
            let person = factory.makePerson(number: number, random: &random)
            number += 1
            ordinary.append(contentsOf: repeatElement(person, count: Self.drawCopies(configuration, &random)))
            if ordinary.count < slots && random.happens(twin) {
                let other = factory.makeTwin(of: person, number: number, random: &random)
                number += 1
                ordinary.append(contentsOf: repeatElement(other, count: Self.drawCopies(configuration, &random)))
            }
        }
        ordinary.removeLast(ordinary.count - slots)
        Self.shuffle(&ordinary, &random)

        var records: [SyntheticRecord] = []
        records.reserveCapacity(end - start)
        var next = 0
        for position in start..<end {
            let person: SyntheticPerson
            if planned < plannedEnd && plannedPositions[planned] == position {
                let source = Int(plannedSources[planned])
                person = source >= 0 ? watchPeople[source] : extraPeople[-1 - source]
                planned += 1
            } else {
                person = ordinary[next]
                next += 1
            }
            records.append(bulkMaker.makeRecord(id: bulkID(position), of: person, random: &random))
        }
        return records
    }

    /// Every watch-list record (for tests and small populations: the whole list in memory).
    public func allWatchRecords() -> [SyntheticRecord] {
        (0..<watchChunkCount).flatMap { watchRecords(inChunk: $0) }
    }

    /// Every bulk record (for tests and small populations: the whole file in memory).
    public func allBulkRecords() -> [SyntheticRecord] {
        (0..<bulkChunkCount).flatMap { bulkRecords(inChunk: $0) }
    }

    // MARK: Helpers

    /// How many bulk records one bulk person has: 1, or 2 or 3 for the duplicated.
    private static func drawCopies(_ configuration: Configuration, _ random: inout SyntheticRandom) -> Int {
        guard random.happens(Probability(configuration.duplicated)) else { return 1 }
        return random.happens(Probability(configuration.tripled)) ? 3 : 2
    }

    /// Fisher–Yates, with our generator (the standard library's `shuffle` may change its algorithm).
    private static func shuffle<T>(_ values: inout [T], _ random: inout SyntheticRandom) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, random.below(index + 1))
        }
    }

    /// The index of the first element of ascending `values` that is at least `bound`.
    private static func firstIndex(in values: [Int], notBelow bound: Int) -> Int {
        var low = 0
        var high = values.count
        while low < high {
            let middle = (low + high) / 2
            if values[middle] < bound { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func id(prefix: String, number: Int, width: Int) -> String {
        let digits = String(number)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
