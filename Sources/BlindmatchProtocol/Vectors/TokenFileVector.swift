/// SPEC §9: the complete token-file vector, built deterministically: fixed secret, signing seed, creation time
/// and a seeded shuffle. Used to check the vector and, with BLINDMATCH_WRITE_VECTORS=1 in the tests, to write it.
public enum TokenFileVector {
    public static let secret = Array(0..<32).map(UInt8.init)
    /// The seed of `Keys/test/test-agency-a.key`.
    public static let signingSeed = Array(0x40..<0x60).map(UInt8.init)
    public static let shuffleSeed = Array("blindmatch token-file vector shuffle".utf8)
    public static let createdAt = "2026-01-01T00:00:00Z"
    public static let party = "agency-a"
    public static let csv = """
        id,given_name,surname,dob,sex,postcode,nino
        A1,Robert,Smith,15/03/1980,M,SW1A 1AA,AB 12 34 56 C
        A2,Zoë,O'Brien-Jones,2001-12-01,F,m1 1ae,
        A3,Anna,Kowalski,,F,EH1 2NG,CE987654A
        A4,Li,Wu,04/07/1975,,,
        A5,Mr John,Doe,31/02/1990,male,NOT A POSTCODE,QQ123456C

        """

    /// The file's bytes, built from the vector document's inputs (or the defaults above when it lacks them).
    public static func build(from document: JSONValue?, schema: LinkageSchema? = nil) throws -> [UInt8] {
        let schemaValue = document?["schema"]
        let linkageSchema: LinkageSchema
        if let schemaValue {
            linkageSchema = try LinkageSchema(parsing: schemaValue.canonicalBytes, source: "token-file vector schema")
        } else if let schema {
            linkageSchema = schema
        } else {
            throw ProtocolError(.invalidArgument, "the token-file vector needs a schema")
        }
        let text = document?["csv"]?.stringValue ?? csv
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var batch = RecordBatch(width: linkageSchema.columns.count)
        for (index, line) in lines.dropFirst().enumerated() {
            batch.append(
                fields: line.split(separator: ",", omittingEmptySubsequences: false).map(String.init), line: index + 2)
        }
        let context = try EncodingContext(schema: linkageSchema, secret: try LinkageSecret(importing: secret))
        let tokeniser = try Tokeniser(context: context, workers: 1)
        var rows: [UInt8] = []
        let (statistics, _) = tokeniser.encode(batch, into: &rows)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/vector.bmt"
        let writer = try TokenFileWriter(
            path: path, mapPath: nil, context: context, party: party, expectedRecords: batch.count,
            generator: SeededGenerator(seed: shuffleSeed))
        writer.createdAt = createdAt
        try rows.withUnsafeBytes {
            try writer.append(rows: $0, count: batch.count, keysFrom: batch, keyColumn: linkageSchema.recordKeyColumn)
        }
        _ = try writer.finish(statistics: statistics, signingKey: try SigningKey(seed: signingSeed))
        return try FileIO.readAll(path)
    }
}
