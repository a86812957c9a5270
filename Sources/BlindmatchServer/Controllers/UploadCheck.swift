import BlindmatchProtocol

/// The checks on a token file's arrival, in the order of the contract; the first failure is a 422 with its
/// `tokenFile…` code and the SPEC rule.
enum UploadCheck {
    static func check(path: String, project: ProjectRecord, party: PartyRecord, layout: UploadLayout?) throws
        -> TokenFile
    {
        func refuse(_ code: APIError.Code, _ rule: String, _ message: String) -> APIError {
            APIError(.unprocessableContent, code, message, rule: rule)
        }
        let file: TokenFile
        do {
            file = try TokenFile(contentsOf: path)
        } catch {
            throw refuse(.tokenFileStructure, "SPEC §6.1-6.3 structure", "the body is not a well-formed token file")
        }
        let checks = file.verify(schema: nil, publicKey: party.publicKey, allowUnsigned: false)
        func failed(_ kind: VerificationCheck.Kind) -> VerificationCheck? {
            checks.first { $0.kind == kind && !$0.passed }
        }
        if let check = failed(.digest) {
            throw refuse(
                .tokenFileDigest, check.rule, "the content's SHA-256 does not match the trailer: the file was altered")
        }
        guard let signer = file.trailer.publicKey else {
            throw refuse(
                .tokenFileUnsigned, "SPEC §6.5 signature", "the file is not signed; unsigned files are refused")
        }
        if !file.trailer.isSignatureValid {
            throw refuse(.tokenFileSignature, "SPEC §6.5 signature", "the signature does not verify")
        }
        if signer != party.publicKey {
            throw refuse(
                .tokenFileSigner, "SPEC §6.5 signer",
                "the file is signed by key \(signer.fingerprint.prefix(8))…, not by the key registered for \(party.name) (\(party.publicKey.fingerprint.prefix(8))…)"
            )
        }
        let header = file.header
        if header.schemaFingerprint != project.schemaFingerprint {
            throw refuse(
                .tokenFileSchema, "SPEC §2.1 schema fingerprint",
                "the file was made with schema \(header.schemaFingerprint.prefix(8))…, not the project's (\(project.schemaFingerprint.prefix(8))…)"
            )
        }
        if header.keyID != project.keyId {
            throw refuse(
                .tokenFileKeyId, "SPEC §1.3 key id",
                "the file's key id \(header.keyID.prefix(8))… is not the project's (\(project.keyId.prefix(8))…): made with another secret"
            )
        }
        if header.party != party.name {
            throw refuse(
                .tokenFileParty, "SPEC §6.3 party",
                "the file's party is not \(party.name) (tokenise --party \(party.name))")
        }
        let arriving = UploadLayout(
            filterBits: header.filterBits, matchKeys: header.matchKeys, blockingKeys: header.blockingKeys)
        if let layout, layout != arriving {
            throw refuse(
                .tokenFileIncompatible, "SPEC §6.7 compatibility",
                "filter length, match keys or blocking keys differ from the project's layout (its schema's)")
        }
        if let check = failed(.headerHoldsNoData) {
            throw refuse(
                .tokenFileHeaderData, check.rule, "the header's free-form members do not have the tool's shape")
        }
        if let check = failed(.padding) {
            throw refuse(.tokenFilePadding, check.rule, "padding holds non-zero bytes")
        }
        if let check = failed(.presence) {
            throw refuse(.tokenFilePresence, check.rule, "presence bits and token columns disagree")
        }
        if let check = checks.first(where: { !$0.passed }) {
            throw refuse(.tokenFilePlaintext, check.rule, "a column does not look like keyed tokens or Bloom filters")
        }
        // A tiny upload is a probe of the other side's data (Protocol/service.md, "Consent to run").
        let minimum = project.runPolicy.minimumRecords(for: party.role)
        if header.recordCount < minimum {
            throw refuse(
                .tokenFileTooFewRecords, "runPolicy.minimumRecords",
                "the file has \(header.recordCount) records; this project accepts \(party.role.rawValue) uploads of at least \(minimum)"
            )
        }
        return file
    }
}
