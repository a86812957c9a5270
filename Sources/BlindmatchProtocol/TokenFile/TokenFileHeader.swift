/// SPEC §6.3: the token file's header, a canonical JSON object with exactly these members (version 2 adds
/// `extraFilters`).
public struct TokenFileHeader: Sendable, Equatable {
    /// SPEC §6.3 `extraFilters` (version 2): one extra filter's name, length, hardening and popcount range.
    public struct ExtraFilterEntry: Sendable, Equatable {
        public var name: String
        public var filterBits: Int
        public var hardening: JSONValue
        public var popcount: JSONValue

        public init(name: String, filterBits: Int, hardening: JSONValue, popcount: JSONValue) {
            self.name = name
            self.filterBits = filterBits
            self.hardening = hardening
            self.popcount = popcount
        }

        static let memberNames: Set<String> = ["filterBits", "hardening", "name", "popcount"]

        var jsonValue: JSONValue {
            .object([
                ("filterBits", .number(String(filterBits))), ("hardening", hardening), ("name", .string(name)),
                ("popcount", popcount),
            ])
        }
    }

    /// The most extra filters a schema or token file may hold (SPEC §2.2, §6.3).
    public static let maximumExtraFilters = 4
    public static let formatName = "blindmatch-token-file"
    public static let protocolName = "blindmatch/1"
    /// The largest header a reader accepts, in bytes (SPEC §6.1).
    public static let maximumLength = 1 << 20
    /// The most records a token file may hold (SPEC §6.3).
    public static let maximumRecordCount = 1 << 31
    /// The most match keys a token file may hold (SPEC §2.2, §6.3).
    public static let maximumMatchKeys = 32
    /// The longest Bloom filter a token file may hold, in bits (SPEC §6.3).
    public static let maximumFilterBits = 65536
    static let memberNames: Set<String> = [
        "blockingKeys", "createdAt", "filterBits", "format", "hardening", "keyID", "matchKeys", "party", "protocol",
        "recordCount",
        "schemaFingerprint", "schemaFlavour", "statistics", "tokenBytes", "tool", "version",
    ]

    public var schemaFlavour: LinkageSchema.Flavour
    public var schemaFingerprint: String
    public var keyID: String
    public var party: String
    public var recordCount: Int
    public var matchKeys: [String]
    /// Blocking keys (SPEC §4.5), whose token columns follow the match keys'.
    public var blockingKeys: [String]
    public var tokenBytes: Int
    public var filterBits: Int
    public var hardening: JSONValue
    public var statistics: JSONValue
    public var createdAt: String
    public var tool: String
    /// Extra filters (SPEC §5.6), whose regions follow the first filter's; empty in a version 1 file.
    public var extraFilters: [ExtraFilterEntry] = []

    /// The format version this header is written as: 1 without extra filters, 2 with them (SPEC §6.1, §8).
    public var formatVersion: UInt32 {
        extraFilters.isEmpty ? TokenFileLayout.formatVersion : TokenFileLayout.extraFiltersFormatVersion
    }

    public init(
        schemaFlavour: LinkageSchema.Flavour, schemaFingerprint: String, keyID: String, party: String,
        recordCount: Int, matchKeys: [String], blockingKeys: [String] = [], tokenBytes: Int, filterBits: Int,
        hardening: JSONValue,
        statistics: JSONValue, createdAt: String, tool: String
    ) {
        self.schemaFlavour = schemaFlavour
        self.schemaFingerprint = schemaFingerprint
        self.keyID = keyID
        self.party = party
        self.recordCount = recordCount
        self.matchKeys = matchKeys
        self.blockingKeys = blockingKeys
        self.tokenBytes = tokenBytes
        self.filterBits = filterBits
        self.hardening = hardening
        self.statistics = statistics
        self.createdAt = createdAt
        self.tool = tool
    }

    /// The names of every token column, in file order: match keys, then blocking keys.
    public var tokenKeys: [String] { matchKeys + blockingKeys }

    /// The header as a JSON value.
    public var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("createdAt", .string(createdAt)),
            ("filterBits", .number(String(filterBits))),
            ("format", .string(Self.formatName)),
            ("hardening", hardening),
            ("keyID", .string(keyID)),
            ("matchKeys", .array(matchKeys.map(JSONValue.string))),
            ("blockingKeys", .array(blockingKeys.map(JSONValue.string))),
            ("party", .string(party)),
            ("protocol", .string(Self.protocolName)),
            ("recordCount", .number(String(recordCount))),
            ("schemaFingerprint", .string(schemaFingerprint)),
            ("schemaFlavour", .string(schemaFlavour.rawValue)),
            ("statistics", statistics),
            ("tokenBytes", .number(String(tokenBytes))),
            ("tool", .string(tool)),
            ("version", .number(String(formatVersion))),
        ]
        if !extraFilters.isEmpty { members.append(("extraFilters", .array(extraFilters.map(\.jsonValue)))) }
        return .object(members)
    }

    /// Parses and checks a header (SPEC §6.3): canonical form, exactly the known members, right types.
    init(bytes: [UInt8], source: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes, source: "\(source) header")
        } catch let error as ProtocolError {
            throw ProtocolError(.invalidTokenFile, "SPEC §6.3: \(error.reason)")
        }
        guard value.canonicalBytes == bytes else {
            throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: the header is not in canonical JSON form")
        }
        guard let members = value.objectValue else {
            throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: the header is not a JSON object")
        }
        let names = Set(members.map(\.key))
        // Version 2 has exactly one member more, extraFilters (SPEC §6.3); version 1 must not have it.
        let version = value["version"]?.intValue
        let expected =
            version == Int(TokenFileLayout.extraFiltersFormatVersion)
            ? Self.memberNames.union(["extraFilters"]) : Self.memberNames
        guard names == expected else {
            let unknown = names.subtracting(expected).sorted()
            let missing = expected.subtracting(names).sorted()
            throw ProtocolError(
                .invalidTokenFile,
                "\(source): SPEC §6.3: header members differ (unknown: \(unknown), missing: \(missing))")
        }
        func string(_ key: String) throws -> String {
            guard let text = value[key]?.stringValue else {
                throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: header \(key) must be a string")
            }
            return text
        }
        func integer(_ key: String) throws -> Int {
            guard let number = value[key]?.intValue, number >= 0 else {
                throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: header \(key) must be a whole number")
            }
            return number
        }
        let versions = [TokenFileLayout.formatVersion, TokenFileLayout.extraFiltersFormatVersion].map { Int($0) }
        guard try string("format") == Self.formatName, versions.contains(try integer("version")),
            try string("protocol") == Self.protocolName
        else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: not a version 1 or 2 Blindmatch token file")
        }
        var extraFilters: [ExtraFilterEntry] = []
        if let entries = value["extraFilters"] {
            guard let list = entries.arrayValue, !list.isEmpty, list.count <= Self.maximumExtraFilters else {
                throw ProtocolError(
                    .invalidTokenFile,
                    "\(source): SPEC §6.3: extraFilters must list 1 to \(Self.maximumExtraFilters) filters")
            }
            for (index, entry) in list.enumerated() {
                guard let fields = entry.objectValue, Set(fields.map(\.key)) == ExtraFilterEntry.memberNames,
                    let name = entry["name"]?.stringValue, let bits = entry["filterBits"]?.intValue,
                    bits > 0, bits % 8 == 0, bits <= Self.maximumFilterBits
                else {
                    throw ProtocolError(
                        .invalidTokenFile,
                        "\(source): SPEC §6.3: extraFilters[\(index)] must have exactly filterBits (a positive multiple of 8 of at most \(Self.maximumFilterBits)), hardening, name and popcount"
                    )
                }
                // A name reaches terminals and logs (inspect, verify): an identifier, never arbitrary text.
                guard Self.isIdentifier(name) else {
                    throw ProtocolError(
                        .invalidTokenFile, "\(source): SPEC §6.3: extraFilters[\(index)].name is not an identifier")
                }
                guard !extraFilters.contains(where: { $0.name == name }) else {
                    throw ProtocolError(
                        .invalidTokenFile, "\(source): SPEC §6.3: extraFilters[\(index)].name is used twice")
                }
                extraFilters.append(
                    ExtraFilterEntry(
                        name: name, filterBits: bits, hardening: entry["hardening"] ?? .null,
                        popcount: entry["popcount"] ?? .null))
            }
        }
        guard let flavour = LinkageSchema.Flavour(rawValue: try string("schemaFlavour")) else {
            throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: unknown schemaFlavour")
        }
        guard let keys = value["matchKeys"]?.arrayValue, keys.allSatisfy({ $0.stringValue != nil }),
            let blocking = value["blockingKeys"]?.arrayValue, blocking.allSatisfy({ $0.stringValue != nil })
        else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: matchKeys and blockingKeys must be lists of names")
        }
        guard keys.count <= Self.maximumMatchKeys else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: more than \(Self.maximumMatchKeys) match keys")
        }
        let fingerprint = try string("schemaFingerprint")
        let keyID = try string("keyID")
        // Lower case only: SPEC §6.7 compares these strings as written.
        func isLowerHex(_ text: String, length: Int) -> Bool {
            text.utf8.count == length
                && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        guard isLowerHex(fingerprint, length: 64), isLowerHex(keyID, length: 32) else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: schemaFingerprint or keyID is not lower-case hex")
        }
        let tokenBytes = try integer("tokenBytes")
        let filterBits = try integer("filterBits")
        guard tokenBytes == EncodingContext.tokenBytes, filterBits % 8 == 0, filterBits <= Self.maximumFilterBits
        else {
            throw ProtocolError(
                .invalidTokenFile,
                "\(source): SPEC §6.3: tokenBytes must be 16, filterBits a multiple of 8 of at most \(Self.maximumFilterBits)"
            )
        }
        let recordCount = try integer("recordCount")
        guard recordCount <= Self.maximumRecordCount else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: recordCount is more than \(Self.maximumRecordCount)")
        }
        self.init(
            schemaFlavour: flavour, schemaFingerprint: fingerprint, keyID: keyID, party: try string("party"),
            recordCount: recordCount, matchKeys: keys.compactMap(\.stringValue),
            blockingKeys: blocking.compactMap(\.stringValue),
            tokenBytes: tokenBytes, filterBits: filterBits, hardening: value["hardening"] ?? .null,
            statistics: value["statistics"] ?? .null, createdAt: try string("createdAt"), tool: try string("tool"))
        self.extraFilters = extraFilters
        guard extraFilters.isEmpty || filterBits > 0 else {
            throw ProtocolError(
                .invalidTokenFile, "\(source): SPEC §6.3: extra filters need the first filter (filterBits > 0)")
        }
    }

    /// The layout this header implies.
    public func layout(headerLength: Int) -> TokenFileLayout {
        TokenFileLayout(
            recordCount: recordCount, matchKeyCount: tokenKeys.count, tokenBytes: tokenBytes,
            filterBytes: filterBits / 8, headerLength: headerLength,
            extraFilterBytes: extraFilters.map { $0.filterBits / 8 })
    }
}

extension EncodingStatistics {
    /// SPEC §6.3 `extraFilters[i].popcount`: extra filter `index`'s popcount range, as the first filter's.
    func extraPopcountValue(filter index: Int) -> JSONValue {
        let range = index < extraPopcounts.count ? extraPopcounts[index] : PopcountRange()
        let hasFilters = records > 0
        return .object([
            ("max", .number(String(hasFilters ? range.maximum : 0))),
            ("mean", .number(String(hasFilters ? (range.sum + records / 2) / records : 0))),
            ("min", .number(String(hasFilters ? range.minimum : 0))),
        ])
    }

    /// SPEC §6.3 `statistics`: counts per field and match key and popcount range, integers only.
    func headerValue(schema: LinkageSchema) -> JSONValue {
        var fields: [(key: String, value: JSONValue)] = []
        for (index, column) in schema.columns.enumerated() {
            if case .ignored = column.format { continue }
            if index == schema.recordKeyColumn && schema.flavour == .native { continue }
            let counts = self.columns[index]
            fields.append(
                (
                    column.name,
                    .object([
                        ("changed", .number(String(counts.changed))), ("invalid", .number(String(counts.invalid))),
                        ("missing", .number(String(counts.missing))), ("present", .number(String(counts.present))),
                    ])
                ))
        }
        let keys = zip(schema.tokenKeys, matchKeysPresent).map { (key: $0.name, value: JSONValue.number(String($1))) }
        // No filters (no records, or a schema without Bloom settings): all three are 0.
        let hasFilters = records > 0 && schema.bloom != nil
        let mean = hasFilters ? (popcountSum + records / 2) / records : 0
        return .object([
            ("fields", .object(fields)),
            ("matchKeysPresent", .object(keys)),
            (
                "popcount",
                .object([
                    ("max", .number(String(hasFilters ? popcountMax : 0))),
                    ("mean", .number(String(mean))),
                    ("min", .number(String(hasFilters ? popcountMin : 0))),
                ])
            ),
        ])
    }
}
