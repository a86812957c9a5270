import BlindmatchMatching
import BlindmatchProtocol

extension ProjectRequest {
    /// A `ProjectRequest` body, checked member by member.
    init(_ body: JSONValue) throws {
        let reader = try ObjectReader(body)
        try reader.only([
            "name", "purpose", "legalBasis", "schemaFingerprint", "keyId", "parties", "matching", "disclosure",
        ])
        func text(_ key: String, _ maximum: Int) throws -> String {
            guard
                let value = try reader.string(
                    key, required: true, must: "text of 1 to \(maximum) characters without control characters",
                    { Patterns.isText($0, maximum: maximum) })
            else { throw APIError.malformed("\(key) is required") }
            return value
        }
        name = try text("name", 100)
        purpose = try text("purpose", 2000)
        legalBasis = try text("legalBasis", 2000)
        schemaFingerprint =
            try reader.string(
                "schemaFingerprint", required: true, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) }
            )
            ?? ""
        keyId =
            try reader.string(
                "keyId", required: true, must: "32 lower-case hex digits", { Patterns.isHex($0, count: 32) }) ?? ""

        guard let partyItems = try reader.array("parties") else { throw APIError.malformed("parties is required") }
        guard partyItems.count == 2 else { throw APIError.malformed("parties must have exactly two items") }
        parties = try partyItems.enumerated().map { index, item in
            let party = try ObjectReader(item, path: "parties[\(index)]")
            try party.only(["name", "role", "publicKey"])
            let name = try party.string("name", required: true, must: "a party name", Patterns.isName) ?? ""
            let role = try party.enumValue("role", must: "watchlist or bulk", PartyRole.self)
            guard let key = try party.object("publicKey") else {
                throw APIError.malformed("parties[\(index)].publicKey is required")
            }
            return Party(name: name, role: role, key: try Self.publicKey(key))
        }
        guard Set(parties.map(\.role)) == Set(PartyRole.allCases) else {
            throw APIError.invalid("parties must be one watchlist and one bulk party")
        }
        guard parties[0].name != parties[1].name else { throw APIError.invalid("the two parties need different names") }
        guard parties[0].key != parties[1].key else { throw APIError.invalid("the two parties need different keys") }

        guard let matching = try reader.object("matching") else { throw APIError.malformed("matching is required") }
        try matching.only(["threshold", "reviewFrom", "solver", "vetoKeys", "blocking"])
        let threshold =
            try matching.string(
                "threshold", required: true, must: "a Dice score as text, e.g. \"0.85\"", Self.isThreshold) ?? ""
        let reviewFrom: String?
        if case .null = matching.value("reviewFrom") {
            reviewFrom = nil
        } else {
            reviewFrom = try matching.string(
                "reviewFrom", required: false, must: "a Dice score as text, or null", Self.isThreshold)
        }
        let solverName = try matching.string(
            "solver", required: false, must: "many-to-one, one-to-one or all", { Solver(rawValue: $0) != nil })
        let veto = try matching.stringArray("vetoKeys", maxCount: 32, must: "a match-key name", Patterns.isKeyName)
        let blocking = try matching.bool("blocking") ?? true
        guard let thresholdValue = try? DiceThreshold(threshold) else {
            throw APIError.invalid("matching.threshold must be above 0")
        }
        if let reviewFrom {
            guard let value = try? DiceThreshold(reviewFrom) else {
                throw APIError.invalid("matching.reviewFrom must be above 0")
            }
            guard value < thresholdValue else {
                throw APIError.invalid("matching.reviewFrom must be below matching.threshold")
            }
        }
        self.matching = NamedMatchSettings(
            threshold: threshold, reviewFrom: reviewFrom,
            solver: solverName.flatMap(Solver.init(rawValue:)) ?? .manyToOne,
            vetoKeys: veto ?? ["nino"], vetoKeysDefaulted: veto == nil, blocking: blocking)

        guard let disclosure = try reader.object("disclosure") else {
            throw APIError.malformed("disclosure is required")
        }
        try disclosure.only(["scoreDecimals", "grants"])
        let decimals = try disclosure.integer("scoreDecimals", in: 1...3) ?? 2
        guard let grantItems = try disclosure.array("grants") else {
            throw APIError.malformed("disclosure.grants is required")
        }
        guard grantItems.count <= 2 else { throw APIError.malformed("disclosure.grants has more than 2 items") }
        var grants: [DisclosurePolicy.Grant] = []
        for (index, item) in grantItems.enumerated() {
            let grant = try ObjectReader(item, path: "disclosure.grants[\(index)]")
            try grant.only(["role", "fields", "statuses"])
            let role = try grant.enumValue("role", must: "watchlist or bulk", PartyRole.self)
            guard
                let fields = try grant.stringArray(
                    "fields", maxCount: 5, must: "a result field", { ResultField(rawValue: $0) != nil }),
                !fields.isEmpty
            else { throw APIError.malformed("disclosure.grants[\(index)].fields is required") }
            guard fields.contains(ResultField.row.rawValue) else {
                throw APIError.malformed("disclosure.grants[\(index)].fields must include row")
            }
            guard
                let statuses = try grant.stringArray(
                    "statuses", maxCount: 2, must: "match or possible", { ResultStatus(rawValue: $0) != nil }),
                !statuses.isEmpty
            else { throw APIError.malformed("disclosure.grants[\(index)].statuses is required") }
            guard !grants.contains(where: { $0.role == role }) else {
                throw APIError.malformed("disclosure.grants has two grants for \(role.rawValue)")
            }
            if statuses.contains(ResultStatus.possible.rawValue) && reviewFrom == nil {
                throw APIError.invalid("disclosure.grants[\(index)]: possible needs matching.reviewFrom")
            }
            grants.append(
                DisclosurePolicy.Grant(
                    role: role, fields: ResultField.allCases.filter { fields.contains($0.rawValue) },
                    statuses: ResultStatus.allCases.filter { statuses.contains($0.rawValue) }))
        }
        self.disclosure = DisclosurePolicy(scoreDecimals: decimals, grants: grants)
    }

    /// A `PublicKeyInput`: exactly one of `pem` and `hex`, and `fingerprint` when given must be the key's.
    static func publicKey(_ input: ObjectReader) throws -> PublicSigningKey {
        try input.only(["pem", "hex", "fingerprint"])
        let pem = try input.string(
            "pem", required: false, must: "a PEM public key of 60 to 400 characters", { (60...400).contains($0.count) })
        let hex = try input.string(
            "hex", required: false, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) })
        let fingerprint = try input.string(
            "fingerprint", required: false, must: "64 lower-case hex digits", { Patterns.isHex($0, count: 64) })
        let key: PublicSigningKey
        switch (pem, hex) {
        case (let pem?, nil):
            guard let parsed = PublicSigningKey(pem: pem) else {
                throw APIError(
                    .unprocessableContent, .invalidPublicKey,
                    "\(input.fieldName("pem")) is not a PEM Ed25519 public key")
            }
            key = parsed
        case (nil, let hex?):
            key = PublicSigningKey(rawBytes: Hex.decode(hex) ?? [])
            guard PublicSigningKey(pem: key.pem()) != nil else {
                throw APIError(
                    .unprocessableContent, .invalidPublicKey, "\(input.fieldName("hex")) is not an Ed25519 public key")
            }
        default:
            throw APIError.malformed("\(input.path.isEmpty ? "the key" : input.path) needs exactly one of pem and hex")
        }
        if let fingerprint, fingerprint != key.fingerprint {
            throw APIError(
                .unprocessableContent, .invalidPublicKey,
                "\(input.fieldName("fingerprint")) is not the fingerprint of the key given")
        }
        return key
    }

    static func isThreshold(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, ["0", "1"].contains(parts[0]) else { return false }
        guard parts.count == 2 else { return true }
        let decimals = parts[1]
        guard (1...6).contains(decimals.count), decimals.allSatisfy(\.isASCIIDigitCharacter) else { return false }
        return parts[0] == "0" || decimals.allSatisfy { $0 == "0" }
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}
