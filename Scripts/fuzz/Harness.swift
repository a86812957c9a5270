// libFuzzer entry point for the parsers that read what others send, all in one binary so that it compiles once;
// built by Scripts/fuzz-parsers.sh. BLINDMATCH_FUZZ_TARGET says which parser this process feeds: tokenfile, json,
// schema, csv or audit.
import BlindmatchAgency
import BlindmatchAudit
import BlindmatchProtocol
import Foundation

/// Files live in memory where there is /dev/shm: libFuzzer runs thousands of inputs a second. Removed at exit.
let scratch: String = {
    let folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
    let path = folder + "/blindmatch-fuzz-\(getpid())"
    atexit { _ = unlink(scratch) }
    return path
}()

enum Target: String {
    case tokenfile, json, schema, csv, audit

    /// Read once: the first input decides, and an unknown name stops the process before any input is fed.
    static let chosen: Target = {
        let name = ProcessInfo.processInfo.environment["BLINDMATCH_FUZZ_TARGET"] ?? ""
        guard let target = Target(rawValue: name) else {
            fatalError("BLINDMATCH_FUZZ_TARGET must be tokenfile, json, schema, csv or audit (it is \"\(name)\")")
        }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch Target.chosen {
    case .tokenfile:
        guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)),
            let file = try? TokenFile(contentsOf: scratch)
        else { return 0 }
        for key in 0..<file.layout.matchKeyCount {
            _ = file.tokens(key: key).reduce(0, &+)
            for row in 0..<file.recordCount { _ = file.hasToken(row: row, key: key) }
        }
        _ = file.filters.reduce(0, &+)
        _ = file.verify(allowUnsigned: true)
    case .json:
        if let value = try? JSONValue(parsing: bytes, source: "fuzz") {
            guard let again = try? JSONValue(parsing: value.canonicalBytes, source: "canonical"), again == value else {
                fatalError("canonical JSON does not read back as the same value")
            }
        }
    case .schema:
        _ = try? LinkageSchema(parsing: bytes, source: "fuzz")
    case .csv:
        guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)),
            var reader = try? CSVReader(path: scratch)
        else { return 0 }
        var batch = RecordBatch(width: reader.header.count, capacity: 8)
        while (try? reader.read(into: &batch, limit: 4)) == true {}
    case .audit:
        for line in bytes.split(separator: 0x0a) {
            if let entry = try? AuditEntry(parsing: Array(line)) {
                guard (try? AuditEntry(parsing: entry.canonicalBytes)) == entry else {
                    fatalError("an entry does not read back from its canonical bytes")
                }
            }
        }
    }
    return 0
}
