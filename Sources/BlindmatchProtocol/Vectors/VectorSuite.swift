import Glibc

/// Checks this implementation against the known-answer vectors in `Protocol/vectors/` (SPEC §9). Used by the test
/// suite and by `blindmatch vectors`, so an auditor runs exactly the checks the developers run.
public enum VectorSuite {
    /// The outcome of one group of vectors.
    public struct Result: Sendable {
        public let file: String
        public let name: String
        public let total: Int
        public let failures: [String]
        public var passed: Int { total - failures.count }
    }

    static let files = [
        "normalisation.json", "key-derivation.json", "match-keys.json", "bloom-native.json", "clkhash-kat.json",
        "clkhash-extra.json",
        "token-file.json",
    ]

    /// Checks every vector file in `directory`; a missing file is a failure.
    public static func check(directory: String) throws -> [Result] {
        var results: [Result] = []
        for file in files {
            let path = "\(directory)/\(file)"
            guard FileIO.exists(path) else {
                results.append(Result(file: file, name: "file", total: 1, failures: ["\(path) is missing"]))
                continue
            }
            let document = try JSONValue(parsing: try FileIO.readAll(path), source: path)
            switch file {
            case "normalisation.json": results += checkNormalisation(document, file: file)
            case "key-derivation.json": results += try checkKeyDerivation(document, file: file)
            case "match-keys.json": results += try checkMatchKeys(document, file: file)
            case "bloom-native.json": results += try checkNativeBloom(document, file: file)
            case "clkhash-kat.json", "clkhash-extra.json": results += try checkClkhash(document, file: file)
            default: results += try checkTokenFile(document, file: file)
            }
        }
        return results
    }

    static func groups(_ document: JSONValue) -> [JSONValue] { document["testGroups"]?.arrayValue ?? [] }

    static func checkNormalisation(_ document: JSONValue, file: String) -> [Result] {
        groups(document).map { group in
            let kindName = group["kind"]?.stringValue ?? ""
            let order = group["dateOrder"]?.stringValue.flatMap(DateOrder.init(rawValue:)) ?? .dayFirst
            var failures: [String] = []
            let tests = group["tests"]?.arrayValue ?? []
            for test in tests {
                let id = test["tcId"]?.intValue ?? 0
                let input = test["input"]?.stringValue ?? ""
                let result = test["result"]?.stringValue ?? ""
                let expected = test["expected"]?.stringValue
                if kindName == "soundex" {
                    let actual = Phonetic.soundex(input)
                    if actual != (result == "valid" ? expected : nil) { failures.append("tcId \(id): soundex differs") }
                    continue
                }
                guard let kind = FieldKind(rawValue: kindName) else {
                    failures.append("unknown kind \(kindName)")
                    break
                }
                let wanted: NormalisedValue =
                    switch result {
                    case "valid": .value(expected ?? "")
                    case "missing": .missing
                    default: .invalid
                    }
                if Normaliser(kind: kind, dateOrder: order).normalise(input) != wanted {
                    failures.append("tcId \(id): \(kindName) normalisation differs")
                }
            }
            return Result(file: file, name: "\(kindName) (\(order.rawValue))", total: tests.count, failures: failures)
        }
    }

    static func checkKeyDerivation(_ document: JSONValue, file: String) throws -> [Result] {
        try groups(document).map { group in
            var failures: [String] = []
            let tests = group["tests"]?.arrayValue ?? []
            for test in tests {
                let id = test["tcId"]?.intValue ?? 0
                let secret = try LinkageSecret(importing: Hex.decode(test["secretHex"]?.stringValue ?? "") ?? [])
                let label = test["label"]?.stringValue ?? ""
                let derived = try KeyDerivation.derive(
                    from: secret, label: label, length: test["length"]?.intValue ?? 32)
                if Hex.encode(derived) != test["expected"]?.stringValue {
                    failures.append("tcId \(id): \(label) differs")
                }
            }
            var total = tests.count
            for entry in group["keyIDs"]?.objectValue ?? [] {
                total += 1
                let secret = try LinkageSecret(importing: Hex.decode(entry.key) ?? [])
                if secret.keyID.hex != entry.value.stringValue { failures.append("key id of \(entry.key) differs") }
            }
            return Result(file: file, name: "HKDF labels and key ids", total: total, failures: failures)
        }
    }

    /// A record in the example schema's column order from a map of normalised values.
    static func batch(for values: JSONValue, schema: LinkageSchema) -> RecordBatch {
        var batch = RecordBatch(width: schema.columns.count)
        let fields = schema.columns.enumerated().map { index, column in
            index == schema.recordKeyColumn ? "record" : (values[column.name]?.stringValue ?? "")
        }
        batch.append(fields: fields, line: 2)
        return batch
    }

    static func encodeOne(_ values: JSONValue, schema: LinkageSchema, secret: LinkageSecret) throws -> [UInt8] {
        let context = try EncodingContext(schema: schema, secret: secret)
        let encoder = try RecordEncoder(context: context)
        var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: schema.tokenKeys.count)
        var row = [UInt8](repeating: 0, count: context.rowWidth)
        row.withUnsafeMutableBytes {
            _ = encoder.encode(batch(for: values, schema: schema), record: 0, into: $0, statistics: &statistics)
        }
        return row
    }

    static func checkMatchKeys(_ document: JSONValue, file: String) throws -> [Result] {
        try groups(document).map { group in
            let schema = try LinkageSchema(parsing: (group["schema"] ?? .null).canonicalBytes, source: file)
            let secret = try LinkageSecret(importing: Hex.decode(group["secretHex"]?.stringValue ?? "") ?? [])
            var failures: [String] = []
            var total = 0
            for test in group["tests"]?.arrayValue ?? [] {
                let id = test["tcId"]?.intValue ?? 0
                let row = try encodeOne(test["values"] ?? .null, schema: schema, secret: secret)
                let presenceBytes = (schema.tokenKeys.count + 7) / 8
                for (index, key) in schema.tokenKeys.enumerated() {
                    total += 1
                    let present = row[index >> 3] & (1 << UInt8(index & 7)) != 0
                    let start = presenceBytes + index * EncodingContext.tokenBytes
                    let actual = present ? Hex.encode(row[start..<(start + EncodingContext.tokenBytes)]) : nil
                    if actual != test["expected"]?[key.name]?.stringValue {
                        failures.append("tcId \(id): token \(key.name) differs")
                    }
                }
            }
            return Result(file: file, name: "match-key tokens", total: total, failures: failures)
        }
    }

    static func checkNativeBloom(_ document: JSONValue, file: String) throws -> [Result] {
        try groups(document).map { group in
            let name = group["comment"]?.stringValue ?? "group"
            let schema = try LinkageSchema(
                parsing: (group["schema"] ?? .null).canonicalBytes, source: "\(file): \(name)")
            let secret = try LinkageSecret(importing: Hex.decode(group["secretHex"]?.stringValue ?? "") ?? [])
            var failures: [String] = []
            let tests = group["tests"]?.arrayValue ?? []
            var total = tests.count
            let context = try EncodingContext(schema: schema, secret: secret)
            for test in tests {
                let id = test["tcId"]?.intValue ?? 0
                let row = try encodeOne(test["values"] ?? .null, schema: schema, secret: secret)
                let filter = row[context.filterRowOffset..<(context.filterRowOffset + context.filterBytes)]
                if Hex.encode(filter) != test["expected"]?.stringValue { failures.append("tcId \(id): filter differs") }
                // SPEC §5.6: each extra filter, keyed under its own labels.
                for (index, extra) in schema.extraFilters.enumerated() {
                    total += 1
                    let start = context.extraFilterRowOffset(index)
                    let bytes = row[start..<(start + context.extraFilterBytes[index])]
                    if Hex.encode(bytes) != test["expectedExtra"]?[extra.name]?.stringValue {
                        failures.append("tcId \(id): extra filter \(extra.name) differs")
                    }
                }
            }
            return Result(file: file, name: name, total: total, failures: failures)
        }
    }

    static func checkClkhash(_ document: JSONValue, file: String) throws -> [Result] {
        try (document.objectValue ?? []).map { entry in
            let vector = entry.value
            let schema = try LinkageSchema(parsing: (vector["schema"] ?? .null).canonicalBytes, source: entry.key)
            let secret = try LinkageSecret(importing: Array((vector["secret"]?.stringValue ?? "").utf8))
            let context = try EncodingContext(schema: schema, secret: secret)
            let encoder = try RecordEncoder(context: context)
            let records = vector["records"]?.arrayValue ?? []
            let expected = vector["clks_b64"]?.arrayValue?.compactMap(\.stringValue) ?? []
            var failures: [String] = []
            var statistics = EncodingStatistics(columns: schema.columns.count, matchKeys: 0)
            for (index, record) in records.enumerated() {
                var batch = RecordBatch(width: schema.columns.count)
                batch.append(fields: record.arrayValue?.compactMap(\.stringValue) ?? [], line: index + 2)
                var row = [UInt8](repeating: 0, count: context.rowWidth)
                row.withUnsafeMutableBytes { _ = encoder.encode(batch, record: 0, into: $0, statistics: &statistics) }
                if index >= expected.count || Base64.encode(row) != expected[index] {
                    failures.append("record \(index): CLK differs from clkhash")
                }
            }
            return Result(file: file, name: entry.key, total: records.count, failures: failures)
        }
    }

    static func checkTokenFile(_ document: JSONValue, file: String) throws -> [Result] {
        var failures: [String] = []
        let regenerated = try TokenFileVector.build(from: document)
        let expected = Hex.decode(document["expectedHex"]?.stringValue ?? "") ?? []
        if regenerated != expected { failures.append("the regenerated token file differs from expectedHex") }
        // Parse the expected bytes as an auditor would and check digest and signature.
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = "\(directory.path)/vector.bmt"
        let output = try AtomicFile(destination: path)
        try output.write(expected)
        try output.commit()
        let tokens = try TokenFile(contentsOf: path)
        let publicKey = PublicSigningKey(rawBytes: Hex.decode(document["publicKeyHex"]?.stringValue ?? "") ?? [])
        for check in tokens.verify(publicKey: publicKey) where !check.passed {
            failures.append("\(check.rule): \(check.detail)")
        }
        if Hex.encode(tokens.trailer.digest) != document["sha256"]?.stringValue { failures.append("sha256 differs") }
        return [Result(file: file, name: "complete token file", total: 2, failures: failures)]
    }
}

/// A private temporary folder (mode 0700), removed with its files.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "blindmatch") throws {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard created != nil else { throw FileIO.ioError("cannot create a temporary folder in", "/tmp") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Deletes the folder and everything in it, folders within it too (never following a link).
    public func remove() { Self.remove(path) }

    private static func remove(_ folder: String) {
        for name in FileIO.entries(of: folder) {
            let path = "\(folder)/\(name)"
            var info = stat()
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { remove(path) } else { unlink(path) }
        }
        rmdir(folder)
    }
}
