/// A schema bound to a linkage secret: every key the tokeniser needs, derived once (SPEC §4.1, §5.3) and shared
/// read-only by all workers.
///
/// Holding a context means holding keys derived from the secret: keep it inside the agency.
public struct EncodingContext: Sendable {
    /// Bytes kept of each match-key HMAC (SPEC §4.3).
    public static let tokenBytes = 16

    public let schema: LinkageSchema
    public let keyID: KeyID
    let matchKeyMACs: [HMACSHA256Key]
    /// The first filter's keys (`schema.bloom`), if the schema has Bloom settings.
    let filterKeys: FilterKeys?
    /// The extra filters' keys (SPEC §5.6), in schema order.
    let extraFilterKeys: [FilterKeys]

    /// The key material one Bloom field's hash needs (SPEC §5.3), exactly that: a field cannot hash with a key it
    /// does not have.
    enum BloomFieldKeys: Sendable {
        /// Native (SPEC §5.3.1): HMAC-SHA256 under the field's derived key.
        case hmacSHA256(HMACSHA256Key)
        /// clkhash `blakeHash` (SPEC §5.3.2): BLAKE2b keyed with the feature's first key.
        case blakeHash(key: [UInt8])
        /// clkhash `doubleHash` (SPEC §5.3.3): HMAC-SHA1 with the feature's first key, HMAC-MD5 with its second.
        case doubleHash(sha1: HMACSHA1Key, md5: HMACMD5Key, preventSingularity: Bool)
    }

    /// One record-level filter's settings and every key it needs, derived once (SPEC §4.1, §5.3, §5.5).
    struct FilterKeys: Sendable {
        let settings: BloomSettings
        let bloomKeys: [BloomFieldKeys]
        /// Balancing: output bit i of the balanced filter is bit `balancePermutation[i]` of (filter ‖ ¬filter).
        let balancePermutation: [UInt32]?
        /// Diffusion: output bit o is the XOR of input bits `diffusionTable[o × taps ..< (o + 1) × taps]`.
        let diffusionTable: [UInt16]?
        let randomisedResponseKey: HMACSHA256Key?

        /// - Parameter filter: nil for the first filter, else the extra filter's name (its labels' prefix, SPEC §4.1).
        init(settings bloom: BloomSettings, secret: LinkageSecret, filter: String?) throws {
            settings = bloom
            switch bloom.keyDerivation {
            case .native:
                bloomKeys = try bloom.fields.map {
                    guard $0.hash == .hmacSHA256 else {
                        throw ProtocolError(.invalidSchema, "SPEC §5.3.1: native Bloom fields hash with HMAC-SHA256")
                    }
                    let label =
                        $0.keyGroup.map { KeyDerivation.bloomGroupLabel($0, filter: filter) }
                        ?? KeyDerivation.bloomFieldLabel($0.name, filter: filter)
                    let key = try KeyDerivation.derive(from: secret, label: label)
                    return .hmacSHA256(HMACSHA256Key(key: key))
                }
            case .clkhash(let hash, let salt, let info, let keySize, let fieldCount):
                // clkhash generate_key_lists: HKDF output of 2 × fields × keySize bytes; field i takes keys 2i, 2i+1.
                let material = try HKDF.deriveKey(
                    hash: hash == .sha256 ? .sha256 : .sha512, inputKeyMaterial: secret.rawBytes, salt: salt,
                    info: info, length: 2 * fieldCount * keySize)
                bloomKeys = try bloom.fields.map { field in
                    let first = Array(material[(2 * field.keyIndex * keySize)..<((2 * field.keyIndex + 1) * keySize)])
                    let second = Array(
                        material[((2 * field.keyIndex + 1) * keySize)..<((2 * field.keyIndex + 2) * keySize)])
                    switch field.hash {
                    case .blakeHash:
                        return .blakeHash(key: first)
                    case .doubleHash(let preventSingularity):
                        return .doubleHash(
                            sha1: HMACSHA1Key(key: first), md5: HMACMD5Key(key: second),
                            preventSingularity: preventSingularity)
                    case .hmacSHA256:
                        throw ProtocolError(
                            .invalidSchema, "SPEC §2.3: clkhash fields hash with blakeHash or doubleHash")
                    }
                }
            }
            let hardening = bloom.hardening
            if hardening.balance {
                var stream = KeyStream(
                    key: try KeyDerivation.derive(from: secret, label: KeyDerivation.balanceLabel(filter: filter)))
                var permutation = (0..<UInt32(2 * bloom.baseBits)).map { $0 }
                for index in stride(from: permutation.count - 1, to: 0, by: -1) {
                    permutation.swapAt(index, Int(stream.uniform(below: UInt32(index + 1))))
                }
                balancePermutation = permutation
            } else {
                balancePermutation = nil
            }
            if let taps = hardening.diffusionTaps {
                var stream = KeyStream(
                    key: try KeyDerivation.derive(from: secret, label: KeyDerivation.diffusionLabel(filter: filter)))
                var table: [UInt16] = []
                table.reserveCapacity(bloom.baseBits * taps)
                for _ in 0..<bloom.baseBits {
                    var chosen: [UInt16] = []
                    while chosen.count < taps {
                        let candidate = UInt16(stream.uniform(below: UInt32(bloom.baseBits)))
                        if !chosen.contains(candidate) { chosen.append(candidate) }
                    }
                    table.append(contentsOf: chosen)
                }
                diffusionTable = table
            } else {
                diffusionTable = nil
            }
            randomisedResponseKey =
                hardening.flipProbability == nil
                ? nil
                : HMACSHA256Key(
                    key: try KeyDerivation.derive(
                        from: secret, label: KeyDerivation.randomisedResponseLabel(filter: filter)))
        }
    }

    public init(schema: LinkageSchema, secret: LinkageSecret) throws {
        self.schema = schema
        keyID = secret.keyID
        // One HMAC key per token column: match keys, then blocking keys (SPEC §4.1).
        matchKeyMACs =
            try schema.matchKeys.map {
                HMACSHA256Key(key: try KeyDerivation.derive(from: secret, label: KeyDerivation.matchKeyLabel($0.name)))
            }
            + schema.blockingKeys.map {
                HMACSHA256Key(
                    key: try KeyDerivation.derive(from: secret, label: KeyDerivation.blockingKeyLabel($0.name)))
            }
        filterKeys = try schema.bloom.map { try FilterKeys(settings: $0, secret: secret, filter: nil) }
        extraFilterKeys = try schema.extraFilters.map {
            try FilterKeys(settings: $0.settings, secret: secret, filter: $0.name)
        }
    }

    /// Bytes of the presence bitmap per row: one bit per match key.
    public var presenceBytes: Int { (schema.tokenKeys.count + 7) / 8 }
    /// Bytes of one Bloom filter (the first) in the token file.
    public var filterBytes: Int { (schema.bloom?.filterBits ?? 0) / 8 }
    /// Where the first filter starts in an encoded row: after the presence bitmap and the tokens.
    public var filterRowOffset: Int { presenceBytes + schema.tokenKeys.count * Self.tokenBytes }
    /// Bytes of each extra filter (SPEC §5.6), in schema order.
    public var extraFilterBytes: [Int] { schema.extraFilters.map { $0.settings.filterBits / 8 } }
    /// Where extra filter `index` starts in an encoded row: after the first filter and the extra filters before it.
    public func extraFilterRowOffset(_ index: Int) -> Int {
        filterRowOffset + filterBytes + extraFilterBytes[0..<index].reduce(0, +)
    }
    /// Bytes of one encoded row: presence bitmap, match-key tokens, the Bloom filter, then each extra filter.
    public var rowWidth: Int { filterRowOffset + filterBytes + extraFilterBytes.reduce(0, +) }
}

/// A deterministic stream of uniform integers from HMAC-SHA256(key, counter) (SPEC §5.5), for key-derived
/// permutations and tables.
struct KeyStream {
    private let mac: HMACSHA256Key
    private var counter: UInt64 = 0
    private var block = [UInt8](repeating: 0, count: 32)
    private var used = 32

    init(key: [UInt8]) { mac = HMACSHA256Key(key: key) }

    /// The next 32 bits: little-endian words of HMAC(key, counter as 8 big-endian bytes), counter from 0.
    mutating func next() -> UInt32 {
        if used == 32 {
            let message = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64($0))) }
            block = mac.authenticationCode(for: message)
            counter += 1
            used = 0
        }
        defer { used += 4 }
        return UInt32(block[used]) | UInt32(block[used + 1]) << 8 | UInt32(block[used + 2]) << 16
            | UInt32(block[used + 3]) << 24
    }

    /// A uniform value in `0..<bound` by rejection sampling (no modulo bias).
    mutating func uniform(below bound: UInt32) -> UInt32 {
        let limit = UInt32.max - UInt32.max % bound
        while true {
            let value = next()
            if value < limit { return value % bound }
        }
    }
}

/// A reproducible generator for test vectors only (SPEC §9): 64-bit little-endian words of
/// HMAC-SHA256(seed, 8-byte big-endian counter). Real token files use ``SecureRandomGenerator``.
public struct SeededGenerator: RandomNumberGenerator {
    private var stream: KeyStream

    /// A generator whose output is fixed by `seed`.
    public init(seed: [UInt8]) { stream = KeyStream(key: seed) }

    public mutating func next() -> UInt64 {
        UInt64(stream.next()) | UInt64(stream.next()) << 32
    }
}
