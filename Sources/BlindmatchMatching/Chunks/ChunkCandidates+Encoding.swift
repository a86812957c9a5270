/// The binary form of a chunk's candidates, as a worker writes them back (docs/scale.md, "Chunks"). All integers
/// little-endian:
///
/// ```
/// "BMCH"  u32 version (1)
/// u64 rowsA.lowerBound  u64 rowsA.upperBound  u64 rowsB.lowerBound  u64 rowsB.upperBound
/// u64 comparisons  u64 exactProbes  f64 exactSeconds  f64 fuzzySeconds
/// u64 exact count  u64 fuzzy count
/// exact pairs, 10 bytes each: u32 rowA  u32 rowB  u16 key
/// fuzzy pairs, 14 bytes each: u32 rowA  u32 rowB  u16 common  u16 popcountA  u16 popcountB
/// ```
///
/// Nothing may follow the last pair. Reading checks every row against the chunk's ranges and every count against
/// the bytes there are, so a damaged blob is refused rather than trusted.
extension ChunkCandidates {
    static let magic: [UInt8] = Array("BMCH".utf8)
    static let version: UInt32 = 1

    /// The chunk in its binary form; throws when a popcount or a key does not fit its 16 bits.
    public func serialized() throws -> [UInt8] {
        var writer = BinaryWriter(capacity: 88 + exact.count * 10 + fuzzy.count * 14)
        writer.bytes(Self.magic)
        writer.u32(Self.version)
        for bound in [rowsA.lowerBound, rowsA.upperBound, rowsB.lowerBound, rowsB.upperBound, comparisons, exactProbes]
        {
            writer.u64(UInt64(max(0, bound)))
        }
        writer.u64(exactSeconds.bitPattern)
        writer.u64(fuzzySeconds.bitPattern)
        writer.u64(UInt64(exact.count))
        writer.u64(UInt64(fuzzy.count))
        for pair in exact {
            guard let key = UInt16(exactly: pair.key) else {
                throw MatchingError(.invalidArgument, "match key \(pair.key) does not fit a chunk's 16 bits")
            }
            writer.u32(pair.rowA)
            writer.u32(pair.rowB)
            writer.u16(key)
        }
        for pair in fuzzy { try writer.pair(pair) }
        return writer.output
    }

    /// Reads a chunk from its binary form, refusing anything malformed (`source` names it in the error).
    public init(serialized bytes: [UInt8], source: String) throws {
        var reader = BinaryReader(bytes, source: source)
        guard try reader.bytes(4) == Self.magic else { throw reader.error("not a chunk's candidates (magic)") }
        let version = try reader.u32()
        guard version == Self.version else { throw reader.error("chunk format version \(version) is not 1") }
        let rowsA = try reader.range("rowsA")
        let rowsB = try reader.range("rowsB")
        let comparisons = try reader.count("comparisons")
        let exactProbes = try reader.count("exactProbes")
        let exactSeconds = Double(bitPattern: try reader.u64())
        let fuzzySeconds = Double(bitPattern: try reader.u64())
        let exactCount = try reader.count("exact count")
        let fuzzyCount = try reader.count("fuzzy count")
        guard exactCount <= reader.remaining / 10, fuzzyCount <= reader.remaining / 14,
            exactCount * 10 + fuzzyCount * 14 == reader.remaining
        else { throw reader.error("the pair counts (\(exactCount), \(fuzzyCount)) do not match the bytes") }
        var exact: [ExactJoin.Pair] = []
        exact.reserveCapacity(exactCount)
        for _ in 0..<exactCount {
            let rowA = try reader.u32()
            let rowB = try reader.u32()
            let key = try reader.u16()
            guard rowsA.contains(Int(rowA)), rowsB.contains(Int(rowB)) else {
                throw reader.error("exact pair (\(rowA), \(rowB)) lies outside the chunk")
            }
            exact.append(ExactJoin.Pair(rowA: rowA, rowB: rowB, key: Int(key)))
        }
        var fuzzy: [ScoredPair] = []
        fuzzy.reserveCapacity(fuzzyCount)
        for _ in 0..<fuzzyCount {
            let pair = try reader.pair()
            guard rowsA.contains(Int(pair.rowA)), rowsB.contains(Int(pair.rowB)) else {
                throw reader.error("fuzzy pair (\(pair.rowA), \(pair.rowB)) lies outside the chunk")
            }
            fuzzy.append(pair)
        }
        self.init(
            rowsA: rowsA, rowsB: rowsB, exact: exact, fuzzy: fuzzy, comparisons: comparisons, exactProbes: exactProbes,
            exactSeconds: exactSeconds, fuzzySeconds: fuzzySeconds)
    }
}

/// Little-endian output for the chunk formats.
struct BinaryWriter {
    var output: [UInt8] = []

    init(capacity: Int) { output.reserveCapacity(capacity) }

    mutating func bytes(_ bytes: [UInt8]) { output.append(contentsOf: bytes) }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { output.append(contentsOf: $0) } }

    /// A fuzzy pair in 14 bytes.
    mutating func pair(_ pair: ScoredPair) throws {
        guard let common = UInt16(exactly: pair.common), let countA = UInt16(exactly: pair.popcountA),
            let countB = UInt16(exactly: pair.popcountB)
        else { throw MatchingError(.invalidArgument, "a popcount does not fit a chunk's 16 bits") }
        u32(pair.rowA)
        u32(pair.rowB)
        u16(common)
        u16(countA)
        u16(countB)
    }
}

/// Little-endian input for the chunk formats; every read is bounds-checked.
struct BinaryReader {
    let bytes: [UInt8]
    let source: String
    var offset = 0

    init(_ bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    var remaining: Int { bytes.count - offset }

    func error(_ reason: String) -> MatchingError {
        MatchingError(.invalidInput, "\(source), byte \(offset): \(reason)")
    }

    mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count <= remaining else { throw error("ends early") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func u16() throws -> UInt16 { UInt16(try unsigned(2)) }
    mutating func u32() throws -> UInt32 { UInt32(try unsigned(4)) }
    mutating func u64() throws -> UInt64 { try unsigned(8) }

    private mutating func unsigned(_ width: Int) throws -> UInt64 {
        guard width <= remaining else { throw error("ends early") }
        var value: UInt64 = 0
        for index in 0..<width { value |= UInt64(bytes[offset + index]) << (8 * index) }
        offset += width
        return value
    }

    /// A count or a row bound: at most 2⁴⁰, far above any file's rows.
    mutating func count(_ field: String) throws -> Int {
        let value = try u64()
        guard value <= 1 << 40 else { throw error("\(field) \(value) is out of range") }
        return Int(value)
    }

    mutating func range(_ field: String) throws -> Range<Int> {
        let lower = try count(field)
        let upper = try count(field)
        guard lower <= upper else { throw error("\(field) \(lower)..<\(upper) is not a range") }
        return lower..<upper
    }

    mutating func pair() throws -> ScoredPair {
        let rowA = try u32()
        let rowB = try u32()
        let common = try u16()
        let countA = try u16()
        let countB = try u16()
        guard common <= min(countA, countB) else { throw error("a pair shares more bits than a filter holds") }
        return ScoredPair(
            rowA: rowA, rowB: rowB, common: UInt32(common), popcountA: UInt32(countA), popcountB: UInt32(countB))
    }
}
