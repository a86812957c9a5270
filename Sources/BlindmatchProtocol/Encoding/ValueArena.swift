/// One record's prepared values as UTF-8, back to back in one reused buffer: the field values after normalisation
/// (SPEC §3) and the match-key pieces taken of them (SPEC §4.2).
///
/// Preparing a record allocates nothing once the buffer has grown to fit the longest record. Owned by one encoder,
/// so by one thread. A ``Piece`` names bytes by offset, so it survives growth; a buffer pointer from
/// `subscript(_:)` is valid only until the next `room(for:)`, `append` or `removeAll()`.
final class ValueArena {
    /// A run of the arena's bytes, `start ..< start + count`, or a missing value when `count` is negative.
    struct Piece {
        var start: Int
        var count: Int
        /// Every byte is ASCII and none is a carriage return, so each byte is one `Character` (CR LF is one).
        var isSimple: Bool

        static let missing = Piece(start: 0, count: -1, isSimple: true)

        /// Whether the piece is present; an empty piece is present (an empty match-key part is not a missing one).
        var isPresent: Bool { count >= 0 }
    }

    @exclusivity(unchecked) private var base: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private var count = 0

    init(capacity: Int = 1024) {
        self.capacity = capacity
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// Forgets every piece, keeping the storage.
    @inline(__always)
    func removeAll() { count = 0 }

    /// Room for `extra` bytes after the last piece, to write one piece and then `commit`. Growing moves the bytes:
    /// take a piece's bytes only after asking for room.
    @inline(__always)
    func room(for extra: Int) -> UnsafeMutableBufferPointer<UInt8> {
        if count + extra > capacity { grow(to: count + extra) }
        return UnsafeMutableBufferPointer(start: base + count, count: extra)
    }

    /// Ends the piece of `written` bytes just written to `room(for:)`.
    @inline(__always)
    func commit(_ written: Int) -> Piece {
        var isSimple = true
        for index in count..<(count + written) where base[index] >= 0x80 || base[index] == 0x0D { isSimple = false }
        let piece = Piece(start: count, count: written, isSimple: isSimple)
        count += written
        return piece
    }

    /// Appends a copy of `bytes` as a piece.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Piece {
        let room = room(for: bytes.count)
        for index in 0..<bytes.count { room[index] = bytes[index] }
        return commit(bytes.count)
    }

    /// Appends the UTF-8 of `text` as a piece.
    func append(_ text: String) -> Piece {
        var text = text
        return text.withUTF8 { append($0) }
    }

    /// The bytes of a present piece (empty for a missing one).
    @inline(__always)
    subscript(_ piece: Piece) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + piece.start, count: max(piece.count, 0))
    }

    /// A piece as a string.
    func string(_ piece: Piece) -> String {
        String(decoding: self[piece], as: UTF8.self)
    }

    private func grow(to needed: Int) {
        var larger = capacity * 2
        while larger < needed { larger *= 2 }
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    /// SPEC §4.2: the piece that a match-key part (or a salt) takes of a prepared value; missing when the value is
    /// missing or empty, or the transform gives nothing. The same as ``RecordEncoder/transform(_:_:)`` on the value's
    /// text, which it falls back on for values that are not simple.
    func piece(of value: Piece, _ transform: MatchKeyPart.Transform) -> Piece {
        guard value.count > 0 else { return .missing }
        guard value.isSimple else {
            guard let piece = RecordEncoder.transform(string(value), transform) else { return .missing }
            return append(piece)
        }
        switch transform {
        case .value:
            return value
        case .initial:
            return Piece(start: value.start, count: 1, isSimple: true)
        case .first:
            return firstWord(of: value)
        case .canonical:
            let word = firstWord(of: value)
            guard let name = Nicknames.canonicalName(ofASCII: self[word]) else { return word }
            return name.withUnsafeBufferPointer { append($0) }
        case .soundex:
            let room = room(for: 4)
            return Phonetic.soundex(self[value], into: room) ? commit(4) : .missing
        case .year:
            return value.count >= 4 ? Piece(start: value.start, count: 4, isSimple: true) : .missing
        }
    }

    /// SPEC §4.2 `first`: the value up to its first space.
    private func firstWord(of value: Piece) -> Piece {
        let bytes = self[value]
        var length = 0
        while length < bytes.count && bytes[length] != 0x20 { length += 1 }
        return Piece(start: value.start, count: length, isSimple: value.isSimple)
    }
}
