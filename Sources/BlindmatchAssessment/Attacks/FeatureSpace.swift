import BlindmatchProtocol
import Dispatch
import Glibc
import Synchronization

/// What the public schema tells an attacker about the filters: which fields are encoded, how each value is cut
/// into tokens (SPEC §5.1), how many positions each token sets (SPEC §5.2), and which fields share a hashing key
/// (SPEC §5.3.1 `keyGroup`), so that the same token sets the same positions whichever of them it came from.
///
/// A *feature* is a token in a hashing domain: one field, or one key group. Features are numbered densely.
struct FeatureSpace {
    struct Field {
        /// The schema field's name, the key of `ReferencePopulation` records and of `AttackOutcome.fieldGuesses`.
        let name: String
        /// The hashing domain: fields of one key group share one.
        let domain: Int
        let tokenizer: BloomField.Tokenizer
        let strategy: BloomField.Strategy
        /// A native date is tokenised as its eight digits (SPEC §5, step 3).
        let isDate: Bool
    }

    let fields: [Field]
    let domainCount: Int
    private(set) var tokens: [String] = []
    private(set) var featureDomain: [Int] = []
    private var index: [String: Int32] = [:]

    init(schema: LinkageSchema) {
        var domains: [String: Int] = [:]
        var fields: [Field] = []
        for field in schema.bloom?.fields ?? [] {
            let domainName = field.keyGroup.map { "group:" + $0 } ?? "field:" + field.name
            let domain = domains[domainName] ?? domains.count
            domains[domainName] = domain
            var isDate = false
            if schema.flavour == .native, case .normalised(let normaliser) = schema.columns[field.column].format {
                isDate = normaliser.kind == .date
            }
            fields.append(
                Field(
                    name: schema.columns[field.column].name, domain: domain, tokenizer: field.tokenizer,
                    strategy: field.strategy, isDate: isDate))
        }
        self.fields = fields
        domainCount = domains.count
    }

    var featureCount: Int { tokens.count }

    /// The feature number of `token` in `domain`, made if new.
    mutating func feature(domain: Int, token: String) -> Int32 {
        let key = "\(domain)\u{1}\(token)"
        if let found = index[key] { return found }
        let number = Int32(tokens.count)
        index[key] = number
        tokens.append(token)
        featureDomain.append(domain)
        return number
    }

    /// The tokens of `value` for `field` (SPEC §5.1), in order; a numeric field's value is taken as one token (the
    /// attack does not model clkhash's numeric neighbourhoods).
    static func tokens(of value: String, field: Field) -> [String] {
        let value = field.isDate ? value.filter { $0 != "-" } : value
        guard !value.isEmpty else { return [] }
        switch field.tokenizer {
        case .exact, .numeric: return [value]
        case .ngram(let n, let positional):
            var scalars = Array(value.unicodeScalars)
            if n > 1 {
                let pad = [Unicode.Scalar](repeating: " ", count: n - 1)
                scalars = pad + scalars + pad
            }
            if n == 0 { return Array(repeating: "", count: scalars.count + 1) }
            guard scalars.count >= n else { return [] }
            return (0...(scalars.count - n)).map { start in
                var token = positional ? "\(start + 1) " : ""
                token.unicodeScalars.append(contentsOf: scalars[start..<(start + n)])
                return token
            }
        }
    }

    /// Positions token `i` of `count` sets (SPEC §5.2).
    static func positionsPerToken(_ i: Int, of count: Int, strategy: BloomField.Strategy) -> Int {
        let (base, extra) = strategy.split(tokenCount: count)
        return i < extra ? base + 1 : base
    }

    /// A value's features for `field` (distinct, ascending), with the fewest positions any of them sets.
    mutating func features(of value: String, fieldIndex: Int) -> (features: [Int32], fewestPositions: Int) {
        let field = fields[fieldIndex]
        let cut = Self.tokens(of: value, field: field)
        var result: [Int32] = []
        var fewest = Int.max
        for (i, token) in cut.enumerated() {
            result.append(feature(domain: field.domain, token: token))
            fewest = min(fewest, Self.positionsPerToken(i, of: cut.count, strategy: field.strategy))
        }
        return (Array(Set(result)).sorted(), fewest)
    }

    /// The value a positional unigram field's features spell, if exactly one feature is known per position
    /// (a date's dashes put back); nil otherwise.
    func compose(fieldIndex: Int, present: [Int32]) -> String? {
        let field = fields[fieldIndex]
        guard case .ngram(1, true) = field.tokenizer else { return nil }
        var byPosition: [Int: Character] = [:]
        for feature in present where featureDomain[Int(feature)] == field.domain {
            let token = tokens[Int(feature)]
            guard let space = token.firstIndex(of: " "), let position = Int(token[..<space]) else { continue }
            let character = token[token.index(after: space)...]
            guard character.count == 1, let first = character.first else { continue }
            if byPosition[position] != nil, byPosition[position] != first { return nil }
            byPosition[position] = first
        }
        guard let last = byPosition.keys.max(), last == byPosition.count else { return nil }
        var text = String((1...last).compactMap { byPosition[$0] })
        if field.isDate {
            guard text.count == 8 else { return nil }
            text.insert("-", at: text.index(text.startIndex, offsetBy: 6))
            text.insert("-", at: text.index(text.startIndex, offsetBy: 4))
        }
        return text
    }
}

/// A bit set over rows, for column-wise counting.
struct RowSet {
    var words: [UInt64]

    init(rows: Int) { words = [UInt64](repeating: 0, count: (rows + 63) / 64) }

    mutating func insert(_ row: Int) { words[row >> 6] |= 1 << UInt64(row & 63) }

    func contains(_ row: Int) -> Bool { (words[row >> 6] >> UInt64(row & 63)) & 1 == 1 }

    var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// |self ∩ other|.
    func intersectionCount(_ other: RowSet) -> Int {
        words.withUnsafeBufferPointer { a in
            other.words.withUnsafeBufferPointer { b in
                var total = 0
                for i in 0..<a.count { total &+= (a[i] & b[i]).nonzeroBitCount }
                return total
            }
        }
    }

    mutating func formIntersection(_ other: RowSet) {
        other.words.withUnsafeBufferPointer { b in
            words.withUnsafeMutableBufferPointer { a in
                for i in 0..<a.count { a[i] &= b[i] }
            }
        }
    }
}

/// An evenly spread sample of `limit` of `count` rows (all of them if there are fewer).
func evenSample(count: Int, limit: Int) -> [Int] {
    guard count > limit else { return Array(0..<count) }
    return (0..<limit).map { $0 * count / limit }
}

/// Runs `body` on `slices` contiguous slices of `0..<count` on every core and returns the slices' results in order.
func inParallel<T: Sendable>(
    count: Int, slices: Int = parallelWorkers * 4, _ body: @Sendable (Range<Int>) -> T
) -> [T] {
    let slices = max(1, min(slices, count))
    let box = SliceResults<T>(count: slices)
    DispatchQueue.concurrentPerform(iterations: slices) { slice in
        let range = (slice * count / slices)..<((slice + 1) * count / slices)
        box.store(slice, body(range))
    }
    return box.all()
}

/// The number of worker threads the attacks use.
let parallelWorkers = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

private final class SliceResults<T: Sendable>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = Mutex<Void>(())

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ slice: Int, _ value: T) { lock.withLock { _ in slots[slice] = value } }

    func all() -> [T] { lock.withLock { _ in slots.compactMap { $0 } } }
}
