import Dispatch

/// Encodes batches of records on every core: one ``RecordEncoder`` per worker, each on its own slice of the
/// batch, writing to disjoint parts of one row buffer.
public final class Tokeniser: @unchecked Sendable {
    /// A refused entry and the record it is in.
    public struct Refusal: Sendable {
        public let record: Int
        public let entry: RecordEncoder.InvalidEntry
    }

    public let context: EncodingContext
    public let workers: Int
    // Worker w only ever touches encoders[w] and its own slice, so sharing this class across the
    // concurrentPerform iterations is safe.
    private let encoders: [RecordEncoder]

    public init(context: EncodingContext, workers: Int) throws {
        self.context = context
        self.workers = max(1, workers)
        encoders = try (0..<max(1, workers)).map { _ in try RecordEncoder(context: context) }
    }

    /// Encodes every record of `batch` into `rows` (resized to `batch.count × context.rowWidth`).
    ///
    /// - Returns: the batch's statistics and the first refused entry, if any (clkhash schemas).
    public func encode(_ batch: RecordBatch, into rows: inout [UInt8]) -> (EncodingStatistics, Refusal?) {
        let width = context.rowWidth
        let needed = batch.count * width
        if rows.count != needed { rows = [UInt8](repeating: 0, count: needed) }
        let schema = context.schema
        let slices = batch.count < 2048 ? 1 : workers
        let perSlice = (batch.count + slices - 1) / slices
        var statistics = (0..<slices).map { _ in
            EncodingStatistics(
                columns: schema.columns.count, matchKeys: schema.tokenKeys.count,
                extraFilters: schema.extraFilters.count)
        }
        var refusals = [Refusal?](repeating: nil, count: slices)
        rows.withUnsafeMutableBytes { rowBytes in
            statistics.withUnsafeMutableBufferPointer { statisticsSlots in
                refusals.withUnsafeMutableBufferPointer { refusalSlots in
                    let work = SliceWork(
                        rows: rowBytes, statistics: statisticsSlots, refusals: refusalSlots, encoders: encoders,
                        batch: batch, perSlice: perSlice, width: width)
                    if slices == 1 {
                        work.run(slice: 0)
                    } else {
                        DispatchQueue.concurrentPerform(iterations: slices) { work.run(slice: $0) }
                    }
                }
            }
        }
        var total = statistics[0]
        for other in statistics.dropFirst() { total.merge(other) }
        return (total, refusals.compactMap { $0 }.min { $0.record < $1.record })
    }
}

/// The pointers one batch's workers share; each slice writes only its own rows and slots.
private struct SliceWork: @unchecked Sendable {
    let rows: UnsafeMutableRawBufferPointer
    let statistics: UnsafeMutableBufferPointer<EncodingStatistics>
    let refusals: UnsafeMutableBufferPointer<Tokeniser.Refusal?>
    let encoders: [RecordEncoder]
    let batch: RecordBatch
    let perSlice: Int
    let width: Int

    func run(slice: Int) {
        let encoder = encoders[slice]
        let start = slice * perSlice
        let end = min(batch.count, start + perSlice)
        guard start < end else { return }
        for record in start..<end {
            let row = UnsafeMutableRawBufferPointer(rebasing: rows[(record * width)..<((record + 1) * width)])
            if let invalid = encoder.encode(batch, record: record, into: row, statistics: &statistics[slice]),
                refusals[slice] == nil
            {
                refusals[slice] = Tokeniser.Refusal(record: record, entry: invalid)
            }
        }
    }
}
