import BlindmatchProtocol

/// A schema column whose values the harness scores attacks on: every column but the record key and ignored ones.
public struct ScoredField: Sendable, Equatable {
    /// The column's name in the schema.
    public let name: String
    /// The column's index in the schema.
    public let column: Int
    /// The column's kind (nil for clkhash columns, which are not normalised).
    public let kind: FieldKind?

    /// The scored fields of `schema`, in column order.
    public static func fields(of schema: LinkageSchema) -> [ScoredField] {
        schema.columns.enumerated().compactMap { index, column in
            if index == schema.recordKeyColumn && schema.flavour == .native { return nil }
            switch column.format {
            case .ignored: return nil
            case .normalised(let normaliser):
                return ScoredField(name: column.name, column: index, kind: normaliser.kind)
            case .clkhash: return ScoredField(name: column.name, column: index, kind: nil)
            }
        }
    }

    /// This field's value in record `record` of `batch`: normalised (SPEC §3), or for clkhash columns as read;
    /// nil when missing or invalid.
    func value(in batch: RecordBatch, record: Int, schema: LinkageSchema) -> String? {
        value(of: batch.string(record: record, column: column), schema: schema)
    }

    /// The normalised form of a raw value, nil when missing or invalid.
    public func value(of raw: String, schema: LinkageSchema) -> String? {
        switch schema.columns[column].format {
        case .normalised(let normaliser):
            if case .value(let value) = normaliser.normalise(raw) { return value }
            return nil
        case .clkhash: return raw.isEmpty ? nil : raw
        case .ignored: return nil
        }
    }
}
