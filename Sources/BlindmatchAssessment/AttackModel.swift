/// What an attack on token files works with and what it returns (docs/privacy.md; issue 15).
///
/// The attacker plays the matcher: it holds the token file (filters, match-key and blocking-key tokens, presence
/// bits, header) and the linkage schema (shared with the matcher, so its fields, n-gram settings and bit counts are
/// public), plus a reference population in clear text. It never holds the linkage secret. The agency's own plaintext
/// is used only afterwards, by the harness, to score the guesses.

/// The Bloom filters the attacker holds, row by row, in token-file order.
public struct EncodedFilters: Sendable {
    /// Bits per filter (after folding and balancing).
    public let filterBits: Int
    /// Number of filters.
    public let count: Int
    /// 64-bit words per filter; filter `i` is `words[i * wordsPerFilter ..< (i + 1) * wordsPerFilter]`.
    public let wordsPerFilter: Int
    /// Bit `p` of filter `i` is `(words[i * wordsPerFilter + p / 64] >> (p % 64)) & 1` (SPEC §5.3.4 numbering is
    /// not needed by an attacker: any fixed numbering of positions will do).
    public let words: [UInt64]

    public init(filterBits: Int, count: Int, words: [UInt64]) {
        self.filterBits = filterBits
        self.count = count
        self.wordsPerFilter = (filterBits + 63) / 64
        self.words = words
    }

    /// The filters of `rows`, in that order.
    public func subset(rows: [Int]) -> EncodedFilters {
        var subset: [UInt64] = []
        subset.reserveCapacity(rows.count * wordsPerFilter)
        for row in rows { subset.append(contentsOf: words[(row * wordsPerFilter)..<((row + 1) * wordsPerFilter)]) }
        return EncodedFilters(filterBits: filterBits, count: rows.count, words: subset)
    }

    /// Each row's filters side by side, as one filter of the summed length: what an attacker holding every filter
    /// of a record compares. Every part's length is a multiple of 64 bits (schemas allow 256 to 8192).
    public static func concatenated(_ parts: [EncodedFilters]) -> EncodedFilters {
        guard let first = parts.first else { return EncodedFilters(filterBits: 0, count: 0, words: []) }
        let width = parts.reduce(0) { $0 + $1.wordsPerFilter }
        var words: [UInt64] = []
        words.reserveCapacity(first.count * width)
        for row in 0..<first.count {
            for part in parts {
                words.append(contentsOf: part.words[(row * part.wordsPerFilter)..<((row + 1) * part.wordsPerFilter)])
            }
        }
        return EncodedFilters(filterBits: width * 64, count: first.count, words: words)
    }

    /// Popcount of filter `row`.
    public func popcount(row: Int) -> Int {
        words[(row * wordsPerFilter)..<((row + 1) * wordsPerFilter)].reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Whether bit `position` of filter `row` is set.
    public func isSet(row: Int, position: Int) -> Bool {
        (words[row * wordsPerFilter + position / 64] >> UInt64(position % 64)) & 1 == 1
    }
}

/// A population in clear text that the attacker holds (a public list or an electoral register): each record's
/// **normalised** values (SPEC §3) by schema field name; a missing value is absent from the dictionary.
public struct ReferencePopulation: Sendable {
    public let records: [[String: String]]

    public init(records: [[String: String]]) {
        self.records = records
    }
}

/// What one attack concluded about the encoded records.
public struct AttackOutcome: Sendable {
    /// The attack's name as reported (e.g. "pattern mining").
    public var attack: String
    /// For each field name, one guess per encoded record (normalised value), or nil where the attack does not guess.
    public var fieldGuesses: [String: [String?]]
    /// For each encoded record, the index of the reference record the attack believes it is, or nil.
    public var recordLinks: [Int?]
    /// Free-form counts the attack wants reported (e.g. "alignedPositions": 412), never values.
    public var notes: [String: Double]

    public init(
        attack: String, fieldGuesses: [String: [String?]] = [:], recordLinks: [Int?] = [],
        notes: [String: Double] = [:]
    ) {
        self.attack = attack
        self.fieldGuesses = fieldGuesses
        self.recordLinks = recordLinks
        self.notes = notes
    }
}
