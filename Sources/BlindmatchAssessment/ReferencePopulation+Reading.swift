import BlindmatchAgency
import BlindmatchProtocol

extension ReferencePopulation {
    /// A reference population from records' normalised values, one entry per field (nil when absent).
    public init(values: [[String?]], fields: [ScoredField]) {
        self.init(
            records: values.map { record in
                var dictionary: [String: String] = [:]
                for (field, value) in zip(fields, record) { dictionary[field.name] = value }
                return dictionary
            })
    }

    /// Reads a clear-text population from a CSV whose header names some of the schema's columns (in any order;
    /// other columns are ignored) and normalises each value as the schema does (SPEC §3). Throws naming the file
    /// when no column is the schema's, and as the CSV reader does for malformed files.
    public static func read(path: String, schema: LinkageSchema) throws -> (
        population: ReferencePopulation, values: [[String?]]
    ) {
        var reader = try CSVReader(path: path)
        let fields = ScoredField.fields(of: schema)
        let positions = fields.map { reader.header.firstIndex(of: $0.name) }
        guard positions.contains(where: { $0 != nil }) else {
            throw ProtocolError(
                .headerMismatch,
                "\(path):1: no column is one of the schema's (\(fields.map(\.name).joined(separator: ",")))")
        }
        var batch = RecordBatch(width: reader.header.count, capacity: 16_384)
        var values: [[String?]] = []
        while try reader.read(into: &batch, limit: 16_384) {
            for record in 0..<batch.count {
                values.append(
                    zip(fields, positions).map { field, position in
                        position.flatMap { field.value(of: batch.string(record: record, column: $0), schema: schema) }
                    })
            }
        }
        return (ReferencePopulation(values: values, fields: fields), values)
    }
}
