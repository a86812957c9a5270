import BlindmatchMatching

/// How both stores write a succeeded run's rows before publishing it: in transactions of ``chunk`` rows, each
/// written only while the run is still this attempt's, so that storing a large result set never holds the writer that
/// other requests wait on, and the rows of an attempt that lost the run are removed.
enum ResultStaging {
    /// Rows written (or removed) per transaction: each holds SQLite's writer for about 35 ms on a busy 2-core machine
    /// (5,000 made a results page, whose audit entry waits for the writer, take 108 ms at the median).
    static var chunk: Int { TestHooks.resultChunk ?? 1000 }

    /// Removes what an earlier attempt left, then writes `results` chunk by chunk with `write` (which returns false,
    /// writing nothing, when the run is no longer this attempt's; `later` says whether rows were written before it,
    /// for the crash tests' pause point). Removes what it wrote as soon as a chunk finds the run lost. Returns whether
    /// every row was written and the run is still this attempt's.
    static func stage(
        _ results: [MatchResult], remove: () async throws -> Void,
        write: (_ chunk: ArraySlice<MatchResult>, _ later: Bool) async throws -> Bool
    ) async throws -> Bool {
        try await remove()
        var start = 0
        while start < results.count {
            let rows = results[start..<min(start + chunk, results.count)]
            guard try await write(rows, start > 0) else {
                try await remove()
                return false
            }
            start += rows.count
        }
        return true
    }
}
