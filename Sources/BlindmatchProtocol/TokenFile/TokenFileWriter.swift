import Glibc

/// Writes a token file and its local map (SPEC §6) from encoded rows, in constant memory whatever the row count.
///
/// Rows are scattered at random into bucket files in a private temporary folder beside the output, then each
/// bucket is shuffled in memory and written to its place in every column: together a uniformly random permutation,
/// so the file order says nothing about the agency's order (SPEC §6.4). The token file and the map appear only
/// when ``finish(statistics:signingKey:)`` succeeds; on any failure, or ``abandon()``, nothing is left behind.
public final class TokenFileWriter {
    /// What was written.
    public struct Summary: Sendable {
        public let header: TokenFileHeader
        public let digest: [UInt8]
        public let fileSize: Int
    }

    private let path: String
    private let mapPath: String?
    /// Where the token file and the map are written until they are renamed into place (SPEC §6.8).
    private let partialPath: String
    private let mapPartialPath: String?
    private let context: EncodingContext
    private let party: String
    private let rowWidth: Int
    private let bucketDirectory: String
    private var buckets: [BucketFile]
    private var rowCount = 0
    private var generator: any RandomNumberGenerator
    private var finished = false
    /// A descriptor of the scatter folder, holding its lock; -1 once closed.
    private var workLock: Int32 = -1
    /// Fixed creation time, for reproducible vectors; nil means now.
    var createdAt: String?

    /// - Parameters:
    ///   - expectedRecords: a size hint (e.g. from the input file's size) that sets the number of buckets.
    ///   - generator: the shuffle's randomness; only vectors pass anything but the default.
    public init(
        path: String, mapPath: String?, context: EncodingContext, party: String, expectedRecords: Int,
        generator: any RandomNumberGenerator = SecureRandomGenerator()
    ) throws {
        self.path = path
        self.mapPath = mapPath
        partialPath = AtomicFile.temporaryPath(for: path)
        mapPartialPath = mapPath.map { AtomicFile.temporaryPath(for: $0) }
        self.context = context
        self.party = party
        self.generator = generator
        rowWidth = context.rowWidth
        bucketDirectory = AtomicFile.temporaryPath(for: path, suffix: "work")
        let workDirectory = bucketDirectory
        // About 64k rows per bucket keeps each shuffle in a few megabytes; at most 256 buckets stay open.
        let count = min(256, max(1, expectedRecords / 65_536 + 1))
        buckets = (0..<count).map { BucketFile(path: "\(workDirectory)/bucket-\($0)") }
        guard mkdir(bucketDirectory, 0o700) == 0 else { throw FileIO.ioError("cannot create", bucketDirectory) }
        // Locked while this writer lives, so that a later run can tell it from a folder a killed run left (§6.8).
        workLock = open(bucketDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if workLock >= 0 { flock(workLock, LOCK_EX) }
    }

    deinit { if !finished { abandon() } }

    /// Every path this writer may create before it finishes, files first and its scatter folder last: the temporary
    /// token file and map, and the bucket files in the folder. They hold encoded rows and record keys; a process
    /// that is interrupted removes them (SPEC §6.8). The paths are fixed when the writer is made.
    public var temporaryPaths: [String] {
        buckets.map(\.path) + [partialPath] + (mapPartialPath.map { [$0] } ?? []) + [bucketDirectory]
    }

    /// Adds encoded rows (`count × context.rowWidth` bytes) with their record keys, taken from column
    /// `keyColumn` of `batch` (record `firstRecord` onwards).
    public func append(
        rows: UnsafeRawBufferPointer, count: Int, keysFrom batch: RecordBatch, keyColumn: Int, firstRecord: Int = 0
    ) throws {
        precondition(rows.count >= count * rowWidth)
        guard rowCount + count <= TokenFileHeader.maximumRecordCount else {
            throw ProtocolError(
                .invalidArgument,
                "SPEC §6.3: a token file holds at most \(TokenFileHeader.maximumRecordCount) records; split the input")
        }
        // Work on local copies (moved out and back) so the per-row loop has no dynamic exclusivity checks.
        var buckets: [BucketFile] = []
        swap(&buckets, &self.buckets)
        defer { swap(&buckets, &self.buckets) }
        var generator: any RandomNumberGenerator = SecureRandomGenerator()
        swap(&generator, &self.generator)
        defer { swap(&generator, &self.generator) }
        let rowWidth = self.rowWidth
        for row in 0..<count {
            let bucket = buckets.count == 1 ? 0 : Int(Self.uniform(below: UInt64(buckets.count), using: &generator))
            let keyRange = batch.range(record: firstRecord + row, column: keyColumn)
            guard keyRange.count <= Int(UInt16.max) else {
                throw ProtocolError(
                    .invalidCSV, "line \(batch.lines[firstRecord + row]): the record key is longer than 65535 bytes")
            }
            try batch.bytes.withUnsafeBytes { bytes in
                try buckets[bucket].append(
                    row: UnsafeRawBufferPointer(rebasing: rows[(row * rowWidth)..<((row + 1) * rowWidth)]),
                    key: UnsafeRawBufferPointer(rebasing: bytes[keyRange]))
            }
        }
        rowCount += count
    }

    /// Shuffles, lays out, digests, signs and renames the map and then the token file into place.
    public func finish(statistics: EncodingStatistics, signingKey: SigningKey?) throws -> Summary {
        defer { abandon() }
        for index in buckets.indices { try buckets[index].close() }
        let schema = context.schema
        var header = TokenFileHeader(
            schemaFlavour: schema.flavour, schemaFingerprint: schema.fingerprint, keyID: context.keyID.hex,
            party: party, recordCount: rowCount, matchKeys: schema.tokenFileLayout.matchKeys,
            blockingKeys: schema.tokenFileLayout.blockingKeys,
            tokenBytes: EncodingContext.tokenBytes, filterBits: schema.tokenFileLayout.filterBits,
            hardening: schema.bloom.map { $0.hardening.headerValue(xorFolds: $0.xorFolds) } ?? .null,
            statistics: statistics.headerValue(schema: schema), createdAt: createdAt ?? Self.now(),
            tool: BlindmatchVersion.tool)
        header.extraFilters = schema.extraFilters.enumerated().map { index, filter in
            TokenFileHeader.ExtraFilterEntry(
                name: filter.name, filterBits: filter.settings.filterBits,
                hardening: filter.settings.hardening.headerValue(xorFolds: filter.settings.xorFolds),
                popcount: statistics.extraPopcountValue(filter: index))
        }
        let headerBytes = header.jsonValue.canonicalBytes
        guard headerBytes.count <= TokenFileHeader.maximumLength else {
            throw ProtocolError(
                .invalidArgument,
                "SPEC §6.1: the header would be longer than \(TokenFileHeader.maximumLength) bytes (too many columns?)")
        }
        let layout = header.layout(headerLength: headerBytes.count)

        let file = try AtomicFile(destination: path, mode: 0o600, temporaryPath: partialPath)
        let map = try mapPath.map {
            try AtomicFile(
                destination: $0, mode: 0o600, temporaryPath: mapPartialPath ?? AtomicFile.temporaryPath(for: $0))
        }
        var prefix = TokenFileLayout.magic
        prefix.append(contentsOf: Self.littleEndian(header.formatVersion))
        prefix.append(contentsOf: Self.littleEndian(UInt32(headerBytes.count)))
        prefix.append(contentsOf: headerBytes)
        try prefix.withUnsafeBytes { try file.write($0, at: 0) }
        try map?.write("row,record_key\n")

        var nextRow = 0
        for bucket in buckets {
            let rows = try bucket.readAll()
            let order = Self.shuffledIndices(rows.count, using: &generator)
            try writeColumns(rows: rows, order: order, firstRow: nextRow, layout: layout, file: file, map: map)
            nextRow += rows.count
        }

        // The padding after the last column (which may be a token column, when there are no filters) reads as
        // zeros once the file reaches the trailer. Digest everything before the trailer, then sign (SPEC §6.5).
        try file.extend(to: layout.trailerOffset)
        let digest = try Self.digest(
            descriptor: file.fileDescriptor, length: layout.trailerOffset, path: file.temporaryPath)
        let trailer = try TokenFileTrailer.make(
            digest: digest, signingKey: signingKey, version: header.formatVersion)
        try trailer.withUnsafeBytes { try file.write($0, at: layout.trailerOffset) }
        // The map first (SPEC §6.8): a late failure must never leave a token file without its map. If the token
        // file then fails, the new map goes too, rather than sit beside an older token file it does not describe.
        try map?.commit()
        do {
            try file.commit()
        } catch {
            if let map { unlink(map.destination) }
            throw error
        }
        finished = true
        return Summary(header: header, digest: digest, fileSize: layout.fileSize)
    }

    private func writeColumns(
        rows: BucketFile.Rows, order: [Int], firstRow: Int, layout: TokenFileLayout, file: AtomicFile, map: AtomicFile?
    ) throws {
        let count = order.count
        guard count > 0 else { return }
        let presenceBytes = layout.presenceBytes
        let tokenBytes = layout.tokenBytes
        let keyCount = layout.matchKeyCount
        let filterBytes = layout.filterBytes
        let filterStart = presenceBytes + keyCount * tokenBytes
        var presence = [UInt8](repeating: 0, count: count * presenceBytes)
        // Token columns back to back: key k's tokens for this bucket start at k × count × tokenBytes.
        var tokens = [UInt8](repeating: 0, count: keyCount * count * tokenBytes)
        var filters = [UInt8](repeating: 0, count: count * filterBytes)
        // Extra filters (SPEC §5.6) follow the first filter in each row, in schema order.
        var extraStart = filterStart + filterBytes
        var extraStarts: [Int] = []
        for bytes in layout.extraFilterBytes {
            extraStarts.append(extraStart)
            extraStart += bytes
        }
        var extraFilters = layout.extraFilterBytes.map { [UInt8](repeating: 0, count: count * $0) }
        var mapText: [UInt8] = []
        rows.bytes.withUnsafeBytes { all in
            presence.withUnsafeMutableBytes { presenceOut in
                tokens.withUnsafeMutableBytes { tokensOut in
                    filters.withUnsafeMutableBytes { filtersOut in
                        func copy(_ from: Int, _ length: Int, to output: UnsafeMutableRawBufferPointer, at offset: Int)
                        {
                            UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + length)])
                                .copyMemory(from: UnsafeRawBufferPointer(rebasing: all[from..<(from + length)]))
                        }
                        for (position, source) in order.enumerated() {
                            let row = rows.starts[source]
                            copy(row, presenceBytes, to: presenceOut, at: position * presenceBytes)
                            for key in 0..<keyCount {
                                copy(
                                    row + presenceBytes + key * tokenBytes, tokenBytes, to: tokensOut,
                                    at: (key * count + position) * tokenBytes)
                            }
                            copy(row + filterStart, filterBytes, to: filtersOut, at: position * filterBytes)
                        }
                    }
                }
            }
            for index in extraFilters.indices {
                let bytes = layout.extraFilterBytes[index]
                extraFilters[index].withUnsafeMutableBytes { output in
                    for (position, source) in order.enumerated() {
                        let from = rows.starts[source] + extraStarts[index]
                        UnsafeMutableRawBufferPointer(rebasing: output[(position * bytes)..<((position + 1) * bytes)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: all[from..<(from + bytes)]))
                    }
                }
            }
        }
        if map != nil {
            for (position, source) in order.enumerated() {
                mapText.append(contentsOf: String(firstRow + position).utf8)
                mapText.append(UInt8(ascii: ","))
                CSVText.appendField(rows.key(source), to: &mapText)
                mapText.append(UInt8(ascii: "\n"))
            }
        }
        try presence.withUnsafeBytes { try file.write($0, at: layout.presenceOffset + firstRow * presenceBytes) }
        try tokens.withUnsafeBytes { all in
            for key in 0..<keyCount {
                let column = UnsafeRawBufferPointer(
                    rebasing: all[(key * count * tokenBytes)..<((key + 1) * count * tokenBytes)])
                try file.write(column, at: layout.tokenOffset(key: key) + firstRow * tokenBytes)
            }
        }
        if layout.filterBytes > 0 {
            try filters.withUnsafeBytes { try file.write($0, at: layout.filterOffset + firstRow * layout.filterBytes) }
        }
        for index in extraFilters.indices {
            try extraFilters[index].withUnsafeBytes {
                try file.write($0, at: layout.extraFilterOffset(index) + firstRow * layout.extraFilterBytes[index])
            }
        }
        try map?.write(mapText)
    }

    /// Removes everything written so far; the destination paths are untouched.
    public func abandon() {
        for bucket in buckets { bucket.remove() }
        rmdir(bucketDirectory)
        if workLock >= 0 { close(workLock) }
        workLock = -1
        finished = true
    }

    static func digest(descriptor: Int32, length: Int, path: String) throws -> [UInt8] {
        var hasher = SHA256Hasher()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while offset < length {
            let wanted = min(chunk.count, length - offset)
            let count = chunk.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(offset)) }
            guard count > 0 else { throw FileIO.ioError("cannot read back", path) }
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += count
        }
        return hasher.finalize()
    }

    /// SPEC §6.4: Fisher–Yates from the last index down, j uniform in 0...i by rejection sampling on 64-bit draws.
    static func shuffledIndices(_ count: Int, using generator: inout any RandomNumberGenerator) -> [Int] {
        var order = Array(0..<count)
        var index = count - 1
        while index > 0 {
            order.swapAt(index, Int(uniform(below: UInt64(index + 1), using: &generator)))
            index -= 1
        }
        return order
    }

    /// A uniform value below `bound` from 64-bit draws, rejecting the biased top range.
    static func uniform(below bound: UInt64, using generator: inout any RandomNumberGenerator) -> UInt64 {
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let value = generator.next()
            if value < limit { return value % bound }
        }
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }

    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format4: Int(parts.tm_year) + 1900) + "-" + String(format2: Int(parts.tm_mon) + 1) + "-"
            + String(format2: Int(parts.tm_mday)) + "T" + String(format2: Int(parts.tm_hour)) + ":"
            + String(format2: Int(parts.tm_min)) + ":" + String(format2: Int(parts.tm_sec)) + "Z"
    }
}

/// One scatter bucket: rows appended with a buffer, read back whole.
private struct BucketFile {
    let path: String
    private var buffer: [UInt8] = []
    private var descriptor: Int32 = -1

    init(path: String) { self.path = path }

    /// Rows of a bucket as read back: each is `row bytes ‖ u16 key length ‖ key bytes`.
    struct Rows {
        let bytes: [UInt8]
        let starts: [Int]
        let rowWidth: Int

        func key(_ index: Int) -> ArraySlice<UInt8> {
            let lengthOffset = starts[index] + rowWidth
            let length = Int(bytes[lengthOffset]) | Int(bytes[lengthOffset + 1]) << 8
            return bytes[(lengthOffset + 2)..<(lengthOffset + 2 + length)]
        }

        var count: Int { starts.count }
    }

    private var rowWidth = 0

    mutating func append(row: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) throws {
        rowWidth = row.count
        buffer.append(contentsOf: row)
        buffer.append(UInt8(key.count & 0xFF))
        buffer.append(UInt8(key.count >> 8))
        buffer.append(contentsOf: key)
        if buffer.count >= 1 << 18 { try flush() }
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        if descriptor < 0 {
            descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw FileIO.ioError("cannot create", path) }
        }
        try FileIO.writeAll(buffer, to: descriptor, path: path)
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func close() throws {
        try flush()
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        buffer = []
    }

    func readAll() throws -> Rows {
        let bytes = FileIO.exists(path) ? try FileIO.readAll(path) : []
        var starts: [Int] = []
        var offset = 0
        while offset < bytes.count {
            starts.append(offset)
            let lengthOffset = offset + rowWidth
            let length = Int(bytes[lengthOffset]) | Int(bytes[lengthOffset + 1]) << 8
            offset = lengthOffset + 2 + length
        }
        return Rows(bytes: bytes, starts: starts, rowWidth: rowWidth)
    }

    func remove() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        unlink(path)
    }
}

/// Minimal CSV quoting for values Blindmatch writes (local maps, match lists).
public enum CSVText {
    /// Appends `field`, quoted when it holds a comma, quote, CR or LF.
    public static func appendField(_ field: some Collection<UInt8>, to output: inout [UInt8]) {
        let needsQuotes = field.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D
        }
        guard needsQuotes else {
            output.append(contentsOf: field)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in field {
            if byte == UInt8(ascii: "\"") { output.append(byte) }
            output.append(byte)
        }
        output.append(UInt8(ascii: "\""))
    }
}

/// The tool's name and version as written into token-file headers.
public enum BlindmatchVersion {
    public static let version = "0.1.0"
    public static let tool = "blindmatch \(version)"
}
