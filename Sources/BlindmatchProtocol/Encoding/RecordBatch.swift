/// A batch of records as UTF-8 field values in one contiguous buffer: the unit the tokeniser encodes in parallel.
///
/// Readers (the CLI's CSV reader, tests) append records with ``append(fields:line:)`` or field by field; the
/// tokeniser reads them without per-record allocation.
public struct RecordBatch: Sendable {
    /// Fields per record (the schema's column count).
    public let width: Int
    /// The concatenated field bytes.
    public private(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each field, record after record.
    public private(set) var fieldEnds: [Int32] = []
    /// The input line on which each record starts (for error messages).
    public private(set) var lines: [Int] = []

    public init(width: Int, capacity: Int = 0) {
        self.width = width
        bytes.reserveCapacity(capacity * 64)
        fieldEnds.reserveCapacity(capacity * width)
        lines.reserveCapacity(capacity)
    }

    /// Records in the batch.
    public var count: Int { lines.count }

    /// Appends one field's bytes to the record being built.
    public mutating func appendField(_ field: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: field)
        fieldEnds.append(Int32(bytes.count))
    }

    /// Appends one field's bytes to the record being built.
    public mutating func appendField(_ field: some Collection<UInt8>) {
        bytes.append(contentsOf: field)
        fieldEnds.append(Int32(bytes.count))
    }

    /// Closes the record being built; it must have exactly `width` fields.
    public mutating func endRecord(line: Int) {
        precondition(fieldEnds.count == (lines.count + 1) * width, "a record must have exactly width fields")
        lines.append(line)
    }

    /// Appends a whole record.
    public mutating func append(fields: [String], line: Int) {
        for field in fields { appendField(Array(field.utf8)) }
        endRecord(line: line)
    }

    /// Empties the batch, keeping its storage.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
    }

    /// The byte range of field `column` of record `record`.
    @inline(__always)
    public func range(record: Int, column: Int) -> Range<Int> {
        let index = record * width + column
        let start = index == 0 ? 0 : Int(fieldEnds[index - 1])
        return start..<Int(fieldEnds[index])
    }

    /// Field `column` of record `record` as a string (no allocation for values of 15 bytes or fewer).
    @inline(__always)
    public func string(record: Int, column: Int) -> String {
        let range = range(record: record, column: column)
        return bytes.withUnsafeBufferPointer { String(decoding: $0[range], as: UTF8.self) }
    }
}
