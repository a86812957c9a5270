extension ServiceAPI {
    /// `Role`: a bearer token's role.
    enum Role: String, Codable, Sendable, CaseIterable {
        case `operator`
        case auditor
        case party
    }

    /// `TokenRequest`, the body of `POST /tokens`:
    ///
    /// ```yaml
    /// required: [role]
    /// properties: {role, name, project, party, expiresAt}
    /// oneOf:
    ///   - role: party, required: [project, party], not name
    ///   - role: auditor | operator, required: [name], not project, not party
    /// ```
    ///
    /// Absent members are left out of the JSON (never sent as null).
    struct TokenRequest: Encodable, Sendable {
        let role: Role
        let name: String?
        let project: String?
        let party: String?
        let expiresAt: String?
    }

    /// `TokenInfo`: a token's metadata, never its secret or its hash.
    ///
    /// ```yaml
    /// required: [id, role, name, project, party, issuedAt, expiresAt, revokedAt]
    /// ```
    struct TokenInfo: Decodable, Sendable {
        let id: String
        let role: Role
        let name: String
        let project: String?
        let party: String?
        let issuedAt: String
        let expiresAt: String?
        let revokedAt: String?
    }

    /// `IssuedToken`, the answer to `POST /tokens`: the only time the secret is shown.
    ///
    /// ```yaml
    /// required: [token, info]
    /// properties:
    ///   token: {type: string, pattern: '^bm_[A-Za-z0-9_-]{43}$'}
    ///   info: TokenInfo
    /// ```
    struct IssuedToken: Decodable, Sendable {
        let token: BearerToken
        let info: TokenInfo
    }
}
