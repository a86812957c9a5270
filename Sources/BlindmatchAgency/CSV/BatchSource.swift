import BlindmatchProtocol
import Dispatch

/// Batches of a CSV file, the next one read on a background queue while the caller encodes the current one, so
/// parsing overlaps encoding. At most two batches are in memory.
public final class BatchSource: @unchecked Sendable {
    // `reader`, `prefetched` and `bytesAfterPrefetch` are touched by the background queue only between
    // `prefetch()` and the `ready` signal, and by the caller only after waiting on `ready`: never at once.
    private var reader: CSVReader
    private let width: Int
    private let limit: Int
    private let queue = DispatchQueue(label: "blindmatch.csv-prefetch")
    private let ready = DispatchSemaphore(value: 0)
    private var prefetched: Result<RecordBatch?, any Error> = .success(nil)
    private var bytesAfterPrefetch = 0
    private var exhausted = false
    /// Bytes of the file consumed by the batches handed out so far.
    public private(set) var bytesRead = 0

    /// Starts reading batches of up to `limit` records of `width` fields from `reader`.
    public init(reader: consuming CSVReader, width: Int, limit: Int) {
        self.reader = reader
        self.width = width
        self.limit = limit
        prefetch()
    }

    deinit {
        // A read may still be running; let it finish before the reader goes away.
        if !exhausted { ready.wait() }
    }

    private func prefetch() {
        queue.async { [self] in
            var batch = RecordBatch(width: width, capacity: limit)
            do {
                prefetched = .success(try reader.read(into: &batch, limit: limit) ? batch : nil)
            } catch {
                prefetched = .failure(error)
            }
            bytesAfterPrefetch = reader.bytesRead
            ready.signal()
        }
    }

    /// The next batch, or nil at the end of the file; rethrows the reader's errors (file, line, field).
    public func next() throws -> RecordBatch? {
        guard !exhausted else { return nil }
        ready.wait()
        bytesRead = bytesAfterPrefetch
        let result = prefetched
        switch result {
        case .success(let batch?):
            prefetch()
            return batch
        case .success(nil):
            exhausted = true
            return nil
        case .failure(let error):
            exhausted = true
            throw error
        }
    }
}
