import BlindmatchProtocol
import Glibc

/// Streams an RFC 4180 CSV file into ``RecordBatch``es: quoted fields with doubled quotes and embedded line
/// breaks, CRLF, LF or CR line ends, a UTF-8 byte order mark (SPEC §2.4). Memory stays constant whatever the file
/// size.
///
/// Errors name the file, the line and the column (by header name) and never the value: a value is personal data.
public struct CSVReader: ~Copyable {
    /// The file being read, as given.
    public let path: String
    private let descriptor: Int32
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    private var chunkCount = 0
    private var position = 0
    private var atEnd = false
    private var line = 1
    private var field: [UInt8] = []
    private var recordFields: [[UInt8]] = []
    /// Bytes of the file read so far.
    public private(set) var bytesRead = 0
    /// The header row, read on opening.
    public private(set) var header: [String] = []

    /// Opens `path` and reads its header row; throws when the file cannot be opened or has no header.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ProtocolError(.io, "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        field.reserveCapacity(256)
        // SPEC §2.4: a UTF-8 byte order mark at the start of the file is not part of the first header field, whether
        // or not that field is quoted.
        if try refill(), chunkCount >= 3, chunk[0] == 0xEF, chunk[1] == 0xBB, chunk[2] == 0xBF { position = 3 }
        var headerFields: [[UInt8]] = []
        guard try readRecord(into: &headerFields) != nil else {
            throw ProtocolError(.invalidCSV, "\(path): the file is empty; expected a header line")
        }
        header = try headerFields.enumerated().map { index, bytes in
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ProtocolError(.invalidCSV, "\(path):1: header column \(index + 1) is not valid UTF-8")
            }
            return text.trimmingCharacters(in: " \t")
        }
    }

    deinit { close(descriptor) }

    /// Checks the header against the schema's columns (SPEC §2.4): same names, same order.
    /// What the header holds is never repeated: a file without a header line has a record there.
    public func checkHeader(expected: [String]) throws {
        guard header != expected else { return }
        var differences: [String] = []
        if header.count != expected.count {
            differences.append("it has \(header.count) columns, the schema \(expected.count)")
        }
        for index in 0..<min(header.count, expected.count) where header[index] != expected[index] {
            differences.append("column \(index + 1) should be \"\(expected[index])\"")
        }
        throw ProtocolError(
            .headerMismatch,
            "\(path):1: the header does not match the schema (\(differences.joined(separator: "; "))); expected "
                + expected.joined(separator: ","))
    }

    /// Fills `batch` with up to `limit` records; returns false when the file is exhausted and nothing was read.
    public mutating func read(into batch: inout RecordBatch, limit: Int) throws -> Bool {
        batch.removeAll()
        while batch.count < limit {
            var fields = recordFields
            recordFields = []
            defer { recordFields = fields }
            guard let (startLine, isBlank) = try readRecord(into: &fields) else { break }
            // SPEC §2.4: an empty line is skipped, except in a one-column file, where it is a record whose value is
            // empty. A line holding only `""` is never blank.
            if isBlank && header.count > 1 { continue }
            guard fields.count == header.count else {
                throw ProtocolError(
                    .invalidCSV,
                    "\(path):\(startLine): expected \(header.count) fields as in the header, found \(fields.count)")
            }
            for (index, bytes) in fields.enumerated() {
                if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil {
                    throw ProtocolError(
                        .invalidCSV, "\(path):\(startLine): field \"\(header[index])\" is not valid UTF-8")
                }
                batch.appendField(bytes)
            }
            batch.endRecord(line: startLine)
        }
        return batch.count > 0
    }

    private mutating func refill() throws -> Bool {
        if atEnd { return false }
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ProtocolError(.io, "\(path): cannot read: \(String(cString: strerror(errno)))")
            }
            chunkCount = count
            position = 0
            bytesRead += count
            if count == 0 { atEnd = true }
            return count > 0
        }
    }

    /// Reads one record's fields; returns the line it started on and whether the line was empty (nothing at all
    /// before its line break), or nil at the end of the file.
    private mutating func readRecord(into fields: inout [[UInt8]]) throws -> (line: Int, isBlank: Bool)? {
        fields.removeAll(keepingCapacity: true)
        field.removeAll(keepingCapacity: true)
        let startLine = line
        var inQuotes = false
        var quoteClosed = false
        var sawAnything = false
        while true {
            if position >= chunkCount {
                guard try refill() else {
                    if inQuotes {
                        throw ProtocolError(.invalidCSV, "\(path):\(startLine): a quoted field is never closed")
                    }
                    guard sawAnything else { return nil }
                    fields.append(field)
                    return (startLine, false)
                }
            }
            let byte = chunk[position]
            position += 1
            sawAnything = true
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if position >= chunkCount { _ = try refill() }
                    if position < chunkCount && chunk[position] == UInt8(ascii: "\"") {
                        field.append(byte)
                        position += 1
                    } else {
                        inQuotes = false
                        quoteClosed = true
                    }
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                fields.append(field)
                field.removeAll(keepingCapacity: true)
                quoteClosed = false
            case 0x0A, 0x0D:
                if byte == 0x0D {
                    if position >= chunkCount { _ = try refill() }
                    if position < chunkCount && chunk[position] == 0x0A { position += 1 }
                }
                line += 1
                let isBlank = fields.isEmpty && field.isEmpty && !quoteClosed
                fields.append(field)
                return (startLine, isBlank)
            case UInt8(ascii: "\""):
                guard field.isEmpty && !quoteClosed else {
                    throw ProtocolError(
                        .invalidCSV, "\(path):\(line): field \(fields.count + 1) has a quote inside an unquoted value")
                }
                inQuotes = true
            default:
                if quoteClosed {
                    throw ProtocolError(
                        .invalidCSV, "\(path):\(line): field \(fields.count + 1) has text after its closing quote")
                }
                field.append(byte)
            }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
