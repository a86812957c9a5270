import BlindmatchProtocol

/// Plausible UK-style records for benchmarks and the demo, deterministic by seed. A stand-in for `synth`
/// (issue 3): simple error model, no ground truth beyond shared ids.
struct ExampleRecords {
    static let givenNames = [
        "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad", "Thomas", "Oscar", "William",
        "James", "Robert", "David", "Michael", "John", "Daniel", "Samuel", "Joseph", "Alexander", "Olivia", "Amelia",
        "Isla", "Ava", "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily", "Sophie", "Grace", "Chloe", "Jessica",
        "Zoë", "Siobhán", "Aoife", "Priya", "Fatima", "Anna", "Margaret", "Susan", "Sarah", "Elizabeth", "Mary",
    ]
    static let surnames = [
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson", "Roberts",
        "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris",
        "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore",
        "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson",
        "O'Brien", "Khan", "Ali", "Kowalski", "MacDonald", "Fitzgerald-Smythe",
    ]
    static let areas = ["SW1A", "M1", "B33", "EH1", "CF10", "LS1", "G2", "BS1", "NE1", "L1", "CR2", "W1A", "E14", "N1"]
    static let letters = Array("ABDEFGHJLNPQRSTUWXYZ")

    private var generator: SeededGenerator

    init(seed: Int) { generator = SeededGenerator(seed: Array("example records \(seed)".utf8)) }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(generator.next() % UInt64(values.count))] }
    private mutating func number(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(generator.next() % UInt64(range.count))
    }

    /// One person's fields: id, given_name, surname, dob, sex, postcode, nino.
    mutating func person(id: String) -> [String] {
        let given = pick(Self.givenNames)
        let year = number(1930...2005)
        let month = number(1...12)
        let day = number(1...28)
        let dob =
            number(0...1) == 0
            ? "\(year)-\(String(format2: month))-\(String(format2: day))"
            : "\(String(format2: day))/\(String(format2: month))/\(year)"
        let sex = ["M", "F", "m", "female", ""][number(0...4)]
        let postcode = "\(pick(Self.areas)) \(number(1...9))\(pick(Self.letters))\(pick(Self.letters))"
        let nino =
            number(0...9) < 8
            ? "\(pick(Array("ABCEGHJKLMNOPRSTWXYZ")))\(pick(Array("ABCEGHJKLMNPRSTWXYZ"))) \(String(format2: number(0...99))) \(String(format2: number(0...99))) \(String(format2: number(0...99))) \(pick(Array("ABCD")))"
            : ""
        return [id, given, pick(Self.surnames), dob, sex, postcode, nino]
    }

    /// A CSV line for `fields` (quoting where needed).
    static func csvLine(_ fields: [String]) -> String {
        var bytes: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            CSVText.appendField(Array(field.utf8), to: &bytes)
        }
        bytes.append(UInt8(ascii: "\n"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static let header = "id,given_name,surname,dob,sex,postcode,nino\n"

    /// Writes `count` records to a CSV file.
    static func writeCSV(path: String, count: Int, seed: Int, idPrefix: String = "R") throws {
        var records = ExampleRecords(seed: seed)
        let file = try AtomicFile(destination: path, mode: 0o600)
        try file.write(header)
        var chunk = ""
        for index in 0..<count {
            chunk += csvLine(records.person(id: "\(idPrefix)\(index)"))
            if chunk.utf8.count > 1 << 16 {
                try file.write(chunk)
                chunk = ""
            }
        }
        try file.write(chunk)
        try file.commit()
    }
}
