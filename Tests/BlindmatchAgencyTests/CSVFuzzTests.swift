import BlindmatchAgency
import BlindmatchProtocol
import BlindmatchTestSupport
import Foundation
import Testing

/// Seeded mutations of CSV files (SPEC §2.4) through the reader: it returns records or throws an error naming the
/// file and line, never traps; every record it returns has the header's width.
struct CSVFuzzTests {
    static let seeds = [
        "id,given_name,surname,dob,sex,postcode,nino\r\nA1,Robert,Smith,15/03/1980,M,SW1A 1AA,AB 12 34 56 C\r\n"
            + "A2,\"Zoë \"\"Z\"\"\",\"O'Brien,\nJones\",2001-12-01,F,m1 1ae,\r\n",
        "\u{FEFF}\"id\",name\nx,\"\"\ny,\"a\rb\"\n",
        "a,b,c\n1,2,3\n4,5\n6,7,8,9\n\n",
    ].map { Array($0.utf8) }

    @Test func csvReaderNeverTrapsAndKeepsTheHeadersWidth() throws {
        let folder = try MemoryFolder()
        let path = folder.path + "/data.csv"
        var mutator = Mutator(seed: 6)
        var read = 0
        var refused = 0
        for iteration in 0..<1500 {
            let bytes = mutator.mutate(Self.seeds[iteration % Self.seeds.count])
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                var reader = try CSVReader(path: path)
                let width = reader.header.count
                var batch = RecordBatch(width: width, capacity: 8)
                while try reader.read(into: &batch, limit: 3) {
                    for record in 0..<batch.count {
                        #expect((0..<width).map { batch.string(record: record, column: $0) }.count == width)
                    }
                }
                read += 1
            } catch let error as ProtocolError {
                // Errors name the file, never a value.
                #expect(error.reason.contains(path))
                refused += 1
            }
        }
        #expect(read > 100 && refused > 100)
    }
}
