import BlindmatchProtocol
import Dispatch
import Glibc

/// The tokenising pipeline shared by `tokenise`, `bench` and `demo`: stream the CSV in batches, encode each batch
/// on every core, and hand rows to the token-file writer or the anonlink JSON writer.
struct TokeniseJob {
    enum OutputFormat: String, CaseIterable {
        case bmt
        case anonlinkJSON = "anonlink-json"
    }

    struct Outcome {
        let statistics: EncodingStatistics
        let seconds: Double
        let summary: TokenFileWriter.Summary?
    }

    let schema: LinkageSchema
    let secret: LinkageSecret
    let input: String
    let output: String
    let mapPath: String?
    let signingKey: SigningKey?
    let party: String
    let format: OutputFormat
    let threads: Int
    var batchSize = 16_384
    var label = "tokenising"

    func run() throws -> Outcome {
        let start = Clock.now()
        let reader = try CSVReader(path: input)
        try reader.checkHeader(expected: schema.columnNames)
        let context = try EncodingContext(schema: schema, secret: secret)
        let tokeniser = try Tokeniser(context: context, workers: threads)
        let fileSize = FileIO.size(of: input)
        let progress = Progress(label: label, totalBytes: fileSize)
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: schema.tokenKeys.count)
        let source = BatchSource(reader: reader, width: schema.columns.count, limit: batchSize)
        var rows: [UInt8] = []
        let leftovers = ([output] + (mapPath.map { [$0] } ?? [])).flatMap { StaleTemporaryFiles.sweep(besides: $0) }
        if !leftovers.isEmpty {
            Console.error(
                "removed \(leftovers.count) temporary file\(leftovers.count == 1 ? "" : "s") left by a killed run: \(leftovers.joined(separator: ", "))\n"
            )
        }

        switch format {
        case .bmt:
            let writer = try TokenFileWriter(
                path: output, mapPath: mapPath, context: context, party: party,
                expectedRecords: (fileSize ?? 0) / 40)
            InterruptCleanup.install(removing: writer.temporaryPaths)
            defer { InterruptCleanup.uninstall() }
            do {
                while let batch = try source.next() {
                    let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
                    try refuse(refusal, in: batch)
                    statistics.merge(batchStatistics)
                    try rows.withUnsafeBytes {
                        try writer.append(
                            rows: $0, count: batch.count, keysFrom: batch, keyColumn: schema.recordKeyColumn)
                    }
                    progress.update(records: statistics.records, bytes: source.bytesRead)
                }
                progress.finish()
                let summary = try writer.finish(statistics: statistics, signingKey: signingKey)
                return Outcome(statistics: statistics, seconds: Clock.now() - start, summary: summary)
            } catch {
                progress.finish()
                writer.abandon()
                throw error
            }
        case .anonlinkJSON:
            guard context.filterBytes > 0 else {
                throw ProtocolError(.invalidArgument, "the schema has no Bloom filters to export as anonlink JSON")
            }
            // clkhash writes json.dump({"clks": [...]}): ", " between items, in the input's order.
            let file = try AtomicFile(destination: output, mode: 0o644)
            InterruptCleanup.install(removing: [file.temporaryPath])
            defer { InterruptCleanup.uninstall() }
            try file.write("{\"clks\": [")
            var first = true
            var text: [UInt8] = []
            let filterOffset = context.rowWidth - context.filterBytes
            while let batch = try source.next() {
                let (batchStatistics, refusal) = tokeniser.encode(batch, into: &rows)
                try refuse(refusal, in: batch)
                statistics.merge(batchStatistics)
                text.removeAll(keepingCapacity: true)
                rows.withUnsafeBytes { all in
                    for record in 0..<batch.count {
                        text.append(contentsOf: first ? Array("\"".utf8) : Array(", \"".utf8))
                        first = false
                        let start = record * context.rowWidth + filterOffset
                        Base64.encode(
                            UnsafeRawBufferPointer(rebasing: all[start..<(start + context.filterBytes)]),
                            appendingTo: &text)
                        text.append(UInt8(ascii: "\""))
                    }
                }
                try file.write(text)
                progress.update(records: statistics.records, bytes: source.bytesRead)
            }
            progress.finish()
            try file.write("]}")
            try file.commit()
            return Outcome(statistics: statistics, seconds: Clock.now() - start, summary: nil)
        }
    }

    /// clkhash refuses a file with an entry that fails its feature's format; so do we, for clkhash schemas.
    private func refuse(_ refusal: Tokeniser.Refusal?, in batch: RecordBatch) throws {
        guard let refusal else { return }
        let column = schema.columns[refusal.entry.column].name
        throw ProtocolError(
            .invalidCSV,
            "\(input):\(batch.lines[refusal.record]): field \"\(column)\" \(refusal.entry.reason) (clkhash schemas refuse invalid entries)"
        )
    }
}

/// Removes a tokenising run's temporary files when SIGINT or SIGTERM arrives, then exits with 128 + the signal's
/// number (130, 143), as a shell reports a process killed by it (SPEC §6.8). Without it an interrupted run left
/// `.partial` files and a `.work` folder holding encoded rows and raw record keys.
///
/// A signal handler may call only async-signal-safe functions, so the paths are laid out before the run as
/// NUL-terminated C strings in one buffer, ended by an empty string; the handler walks it with `unlink` (and `rmdir`
/// for the folder, which comes last) and `_exit`s. A signal the process was started ignoring (a background job of a
/// script) stays ignored; one it was started blocking is unblocked, or the run could not be stopped at all. SIGKILL,
/// a crash or a power cut still leave the files behind, until the next run to the same output removes them
/// (`StaleTemporaryFiles`).
enum InterruptCleanup {
    static let signals = [SIGINT, SIGTERM]
    /// The buffer the handler reads; replaced only while no handler is installed.
    nonisolated(unsafe) static var paths: UnsafeMutablePointer<CChar>?

    /// Lays out `paths` and installs the handlers.
    static func install(removing paths: [String]) {
        uninstall()
        var bytes: [CChar] = []
        for path in paths { bytes.append(contentsOf: path.utf8CString) }
        bytes.append(0)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        Self.paths = buffer
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for number in signals where !isIgnored(number) {
            signal(number, interruptHandler)
            sigaddset(&unblocked, number)
        }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    }

    /// Restores the default handlers (leaving ignored signals ignored) and frees the buffer.
    static func uninstall() {
        for number in signals where !isIgnored(number) { signal(number, SIG_DFL) }
        paths?.deallocate()
        paths = nil
    }

    private static func isIgnored(_ number: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(number, nil, &current) == 0, let handler = current.__sigaction_handler.sa_handler else {
            return false
        }
        return unsafeBitCast(handler, to: Int.self) == 1  // SIG_IGN
    }
}

/// The SIGINT/SIGTERM handler: async-signal-safe calls only (unlink, rmdir, _exit) over the prepared buffer.
private func interruptHandler(_ signal: Int32) {
    if var path = InterruptCleanup.paths {
        while path.pointee != 0 {
            if unlink(path) != 0 { rmdir(path) }
            while path.pointee != 0 { path += 1 }
            path += 1
        }
    }
    _exit(128 + signal)
}

enum Machine {
    /// Cores available to this process.
    static var cores: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
}
