import Glibc

/// A token file opened for reading (SPEC §6): memory-mapped, checked for structure on opening, with its columns
/// exposed as raw buffers so the matcher can use them without copying rows into objects.
public final class TokenFile: @unchecked Sendable {
    public let path: String
    public let header: TokenFileHeader
    public let layout: TokenFileLayout
    public let trailer: TokenFileTrailer
    private let base: UnsafeRawPointer
    private let size: Int

    /// Maps and parses `path`; throws on any structural fault (SPEC §6.1–6.5), but does not check the digest or the
    /// signature: call ``verifyDigest()`` and ``verify(_:)`` for that.
    public init(contentsOf path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIO.ioError("cannot open", path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileIO.ioError("cannot read", path) }
        let size = Int(info.st_size)
        guard size >= TokenFileLayout.prefixSize + TokenFileLayout.trailerSize else {
            throw ProtocolError(.invalidTokenFile, "\(path): SPEC §6.1: too short to be a token file (\(size) bytes)")
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw FileIO.ioError("cannot map", path)
        }
        let base = UnsafeRawPointer(mapping)
        do {
            let bytes = UnsafeRawBufferPointer(start: base, count: size)
            guard Array(bytes[0..<8]) == TokenFileLayout.magic else {
                throw ProtocolError(
                    .invalidTokenFile, "\(path): SPEC §6.1: not a Blindmatch token file (bad magic number)")
            }
            let version = bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
            guard version == TokenFileLayout.formatVersion || version == TokenFileLayout.extraFiltersFormatVersion
            else {
                throw ProtocolError(.invalidTokenFile, "\(path): SPEC §6.1: unsupported format version \(version)")
            }
            let headerLength = Int(bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian)
            guard headerLength <= size - TokenFileLayout.prefixSize - TokenFileLayout.trailerSize else {
                throw ProtocolError(
                    .invalidTokenFile, "\(path): SPEC §6.1: the header length runs past the end (truncated?)")
            }
            guard headerLength <= TokenFileHeader.maximumLength else {
                throw ProtocolError(
                    .invalidTokenFile,
                    "\(path): SPEC §6.1: the header is longer than \(TokenFileHeader.maximumLength) bytes")
            }
            let header = try TokenFileHeader(bytes: Array(bytes[16..<(16 + headerLength)]), source: path)
            guard header.formatVersion == version else {
                throw ProtocolError(
                    .invalidTokenFile,
                    "\(path): SPEC §6.1, §6.3: the prefix says format version \(version) but the header is version \(header.formatVersion)"
                )
            }
            let layout = header.layout(headerLength: headerLength)
            guard let expectedSize = layout.checkedFileSize else {
                throw ProtocolError(.invalidTokenFile, "\(path): SPEC §6.2: the header's counts imply no possible size")
            }
            guard expectedSize == size else {
                throw ProtocolError(
                    .invalidTokenFile,
                    "\(path): SPEC §6.2: the file has \(size) bytes but its header implies \(expectedSize) (truncated or padded)"
                )
            }
            let trailer = try TokenFileTrailer(
                bytes: UnsafeRawBufferPointer(rebasing: bytes[layout.trailerOffset..<size]), source: path,
                version: version)
            self.header = header
            self.layout = layout
            self.trailer = trailer
        } catch {
            munmap(mapping, size)
            throw error
        }
        self.base = base
        self.size = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// All bytes of the file.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Records in the file.
    public var recordCount: Int { header.recordCount }

    /// The presence bitmaps, `layout.presenceBytes` per row.
    public var presence: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + layout.presenceOffset, count: layout.presenceLength)
    }

    /// Match key `key`'s tokens, 16 bytes per row.
    public func tokens(key: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            start: base + layout.tokenOffset(key: key), count: layout.recordCount * layout.tokenBytes)
    }

    /// Whether row `row` has a token for match key `key`.
    public func hasToken(row: Int, key: Int) -> Bool {
        presence[row * layout.presenceBytes + key >> 3] & (1 << UInt8(key & 7)) != 0
    }

    /// The Bloom filters, `layout.filterBytes` per row, 64-byte aligned.
    public var filters: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + layout.filterOffset, count: layout.filterLength)
    }

    /// Extra filter `index`'s filters (SPEC §5.6, §6.2), `layout.extraFilterBytes[index]` per row, 64-byte aligned,
    /// in the order of `header.extraFilters`; nil when the file has no extra filter `index`.
    public func extraFilters(_ index: Int) -> UnsafeRawBufferPointer? {
        guard layout.extraFilterBytes.indices.contains(index) else { return nil }
        return UnsafeRawBufferPointer(
            start: base + layout.extraFilterOffset(index), count: layout.extraFilterLength(index))
    }

    /// The index of the extra filter named `name` in `header.extraFilters`, or nil.
    public func extraFilterIndex(named name: String) -> Int? {
        header.extraFilters.firstIndex { $0.name == name }
    }

    /// Recomputes the SHA-256 of everything before the trailer; true when it matches the trailer's.
    public func verifyDigest() -> Bool {
        var hasher = SHA256Hasher()
        hasher.update(UnsafeRawBufferPointer(start: base, count: layout.trailerOffset))
        return hasher.finalize() == trailer.digest
    }

    /// Refuses files that cannot be compared with this one (SPEC §6.7): schema, secret or filter length differ.
    public func checkCompatible(with other: TokenFile) throws {
        var problems: [String] = []
        if header.schemaFingerprint != other.header.schemaFingerprint { problems.append("schema fingerprints differ") }
        if header.keyID != other.header.keyID { problems.append("key ids differ (different linkage secrets)") }
        if header.filterBits != other.header.filterBits { problems.append("filter lengths differ") }
        if header.matchKeys != other.header.matchKeys { problems.append("match keys differ") }
        if header.blockingKeys != other.header.blockingKeys { problems.append("blocking keys differ") }
        if header.extraFilters.map(\.name) != other.header.extraFilters.map(\.name)
            || header.extraFilters.map(\.filterBits) != other.header.extraFilters.map(\.filterBits)
        {
            problems.append("extra filters differ")
        }
        guard problems.isEmpty else {
            throw ProtocolError(
                .incompatible, "\(path) and \(other.path) cannot be compared: \(problems.joined(separator: "; "))")
        }
    }
}
