extension ServiceAPI {
    /// `Upload`: an accepted token file's metadata (the file itself is never served, SPEC §1.4 item 2).
    ///
    /// ```yaml
    /// required: [id, project, party, sha256, bytes, records, signer, schemaFingerprint, keyId, filterBits,
    ///   matchKeys, fileCreatedAt, receivedAt, current]
    /// ```
    struct Upload: Decodable, Sendable {
        let id: String
        let project: String
        let party: String
        /// SHA-256 of the whole file.
        let sha256: String
        let bytes: Int
        let records: Int
        /// Fingerprint of the key that signed it.
        let signer: String
        let schemaFingerprint: String
        let keyId: String
        let filterBits: Int
        let matchKeys: [String]
        let fileCreatedAt: String
        let receivedAt: String
        /// Whether this is the party's latest accepted upload (a run's default).
        let current: Bool
    }
}
