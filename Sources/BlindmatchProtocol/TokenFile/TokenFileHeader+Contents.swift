/// SPEC §6.6 "header holds no data": the header's free-form members have exactly the shape the tool writes, so they
/// cannot carry personal data beyond a few bits.
///
/// This checks shape, not truth: counts within range and a short party name can still hide a little. It is one of
/// the checks of ``TokenFile/verify(schema:publicKey:allowUnsigned:)``.
extension TokenFileHeader {
    /// The longest party name, in Unicode scalars (SPEC §6.3).
    public static let maximumPartyLength = 100

    /// Whether `name` is acceptable as `party` (SPEC §6.3): 1 to 100 Unicode scalars, none of them a control
    /// character (general category Cc).
    public static func isValidParty(_ name: String) -> Bool {
        isShortText(name, maximumLength: maximumPartyLength)
    }

    static func isShortText(_ text: String, maximumLength: Int) -> Bool {
        let scalars = text.unicodeScalars
        return !scalars.isEmpty && scalars.count <= maximumLength
            && !scalars.contains { $0.properties.generalCategory == .control }
    }

    /// Every way the header's members differ from what the tool writes (SPEC §6.3, §6.6); empty when none do.
    ///
    /// - Parameter schema: when given, `statistics.fields` must name exactly the schema's counted columns.
    public func contentProblems(schema: LinkageSchema? = nil) -> [String] {
        var problems: [String] = []
        if !Self.isValidParty(party) {
            problems.append("party is not 1 to \(Self.maximumPartyLength) characters of printable text")
        }
        if !Self.isShortText(tool, maximumLength: Self.maximumPartyLength) {
            problems.append("tool is not 1 to \(Self.maximumPartyLength) characters of printable text")
        }
        if !Self.isTimestamp(createdAt) { problems.append("createdAt is not YYYY-MM-DDTHH:MM:SSZ") }
        for name in tokenKeys where !Self.isIdentifier(name) {
            problems.append("matchKeys or blockingKeys holds a name that is not an identifier (SPEC §2.2)")
            break
        }
        problems += Self.hardeningProblems(hardening, filterBits: filterBits, path: "hardening")
        problems += statisticsProblems(schema: schema)
        for (index, filter) in extraFilters.enumerated() {
            let path = "extraFilters[\(index)]"
            if !Self.isIdentifier(filter.name) { problems.append("\(path).name is not an identifier (SPEC §2.2)") }
            problems += Self.hardeningProblems(
                filter.hardening, filterBits: filter.filterBits, path: "\(path).hardening")
            problems += popcountProblems(filter.popcount, filterBits: filter.filterBits, path: "\(path).popcount")
        }
        if let schema, schema.extraFilterLayout.map(\.name) != extraFilters.map(\.name) {
            problems.append("extraFilters does not name exactly the schema's extra filters")
        }
        return problems
    }

    /// `hardening`: null exactly when there are no filters; otherwise `balance` and `xorFolds`, and optionally
    /// `saltColumn`, `diffusionTaps` and `flipProbability`, with their types and ranges (SPEC §6.3, §2.2, §2.3).
    private static func hardeningProblems(_ hardening: JSONValue, filterBits: Int, path: String) -> [String] {
        guard case .object(let members) = hardening else {
            if hardening == .null && filterBits == 0 { return [] }
            return ["\(path) must be an object when the file has filters, and null otherwise"]
        }
        guard filterBits > 0 else { return ["\(path) must be null when the file has no filters"] }
        var problems: [String] = []
        let known: Set<String> = ["balance", "xorFolds", "saltColumn", "diffusionTaps", "flipProbability"]
        let unknown = members.map(\.key).filter { !known.contains($0) }
        if !unknown.isEmpty { problems.append("\(path) has unknown members \(unknown.sorted())") }
        if hardening["balance"]?.boolValue == nil { problems.append("\(path).balance must be true or false") }
        func integer(_ name: String, in range: ClosedRange<Int>, required: Bool) {
            guard let value = hardening[name] else {
                if required { problems.append("\(path).\(name) is missing") }
                return
            }
            guard let number = value.intValue, range.contains(number) else {
                problems.append("\(path).\(name) must be an integer in \(range.lowerBound)…\(range.upperBound)")
                return
            }
        }
        integer("xorFolds", in: 0...8, required: true)
        integer("saltColumn", in: 0...255, required: false)
        integer("diffusionTaps", in: 2...32, required: false)
        if let probability = hardening["flipProbability"],
            !(probability.doubleValue.map { $0 > 0 && $0 <= 0.25 } ?? false)
        {
            problems.append("\(path).flipProbability must be a number in (0, 0.25]")
        }
        return problems
    }

    /// `statistics`: exactly `fields`, `matchKeysPresent` and `popcount`, holding counts that fit the file.
    private func statisticsProblems(schema: LinkageSchema?) -> [String] {
        guard case .object(let members) = statistics,
            Set(members.map(\.key)) == ["fields", "matchKeysPresent", "popcount"]
        else { return ["statistics must have exactly the members fields, matchKeysPresent and popcount"] }
        var problems: [String] = []
        func count(_ value: JSONValue?, atMost limit: Int) -> Int? {
            guard case .number = value, let number = value?.intValue, (0...limit).contains(number) else { return nil }
            return number
        }

        if case .object(let fields) = statistics["fields"] {
            let counted = ["changed", "invalid", "missing", "present"]
            for field in fields {
                let path = "statistics.fields.\(field.key)"
                if !Self.isShortText(field.key, maximumLength: 256) {
                    problems.append("statistics.fields has a name that is not short printable text")
                }
                guard case .object(let entry) = field.value, entry.map(\.key).sorted() == counted,
                    let present = count(field.value["present"], atMost: recordCount),
                    let missing = count(field.value["missing"], atMost: recordCount),
                    let invalid = count(field.value["invalid"], atMost: recordCount),
                    count(field.value["changed"], atMost: present) != nil
                else {
                    problems.append("\(path) must hold exactly the integer counts \(counted), within recordCount")
                    continue
                }
                if present + missing + invalid != recordCount {
                    problems.append("\(path): present, missing and invalid do not add up to recordCount")
                }
            }
            if let schema {
                let expected = Set(
                    schema.columns.enumerated().compactMap { index, column -> String? in
                        if case .ignored = column.format { return nil }
                        if index == schema.recordKeyColumn && schema.flavour == .native { return nil }
                        return column.name
                    })
                if Set(fields.map(\.key)) != expected || fields.count != expected.count {
                    problems.append("statistics.fields does not name exactly the schema's counted columns")
                }
            }
        } else {
            problems.append("statistics.fields must be an object")
        }

        if case .object(let keys) = statistics["matchKeysPresent"] {
            if keys.map(\.key).sorted() != tokenKeys.sorted() || keys.count != tokenKeys.count {
                problems.append(
                    "statistics.matchKeysPresent does not name exactly the header's match and blocking keys")
            }
            if !keys.allSatisfy({ count($0.value, atMost: recordCount) != nil }) {
                problems.append("statistics.matchKeysPresent must hold integer counts within recordCount")
            }
        } else {
            problems.append("statistics.matchKeysPresent must be an object")
        }

        problems += popcountProblems(statistics["popcount"], filterBits: filterBits, path: "statistics.popcount")
        return problems
    }

    /// A popcount range: exactly the integers `min`, `mean`, `max`, ordered, within `filterBits`, all 0 without
    /// filters or records.
    private func popcountProblems(_ popcount: JSONValue?, filterBits: Int, path: String) -> [String] {
        func count(_ value: JSONValue?, atMost limit: Int) -> Int? {
            guard case .number = value, let number = value?.intValue, (0...limit).contains(number) else { return nil }
            return number
        }
        var problems: [String] = []
        if case .object(let entry) = popcount, entry.map(\.key).sorted() == ["max", "mean", "min"],
            let minimum = count(popcount?["min"], atMost: filterBits),
            let mean = count(popcount?["mean"], atMost: filterBits),
            let maximum = count(popcount?["max"], atMost: filterBits)
        {
            if !(minimum <= mean && mean <= maximum) {
                problems.append("\(path) must have min ≤ mean ≤ max")
            }
            if (filterBits == 0 || recordCount == 0) && maximum != 0 {
                problems.append("\(path) must be 0 when the file has no filters")
            }
        } else {
            problems.append("\(path) must hold exactly the integers max, mean and min, within filterBits")
        }
        return problems
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, digits where the pattern has them.
    static func isTimestamp(_ text: String) -> Bool {
        let pattern = Array("dddd-dd-ddTdd:dd:ddZ".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count == pattern.count else { return false }
        return zip(bytes, pattern).allSatisfy { byte, expected in
            expected == UInt8(ascii: "d") ? (0x30...0x39).contains(byte) : byte == expected
        }
    }

    /// A native identifier (SPEC §2.2): `^[A-Za-z][A-Za-z0-9_.-]{0,63}$`.
    static func isIdentifier(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 64 else { return false }
        func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        return isLetter(first)
            && bytes.dropFirst().allSatisfy {
                isLetter($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
                    || $0 == UInt8(ascii: "-")
            }
    }
}
