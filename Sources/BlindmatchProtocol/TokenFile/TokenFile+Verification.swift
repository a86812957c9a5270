/// The result of one verification rule (SPEC §6.6) on a token file.
public struct VerificationCheck: Sendable, Equatable {
    /// Which rule of SPEC §6.6 a check applies, for code that acts on a particular one (the rule text may carry a
    /// column's name).
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case structure, digest, signature, signer, schemaFingerprint, headerAgreesWithSchema, headerHoldsNoData
        case padding, presence, noPlaintext, tokenEntropy
    }

    public let kind: Kind
    /// The rule as `blindmatch verify` prints it (`SPEC §6.5 digest`).
    public let rule: String
    public let passed: Bool
    public let detail: String
}

extension TokenFile {
    /// SPEC §6.6: everything an auditor checks on a token file, each rule reported whether it passes or not.
    ///
    /// Structure was already checked when the file was opened. This adds the digest, the signature (against
    /// `publicKey` when given), the schema fingerprint (when `schema` is given), zero padding, presence bits
    /// consistent with token bytes, the shape of the header's free-form members, and statistical checks that no
    /// column holds text: keyed hashes and Bloom filters look like noise, a column of names or dates does not.
    ///
    /// - Parameter allowUnsigned: let an unsigned file pass the signature rule (only without `publicKey`). Leave it
    ///   false for any file that came from a party: an unsigned file proves nothing about who made it.
    public func verify(
        schema: LinkageSchema? = nil, publicKey: PublicSigningKey? = nil, allowUnsigned: Bool = false
    ) -> [VerificationCheck] {
        var checks: [VerificationCheck] = []
        let layout = self.layout
        checks.append(
            VerificationCheck(
                kind: .structure, rule: "SPEC §6.1-6.3 structure", passed: true,
                detail:
                    "\(header.recordCount) records, \(header.matchKeys.count) match keys, \(header.blockingKeys.count) blocking keys, \(header.filterBits)-bit filters"
                    + header.extraFilters.map { ", extra filter \($0.name) of \($0.filterBits) bits" }.joined()
            ))
        let digestOK = verifyDigest()
        checks.append(
            VerificationCheck(
                kind: .digest, rule: "SPEC §6.5 digest", passed: digestOK,
                detail: digestOK
                    ? "SHA-256 \(Hex.encode(trailer.digest))"
                    : "the SHA-256 of the content does not match the trailer: the file was altered"))

        if let key = trailer.publicKey {
            let valid = trailer.isSignatureValid
            checks.append(
                VerificationCheck(
                    kind: .signature, rule: "SPEC §6.5 signature", passed: valid,
                    detail: valid
                        ? "valid Ed25519 signature by key \(key.fingerprint)" : "the signature does not verify"))
            if let publicKey {
                let same = publicKey == key
                checks.append(
                    VerificationCheck(
                        kind: .signer, rule: "SPEC §6.5 signer", passed: same,
                        detail: same
                            ? "signed by the expected key"
                            : "signed by \(key.fingerprint), not by the expected key \(publicKey.fingerprint)"))
            }
        } else {
            let detail =
                switch (publicKey, allowUnsigned) {
                case (.some, _): "the file is not signed, but a signer was expected"
                case (nil, true): "the file is not signed (unsigned files allowed)"
                case (nil, false): "the file is not signed; unsigned files fail unless explicitly allowed"
                }
            checks.append(
                VerificationCheck(
                    kind: .signature, rule: "SPEC §6.5 signature", passed: publicKey == nil && allowUnsigned,
                    detail: detail))
        }

        if let schema {
            let same = schema.fingerprint == header.schemaFingerprint
            checks.append(
                VerificationCheck(
                    kind: .schemaFingerprint, rule: "SPEC §2.1 schema fingerprint", passed: same,
                    detail: same
                        ? "matches the given schema"
                        : "the file was made with another schema (\(header.schemaFingerprint))"))
            let keysSame =
                schema.matchKeys.map(\.name) == header.matchKeys
                && schema.blockingKeys.map(\.name) == header.blockingKeys
                && (schema.bloom?.filterBits ?? 0) == header.filterBits
                && schema.extraFilterLayout.map(\.name) == header.extraFilters.map(\.name)
                && schema.extraFilterLayout.map(\.filterBits) == header.extraFilters.map(\.filterBits)
            checks.append(
                VerificationCheck(
                    kind: .headerAgreesWithSchema, rule: "SPEC §6.3 header agrees with schema", passed: keysSame,
                    detail: keysSame
                        ? "match keys and filter lengths as the schema says"
                        : "match keys, filter lengths or extra filters differ from the schema"))
        }

        let problems = header.contentProblems(schema: schema)
        checks.append(
            VerificationCheck(
                kind: .headerHoldsNoData, rule: "SPEC §6.6 header holds no data", passed: problems.isEmpty,
                detail: problems.isEmpty
                    ? "party, tool, createdAt, hardening and statistics have the shape the tool writes"
                    : problems.joined(separator: "; ")))

        let paddingClean = layout.paddingRanges.allSatisfy { range in bytes[range].allSatisfy { $0 == 0 } }
        checks.append(
            VerificationCheck(
                kind: .padding, rule: "SPEC §6.2 padding", passed: paddingClean,
                detail: paddingClean ? "all padding bytes are zero" : "padding holds non-zero bytes (hidden data?)"))

        checks.append(checkPresence())
        checks.append(contentsOf: checkNoPlaintext())
        return checks
    }

    /// Absent tokens are all zero, present tokens are not, and unused presence bits are clear.
    private func checkPresence() -> VerificationCheck {
        let keyCount = layout.matchKeyCount
        let presenceBytes = layout.presenceBytes
        let unusedMask: UInt8 = keyCount % 8 == 0 ? 0 : ~UInt8((1 << (keyCount % 8)) - 1)
        for row in 0..<recordCount {
            if presenceBytes > 0 && presence[row * presenceBytes + presenceBytes - 1] & unusedMask != 0 {
                return VerificationCheck(
                    kind: .presence, rule: "SPEC §6.4 presence", passed: false,
                    detail: "row \(row) sets unused presence bits")
            }
            for key in 0..<keyCount {
                let token = tokens(key: key)[(row * 16)..<((row + 1) * 16)]
                let isZero = token.allSatisfy { $0 == 0 }
                if hasToken(row: row, key: key) == isZero {
                    return VerificationCheck(
                        kind: .presence, rule: "SPEC §6.4 presence", passed: false,
                        detail: "row \(row), key \(header.tokenKeys[key]): presence bit and token disagree")
                }
            }
        }
        return VerificationCheck(
            kind: .presence, rule: "SPEC §6.4 presence", passed: true,
            detail: "presence bits agree with the token columns")
    }

    /// SPEC §6.6: text is mostly printable ASCII; HMAC output has about 37% printable bytes and Bloom filters at
    /// most about 60%. A column (ignoring all-zero rows) with 75% printable bytes or more fails.
    private func checkNoPlaintext() -> [VerificationCheck] {
        var checks: [VerificationCheck] = []
        func printableFraction(_ buffer: UnsafeRawBufferPointer, stride: Int, skipZeroRows: Bool) -> Double {
            var printable = 0
            var total = 0
            var row = 0
            while row * stride < buffer.count {
                let slice = buffer[(row * stride)..<min(buffer.count, (row + 1) * stride)]
                if !(skipZeroRows && slice.allSatisfy { $0 == 0 }) {
                    printable += slice.reduce(0) { $0 + ((0x20...0x7E).contains($1) ? 1 : 0) }
                    total += slice.count
                }
                row += 1
            }
            return total == 0 ? 0 : Double(printable) / Double(total)
        }
        for (key, name) in header.tokenKeys.enumerated() {
            let fraction = printableFraction(tokens(key: key), stride: 16, skipZeroRows: true)
            checks.append(
                VerificationCheck(
                    kind: .noPlaintext, rule: "SPEC §6.6 no plaintext (\(name) tokens)", passed: fraction < 0.75,
                    detail: "\(Int((fraction * 100).rounded()))% printable bytes (text would be near 100%)"))
            let distinct = distinctFraction(key: key)
            checks.append(
                VerificationCheck(
                    kind: .tokenEntropy, rule: "SPEC §6.6 token entropy (\(name))", passed: distinct.passed,
                    detail: distinct.detail))
        }
        if layout.filterBytes > 0 {
            let fraction = printableFraction(filters, stride: layout.filterBytes, skipZeroRows: true)
            checks.append(
                VerificationCheck(
                    kind: .noPlaintext, rule: "SPEC §6.6 no plaintext (Bloom filters)", passed: fraction < 0.75,
                    detail: "\(Int((fraction * 100).rounded()))% printable bytes (text would be near 100%)"))
        }
        for (index, filter) in header.extraFilters.enumerated() {
            let rule = "SPEC §6.6 no plaintext (extra filter \(filter.name))"
            guard let region = extraFilters(index) else {
                checks.append(
                    VerificationCheck(
                        kind: .noPlaintext, rule: rule, passed: false, detail: "the layout has no region for it"))
                continue
            }
            let fraction = printableFraction(region, stride: layout.extraFilterBytes[index], skipZeroRows: true)
            checks.append(
                VerificationCheck(
                    kind: .noPlaintext, rule: rule, passed: fraction < 0.75,
                    detail: "\(Int((fraction * 100).rounded()))% printable bytes (text would be near 100%)"))
        }
        return checks
    }

    /// Keyed tokens use all 256 byte values evenly; text or small codes do not. Over the distinct tokens of a column
    /// (at least 16), the byte values seen must be at least 80% of what random tokens would show.
    private func distinctFraction(key: Int) -> (passed: Bool, detail: String) {
        var seen = [Bool](repeating: false, count: 256)
        var distinctTokens = Set<[UInt8]>()
        let column = tokens(key: key)
        for row in 0..<recordCount where hasToken(row: row, key: key) {
            let token = Array(column[(row * 16)..<((row + 1) * 16)])
            guard distinctTokens.insert(token).inserted else { continue }
            for byte in token { seen[Int(byte)] = true }
            if distinctTokens.count >= 4096 { break }
        }
        let distinct = seen.filter { $0 }.count
        let tokens = distinctTokens.count
        guard tokens >= 16 else { return (true, "\(tokens) distinct tokens: too few to judge byte spread") }
        // n distinct random 16-byte tokens show 256·(1 − (255/256)^(16n)) byte values on average; text shows far
        // fewer. Require 80% of that.
        var absent = 1.0
        for _ in 0..<(16 * tokens) { absent *= 255.0 / 256.0 }
        let expected = 256 * (1 - absent)
        return (
            Double(distinct) >= 0.8 * expected,
            "\(distinct) of 256 byte values in \(tokens) distinct tokens (random tokens would show about \(Int(expected.rounded())))"
        )
    }
}
