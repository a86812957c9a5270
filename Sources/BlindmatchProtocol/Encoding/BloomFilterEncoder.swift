/// Builds one record's Bloom filter, a CLK (SPEC §5), from its prepared field values.
///
/// What an attacker holding filters can learn: filters of people with similar names are similar, and bit
/// frequencies follow n-gram frequencies. Keyed hashing stops dictionary attacks by anyone without the secret,
/// but frequency and pattern-mining attacks on many filters remain possible; the hardening of SPEC §5.5 (salting,
/// balancing, diffusion, randomised response) raises their cost at some loss of accuracy. See SPEC §1.4.
///
/// Each field hashes with exactly the key material its hash needs (``FieldHasher``), fixed when the encoder is made:
/// a clkhash `blakeHash` field owns one keyed BLAKE2b context, made (or refused, with an error) by `init`, whose salt
/// is set per block. A value type so that the hot loop's state is accessed statically (no dynamic exclusivity
/// checks): owned by one ``RecordEncoder`` and never shared between threads.
struct BloomFilterEncoder {
    /// How one field's tokens become bit positions (SPEC §5.3), with the keys that takes and nothing else.
    private enum FieldHasher {
        case hmacSHA256(HMACSHA256Key)
        case blakeHash(Blake2bMAC)
        case doubleHash(sha1: HMACSHA1Key, md5: HMACMD5Key, preventSingularity: Bool)
    }

    private let context: EncodingContext
    private let keys: EncodingContext.FilterKeys
    private let settings: BloomSettings
    private var filter: [UInt8]
    private var work: [UInt8]
    private var caches: [PositionCache]
    /// The current token's bytes are `token.bytes[0..<tokenLength]`; the buffer only grows.
    private let token = TokenBuffer()
    private var tokenLength = 0
    private var tokenKey = PositionCache.Key(building: ())
    /// `Strategy.split(tokenCount:)` for the value being tokenised: k = base + 1 for the first `extra` tokens, else base.
    private var strategyCount = -1
    private var strategyField = -1
    private var strategyBase = 0
    private var strategyExtra = 0
    /// Tokens of the current record, of every field: none means the all-zero filter (SPEC §5, step 5).
    private var tokenCount = 0
    /// What salting appends to every token of the current record: a zero byte and the salt part, or nothing
    /// (SPEC §5.5.1).
    private var salt: [UInt8] = []
    private var padded: [UInt8] = []
    private var scalars: [Unicode.Scalar] = []
    private var positions: [UInt16] = []
    private var macOutput = [UInt8](repeating: 0, count: 64)
    private var macMessage: [UInt8] = []
    /// The decimal digits of a BLAKE2b block number, its salt (SPEC §5.3.2).
    private var blakeSalt: [UInt8] = []
    private let digitsOnlyColumns: Set<Int>
    // Private copies of what the hot loop reads (see RecordEncoding).
    private let fields: [BloomField]
    private let hashers: [FieldHasher]

    /// An encoder for one of `context`'s filters: the first (`keys` = `context.filterKeys`) or an extra one.
    init(context: EncodingContext, keys: EncodingContext.FilterKeys) throws {
        let settings = keys.settings
        guard keys.bloomKeys.count == settings.fields.count else {
            throw ProtocolError(.crypto, "the encoding context has keys for another schema's Bloom fields")
        }
        self.context = context
        self.keys = keys
        self.settings = settings
        fields = settings.fields.map { $0 }
        hashers = try keys.bloomKeys.map { keys in
            switch keys {
            case .hmacSHA256(let key): return .hmacSHA256(key)
            case .blakeHash(let key): return .blakeHash(try Blake2bMAC(key: key))
            case .doubleHash(let sha1, let md5, let preventSingularity):
                return .doubleHash(sha1: sha1, md5: md5, preventSingularity: preventSingularity)
            }
        }
        filter = Array(repeating: 0, count: settings.hashBits / 8)
        work = Array(repeating: 0, count: settings.filterBits / 8)
        caches = settings.fields.map { _ in PositionCache() }
        // SPEC §5.1: a native date field is tokenised as its eight digits YYYYMMDD.
        digitsOnlyColumns = Set(
            context.schema.columns.indices.filter {
                if case .normalised(let normaliser) = context.schema.columns[$0].format {
                    return normaliser.kind == .date
                }
                return false
            })
    }

    /// Writes the finished filter (`filterBits / 8` bytes) to `output` and returns its popcount. `values` are the
    /// record's prepared values, per column, in `arena`; `salt` is the salt part's piece when the filter is salted.
    mutating func encode(
        values: [ValueArena.Piece], in arena: ValueArena, salt: ValueArena.Piece?,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int {
        for index in filter.indices { filter[index] = 0 }
        self.salt.removeAll(keepingCapacity: true)
        if let salt, salt.isPresent {
            self.salt.append(0)
            self.salt.append(contentsOf: arena[salt])
        }
        tokenCount = 0
        for (fieldIndex, field) in fields.enumerated() {
            var piece = values[field.column]
            guard piece.count > 0 else { continue }
            if digitsOnlyColumns.contains(field.column) {
                guard piece.isSimple else {
                    // Not reached for a normalised date (ASCII); removes the character "-" as the text says.
                    var text = arena.string(piece)
                    text.removeAll { $0 == "-" }
                    text.withUTF8 { tokenize($0, field: field, fieldIndex: fieldIndex) }
                    continue
                }
                // One byte per character: drop the "-" bytes, into a new piece.
                let room = arena.room(for: piece.count)
                var kept = 0
                for byte in arena[piece] where byte != UInt8(ascii: "-") {
                    room[kept] = byte
                    kept += 1
                }
                piece = arena.commit(kept)
            }
            tokenize(arena[piece], field: field, fieldIndex: fieldIndex)
        }
        guard tokenCount > 0 else {
            // SPEC §5 step 5: no hardening applies to a record with no token, or every such record would get the
            // same balanced (or noisy) filter and look like every other (Dice 1 between two empty records).
            for index in 0..<output.count { output[index] = 0 }
            return 0
        }
        return finish(into: output)
    }

    // MARK: Tokenising (SPEC §5.1)

    /// Clears the token buffer.
    @inline(__always)
    private mutating func beginToken() {
        tokenLength = 0
        tokenKey = PositionCache.Key(building: ())
    }

    /// Appends a byte to the token, and to its cache key while it still fits one.
    @inline(__always)
    private mutating func appendToken(_ byte: UInt8) {
        if tokenLength == token.capacity { token.grow() }
        token.bytes[tokenLength] = byte
        if tokenLength < PositionCache.Key.maximumLength { tokenKey.append(byte, at: tokenLength) }
        tokenLength += 1
    }

    private mutating func appendToken(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { appendToken(byte) }
    }

    /// The positional prefix "i " (SPEC §5.1), written without allocating.
    private mutating func appendPositionPrefix(_ position: Int) {
        var divisor = 1
        while divisor * 10 <= position { divisor *= 10 }
        var rest = position
        while divisor > 0 {
            appendToken(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
        appendToken(UInt8(ascii: " "))
    }

    /// Tokenises one value's UTF-8 (SPEC §5.1) and sets its tokens' bits.
    private mutating func tokenize(_ value: UnsafeBufferPointer<UInt8>, field: BloomField, fieldIndex: Int) {
        switch field.tokenizer {
        case .exact:
            beginToken()
            appendToken(value)
            insertToken(index: 0, of: 1, field: field, fieldIndex: fieldIndex)
        case .numeric(let interval, let resolution, let precision):
            // Values without tokens were refused as entries (SPEC §2.3) before they reach the encoder.
            let text = String(decoding: value, as: UTF8.self)
            let tokens =
                Self.numericTokens(text, interval: interval, resolution: resolution, precision: precision) ?? []
            for (index, text) in tokens.enumerated() {
                beginToken()
                appendToken(text.utf8)
                insertToken(index: index, of: tokens.count, field: field, fieldIndex: fieldIndex)
            }
        case .ngram(let n, let positional):
            // Copy the UTF-8 once and check it is ASCII on the way.
            padded.removeAll(keepingCapacity: true)
            if n > 1 { padded.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n - 1)) }
            padded.append(contentsOf: value)
            var combined: UInt8 = 0
            for byte in value { combined |= byte }
            if combined < 0x80 {
                if n > 1 { padded.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n - 1)) }
                let count = padded.count - n + 1
                guard count > 0 else { return }
                for index in 0..<count {
                    beginToken()
                    if positional { appendPositionPrefix(index + 1) }
                    for offset in index..<(index + n) { appendToken(padded[offset]) }
                    insertToken(index: index, of: count, field: field, fieldIndex: fieldIndex)
                }
            } else {
                scalars.removeAll(keepingCapacity: true)
                if n > 1 { scalars.append(contentsOf: repeatElement(" ", count: n - 1)) }
                scalars.append(contentsOf: String(decoding: value, as: UTF8.self).unicodeScalars)
                if n > 1 { scalars.append(contentsOf: repeatElement(" ", count: n - 1)) }
                let count = scalars.count - n + 1
                guard count > 0 else { return }
                for index in 0..<count {
                    beginToken()
                    if positional { appendPositionPrefix(index + 1) }
                    for offset in index..<(index + n) { appendToken(String(scalars[offset]).utf8) }
                    insertToken(index: index, of: count, field: field, fieldIndex: fieldIndex)
                }
            }
        }
    }

    /// clkhash's NumericComparison tokens for a formatted number (SPEC §5.1): none when `text` is not a number,
    /// nil when it is one this encoding cannot hold — not finite, or a scaled value outside 64 bits. clkhash schemas
    /// refuse such an entry (``ClkhashFieldFormat/format(_:)``), so the encoder never sees one.
    static func numericTokens(_ text: String, interval: Int, resolution: Int, precision: Int) -> [String]? {
        func checked(_ result: (partialValue: Int, overflow: Bool)) -> Int? {
            result.overflow ? nil : result.partialValue
        }
        var scale = 1
        for _ in 0..<precision {
            guard let next = checked(scale.multipliedReportingOverflow(by: 10)) else { return nil }
            scale = next
        }
        var value: Int
        if let integer = Int(text) {
            guard let scaled = checked(integer.multipliedReportingOverflow(by: scale)) else { return nil }
            value = scaled
        } else if let double = Double(text) {
            guard double.isFinite else { return nil }
            let scaled =
                precision > 0 ? (double * Double(scale)).rounded(.toNearestOrEven) : double.rounded(.towardZero)
            guard let exact = Int(exactly: scaled) else { return nil }
            value = exact
        } else {
            return []
        }
        guard let twice = checked(resolution.multipliedReportingOverflow(by: 2)),
            let spread = checked(value.multipliedReportingOverflow(by: twice))
        else { return nil }
        value = spread
        let residue = ((value % interval) + interval) % interval
        if residue != 0 {
            let moved =
                2 * residue < interval
                ? value.subtractingReportingOverflow(residue) : value.addingReportingOverflow(interval - residue)
            guard let rounded = checked(moved) else { return nil }
            value = rounded
        }
        var tokens: [String] = []
        tokens.reserveCapacity(2 * resolution + 1)
        for step in -resolution...resolution {
            guard let offset = checked(step.multipliedReportingOverflow(by: interval)),
                let token = checked(value.addingReportingOverflow(offset))
            else { return nil }
            tokens.append(String(token))
        }
        return tokens
    }

    // MARK: Hashing (SPEC §5.3)

    /// Sets the bits of the token in `token[0..<tokenLength]` (with the salt appended when salting).
    private mutating func insertToken(index: Int, of count: Int, field: BloomField, fieldIndex: Int) {
        tokenCount += 1
        // SPEC §5.2, with the division done once per value rather than once per token.
        if count != strategyCount || fieldIndex != strategyField {
            strategyCount = count
            strategyField = fieldIndex
            (strategyBase, strategyExtra) = field.strategy.split(tokenCount: count)
        }
        let k = index < strategyExtra ? strategyBase + 1 : strategyBase
        guard k > 0 else { return }
        if !salt.isEmpty {
            let salt = self.salt
            appendToken(salt)
        }
        let key = tokenKey.finished(length: tokenLength)
        if let key, caches[fieldIndex].setCachedBits(key, needed: k, in: &filter) { return }
        let input = Array(UnsafeBufferPointer(start: token.bytes, count: tokenLength))
        computePositions(input, k: k, field: field, fieldIndex: fieldIndex)
        for position in positions { setBit(Int(position)) }
        if let key {
            let pending = positions
            _ = pending.withUnsafeBufferPointer { caches[fieldIndex].insert(key, positions: $0) }
        }
    }

    @inline(__always)
    private mutating func setBit(_ position: Int) {
        filter[position >> 3] |= 0x80 >> UInt8(position & 7)
    }

    private mutating func computePositions(_ input: [UInt8], k: Int, field: BloomField, fieldIndex: Int) {
        positions.removeAll(keepingCapacity: true)
        let bits = settings.hashBits
        switch hashers[fieldIndex] {
        case .hmacSHA256(let key):
            // SPEC §5.3.1: block j = HMAC-SHA256(K_field, j ‖ input); 16 little-endian 16-bit words per block.
            var block = 0
            while positions.count < k {
                macMessage.removeAll(keepingCapacity: true)
                macMessage.append(UInt8(block))
                macMessage.append(contentsOf: input)
                macMessage.withUnsafeBytes { message in
                    macOutput.withUnsafeMutableBytes { key.authenticateShort(message, into: $0) }
                }
                appendWords(count: min(16, k - positions.count), modulo: bits)
                block += 1
            }
        case .blakeHash(let mac):
            // SPEC §5.3.2, clkhash blake_hash_token: BLAKE2b-512(key, salt = str(b)) per 32 words, little-endian.
            var block = 0
            while positions.count < k {
                blakeSalt.removeAll(keepingCapacity: true)
                blakeSalt.append(contentsOf: String(block).utf8)
                input.withUnsafeBytes { message in
                    blakeSalt.withUnsafeBytes { salt in
                        macOutput.withUnsafeMutableBufferPointer { mac.authenticate(message, salt: salt, into: $0) }
                    }
                }
                appendWords(count: min(32, k - positions.count), modulo: bits)
                block += 1
            }
        case .doubleHash(let sha1Key, let md5Key, let preventSingularity):
            // SPEC §5.3.3, clkhash double hashing: g_i = (HMAC-SHA1 mod l + i × HMAC-MD5 mod l) mod l, digests read
            // big-endian.
            input.withUnsafeBytes { message in
                macOutput.withUnsafeMutableBytes { sha1Key.authenticate(message, into: $0) }
            }
            let sha1 = Self.bigEndianModulo(macOutput[0..<20], bits)
            input.withUnsafeBytes { message in
                macOutput.withUnsafeMutableBytes { md5Key.authenticate(message, into: $0) }
            }
            var md5 = Self.bigEndianModulo(macOutput[0..<16], bits)
            var attempt: UInt32 = 0
            while preventSingularity && md5 == 0 {
                // clkhash appends chr(i).encode(): the UTF-8 of code point i.
                var retry = input
                retry.append(contentsOf: String(Unicode.Scalar(attempt) ?? " ").utf8)
                retry.withUnsafeBytes { message in
                    macOutput.withUnsafeMutableBytes { md5Key.authenticate(message, into: $0) }
                }
                md5 = Self.bigEndianModulo(macOutput[0..<16], bits)
                attempt += 1
            }
            for i in 0..<k { positions.append(UInt16(truncatingIfNeeded: (sha1 + i * md5) % bits)) }
        }
    }

    @inline(__always)
    private mutating func appendWords(count: Int, modulo bits: Int) {
        for word in 0..<count {
            let value = Int(macOutput[2 * word]) | Int(macOutput[2 * word + 1]) << 8
            positions.append(UInt16(truncatingIfNeeded: value % bits))
        }
    }

    static func bigEndianModulo(_ bytes: ArraySlice<UInt8>, _ modulus: Int) -> Int {
        var remainder = 0
        for byte in bytes { remainder = (remainder << 8 | Int(byte)) % modulus }
        return remainder
    }

    // MARK: Hardening (SPEC §5.4, §5.5)

    private mutating func finish(into output: UnsafeMutableRawBufferPointer) -> Int {
        var length = filter.count
        for _ in 0..<settings.xorFolds {
            length /= 2
            for index in 0..<length { filter[index] ^= filter[index + length] }
        }
        let baseBits = settings.baseBits
        if let table = keys.diffusionTable, let taps = settings.hardening.diffusionTaps {
            for index in 0..<(baseBits / 8) { work[index] = 0 }
            for bit in 0..<baseBits {
                var value: UInt8 = 0
                for tap in table[(bit * taps)..<((bit + 1) * taps)] { value ^= Self.bit(filter, Int(tap)) }
                if value != 0 { work[bit >> 3] |= 0x80 >> UInt8(bit & 7) }
            }
            for index in 0..<(baseBits / 8) { filter[index] = work[index] }
        }
        var finalBytes = baseBits / 8
        if let permutation = keys.balancePermutation {
            for index in work.indices { work[index] = 0 }
            for (bit, source) in permutation.enumerated() {
                let value =
                    Int(source) < baseBits
                    ? Self.bit(filter, Int(source)) : 1 - Self.bit(filter, Int(source) - baseBits)
                if value != 0 { work[bit >> 3] |= 0x80 >> UInt8(bit & 7) }
            }
            if filter.count < work.count {
                filter.append(contentsOf: repeatElement(0, count: work.count - filter.count))
            }
            for index in work.indices { filter[index] = work[index] }
            finalBytes = work.count
        }
        if let probability = settings.hardening.flipProbability, let key = keys.randomisedResponseKey {
            flipBits(count: finalBytes * 8, probability: probability, key: key)
        }
        var popcount = 0
        for index in 0..<finalBytes {
            output[index] = filter[index]
            popcount += filter[index].nonzeroBitCount
        }
        return popcount
    }

    /// SPEC §5.5.4: θ = round(p × 65536) with halves rounded to even, as Python's `round` (and so the Python
    /// reference) does. `p` is at most 0.25 (SPEC §2.2).
    static func randomisedResponseThreshold(probability: Double) -> Int {
        Int((probability * 65536).rounded(.toNearestOrEven))
    }

    /// SPEC §5.5.4: bit i flips when word i of HMAC-SHA256(K_rr, filter ‖ block) is below θ.
    private mutating func flipBits(count: Int, probability: Double, key: HMACSHA256Key) {
        let threshold = Self.randomisedResponseThreshold(probability: probability)
        let original = Array(filter[0..<(count / 8)])
        var block: UInt32 = 0
        var bit = 0
        while bit < count {
            macMessage = original
            macMessage.append(contentsOf: [
                UInt8(block >> 24), UInt8(block >> 16 & 0xFF), UInt8(block >> 8 & 0xFF), UInt8(block & 0xFF),
            ])
            macMessage.withUnsafeBytes { message in
                macOutput.withUnsafeMutableBytes { key.authenticate(message, into: $0) }
            }
            for word in 0..<16 where bit < count {
                let value = Int(macOutput[2 * word]) | Int(macOutput[2 * word + 1]) << 8
                if value < threshold { filter[bit >> 3] ^= 0x80 >> UInt8(bit & 7) }
                bit += 1
            }
            block += 1
        }
    }

    @inline(__always)
    private static func bit(_ bytes: [UInt8], _ position: Int) -> UInt8 {
        (bytes[position >> 3] >> (7 - UInt8(position & 7))) & 1
    }
}

/// The bytes of the token being built: a plain buffer, so appending a byte costs no copy-on-write check. Owned by one
/// encoder (which is owned by one thread).
final class TokenBuffer {
    private(set) var bytes: UnsafeMutablePointer<UInt8>
    private(set) var capacity = 256

    init() { bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 256) }

    deinit { bytes.deallocate() }

    /// Doubles the capacity, keeping the contents.
    func grow() {
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
        larger.update(from: bytes, count: capacity)
        bytes.deallocate()
        bytes = larger
        capacity *= 2
    }
}
