import BlindmatchAgency
import BlindmatchProtocol
import Foundation
import Testing

/// SPEC §2.4's CSV rules, on the reader itself (the command-line tests drive the same rules through `tokenise`).
struct CSVReaderTests {
    /// The records of `text` (header first), each as its fields and the line it starts on.
    static func read(_ bytes: [UInt8]) throws -> (header: [String], records: [([String], Int)]) {
        let folder = try TemporaryDirectory(prefix: "csv-reader")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        var reader = try CSVReader(path: path)
        let width = reader.header.count
        var batch = RecordBatch(width: width, capacity: 4)
        var records: [([String], Int)] = []
        while try reader.read(into: &batch, limit: 2) {
            for record in 0..<batch.count {
                records.append(((0..<width).map { batch.string(record: record, column: $0) }, batch.lines[record]))
            }
        }
        return (reader.header, records)
    }

    static func read(_ text: String) throws -> (header: [String], records: [([String], Int)]) {
        try read(Array(text.utf8))
    }

    @Test func quotedFieldsKeepCommasQuotesAndLineBreaks() throws {
        let (header, records) = try Self.read("a,b\n\"x,1\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n")
        #expect(header == ["a", "b"])
        #expect(records.map(\.0) == [["x,1", "say \"hi\""], ["two\nlines", "z"]])
        #expect(records.map(\.1) == [2, 3])
    }

    @Test func everyLineEndCountsAndTheLastNeedNotEnd() throws {
        let (_, records) = try Self.read("a,b\r\n1,2\r3,4\n5,6")
        #expect(records.map(\.0) == [["1", "2"], ["3", "4"], ["5", "6"]])
        #expect(records.map(\.1) == [2, 3, 4])
    }

    @Test func byteOrderMarkIsDroppedAndHeaderNamesTrimmed() throws {
        let (header, _) = try Self.read([0xEF, 0xBB, 0xBF] + Array("\"a\", b\t\n1,2\n".utf8))
        #expect(header == ["a", "b"])
    }

    @Test func emptyLinesAreSkippedUnlessTheFileHasOneColumn() throws {
        #expect(try Self.read("a,b\n\n1,2\n\n").records.map(\.0) == [["1", "2"]])
        #expect(try Self.read("a\nx\n\ny\n").records.map(\.0) == [["x"], [""], ["y"]])
    }

    @Test func valuesAreNotTrimmed() throws {
        #expect(try Self.read("a,b\n 1 ,\t2\n").records.map(\.0) == [[" 1 ", "\t2"]])
    }

    @Test(arguments: [
        ("a,b\n1,2,3\n", "data.csv:2: expected 2 fields"),
        ("a,b\n\"\"\n", "data.csv:2: expected 2 fields as in the header, found 1"),
        ("a,b\n1,\"open\n", "data.csv:2: a quoted field is never closed"),
        ("a,b\n1,x\"y\n", "data.csv:2: field 2 has a quote inside an unquoted value"),
        ("a,b\n\"1\"x,2\n", "data.csv:2: field 1 has text after its closing quote"),
    ])
    func malformedRecordsNameTheLine(text: String, message: String) throws {
        let error = try #require(throws: ProtocolError.self) { _ = try Self.read(text) }
        #expect(error.code == .invalidCSV)
        #expect(error.reason.contains(message))
    }

    @Test func invalidUTF8NamesTheColumnNotTheValue() throws {
        let error = try #require(throws: ProtocolError.self) {
            _ = try Self.read(Array("name,town\nann,".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        }
        #expect(error.reason.hasSuffix("data.csv:2: field \"town\" is not valid UTF-8"))
    }

    @Test func headerMismatchListsEveryDifference() throws {
        let folder = try TemporaryDirectory(prefix: "csv-reader")
        defer { folder.remove() }
        let path = "\(folder.path)/data.csv"
        try Data("id,first,dob\n".utf8).write(to: URL(fileURLWithPath: path))
        let reader = try CSVReader(path: path)
        let error = try #require(throws: ProtocolError.self) {
            try reader.checkHeader(expected: ["id", "given_name", "surname", "dob"])
        }
        #expect(error.code == .headerMismatch)
        #expect(error.reason.contains("it has 3 columns, the schema 4"))
        #expect(error.reason.contains("column 2 should be \"given_name\""))
        #expect(error.reason.contains("column 3 should be \"surname\""))
    }

    @Test func anEmptyFileHasNoHeader() throws {
        let error = try #require(throws: ProtocolError.self) { _ = try Self.read("") }
        #expect(error.reason.contains("the file is empty"))
    }
}
