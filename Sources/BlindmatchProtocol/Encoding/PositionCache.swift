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

    /// One slot: the key and where its positions are, together in 32 bytes so a probe touches one cache line.
    private struct Slot {
        var key: Key
        var offset: UInt32
        var count: UInt32
    }

    private var slots: [Slot]
    private(set) var pool: [UInt16] = []
    private var entries = 0
    private let shift: UInt64
    private let mask: Int

    /// 4096 slots (128 KiB) per field: room for the 2048 distinct tokens a field usually has, small enough that
    /// the caches of a record's fields stay in the core's L2 cache.
    init(capacityLog2: Int = 12) {
        let capacity = 1 << capacityLog2
        slots = Array(repeating: Slot(key: Key(unsafeEmpty: ()), offset: 0, count: 0), count: capacity)
        shift = UInt64(64 - capacityLog2)
        mask = capacity - 1
        pool.reserveCapacity(capacity * 8)
    }

    /// The cached positions for `key` if at least `needed` are cached: (offset into `pool`, count).
    @inline(__always)
    func lookup(_ key: Key, needed: Int) -> Int? {
        var index = Int(truncatingIfNeeded: key.hash >> shift)
        while true {
            let slot = slots[index]
            if slot.key.c == 0 { return nil }
            if slot.key == key { return Int(slot.count) >= needed ? Int(slot.offset) : nil }
            index = (index + 1) & mask
        }
    }

    /// Sets the first `needed` cached positions of `key` in `filter` (bit p = byte p/8, mask 0x80 >> p%8) and
    /// returns true, or returns false when fewer are cached. Mutating only so that callers reach the cache in place
    /// (no copy, no reference counting) on the hot path.
    @inline(__always)
    mutating func setCachedBits(_ key: Key, needed: Int, in filter: inout [UInt8]) -> Bool {
        guard let offset = lookup(key, needed: needed) else { return false }
        pool.withUnsafeBufferPointer { pool in
            filter.withUnsafeMutableBufferPointer { bits in
                for position in pool[offset..<(offset + needed)] {
                    bits[Int(position) >> 3] |= 0x80 >> UInt8(position & 7)
                }
            }
        }
        return true
    }

    /// Stores positions for `key`, replacing a shorter entry; returns their offset in `pool`.
    mutating func insert(_ key: Key, positions: UnsafeBufferPointer<UInt16>) -> Int {
        if entries * 2 >= slots.count || pool.count + positions.count > slots.count * 64 { clear() }
        var index = Int(truncatingIfNeeded: key.hash >> shift)
        while slots[index].key.c != 0 && slots[index].key != key { index = (index + 1) & mask }
        if slots[index].key.c == 0 { entries += 1 }
        slots[index] = Slot(key: key, offset: UInt32(pool.count), count: UInt32(positions.count))
        pool.append(contentsOf: positions)
        return Int(slots[index].offset)
    }

    private mutating func clear() {
        for index in slots.indices { slots[index].key = Key(unsafeEmpty: ()) }
        pool.removeAll(keepingCapacity: true)
        entries = 0
    }
}

extension PositionCache.Key {
    fileprivate init(unsafeEmpty: Void) {}
}
