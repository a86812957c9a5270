/// The binary form of a plan, as the server stores it for the workers. All integers little-endian:
///
/// ```
/// "BMPL"  u32 version (1)
/// u64 recordsA  u64 recordsB  u8 flags (1 blocked, 2 fitsModel, 4 has a floor)
/// u64 floor numerator  u64 floor denominator (0 and 0 without a floor)  f64 candidateFloor
/// u64 sample count, then the sampled pairs, 14 bytes each as in a chunk (ChunkCandidates+Encoding.swift)
/// ```
extension MatchPlan {
    static let magic: [UInt8] = Array("BMPL".utf8)
    static let version: UInt32 = 1

    /// The plan in its binary form.
    public func serialized() throws -> [UInt8] {
        var writer = BinaryWriter(capacity: 61 + floorSample.count * 14)
        writer.bytes(Self.magic)
        writer.u32(Self.version)
        writer.u64(UInt64(recordsA))
        writer.u64(UInt64(recordsB))
        writer.bytes([(blocked ? 1 : 0) | (fitsModel ? 2 : 0) | (floor == nil ? 0 : 4)])
        writer.u64(floor?.numerator ?? 0)
        writer.u64(floor?.denominator ?? 0)
        writer.u64(candidateFloor.bitPattern)
        writer.u64(UInt64(floorSample.count))
        for pair in floorSample { try writer.pair(pair) }
        return writer.output
    }

    /// Reads a plan from its binary form, refusing anything malformed (`source` names it in the error).
    public init(serialized bytes: [UInt8], source: String) throws {
        var reader = BinaryReader(bytes, source: source)
        guard try reader.bytes(4) == Self.magic else { throw reader.error("not a run plan (magic)") }
        let version = try reader.u32()
        guard version == Self.version else { throw reader.error("plan format version \(version) is not 1") }
        let recordsA = try reader.count("recordsA")
        let recordsB = try reader.count("recordsB")
        let flags = try reader.bytes(1)[0]
        guard flags & ~7 == 0 else { throw reader.error("unknown plan flags \(flags)") }
        let numerator = try reader.u64()
        let denominator = try reader.u64()
        var floor: DiceThreshold?
        if flags & 4 != 0 {
            guard numerator > 0, numerator <= denominator else {
                throw reader.error("the floor \(numerator)/\(denominator) is not in (0, 1]")
            }
            floor = DiceThreshold(numerator: numerator, denominator: denominator)
        }
        let candidateFloor = Double(bitPattern: try reader.u64())
        guard candidateFloor.isFinite else { throw reader.error("the candidate floor is not a number") }
        let count = try reader.count("sample count")
        guard count * 14 == reader.remaining else { throw reader.error("the sample count does not match the bytes") }
        var sample: [ScoredPair] = []
        sample.reserveCapacity(count)
        for _ in 0..<count {
            let pair = try reader.pair()
            guard Int(pair.rowA) < recordsA, Int(pair.rowB) < recordsB else {
                throw reader.error("sampled pair (\(pair.rowA), \(pair.rowB)) lies outside the files")
            }
            sample.append(pair)
        }
        self.init(
            recordsA: recordsA, recordsB: recordsB, blocked: flags & 1 != 0, fitsModel: flags & 2 != 0, floor: floor,
            candidateFloor: candidateFloor, floorSample: sample)
    }
}
