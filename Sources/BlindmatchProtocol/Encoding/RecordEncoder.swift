import Glibc

/// Encodes one record at a time into a token-file row: presence bitmap, match-key tokens, Bloom filter
/// (SPEC §4, §5, §6.4).
///
/// One encoder per worker thread: it owns scratch buffers, per-field position caches and OpenSSL contexts, so it
/// is not thread-safe. All encoders made from one ``EncodingContext`` produce identical output.
public final class RecordEncoder {
    /// Why a record's column could not be used, for strict (clkhash) runs that refuse bad entries.
    public struct InvalidEntry: Sendable, Equatable {
        public let column: Int
        public let reason: String
    }

    /// The longest normalised value, in UTF-8 bytes; a longer one is invalid (SPEC §3.9), since a match-key part's
    /// length is written in two bytes (SPEC §4.3).
    public static let maximumValueBytes = 65535

    public let context: EncodingContext
    private var state: RecordEncoding

    public init(context: EncodingContext) throws {
        self.context = context
        state = try RecordEncoding(context: context)
    }

    /// Encodes record `record` of `batch` into `row` (`context.rowWidth` bytes) and counts it in `statistics`.
    ///
    /// - Returns: the first entry clkhash would refuse (clkhash schemas), or nil. Native schemas never refuse an
    ///   entry: invalid values are counted and treated as missing (SPEC §3).
    @discardableResult
    public func encode(
        _ batch: RecordBatch, record: Int, into row: UnsafeMutableRawBufferPointer,
        statistics: inout EncodingStatistics
    ) -> InvalidEntry? {
        state.encode(batch, record: record, into: row, statistics: &statistics)
    }

    /// SPEC §4.2: what a match-key part (or a salt) takes of a normalised value; nil means missing.
    static func transform(_ value: String, _ transform: MatchKeyPart.Transform) -> String? {
        guard !value.isEmpty else { return nil }
        switch transform {
        case .value: return value
        case .initial: return value.first.map(String.init)
        case .first: return Nicknames.firstWord(of: value)
        case .canonical: return Nicknames.canonical(Nicknames.firstWord(of: value))
        case .soundex: return Phonetic.soundex(value)
        case .year: return value.utf8.count >= 4 ? String(value.prefix(4)) : nil
        }
    }
}

/// The encoder's working state, a value type so the per-record loop accesses it statically.
private struct RecordEncoding {
    typealias InvalidEntry = RecordEncoder.InvalidEntry
    typealias Piece = ValueArena.Piece
    let context: EncodingContext
    /// This record's prepared values and match-key pieces.
    private let arena = ValueArena()
    /// Per column, its prepared value in `arena`.
    private var values: [Piece]
    private var message: [UInt8] = []
    private var digest = [UInt8](repeating: 0, count: 64)
    private var block = [UInt8](repeating: 0, count: 64)
    private var bloomEncoder: BloomFilterEncoder?
    /// The Bloom filter's salt part (SPEC §5.5.1), if it is salted.
    private let saltPart: MatchKeyPart?
    /// The extra filters' encoders, salt parts and row offsets (SPEC §5.6), in schema order.
    private var extraEncoders: [BloomFilterEncoder]
    private let extraSaltParts: [MatchKeyPart?]
    private let extraRanges: [Range<Int>]
    // Private copies of what the per-record loop reads, so worker threads never share (and contend on the
    // reference counts of) the same array buffers.
    private let matchKeyMACs: [HMACSHA256Key]
    private let presenceBytes: Int
    private let filterBytes: Int
    /// Every distinct (column, transform) that some key uses, computed once per record (keys share parts).
    private let slots: [MatchKeyPart]
    /// Per token key, its parts as indices into `slots` in schema order: key k's are
    /// `flatSlots[slotRange[k] ..< slotRange[k + 1]]`.
    private let flatSlots: [Int]
    private let slotRange: [Int]
    private let tokenKeyCount: Int
    /// This record's slot values, pieces of `arena` (missing ones too).
    private var slotPieces: [Piece]
    private var order: [Int] = []
    /// Per column, how it is prepared, without references: the loop copies these, so nothing is retained.
    private let plans: [ColumnPlan]
    private let formats: [ClkhashFieldFormat]
    private let anyOrder: [Bool]
    /// Per token key, its `bucketBits` (SPEC §4.5.1), 0 for a full token.
    private let bucketBits: [Int]

    private enum ColumnPlan {
        case skip
        case normalise(Normaliser)
        case clkhash(Int)
    }

    init(context: EncodingContext) throws {
        self.context = context
        matchKeyMACs = context.matchKeyMACs.map { $0 }
        presenceBytes = context.presenceBytes
        filterBytes = context.filterBytes
        var slots: [MatchKeyPart] = []
        let keySlots = context.schema.tokenKeys.map { key in
            key.parts.map { part in
                if let index = slots.firstIndex(of: part) { return index }
                slots.append(part)
                return slots.count - 1
            }
        }
        self.slots = slots
        flatSlots = keySlots.flatMap { $0 }
        var ranges = [0]
        for parts in keySlots { ranges.append(ranges[ranges.count - 1] + parts.count) }
        tokenKeyCount = keySlots.count
        slotRange = ranges
        slotPieces = Array(repeating: .missing, count: slots.count)
        anyOrder = context.schema.tokenKeys.map(\.anyOrder)
        bucketBits = context.schema.tokenKeys.map { $0.bucketBits ?? 0 }
        var formats: [ClkhashFieldFormat] = []
        let skipped = context.schema.flavour == .native ? context.schema.recordKeyColumn : -1
        plans = context.schema.columns.enumerated().map { index, column in
            guard index != skipped else { return .skip }
            switch column.format {
            case .ignored: return .skip
            case .normalised(let normaliser): return .normalise(normaliser)
            case .clkhash(let format):
                formats.append(format)
                return .clkhash(formats.count - 1)
            }
        }
        self.formats = formats
        values = Array(repeating: .missing, count: context.schema.columns.count)
        message.reserveCapacity(256)
        saltPart = context.schema.bloom?.hardening.salt
        if let keys = context.filterKeys { bloomEncoder = try BloomFilterEncoder(context: context, keys: keys) }
        extraEncoders = try context.extraFilterKeys.map { try BloomFilterEncoder(context: context, keys: $0) }
        extraSaltParts = context.schema.extraFilters.map(\.settings.hardening.salt)
        extraRanges = context.extraFilterBytes.indices.map {
            context.extraFilterRowOffset($0)..<(context.extraFilterRowOffset($0) + context.extraFilterBytes[$0])
        }
    }

    mutating func encode(
        _ batch: RecordBatch, record: Int, into row: UnsafeMutableRawBufferPointer,
        statistics: inout EncodingStatistics
    ) -> InvalidEntry? {
        var invalid: InvalidEntry?
        arena.removeAll()
        batch.bytes.withUnsafeBufferPointer { fields in
            for index in plans.indices {
                switch plans[index] {
                case .skip:
                    values[index] = .missing
                case .normalise(let normaliser):
                    let raw = UnsafeBufferPointer(rebasing: fields[batch.range(record: record, column: index)])
                    values[index] = prepare(raw, with: normaliser, statistics: &statistics.columns[index])
                case .clkhash(let formatIndex):
                    let format = formats[formatIndex]
                    let raw = batch.string(record: record, column: index)
                    switch format.format(raw) {
                    case .success(let value):
                        values[index] = arena.append(value)
                        if value.isEmpty || raw == format.missingValue?.sentinel {
                            statistics.columns[index].missing += 1
                        } else {
                            statistics.columns[index].present += 1
                        }
                    case .failure(let error):
                        values[index] = .missing
                        statistics.columns[index].invalid += 1
                        if invalid == nil { invalid = InvalidEntry(column: index, reason: error.reason) }
                    }
                }
            }
        }
        statistics.records += 1

        for index in 0..<presenceBytes { row[index] = 0 }
        for index in slots.indices {
            let slot = slots[index]
            slotPieces[index] = arena.piece(of: values[slot.column], slot.transform)
        }
        for keyIndex in 0..<tokenKeyCount {
            let tokenOffset = presenceBytes + keyIndex * EncodingContext.tokenBytes
            if makeToken(key: keyIndex) {
                let token = UnsafeMutableRawBufferPointer(
                    rebasing: row[tokenOffset..<(tokenOffset + EncodingContext.tokenBytes)])
                digest.withUnsafeBytes {
                    token.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<EncodingContext.tokenBytes]))
                }
                row[keyIndex >> 3] |= 1 << UInt8(keyIndex & 7)
                statistics.matchKeysPresent[keyIndex] += 1
            } else {
                for index in tokenOffset..<(tokenOffset + EncodingContext.tokenBytes) { row[index] = 0 }
            }
        }
        let filterOffset = presenceBytes + tokenKeyCount * EncodingContext.tokenBytes
        let filter = UnsafeMutableRawBufferPointer(rebasing: row[filterOffset..<(filterOffset + filterBytes)])
        if bloomEncoder != nil {
            let salt = saltPart.map { arena.piece(of: values[$0.column], $0.transform) }
            if let popcount = bloomEncoder?.encode(values: values, in: arena, salt: salt, into: filter) {
                statistics.recordPopcount(popcount)
            }
        }
        for index in extraEncoders.indices {
            let output = UnsafeMutableRawBufferPointer(rebasing: row[extraRanges[index]])
            let salt = extraSaltParts[index].map { arena.piece(of: values[$0.column], $0.transform) }
            let popcount = extraEncoders[index].encode(values: values, in: arena, salt: salt, into: output)
            statistics.recordExtraPopcount(popcount, filter: index)
        }
        return invalid
    }

    /// Normalises one raw value into `arena` and counts it (SPEC §3): the ASCII fast path writes straight into
    /// the arena; other input takes the Unicode path of `Normaliser.normalise(_:)`.
    private func prepare(
        _ raw: UnsafeBufferPointer<UInt8>, with normaliser: Normaliser,
        statistics: inout EncodingStatistics.ColumnCounts
    ) -> Piece {
        let room = arena.room(for: Normaliser.outputCapacity(forInput: raw.count))
        let piece: Piece
        let isChanged: Bool
        switch normaliser.normalise(raw, into: room) {
        case .value(let count)?:
            var isSame = count == raw.count
            var index = 0
            while isSame && index < count {
                isSame = room[index] == raw[index]
                index += 1
            }
            isChanged = !isSame
            piece = arena.commit(count)
        case .missing?:
            statistics.missing += 1
            return .missing
        case .invalid?:
            statistics.invalid += 1
            return .missing
        case nil:
            let text = String(decoding: raw, as: UTF8.self)
            switch normaliser.normalise(text) {
            case .value(let value):
                isChanged = value != text
                piece = arena.append(value)
            case .missing:
                statistics.missing += 1
                return .missing
            case .invalid:
                statistics.invalid += 1
                return .missing
            }
        }
        guard piece.count <= RecordEncoder.maximumValueBytes else {
            // SPEC §3.9: too long for a match-key part's 2-byte length (SPEC §4.3), so not a value.
            statistics.invalid += 1
            return .missing
        }
        statistics.present += 1
        if isChanged { statistics.changed += 1 }
        return piece
    }

    /// SPEC §4.3, §4.5.1: the key's token into `digest` (its first 16 bytes); false when a part is missing.
    /// Messages of up to 55 bytes (almost all) are assembled straight into the HMAC's padded block.
    private mutating func makeToken(key: Int) -> Bool {
        guard makeFullToken(key: key) else { return false }
        let bits = bucketBits[key]
        guard bits > 0 else { return true }
        // SPEC §4.5.1: the token of the bucket, the first `bits` bits of the HMAC (later bits of its last byte
        // cleared), under the same key.
        let mac = matchKeyMACs[key]
        let bytes = (bits + 7) / 8
        let mask = UInt8(truncatingIfNeeded: 0xFF << (8 * bytes - bits))
        block.withUnsafeMutableBufferPointer { block in
            guard let base = block.baseAddress else { return }
            for index in 0..<bytes { base[index] = digest[index] }
            base[bytes - 1] &= mask
            digest.withUnsafeMutableBytes { mac.authenticate(messageInBlock: base, length: bytes, into: $0) }
        }
        return true
    }

    /// SPEC §4.3: the key's full HMAC into `digest`; false when a part is missing.
    private mutating func makeFullToken(key: Int) -> Bool {
        guard let length = orderParts(key: key) else { return false }
        let mac = matchKeyMACs[key]
        let order = self.order
        let arena = self.arena
        let slotPieces = self.slotPieces
        // Almost always: the message fits one padded block and is written straight into it.
        if length <= 55 {
            block.withUnsafeMutableBufferPointer { block in
                guard let base = block.baseAddress else { return }
                var offset = 0
                for slot in order {
                    let piece = arena[slotPieces[slot]]
                    base[offset] = UInt8(truncatingIfNeeded: piece.count >> 8)
                    base[offset + 1] = UInt8(truncatingIfNeeded: piece.count)
                    offset += 2
                    if let source = piece.baseAddress { (base + offset).update(from: source, count: piece.count) }
                    offset += piece.count
                }
                digest.withUnsafeMutableBytes { mac.authenticate(messageInBlock: base, length: offset, into: $0) }
            }
            return true
        }
        message.removeAll(keepingCapacity: true)
        for slot in order {
            let piece = arena[slotPieces[slot]]
            message.append(UInt8(truncatingIfNeeded: piece.count >> 8))
            message.append(UInt8(truncatingIfNeeded: piece.count))
            message.append(contentsOf: piece)
        }
        message.withUnsafeBytes { source in digest.withUnsafeMutableBytes { mac.authenticate(source, into: $0) } }
        return true
    }

    /// SPEC §4.3: puts the key's parts in `order` (sorted by their bytes when the key is `anyOrder`) and returns
    /// the message length (2 bytes of length per part plus its UTF-8), or nil when a part is missing.
    private mutating func orderParts(key: Int) -> Int? {
        order.removeAll(keepingCapacity: true)
        var length = 0
        for position in slotRange[key]..<slotRange[key + 1] {
            let slot = flatSlots[position]
            let count = slotPieces[slot].count
            // Values are at most 65535 bytes (see encode), and transforms give at most the value or a short code
            // or name; a longer piece would wrap its 2-byte length, so it makes the key absent, never ambiguous.
            guard count >= 0, count <= RecordEncoder.maximumValueBytes else { return nil }
            order.append(slot)
            length += 2 + count
        }
        if anyOrder[key] && order.count > 1 {
            // Insertion sort by the pieces' bytes (a key has at most 8 parts).
            func precedes(_ left: Int, _ right: Int) -> Bool {
                let a = arena[slotPieces[left]]
                let b = arena[slotPieces[right]]
                let common = min(a.count, b.count)
                if common > 0, let baseA = a.baseAddress, let baseB = b.baseAddress {
                    let order = memcmp(baseA, baseB, common)
                    if order != 0 { return order < 0 }
                }
                return a.count < b.count
            }
            for index in 1..<order.count {
                let item = order[index]
                var position = index
                while position > 0 && precedes(item, order[position - 1]) {
                    order[position] = order[position - 1]
                    position -= 1
                }
                order[position] = item
            }
        }
        return length
    }
}
