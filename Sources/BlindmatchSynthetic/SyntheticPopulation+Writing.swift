import BlindmatchProtocol
import Dispatch

extension SyntheticPopulation {
    /// The header row of `watch.csv` and `bulk.csv`.
    public static let recordHeader = SyntheticRecord.columns.joined(separator: ",") + "\n"
    /// The header row of `truth.csv`.
    public static let truthHeader = "watch_id,bulk_id\n"

    /// Writes `watch.csv`, `bulk.csv` and `truth.csv` into `directory`, which must exist.
    ///
    /// Each file is written under a temporary name and renamed into place when all three are complete, so a failed
    /// run leaves none of them. Chunks are made on `threads` threads and written in order; the bytes do not depend
    /// on `threads`. `progress` is called on this thread with the number of records written so far.
    public func write(
        toDirectory directory: String, threads: Int, progress: (_ recordsWritten: Int) -> Void = { _ in }
    ) throws {
        let watchFile = try AtomicFile(destination: "\(directory)/watch.csv")
        let bulkFile = try AtomicFile(destination: "\(directory)/bulk.csv")
        let truthFile = try AtomicFile(destination: "\(directory)/truth.csv")
        var written = 0

        try watchFile.write(Self.recordHeader)
        try Self.forEachChunk(count: watchChunkCount, threads: threads) { chunk in
            Self.csv(watchRecords(inChunk: chunk))
        } consume: { bytes, records in
            try watchFile.write(bytes)
            written += records
            progress(written)
        }

        try bulkFile.write(Self.recordHeader)
        try Self.forEachChunk(count: bulkChunkCount, threads: threads) { chunk in
            Self.csv(bulkRecords(inChunk: chunk))
        } consume: { bytes, records in
            try bulkFile.write(bytes)
            written += records
            progress(written)
        }

        try truthFile.write(Self.truthHeader)
        var text: [UInt8] = []
        for pair in truePairs {
            text.append(contentsOf: watchID(pair.watch).utf8)
            text.append(UInt8(ascii: ","))
            text.append(contentsOf: bulkID(pair.bulk).utf8)
            text.append(UInt8(ascii: "\n"))
            if text.count >= 1 << 20 {
                try truthFile.write(text)
                text.removeAll(keepingCapacity: true)
            }
        }
        try truthFile.write(text)

        try watchFile.commit()
        try bulkFile.commit()
        try truthFile.commit()
    }

    /// Records as CSV lines, and how many.
    static func csv(_ records: [SyntheticRecord]) -> (bytes: [UInt8], records: Int) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(records.count * 96)
        for record in records { record.appendCSVLine(to: &bytes) }
        return (bytes, records.count)
    }

    /// Makes chunks `0 ..< count` on `threads` threads, `2 × threads` at a time, and hands them to `consume` in
    /// order; the next batch is made while this one is consumed.
    static func forEachChunk(
        count: Int, threads: Int, make: @escaping @Sendable (Int) -> (bytes: [UInt8], records: Int),
        consume: (_ bytes: [UInt8], _ records: Int) throws -> Void
    ) rethrows {
        let threads = max(1, threads)
        func start(at first: Int) -> ChunkBatch? {
            guard first < count else { return nil }
            let batch = ChunkBatch(first: first, count: min(2 * threads, count - first), workers: threads, make: make)
            batch.start()
            return batch
        }
        var current = start(at: 0)
        while let batch = current {
            batch.wait()
            current = start(at: batch.first + batch.count)
            for index in 0..<batch.count {
                try consume(batch.results[index].bytes, batch.results[index].records)
            }
        }
    }
}

/// A batch of chunks made in the background; worker w makes and stores only chunks w, w + workers, ….
private final class ChunkBatch: @unchecked Sendable {
    let first: Int
    let count: Int
    let workers: Int
    let make: @Sendable (Int) -> (bytes: [UInt8], records: Int)
    /// Written by the workers (each slot by one worker) before `wait()` returns; read after.
    let results: UnsafeMutableBufferPointer<(bytes: [UInt8], records: Int)>
    private let group = DispatchGroup()

    init(first: Int, count: Int, workers: Int, make: @escaping @Sendable (Int) -> (bytes: [UInt8], records: Int)) {
        self.first = first
        self.count = count
        self.workers = min(workers, count)
        self.make = make
        results = .allocate(capacity: count)
        results.initialize(repeating: ([], 0))
    }

    deinit {
        results.deinitialize()
        results.deallocate()
    }

    func start() {
        group.enter()
        DispatchQueue.global().async { [self] in
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for index in stride(from: worker, to: count, by: workers) {
                    results[index] = make(first + index)
                }
            }
            group.leave()
        }
    }

    func wait() { group.wait() }
}
