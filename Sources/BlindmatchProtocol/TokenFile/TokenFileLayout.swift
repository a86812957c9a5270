/// SPEC §6.1–6.2: where everything sits in a token file.
///
/// ```
/// offset   size     content
/// 0        8        magic 89 42 4D 54 0D 0A 1A 0A  ("\x89BMT\r\n\x1A\n")
/// 8        4        format version, unsigned 32-bit little-endian (1)
/// 12       4        header length H, unsigned 32-bit little-endian
/// 16       H        header: canonical JSON (SPEC §2.1, §6.3)
///          …        zero padding to a multiple of 64
/// A0       n × P    presence bitmaps, P = ⌈m / 8⌉ bytes per row; bit j (least significant first) = key j present
/// A1…Am    n × 16   one column per match key: the token, or 16 zero bytes when absent
/// AB       n × F    Bloom filters, F = filterBits / 8 bytes per row, bit 0 = most significant bit of byte 0
/// AE1…AEk  n × Fi   version 2 only: one region per extra filter (SPEC §5.6), Fi = its filterBits / 8 bytes per row
/// T        144      trailer (SPEC §6.5)
/// ```
/// Every column starts at a multiple of 64 and is followed by zero padding to the next multiple of 64.
public struct TokenFileLayout: Sendable, Equatable {
    public static let magic: [UInt8] = [0x89, 0x42, 0x4D, 0x54, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let trailerMagic: [UInt8] = Array("BMTRAILR".utf8)
    /// The format version of a file without extra filters, byte for byte as before they existed (SPEC §6.1, §8).
    public static let formatVersion: UInt32 = 1
    /// The format version of a file with extra filters (SPEC §6.1, §8): header member `extraFilters` and a region
    /// per extra filter.
    public static let extraFiltersFormatVersion: UInt32 = 2
    public static let alignment = 64
    public static let prefixSize = 16
    public static let trailerSize = 144
    /// Prepended to the digest before signing (SPEC §6.5): version 1.
    public static let signatureContext: [UInt8] = signatureContext(version: formatVersion)

    /// Prepended to the digest before signing (SPEC §6.5): `"blindmatch token file v<version>" ‖ 0x00`.
    public static func signatureContext(version: UInt32) -> [UInt8] {
        Array("blindmatch token file v\(version)".utf8) + [0]
    }

    public let recordCount: Int
    public let matchKeyCount: Int
    public let tokenBytes: Int
    public let filterBytes: Int
    public let headerLength: Int
    /// Bytes per row of each extra filter (SPEC §5.6), in the header's order; empty in a version 1 file.
    public let extraFilterBytes: [Int]

    public init(
        recordCount: Int, matchKeyCount: Int, tokenBytes: Int, filterBytes: Int, headerLength: Int,
        extraFilterBytes: [Int] = []
    ) {
        self.recordCount = recordCount
        self.matchKeyCount = matchKeyCount
        self.tokenBytes = tokenBytes
        self.filterBytes = filterBytes
        self.headerLength = headerLength
        self.extraFilterBytes = extraFilterBytes
    }

    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }

    public var presenceBytes: Int { (matchKeyCount + 7) / 8 }
    public var presenceOffset: Int { Self.aligned(Self.prefixSize + headerLength) }
    public var presenceLength: Int { recordCount * presenceBytes }

    public func tokenOffset(key: Int) -> Int {
        Self.aligned(presenceOffset + presenceLength) + key * Self.aligned(recordCount * tokenBytes)
    }

    public var filterOffset: Int { tokenOffset(key: matchKeyCount) }
    public var filterLength: Int { recordCount * filterBytes }

    /// Where extra filter `index` starts: 64-byte aligned after the region before it (SPEC §6.2).
    public func extraFilterOffset(_ index: Int) -> Int {
        var offset = filterOffset + filterLength
        for earlier in 0..<index { offset = Self.aligned(offset) + recordCount * extraFilterBytes[earlier] }
        return Self.aligned(offset)
    }

    /// Bytes of extra filter `index`'s region, without its padding.
    public func extraFilterLength(_ index: Int) -> Int { recordCount * extraFilterBytes[index] }

    /// The end of the last region (the first filter's, or the last extra filter's), before the trailer's padding.
    var lastRegionEnd: Int {
        guard let last = extraFilterBytes.indices.last else { return filterOffset + filterLength }
        return extraFilterOffset(last) + extraFilterLength(last)
    }

    public var trailerOffset: Int { Self.aligned(lastRegionEnd) }
    public var fileSize: Int { trailerOffset + Self.trailerSize }

    /// ``fileSize`` computed with every step checked for overflow: nil when a hostile header's counts do not fit
    /// (SPEC §6.2, §6.3). Readers check this before using any other offset.
    public var checkedFileSize: Int? {
        func product(_ a: Int, _ b: Int) -> Int? {
            let (value, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow || value < 0 ? nil : value
        }
        func sum(_ a: Int, _ b: Int) -> Int? {
            let (value, overflow) = a.addingReportingOverflow(b)
            return overflow || value < 0 ? nil : value
        }
        func aligned(_ offset: Int) -> Int? {
            sum(offset, Self.alignment - 1).map { $0 / Self.alignment * Self.alignment }
        }
        guard recordCount >= 0, matchKeyCount >= 0, tokenBytes >= 0, filterBytes >= 0, headerLength >= 0,
            let presence = sum(Self.prefixSize, headerLength).flatMap(aligned),
            let presenceLength = product(recordCount, (matchKeyCount + 7) / 8),
            let tokens = sum(presence, presenceLength).flatMap(aligned),
            let column = product(recordCount, tokenBytes).flatMap(aligned),
            let tokenColumns = product(matchKeyCount, column),
            let filters = sum(tokens, tokenColumns),
            let filterLength = product(recordCount, filterBytes),
            var end = sum(filters, filterLength)
        else { return nil }
        for bytes in extraFilterBytes {
            guard bytes >= 0, let start = aligned(end), let length = product(recordCount, bytes),
                let next = sum(start, length)
            else { return nil }
            end = next
        }
        guard let trailer = aligned(end) else { return nil }
        return sum(trailer, Self.trailerSize)
    }

    /// The byte ranges that must be zero: the padding after the header and after each column.
    public var paddingRanges: [Range<Int>] {
        var ranges: [Range<Int>] = [(Self.prefixSize + headerLength)..<presenceOffset]
        ranges.append((presenceOffset + presenceLength)..<tokenOffset(key: 0))
        for key in 0..<matchKeyCount {
            ranges.append((tokenOffset(key: key) + recordCount * tokenBytes)..<tokenOffset(key: key + 1))
        }
        var end = filterOffset + filterLength
        for index in extraFilterBytes.indices {
            ranges.append(end..<extraFilterOffset(index))
            end = extraFilterOffset(index) + extraFilterLength(index)
        }
        ranges.append(end..<trailerOffset)
        return ranges.filter { !$0.isEmpty }
    }
}
