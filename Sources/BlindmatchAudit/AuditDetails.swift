import BlindmatchProtocol

/// The `details` of an audit entry (SPEC §10.2): up to 16 members, each named by 1–64 ASCII letters and digits
/// starting with a lower-case letter, whose values are short strings or integers.
///
/// The shape is an allow-list that keeps the log from becoming a copy of the data: no arrays, no nested objects, no
/// long strings. It cannot tell what a short string means, so never put a record value, a token, a bearer token, a
/// secret or a person's name in details: log identifiers the matcher assigned (a run id, a token's public id), key
/// fingerprints, digests, counts and the rule that failed. A fraction (a threshold) is written as a string.
public struct AuditDetails: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// A member's value: a string of at most 200 Unicode scalar values under the text rule, or an integer
    /// between −(2⁵³ − 1) and 2⁵³ − 1 (exact in every JSON reader).
    public enum Value: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case integer(Int)

        public init(stringLiteral value: String) { self = .string(value) }

        public init(integerLiteral value: Int) { self = .integer(value) }

        /// The string, if the value is one.
        public var stringValue: String? {
            if case .string(let text) = self { return text }
            return nil
        }

        /// The integer, if the value is one.
        public var integerValue: Int? {
            if case .integer(let number) = self { return number }
            return nil
        }
    }

    /// One member.
    public struct Member: Sendable, Hashable {
        /// The member's name, e.g. `run`.
        public let name: String
        /// Its value.
        public let value: Value
    }

    /// The most members details may have.
    public static let maximumMembers = 16
    /// The longest member name, in ASCII characters.
    public static let maximumNameLength = 64
    /// The longest string value, in Unicode scalar values.
    public static let maximumStringLength = 200
    /// The largest magnitude of an integer value: 2⁵³ − 1.
    public static let maximumInteger = 9_007_199_254_740_991

    /// The members, sorted by name as canonical JSON writes them.
    public let members: [Member]

    /// Details with these members (checked when the entry is made: see ``problems``).
    public init(_ members: [(name: String, value: Value)]) {
        self.members = members.map { Member(name: $0.name, value: $0.value) }.sorted {
            $0.name.utf16.lexicographicallyPrecedes($1.name.utf16)
        }
    }

    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements.map { (name: $0.0, value: $0.1) })
    }

    /// The value of the member `name`, or nil.
    public subscript(name: String) -> Value? {
        members.first { $0.name == name }?.value
    }

    /// Every way these details break the shape of SPEC §10.2; empty when they have it. Names that break the rule
    /// are not repeated, since a log being verified is untrusted text.
    public var problems: [String] {
        var problems: [String] = []
        if members.count > Self.maximumMembers {
            problems.append("details has \(members.count) members, more than \(Self.maximumMembers)")
        }
        var seen: Set<String> = []
        for (position, member) in members.enumerated() {
            guard Self.isValidName(member.name) else {
                problems.append(
                    "details member \(position + 1) has a name that is not 1–\(Self.maximumNameLength) ASCII letters and digits starting with a lower-case letter"
                )
                continue
            }
            if !seen.insert(member.name).inserted { problems.append("details.\(member.name) appears twice") }
            switch member.value {
            case .string(let text):
                if !AuditText.isValid(text, length: 0...Self.maximumStringLength) {
                    problems.append(
                        "details.\(member.name) is longer than \(Self.maximumStringLength) characters or holds a control, invisible or direction-changing character"
                    )
                }
            case .integer(let number):
                if number.magnitude > Self.maximumInteger {
                    problems.append("details.\(member.name) is beyond ±(2⁵³ − 1)")
                }
            }
        }
        return problems
    }

    /// `^[a-z][A-Za-z0-9]{0,63}$`.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, (0x61...0x7A).contains(first), bytes.count <= maximumNameLength else {
            return false
        }
        return bytes.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
        }
    }

    /// The details as JSON.
    var jsonValue: JSONValue {
        .object(
            members.map { member in
                switch member.value {
                case .string(let text): return (key: member.name, value: .string(text))
                case .integer(let number): return (key: member.name, value: .number(String(number)))
                }
            })
    }

    /// Details read from an entry's `details` member, with every way it breaks SPEC §10.2.
    static func reading(_ json: JSONValue) -> (details: AuditDetails?, problems: [String]) {
        guard let object = json.objectValue else { return (nil, ["details is not a JSON object"]) }
        var members: [(name: String, value: Value)] = []
        var problems: [String] = []
        for (position, member) in object.enumerated() {
            let label = isValidName(member.key) ? "details.\(member.key)" : "details member \(position + 1)"
            switch member.value {
            case .string(let text): members.append((member.key, .string(text)))
            case .number(let text):
                // Integer literals only: canonical form (checked before) has already refused `1.0`, `1e2` and `-0`.
                guard let number = Int(text), text.allSatisfy({ $0 == "-" || $0.isASCII && $0.isNumber }) else {
                    problems.append("\(label) is a number that is not an integer within ±(2⁵³ − 1)")
                    continue
                }
                members.append((member.key, .integer(number)))
            default:
                problems.append("\(label) is not a string or an integer")
            }
        }
        let details = AuditDetails(members)
        problems += details.problems
        return (problems.isEmpty ? details : nil, problems)
    }
}
