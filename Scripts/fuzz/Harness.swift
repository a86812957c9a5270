// libFuzzer entry point for the parsers that read what others send; built by Scripts/fuzz-parsers.sh, which says
// which target (FUZZ_TOKENFILE, FUZZ_JSON, FUZZ_SCHEMA, FUZZ_CSV or FUZZ_AUDIT) this build is for.
import BlindmatchProtocol
import Foundation

#if FUZZ_CSV
    import BlindmatchAgency
#endif
#if FUZZ_AUDIT
    import BlindmatchAudit
#endif

/// Files live in memory: libFuzzer runs thousands of inputs a second.
let scratch = "/dev/shm/blindmatch-fuzz-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    #if FUZZ_TOKENFILE
        guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)),
            let file = try? TokenFile(contentsOf: scratch)
        else { return 0 }
        for key in 0..<file.layout.matchKeyCount {
            _ = file.tokens(key: key).reduce(0, &+)
            for row in 0..<file.recordCount { _ = file.hasToken(row: row, key: key) }
        }
        _ = file.filters.reduce(0, &+)
        _ = file.verify(allowUnsigned: true)
    #elseif FUZZ_JSON
        if let value = try? JSONValue(parsing: bytes, source: "fuzz") {
            guard let again = try? JSONValue(parsing: value.canonicalBytes, source: "canonical"), again == value else {
                fatalError("canonical JSON does not read back as the same value")
            }
        }
    #elseif FUZZ_SCHEMA
        _ = try? LinkageSchema(parsing: bytes, source: "fuzz")
    #elseif FUZZ_CSV
        guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes)),
            var reader = try? CSVReader(path: scratch)
        else { return 0 }
        var batch = RecordBatch(width: reader.header.count, capacity: 8)
        while (try? reader.read(into: &batch, limit: 4)) == true {}
    #elseif FUZZ_AUDIT
        for line in bytes.split(separator: 0x0a) {
            if let entry = try? AuditEntry(parsing: Array(line)) {
                guard (try? AuditEntry(parsing: entry.canonicalBytes)) == entry else {
                    fatalError("an entry does not read back from its canonical bytes")
                }
            }
        }
    #endif
    return 0
}
