/// A per-field cache from token bytes to Bloom-filter bit positions.
///
/// A name field has about a thousand distinct bigrams, so almost every lookup hits and the keyed hash is computed
/// once per distinct token. Open addressing over packed keys, no allocation per entry; cleared when full so memory
/// stays bounded whatever the input. Tokens longer than 23 bytes are not cached.
struct PositionCache {
    /// Up to 23 token bytes packed little-endian, with (length + 1) in the top byte of `c` (0 marks an empty slot).
    struct Key: Equatable {
        var a: UInt64 = 0
        var b: UInt64 = 0
        var c: UInt64 = 0

        static let maximumLength = 23

        init?(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count <= Self.maximumLength else { return nil }
            for (index, byte) in bytes.enumerated() {
                let shift = UInt64(index & 7) * 8
                switch index >> 3 {
                case 0: a |= UInt64(byte) << shift
                case 1: b |= UInt64(byte) << shift
                default: c |= UInt64(byte) << shift
                }
            }
            c |= UInt64(bytes.count + 1) << 56
        }

        /// The key of a token being built byte by byte: start with `init(building:)`, `append`, then `finished`.
        init(building: Void) {}

        /// Adds the byte at position `index` (0-based; callers stop at `maximumLength`).
        @inline(__always)
        mutating func append(_ byte: UInt8, at index: Int) {
            let shift = UInt64(index & 7) &* 8
            switch index >> 3 {
            case 0: a |= UInt64(byte) << shift
            case 1: b |= UInt64(byte) << shift
            default: c |= UInt64(byte) << shift
            }
        }

        /// The key for a token of `length` bytes, or nil when it is too long to cache.
        @inline(__always)
        func finished(length: Int) -> Key? {
            guard length <= Self.maximumLength else { return nil }
            var key = self
            key.c |= UInt64(length + 1) << 56
            return key
        }

        @inline(__always)
        var hash: UInt64 {
            (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F) ^ (c &* 0x1656_67B1_9E37_79F9)
        }
    }

    private var keys: [Key]
    private var offsets: [UInt32]
    private var counts: [UInt16]
    private(set) var pool: [UInt16] = []
    private var entries = 0
    private let shift: UInt64
    private let mask: Int

    init(capacityLog2: Int = 14) {
        let capacity = 1 << capacityLog2
        keys = Array(repeating: Key(unsafeEmpty: ()), count: capacity)
        offsets = Array(repeating: 0, count: capacity)
        counts = Array(repeating: 0, count: capacity)
        shift = UInt64(64 - capacityLog2)
        mask = capacity - 1
        pool.reserveCapacity(capacity * 8)
    }

    /// The cached positions for `key` if at least `needed` are cached: (offset into `pool`, count).
    @inline(__always)
    func lookup(_ key: Key, needed: Int) -> Int? {
        var slot = Int(truncatingIfNeeded: key.hash >> shift)
        while true {
            let candidate = keys[slot]
            if candidate.c == 0 { return nil }
            if candidate == key { return Int(counts[slot]) >= needed ? Int(offsets[slot]) : nil }
            slot = (slot + 1) & mask
        }
    }

    /// Stores positions for `key`, replacing a shorter entry; returns their offset in `pool`.
    mutating func insert(_ key: Key, positions: UnsafeBufferPointer<UInt16>) -> Int {
        if entries * 2 >= keys.count || pool.count + positions.count > keys.count * 64 { clear() }
        var slot = Int(truncatingIfNeeded: key.hash >> shift)
        while keys[slot].c != 0 && keys[slot] != key { slot = (slot + 1) & mask }
        if keys[slot].c == 0 { entries += 1 }
        keys[slot] = key
        offsets[slot] = UInt32(pool.count)
        counts[slot] = UInt16(positions.count)
        pool.append(contentsOf: positions)
        return Int(offsets[slot])
    }

    private mutating func clear() {
        for index in keys.indices { keys[index] = Key(unsafeEmpty: ()) }
        pool.removeAll(keepingCapacity: true)
        entries = 0
    }
}

extension PositionCache.Key {
    fileprivate init(unsafeEmpty: Void) {}
}
