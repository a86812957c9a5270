/// A linkage schema (SPEC §2): what every party of a project agrees on before tokenising anything.
///
/// Two flavours share this model: Blindmatch's native schema (normalisation, match keys, hardened Bloom filters)
/// and a clkhash v3 schema accepted as is (Bloom filters only, bit-identical to clkhash 0.18). Load one with
/// ``init(contentsOfFile:)`` or ``init(parsing:source:)``; both validate fully and report every problem at once.
public struct LinkageSchema: Sendable {
    /// Which schema language the document is written in.
    public enum Flavour: String, Sendable, Codable {
        case native = "blindmatch-1"
        case clkhashV3 = "clkhash-3"
    }

    public let flavour: Flavour
    /// A human name for the schema (the file's `name`, or "clkhash v3 schema").
    public let name: String
    /// SHA-256 of the canonical form of the document, in hex (SPEC §2.1).
    public let fingerprint: String
    /// Every CSV column, in header order.
    public let columns: [Column]
    /// The column whose value goes into the local map.
    public let recordKeyColumn: Int
    /// Exact match keys, in cascade order.
    public let matchKeys: [MatchKey]
    /// Blocking keys (SPEC §4.5): tokens stored after the match keys' that only choose pairs for the fuzzy stage.
    public let blockingKeys: [MatchKey]
    /// The Bloom-filter settings, if the schema encodes Bloom filters.
    public let bloom: BloomSettings?
    /// Further record-level filters over their own field groups (SPEC §2.2 `extraFilters`, §5.6), in schema order;
    /// empty for clkhash schemas and for native schemas without them.
    public internal(set) var extraFilters: [ExtraFilter] = []
    /// The document as parsed.
    public let document: JSONValue

    /// Every token column, in file order: the match keys, then the blocking keys (SPEC §6.2).
    public var tokenKeys: [MatchKey] { matchKeys + blockingKeys }

    /// The CSV header this schema expects.
    public var columnNames: [String] { columns.map(\.name) }
}

/// One CSV column and how its values are prepared.
public struct Column: Sendable {
    public enum Format: Sendable {
        /// Native normalisation (SPEC §3).
        case normalised(Normaliser)
        /// clkhash's own validation and formatting (SPEC §2.3); no normalisation.
        case clkhash(ClkhashFieldFormat)
        /// Read and ignored.
        case ignored
    }

    public let name: String
    public let format: Format
}

/// A match key (SPEC §4): an ordered combination of normalised fields whose keyed HMAC is one exact token.
public struct MatchKey: Sendable, Equatable {
    public let name: String
    public let parts: [MatchKeyPart]
    /// Whether the parts' values are sorted before hashing (SPEC §4.3), so swapped fields give the same token.
    public let anyOrder: Bool
    /// Blocking keys only (SPEC §4.5.1): the token is re-derived from the first `bucketBits` bits of the HMAC, so
    /// unrelated values share tokens by design; nil keeps the full 128-bit token.
    public let bucketBits: Int?

    public init(name: String, parts: [MatchKeyPart], anyOrder: Bool = false, bucketBits: Int? = nil) {
        self.name = name
        self.parts = parts
        self.anyOrder = anyOrder
        self.bucketBits = bucketBits
    }
}

/// One part of a match key or of a salt: a column and what is taken of its normalised value.
public struct MatchKeyPart: Sendable, Equatable {
    /// What is taken of the value (SPEC §4.2).
    public enum Transform: String, Sendable, Codable {
        case value, initial, first, canonical, soundex, year
    }

    public let column: Int
    public let transform: Transform
}

/// The Bloom-filter settings of a schema (SPEC §5).
public struct BloomSettings: Sendable {
    /// How the per-field hashing keys are derived from the linkage secret.
    public enum KeyDerivation: Sendable, Equatable {
        /// SPEC §4.1 labels, one HMAC-SHA256 key per field.
        case native
        /// clkhash's HKDF: `2 × fieldCount` keys of `keySize` bytes; field i takes keys 2i and 2i+1.
        case clkhash(hash: HKDFHash, salt: [UInt8]?, info: [UInt8]?, keySize: Int, fieldCount: Int)
    }

    /// Hash functions for HKDF in clkhash schemas.
    public enum HKDFHash: String, Sendable {
        case sha256 = "SHA256"
        case sha512 = "SHA512"
    }

    /// The most bits hashed into before folding: positions are 16-bit numbers (SPEC §2.3, §5.3).
    public static let maximumHashBits = 65536

    /// Bits hashed into before XOR folding: `baseBits × 2^xorFolds`, at most ``maximumHashBits``.
    public let hashBits: Int
    /// Bits after XOR folding (the schema's `l` or `bits`).
    public let baseBits: Int
    public let xorFolds: Int
    public let fields: [BloomField]
    public let keyDerivation: KeyDerivation
    public let hardening: Hardening

    /// Bits per filter in the token file, after every hardening step.
    public var filterBits: Int { hardening.balance ? baseBits * 2 : baseBits }
}

/// Hardening applied after hashing (SPEC §5.5), native schemas only.
public struct Hardening: Sendable, Equatable {
    public var salt: MatchKeyPart?
    public var balance: Bool
    public var diffusionTaps: Int?
    public var flipProbability: Double?

    public static let none = Hardening(salt: nil, balance: false, diffusionTaps: nil, flipProbability: nil)

    /// The hardening as it is described in a token-file header.
    public func headerValue(xorFolds: Int) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("balance", .bool(balance)),
            ("xorFolds", .number(String(xorFolds))),
        ]
        if let salt { members.append(("saltColumn", .number(String(salt.column)))) }
        if let diffusionTaps { members.append(("diffusionTaps", .number(String(diffusionTaps)))) }
        if let flipProbability { members.append(("flipProbability", .number("\(flipProbability)"))) }
        return .object(members)
    }
}

/// One field's contribution to the Bloom filter.
public struct BloomField: Sendable {
    /// How a value is cut into tokens (SPEC §5.1).
    public enum Tokenizer: Sendable, Equatable {
        case ngram(n: Int, positional: Bool)
        case exact
        case numeric(distanceInterval: Int, resolution: Int, fractionalPrecision: Int)
    }

    /// How many bits each token sets (SPEC §5.2).
    public enum Strategy: Sendable, Equatable {
        case bitsPerToken(Int)
        case bitsPerFeature(Int)

        /// clkhash's `bits_per_token` for a value of `tokenCount` tokens: each token gets `base` bits, the first
        /// `extra` one more.
        @inline(__always)
        public func split(tokenCount: Int) -> (base: Int, extra: Int) {
            switch self {
            case .bitsPerToken(let k): return (k, 0)
            case .bitsPerFeature(let total):
                let (base, extra) = total.quotientAndRemainder(dividingBy: tokenCount)
                return (base, extra)
            }
        }
    }

    /// How a token becomes bit positions (SPEC §5.3).
    public enum Hash: Sendable, Equatable {
        case hmacSHA256
        case doubleHash(preventSingularity: Bool)
        case blakeHash
    }

    public let name: String
    public let column: Int
    /// Position in the schema's feature list (clkhash key index); equals `column` for clkhash schemas.
    public let keyIndex: Int
    /// Native schemas: fields of one key group share a hashing key (SPEC §5.3.1); nil for a key of its own.
    public var keyGroup: String? = nil
    public let tokenizer: Tokenizer
    public let strategy: Strategy
    public let hash: Hash
}

/// A further record-level Bloom filter (SPEC §5.6): its own fields, length, hardening and keys, written to its own
/// region of the token file (SPEC §6.2). The first filter still chooses the candidates; this one adds a second score.
public struct ExtraFilter: Sendable {
    /// The filter's name (an identifier): it labels the filter's keys (SPEC §4.1) and its header entry (SPEC §6.3).
    public let name: String
    public let settings: BloomSettings

    public init(name: String, settings: BloomSettings) {
        self.name = name
        self.settings = settings
    }
}

extension LinkageSchema {
    /// What every token file made with this schema has in its header (SPEC §6.3, §6.7): the filter's length in bits
    /// (0 without a Bloom filter) and the match-key and blocking-key names in schema order.
    public var tokenFileLayout: (filterBits: Int, matchKeys: [String], blockingKeys: [String]) {
        (bloom?.filterBits ?? 0, matchKeys.map(\.name), blockingKeys.map(\.name))
    }

    /// The extra filters as a token-file header names them (SPEC §6.3 `extraFilters`): name and bits per filter.
    public var extraFilterLayout: [(name: String, filterBits: Int)] {
        extraFilters.map { ($0.name, $0.settings.filterBits) }
    }
}
