extension ServiceAPI {
    /// `PartyRole`: `watchlist` is side A of the engine (the list being looked for), `bulk` side B.
    enum PartyRole: String, Codable, Sendable, CaseIterable {
        case watchlist
        case bulk
    }

    /// `ResultField`, in the contract's order (results are served in this order, whatever a grant's order).
    enum ResultField: String, Codable, Sendable, CaseIterable {
        case row
        case counterpartRow
        case rule
        case score
        case status
    }

    /// A result's status: `match`, or `possible` (in the review band).
    enum ResultStatus: String, Codable, Sendable, CaseIterable {
        case match
        case possible
    }

    /// `PublicKeyInput`: an Ed25519 public key as the PEM of SPEC §6.5 (the client always sends the PEM), with its
    /// fingerprint so that the server checks the key is the one meant.
    ///
    /// ```yaml
    /// properties: {pem: {minLength: 60, maxLength: 400}, hex: {pattern: '^[0-9a-f]{64}$'}, fingerprint: Sha256Hex}
    /// oneOf: [required: [pem], required: [hex]]
    /// ```
    struct PublicKeyInput: Encodable, Sendable {
        let pem: String
        let fingerprint: String
    }

    /// `PublicKey`, as the server stores and serves it.
    ///
    /// ```yaml
    /// required: [algorithm, pem, hex, fingerprint]
    /// ```
    struct PublicKey: Decodable, Sendable {
        let algorithm: String
        let pem: String
        let hex: String
        let fingerprint: String
    }

    /// `PartyRequest`: one of the project's two parties.
    struct PartyRequest: Encodable, Sendable {
        let name: String
        let role: PartyRole
        let publicKey: PublicKeyInput
    }

    /// `Party`: a registered party.
    ///
    /// ```yaml
    /// required: [name, role, publicKey, registeredAt]
    /// ```
    struct Party: Decodable, Sendable {
        let name: String
        let role: PartyRole
        let publicKey: PublicKey
        let registeredAt: String
    }

    /// `MatchingSettings` as sent (absent members take the server's defaults: no review band, `many-to-one`,
    /// veto `[nino]` when the files have it, blocking) and `MatchingSettingsResolved` as served (every member).
    ///
    /// ```yaml
    /// required: [threshold]
    /// properties:
    ///   threshold: Threshold                # decimal text, at most 6 decimals, above 0 and at most 1
    ///   reviewFrom: Threshold | null        # below the threshold; null for no band
    ///   solver: [many-to-one, one-to-one, all]
    ///   vetoKeys: {type: array, items: match-key names}
    ///   blocking: {type: boolean, default: true}
    /// ```
    struct MatchingSettings: Codable, Sendable {
        let threshold: String
        let reviewFrom: String?
        let solver: String?
        let vetoKeys: [String]?
        let blocking: Bool?
    }

    /// `DisclosureGrant`: which fields of its own side of the pairs a party role reads, for which statuses.
    ///
    /// ```yaml
    /// required: [role, fields, statuses]
    /// properties:
    ///   role: PartyRole
    ///   fields: {minItems: 1, maxItems: 5, uniqueItems: true, contains: {const: row}}
    ///   statuses: {minItems: 1, maxItems: 2, uniqueItems: true}   # `possible` needs a review band
    /// ```
    struct DisclosureGrant: Codable, Sendable {
        let role: PartyRole
        let fields: [ResultField]
        let statuses: [ResultStatus]
    }

    /// `DisclosurePolicy` (`Protocol/service.md`, "Disclosure policy"). A role without a grant reads nothing.
    ///
    /// ```yaml
    /// required: [grants]
    /// properties:
    ///   scoreDecimals: {type: integer, minimum: 1, maximum: 3, default: 2}
    ///   grants: {type: array, maxItems: 2}    # at most one per role
    /// ```
    struct DisclosurePolicy: Codable, Sendable {
        let scoreDecimals: Int?
        let grants: [DisclosureGrant]
    }

    /// `ProjectRequest`, the body of `POST /projects`.
    ///
    /// ```yaml
    /// required: [name, purpose, legalBasis, schemaFingerprint, keyId, parties, matching, disclosure]
    /// ```
    struct ProjectRequest: Encodable, Sendable {
        let name: String
        let purpose: String
        let legalBasis: String
        let schemaFingerprint: String
        let keyId: String
        /// Exactly one `watchlist` and one `bulk` party, with different names and different keys.
        let parties: [PartyRequest]
        let matching: MatchingSettings
        let disclosure: DisclosurePolicy
    }

    /// `Project`: a project's configuration, immutable once created except for key rotation and closing.
    ///
    /// ```yaml
    /// required: [id, name, purpose, legalBasis, schemaFingerprint, keyId, parties, matching, disclosure, status,
    ///   createdAt, closedAt, closeReason]
    /// ```
    struct Project: Decodable, Sendable {
        let id: String
        let name: String
        let purpose: String
        let legalBasis: String
        let schemaFingerprint: String
        let keyId: String
        let parties: [Party]
        let matching: MatchingSettings
        let disclosure: DisclosurePolicy
        /// `open` or `closed`.
        let status: String
        let createdAt: String
        let closedAt: String?
        let closeReason: String?
    }

    /// `CloseRequest`, the body of `POST /projects/{projectId}/close`.
    ///
    /// ```yaml
    /// required: [reason]
    /// properties: {reason: {type: string, maxLength: 200}}   # goes into the audit log: no personal data
    /// ```
    struct CloseRequest: Encodable, Sendable {
        let reason: String
    }
}
