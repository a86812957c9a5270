import BlindmatchContract
import BlindmatchMatching
import BlindmatchProtocol

extension ProjectRequest {
    /// A `ProjectRequest` body, decoded as the contract's generated type: the patterns, lengths and counts the
    /// generator does not check (400 `malformedRequest`), then the rules between members (422 `invalidRequest`).
    init(_ body: Components.Schemas.ProjectRequest) throws {
        name = try Rule.text(body.name, "name", maximum: 100)
        purpose = try Rule.text(body.purpose, "purpose", maximum: 2000)
        legalBasis = try Rule.text(body.legalBasis, "legalBasis", maximum: 2000)
        schemaFingerprint = try Rule.check(
            body.schemaFingerprint, "schemaFingerprint", must: "64 lower-case hex digits"
        ) {
            Patterns.isHex($0, count: 64)
        }
        keyId = try Rule.check(body.keyId, "keyId", must: "32 lower-case hex digits") { Patterns.isHex($0, count: 32) }
        guard (0...65536).contains(body.layout.filterBits) else {
            throw APIError.malformed("layout.filterBits must be an integer from 0 to 65536")
        }
        let matchKeys = try Rule.names(
            body.layout.matchKeys, "layout.matchKeys", maxCount: 32, must: "a key name", Patterns.isKeyName)
        let blockingKeys = try Rule.names(
            body.layout.blockingKeys, "layout.blockingKeys", maxCount: 32, must: "a key name", Patterns.isKeyName)
        guard Set(matchKeys).isDisjoint(with: blockingKeys) else {
            throw APIError.invalid("layout: match-key and blocking-key names are unique together (SPEC §2.3 rule 5)")
        }
        layout = UploadLayout(filterBits: body.layout.filterBits, matchKeys: matchKeys, blockingKeys: blockingKeys)

        guard body.parties.count == 2 else { throw APIError.malformed("parties must have exactly two items") }
        parties = try body.parties.enumerated().map { index, party in
            let name = try Rule.check(party.name, "parties[\(index)].name", must: "a party name", Patterns.isName)
            return Party(
                name: name, role: party.role,
                key: try Self.publicKey(party.publicKey, at: "parties[\(index)].publicKey"))
        }
        guard Set(parties.map(\.role)) == Set(PartyRole.allCases) else {
            throw APIError.invalid("parties must be one watchlist and one bulk party")
        }
        guard parties[0].name != parties[1].name else { throw APIError.invalid("the two parties need different names") }
        guard parties[0].key != parties[1].key else { throw APIError.invalid("the two parties need different keys") }

        let matching = body.matching
        // Omitted: the decision model chooses (`auto`), as `blindmatch match` does without --threshold.
        let threshold = try Rule.check(
            matching.threshold ?? NamedMatchSettings.automatic, "matching.threshold",
            must: "auto or a Dice score as text, e.g. \"0.85\""
        ) { $0 == NamedMatchSettings.automatic || Self.isThreshold($0) }
        let reviewFrom = try matching.reviewFrom.map {
            try Rule.check($0, "matching.reviewFrom", must: "a Dice score as text, or null", Self.isThreshold)
        }
        let veto = try matching.vetoKeys.map {
            try Rule.names($0, "matching.vetoKeys", maxCount: 32, must: "a match-key name", Patterns.isKeyName)
        }
        if let reviewFrom {
            guard let value = try? DiceThreshold(reviewFrom) else {
                throw APIError.invalid("matching.reviewFrom must be above 0")
            }
            guard threshold != NamedMatchSettings.automatic else {
                throw APIError.invalid(
                    "matching.reviewFrom needs a Dice score as matching.threshold: with auto (the default) the decision model decides and has no review band"
                )
            }
            guard let thresholdValue = try? DiceThreshold(threshold) else {
                throw APIError.invalid("matching.threshold must be above 0")
            }
            guard value < thresholdValue else {
                throw APIError.invalid("matching.reviewFrom must be below matching.threshold")
            }
        } else if threshold != NamedMatchSettings.automatic, (try? DiceThreshold(threshold)) == nil {
            throw APIError.invalid("matching.threshold must be above 0")
        }
        self.matching = NamedMatchSettings(
            threshold: threshold, reviewFrom: reviewFrom,
            solver: matching.solver.flatMap { Solver(rawValue: $0.rawValue) } ?? .manyToOne,
            vetoKeys: veto ?? ["nino"], vetoKeysDefaulted: veto == nil, blocking: matching.blocking ?? true)

        let decimals = body.disclosure.scoreDecimals ?? 2
        guard (1...3).contains(decimals) else {
            throw APIError.malformed("disclosure.scoreDecimals must be an integer from 1 to 3")
        }
        guard body.disclosure.grants.count <= 2 else {
            throw APIError.malformed("disclosure.grants has more than 2 items")
        }
        var grants: [DisclosurePolicy.Grant] = []
        for (index, grant) in body.disclosure.grants.enumerated() {
            let path = "disclosure.grants[\(index)]"
            let fields = try Rule.distinct(grant.fields, "\(path).fields", count: 1...5)
            guard fields.contains(.row) else { throw APIError.malformed("\(path).fields must include row") }
            let statuses = try Rule.distinct(grant.statuses, "\(path).statuses", count: 1...2)
            guard !grants.contains(where: { $0.role == grant.role }) else {
                throw APIError.malformed("disclosure.grants has two grants for \(grant.role.rawValue)")
            }
            if statuses.contains(.possible) && reviewFrom == nil {
                throw APIError.invalid("\(path): possible needs matching.reviewFrom")
            }
            grants.append(
                DisclosurePolicy.Grant(
                    role: grant.role, fields: ResultField.allCases.filter(fields.contains),
                    statuses: ResultStatus.allCases.filter(statuses.contains)))
        }
        self.disclosure = DisclosurePolicy(scoreDecimals: decimals, grants: grants)
        runPolicy = try RunPolicy(request: body.runPolicy)
    }

    /// A `PublicKeyInput`: the PEM or the hex of an Ed25519 key, and `fingerprint`, when given, must be the key's.
    static func publicKey(_ input: Components.Schemas.PublicKeyInput, at path: String) throws -> PublicSigningKey {
        let key: PublicSigningKey
        let fingerprint: String?
        switch input {
        case .PemPublicKeyInput(let pem):
            _ = try Rule.check(pem.pem, "\(path).pem", must: "a PEM public key of 60 to 400 characters") {
                (60...400).contains($0.count)
            }
            guard let parsed = PublicSigningKey(pem: pem.pem) else {
                throw APIError(.unprocessableContent, .invalidPublicKey, "\(path).pem is not a PEM Ed25519 public key")
            }
            key = parsed
            fingerprint = pem.fingerprint
        case .HexPublicKeyInput(let hex):
            _ = try Rule.check(hex.hex, "\(path).hex", must: "64 lower-case hex digits") {
                Patterns.isHex($0, count: 64)
            }
            key = PublicSigningKey(rawBytes: Hex.decode(hex.hex) ?? [])
            guard PublicSigningKey(pem: key.pem()) != nil else {
                throw APIError(.unprocessableContent, .invalidPublicKey, "\(path).hex is not an Ed25519 public key")
            }
            fingerprint = hex.fingerprint
        }
        if let fingerprint {
            _ = try Rule.check(fingerprint, "\(path).fingerprint", must: "64 lower-case hex digits") {
                Patterns.isHex($0, count: 64)
            }
            guard fingerprint == key.fingerprint else {
                throw APIError(
                    .unprocessableContent, .invalidPublicKey,
                    "\(path).fingerprint is not the fingerprint of the key given")
            }
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
