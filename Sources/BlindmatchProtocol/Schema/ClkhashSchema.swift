extension LinkageSchema {
    /// Builds a clkhash v3 schema (SPEC §2.3), accepted exactly as clkhash 0.18 reads it: `clkConfig.xor_folds`
    /// (not the documented `xorFolds`, which clkhash ignores), HKDF settings, and per feature a format, a
    /// comparison, a strategy, a hash and an optional missing-value rule. No normalisation is applied.
    init(clkhash document: JSONValue, source: String) throws {
        var issues: [String] = []
        if document["version"]?.intValue != 3 { issues.append("$.version: only clkhash schema version 3 is accepted") }
        let config = document["clkConfig"]
        let bits = config?["l"]?.intValue ?? 0
        if bits <= 0 || bits % 8 != 0 { issues.append("$.clkConfig.l: must be a positive multiple of 8") }
        let folds = config?["xor_folds"]?.intValue ?? 0
        if folds < 0 || folds > 8 {
            issues.append("$.clkConfig.xor_folds: must be between 0 and 8")
        } else if bits > BloomSettings.maximumHashBits >> folds {
            // Positions are 16-bit (SPEC §5.3) and a token file holds at most 65536-bit filters (SPEC §6.3).
            issues.append(
                "$.clkConfig.l: l × 2^xor_folds must be at most \(BloomSettings.maximumHashBits) (l = \(bits), xor_folds = \(folds))"
            )
        }
        let kdf = config?["kdf"]
        if kdf?["type"]?.stringValue != "HKDF" { issues.append("$.clkConfig.kdf.type: only HKDF is supported") }
        let hash = BloomSettings.HKDFHash(rawValue: kdf?["hash"]?.stringValue ?? "SHA256")
        if hash == nil { issues.append("$.clkConfig.kdf.hash: must be SHA256 or SHA512") }
        func decode(_ key: String) -> [UInt8]? {
            guard let value = kdf?[key] else { return nil }
            guard let text = value.stringValue, let bytes = Base64.decode(text) else {
                issues.append("$.clkConfig.kdf.\(key): must be base64")
                return nil
            }
            return bytes
        }
        let salt = decode("salt")
        let info = decode("info")
        let keySize = kdf?["keySize"]?.intValue ?? 64
        if keySize < 1 || keySize > 1024 { issues.append("$.clkConfig.kdf.keySize: must be between 1 and 1024") }

        let features = document["features"]?.arrayValue ?? []
        if features.isEmpty { issues.append("$.features: must list at least one feature") }
        var columns: [Column] = []
        var fields: [BloomField] = []
        var identifiers = Set<String>()
        for (index, feature) in features.enumerated() {
            let path = "$.features[\(index)]"
            let name = feature["identifier"]?.stringValue ?? ""
            if name.isEmpty {
                issues.append("\(path).identifier: required")
            } else if !identifiers.insert(name).inserted {
                // A CSV header, the statistics of SPEC §6.3 and the local map name columns by identifier.
                issues.append("\(path).identifier: \"\(name)\" is used twice")
            }
            if feature["ignored"]?.boolValue == true {
                columns.append(Column(name: name, format: .ignored))
                continue
            }
            do {
                var format = try ClkhashFieldFormat(feature: feature, path: path)
                if let hashing = feature["hashing"] {
                    let field = try Self.clkhashBloomField(
                        hashing, name: name, index: index, hashBits: bits << folds, path: path)
                    if case .numeric = field.tokenizer { format.numericComparison = field.tokenizer }
                    fields.append(field)
                }
                columns.append(Column(name: name, format: .clkhash(format)))
            } catch let error as ProtocolError {
                issues.append(error.reason)
                columns.append(Column(name: name, format: .ignored))
            }
        }
        guard issues.isEmpty, let hash else { throw Self.failure(source, issues) }
        let bloom = BloomSettings(
            hashBits: bits << folds, baseBits: bits, xorFolds: folds, fields: fields,
            keyDerivation: .clkhash(hash: hash, salt: salt, info: info, keySize: keySize, fieldCount: features.count),
            hardening: .none)
        self.init(
            flavour: .clkhashV3, name: "clkhash v3 schema", fingerprint: Self.fingerprint(of: document),
            columns: columns, recordKeyColumn: 0, matchKeys: [], blockingKeys: [], bloom: bloom, document: document)
    }

    /// The largest numeric `resolution` accepted: a value gives 2 × resolution + 1 tokens (SPEC §2.3, §5.1).
    static let maximumResolution = 65536
    /// The largest numeric `fractional_precision` accepted: 10^18 is the largest power of ten in 64 bits.
    static let maximumFractionalPrecision = 18

    private static func clkhashBloomField(
        _ hashing: JSONValue, name: String, index: Int, hashBits: Int, path: String
    ) throws -> BloomField {
        let comparison = hashing["comparison"]
        let tokenizer: BloomField.Tokenizer
        switch comparison?["type"]?.stringValue {
        case "ngram":
            guard let n = comparison?["n"]?.intValue, n >= 0 else {
                throw ProtocolError(.invalidSchema, "\(path).hashing.comparison.n: must be a non-negative integer")
            }
            tokenizer = .ngram(n: n, positional: comparison?["positional"]?.boolValue ?? false)
        case "exact":
            tokenizer = .exact
        case "numeric":
            let precision = comparison?["fractional_precision"]?.intValue ?? 0
            guard let distance = comparison?["thresholdDistance"]?.doubleValue, distance > 0,
                let resolution = comparison?["resolution"]?.intValue, (1...Self.maximumResolution).contains(resolution),
                (0...Self.maximumFractionalPrecision).contains(precision)
            else {
                throw ProtocolError(
                    .invalidSchema,
                    "\(path).hashing.comparison: numeric needs thresholdDistance > 0, resolution 1…\(Self.maximumResolution) and fractional_precision 0…\(Self.maximumFractionalPrecision)"
                )
            }
            var scale = 1.0
            for _ in 0..<precision { scale *= 10 }
            // Below 2^53 every interval is exact in binary64, and far from overflowing the 64-bit token arithmetic.
            let scaled = (distance * scale).rounded(.toNearestOrEven)
            guard scaled < 9_007_199_254_740_992, let interval = Int(exactly: scaled) else {
                throw ProtocolError(
                    .invalidSchema,
                    "\(path).hashing.comparison: thresholdDistance × 10^fractional_precision is too large")
            }
            guard interval > 0 else {
                throw ProtocolError(.invalidSchema, "\(path).hashing.comparison: thresholdDistance too small")
            }
            tokenizer = .numeric(distanceInterval: interval, resolution: resolution, fractionalPrecision: precision)
        default:
            throw ProtocolError(.invalidSchema, "\(path).hashing.comparison.type: must be ngram, exact or numeric")
        }
        let strategyDocument = hashing["strategy"]
        let strategy: BloomField.Strategy
        if let k = strategyDocument?["bitsPerToken"]?.intValue, k >= 0 {
            strategy = .bitsPerToken(k)
        } else if let total = strategyDocument?["bitsPerFeature"]?.intValue, total >= 0 {
            strategy = .bitsPerFeature(total)
        } else {
            throw ProtocolError(.invalidSchema, "\(path).hashing.strategy: needs bitsPerToken or bitsPerFeature")
        }
        let hashDocument = hashing["hash"]
        let hash: BloomField.Hash
        switch hashDocument?["type"]?.stringValue ?? "blakeHash" {
        case "blakeHash":
            guard hashBits & (hashBits - 1) == 0, hashBits <= 65536 else {
                throw ProtocolError(
                    .invalidSchema, "\(path).hashing.hash: blakeHash needs l × 2^xor_folds to be a power of two ≤ 65536"
                )
            }
            if hashDocument?["prevent_singularity"] != nil {
                throw ProtocolError(.invalidSchema, "\(path).hashing.hash: prevent_singularity is only for doubleHash")
            }
            hash = .blakeHash
        case "doubleHash":
            hash = .doubleHash(preventSingularity: hashDocument?["prevent_singularity"]?.boolValue ?? false)
        default:
            throw ProtocolError(.invalidSchema, "\(path).hashing.hash.type: must be blakeHash or doubleHash")
        }
        if let encoding = hashing["format"]?["encoding"]?.stringValue,
            !["utf-8", "utf8"].contains(encoding.lowercased())
        {
            throw ProtocolError(.invalidSchema, "\(path): only utf-8 encoding is supported")
        }
        return BloomField(
            name: name, column: index, keyIndex: index, tokenizer: tokenizer, strategy: strategy, hash: hash)
    }
}

/// How clkhash validates and formats one feature's value before tokenising (clkhash `field_formats`).
public struct ClkhashFieldFormat: Sendable {
    public enum Kind: Sendable {
        case string(pattern: String?, casing: String, minLength: Int?, maxLength: Int?)
        case integer(minimum: Int?, maximum: Int?)
        case date(StrptimeFormat)
        case enumeration(Set<String>)
    }

    public let kind: Kind
    /// `missingValue.sentinel` and what replaces it (`replaceWith`, or the sentinel itself).
    public let missingValue: (sentinel: String, replacement: String)?
    /// The feature's numeric comparison, if it has one: a formatted value it cannot tokenise is refused.
    var numericComparison: BloomField.Tokenizer?

    init(feature: JSONValue, path: String) throws {
        let format = feature["format"]
        switch format?["type"]?.stringValue {
        case "string":
            if let encoding = format?["encoding"]?.stringValue, !["utf-8", "utf8"].contains(encoding.lowercased()) {
                throw ProtocolError(.invalidSchema, "\(path).format.encoding: only utf-8 is supported")
            }
            let pattern = format?["pattern"]?.stringValue
            if let pattern, (try? Regex(pattern)) == nil {
                throw ProtocolError(.invalidSchema, "\(path).format.pattern: not a valid regular expression")
            }
            kind = .string(
                pattern: pattern, casing: format?["case"]?.stringValue ?? "mixed",
                minLength: format?["minLength"]?.intValue, maxLength: format?["maxLength"]?.intValue)
        case "integer":
            kind = .integer(minimum: format?["minimum"]?.intValue, maximum: format?["maximum"]?.intValue)
        case "date":
            kind = .date(try StrptimeFormat(format?["format"]?.stringValue ?? "", path: "\(path).format.format"))
        case "enum":
            kind = .enumeration(Set(format?["values"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        default:
            throw ProtocolError(.invalidSchema, "\(path).format.type: must be string, integer, date or enum")
        }
        if let missing = feature["hashing"]?["missingValue"] {
            guard let sentinel = missing["sentinel"]?.stringValue else {
                throw ProtocolError(.invalidSchema, "\(path).hashing.missingValue.sentinel: required")
            }
            missingValue = (sentinel, missing["replaceWith"]?.stringValue ?? sentinel)
        } else {
            missingValue = nil
        }
    }

    /// clkhash's `validate` then `format_value`: the string that is tokenised, or a reason the entry is invalid.
    ///
    /// With a numeric comparison, a value that is a number but not a finite one, or one whose scaled form does not
    /// fit in 64 bits (SPEC §5.1), is invalid too: clkhash stops on such a value, and so do clkhash schemas here.
    public func format(_ value: String) -> Result<String, ClkhashEntryError> {
        let result = formatted(value)
        if case .success(let text) = result, !text.isEmpty,
            case .numeric(let interval, let resolution, let precision) = numericComparison,
            BloomFilterEncoder.numericTokens(
                text, interval: interval, resolution: resolution, precision: precision) == nil
        {
            return .failure(.init(reason: "is a number that its numeric comparison cannot hold in 64 bits"))
        }
        return result
    }

    private func formatted(_ value: String) -> Result<String, ClkhashEntryError> {
        if let missingValue, value == missingValue.sentinel { return .success(missingValue.replacement) }
        switch kind {
        case .string(let pattern, let casing, let minLength, let maxLength):
            if let pattern {
                guard let regex = try? Regex(pattern), (try? regex.wholeMatch(in: value)) != nil else {
                    return .failure(.init(reason: "does not match the schema's pattern"))
                }
            } else {
                let length = value.unicodeScalars.count
                if let minLength, length < minLength { return .failure(.init(reason: "shorter than \(minLength)")) }
                if let maxLength, length > maxLength { return .failure(.init(reason: "longer than \(maxLength)")) }
                if casing == "upper" && value.uppercased() != value { return .failure(.init(reason: "not upper case")) }
                if casing == "lower" && value.lowercased() != value { return .failure(.init(reason: "not lower case")) }
            }
            return .success(value)
        case .integer(let minimum, let maximum):
            guard let integer = Self.pythonInteger(value) else { return .failure(.init(reason: "not an integer")) }
            if let minimum, integer < minimum { return .failure(.init(reason: "less than \(minimum)")) }
            if let maximum, integer > maximum { return .failure(.init(reason: "more than \(maximum)")) }
            return .success(String(integer))
        case .date(let format):
            guard let date = format.parse(value) else {
                return .failure(.init(reason: "not a date in the schema's format"))
            }
            return .success(date)
        case .enumeration(let values):
            return values.contains(value) ? .success(value) : .failure(.init(reason: "not one of the allowed values"))
        }
    }

    /// Python's `int(text, 10)`: surrounding whitespace, an optional sign, digits with single underscores between.
    static func pythonInteger(_ text: String) -> Int? {
        var body = Substring(Substring(text).trimmingCharacters())
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        guard let first = body.first, first.isASCII, first.isNumber, body.last != "_", !body.contains("__") else {
            return nil
        }
        let digits = body.filter { $0 != "_" }
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let magnitude = Int(digits) else { return nil }
        return negative ? -magnitude : magnitude
    }
}

/// Why clkhash would refuse an entry (without the entry's value: it is personal data).
public struct ClkhashEntryError: Error, Sendable {
    public let reason: String
}

/// The subset of C89 `strptime` that clkhash date formats use, producing clkhash's output form `%Y%m%d`.
///
/// Supported directives: `%Y` (4 digits), `%y` (2 digits, 69–99 → 19xx, else 20xx as Python), `%m`, `%d`
/// (1–2 digits), `%b`/`%B` (English month names), `%%`; whitespace in the format matches any run of whitespace.
public struct StrptimeFormat: Sendable {
    enum Piece: Sendable, Equatable {
        case year4, year2, month, day, monthName
        case literal(Character)
        case whitespace
    }

    let pieces: [Piece]

    init(_ format: String, path: String) throws {
        var pieces: [Piece] = []
        var iterator = format.makeIterator()
        while let character = iterator.next() {
            if character == "%" {
                switch iterator.next() {
                case "Y": pieces.append(.year4)
                case "y": pieces.append(.year2)
                case "m": pieces.append(.month)
                case "d": pieces.append(.day)
                case "b", "B": pieces.append(.monthName)
                case "%": pieces.append(.literal("%"))
                case let other:
                    throw ProtocolError(
                        .invalidSchema, "\(path): the date directive %\(other.map(String.init) ?? "") is not supported")
                }
            } else if character.isWhitespace {
                if pieces.last != .whitespace { pieces.append(.whitespace) }
            } else {
                pieces.append(.literal(character))
            }
        }
        guard pieces.contains(.year4) || pieces.contains(.year2), pieces.contains(.day),
            pieces.contains(.month) || pieces.contains(.monthName)
        else { throw ProtocolError(.invalidSchema, "\(path): a date format needs a year, a month and a day") }
        self.pieces = pieces
    }

    static let monthNames = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    ]

    /// The date as `YYYYMMDD`, or nil when `text` does not fit the format or names no real day.
    func parse(_ text: String) -> String? {
        let characters = Array(text)
        var index = 0
        var year = 0
        var month = 0
        var day = 0
        func number(maxDigits: Int) -> Int? {
            var value = 0
            var digits = 0
            while digits < maxDigits, index < characters.count, let digit = characters[index].wholeNumberValue,
                characters[index].isASCII
            {
                value = value * 10 + digit
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        for piece in pieces {
            switch piece {
            case .year4:
                guard let value = number(maxDigits: 4) else { return nil }
                year = value
            case .year2:
                guard let value = number(maxDigits: 2) else { return nil }
                year = value < 69 ? 2000 + value : 1900 + value
            case .month:
                guard let value = number(maxDigits: 2) else { return nil }
                month = value
            case .day:
                guard let value = number(maxDigits: 2) else { return nil }
                day = value
            case .monthName:
                let rest = String(characters[index...]).lowercased()
                guard
                    let match = Self.monthNames.enumerated().first(where: { rest.hasPrefix($0.element) })
                        ?? Self.monthNames.enumerated().first(where: { rest.hasPrefix($0.element.prefix(3)) })
                else { return nil }
                month = match.offset + 1
                index += rest.hasPrefix(match.element) ? match.element.count : 3
            case .literal(let character):
                guard index < characters.count, characters[index] == character else { return nil }
                index += 1
            case .whitespace:
                while index < characters.count, characters[index].isWhitespace { index += 1 }
            }
        }
        guard index == characters.count, CalendarDate.isValid(year: year, month: month, day: day) else { return nil }
        return String(format4: year) + String(format2: month) + String(format2: day)
    }
}

enum CalendarDate {
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

extension String {
    init(format4 value: Int) {
        let text = String(value)
        self = String(repeating: "0", count: Swift.max(0, 4 - text.count)) + text
    }

    init(format2 value: Int) {
        self = value < 10 ? "0\(value)" : String(value)
    }
}
