/// SPEC §6.3: the token file's header, a canonical JSON object with exactly these members.
public struct TokenFileHeader: Sendable, Equatable {
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
        .object([
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
            ("version", .number(String(TokenFileLayout.formatVersion))),
        ])
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
        guard names == Self.memberNames else {
            let unknown = names.subtracting(Self.memberNames).sorted()
            let missing = Self.memberNames.subtracting(names).sorted()
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
        guard try string("format") == Self.formatName, try integer("version") == Int(TokenFileLayout.formatVersion),
            try string("protocol") == Self.protocolName
        else {
            throw ProtocolError(.invalidTokenFile, "\(source): SPEC §6.3: not a version 1 Blindmatch token file")
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
    }

    /// The layout this header implies.
    public func layout(headerLength: Int) -> TokenFileLayout {
        TokenFileLayout(
            recordCount: recordCount, matchKeyCount: tokenKeys.count, tokenBytes: tokenBytes,
            filterBytes: filterBits / 8, headerLength: headerLength)
    }
}

extension EncodingStatistics {
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
