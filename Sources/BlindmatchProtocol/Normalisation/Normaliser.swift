import Foundation

/// The kind of a native linkage-schema field: it decides how the field's raw values are normalised (SPEC §3).
public enum FieldKind: String, Codable, Sendable, CaseIterable {
    /// A person's name or a part of one: folded to `a`–`z` words, titles and honorifics dropped.
    case name
    /// Free text such as a town or a street: folded like a name, but no words dropped.
    case text
    /// A calendar date in one of the common layouts, written as ISO 8601 `YYYY-MM-DD`.
    case date
    /// A sex or gender code, written as `m`, `f` or `x`.
    case sex
    /// A UK postcode, validated and written as outward code, one space, inward code.
    case postcode
    /// A UK National Insurance number, validated and written as its 8-character prefix and digits.
    case nino
    /// An identifier compared as it stands: trimmed, and missing when it is a missing-value sentinel, but otherwise
    /// unchanged. Do not use it for anything people type by hand.
    case exact
}

/// How a numeric date such as `05/03/1980` is read; ISO, compact and month-name layouts are never ambiguous.
public enum DateOrder: String, Codable, Sendable {
    /// `D/M/YYYY`, as written in the UK.
    case dayFirst
    /// `M/D/YYYY`, as written in the US.
    case monthFirst
}

/// The outcome of normalising one raw value.
///
/// Both `.missing` and `.invalid` give no token (a missing value never matches anything); they are kept apart so
/// that the tokeniser can count and report values that failed validation (SPEC §3).
public enum NormalisedValue: Equatable, Sendable {
    /// The canonical form of the value.
    case value(String)
    /// Empty, or a missing-value sentinel such as `N/A`.
    case missing
    /// Present but not a valid value of the field's kind.
    case invalid
}

/// A ``NormalisedValue`` written to a caller's buffer: the value is its first `count` bytes (UTF-8).
enum NormalisedBytes: Equatable {
    case value(count: Int)
    case missing
    case invalid
}

/// Turns raw field values into the canonical form that both sides of a linkage hash (SPEC §3, Normalisation).
///
/// Every kind, `exact` included, first trims the value and maps the missing-value sentinels to `.missing`, then
/// applies the kind's own rules, which are written above the function that applies them (`Names.swift`,
/// `Dates.swift`, `Sex.swift`, `Postcodes.swift`, `NationalInsurance.swift`); `exact` has none, so its output is the
/// trimmed value (SPEC §3.8). Normalising an output again gives the same output.
///
/// Pure-ASCII input takes a fast path over its UTF-8 bytes with no allocation for short values; input with any other
/// character takes a slower Unicode path that gives the same result on ASCII input. A `Normaliser` is a small value:
/// make one per field and use it from any number of threads.
public struct Normaliser: Sendable {
    /// The kind of field this normaliser is for.
    public let kind: FieldKind
    /// How numeric non-ISO dates are read; used by `.date` only.
    public let dateOrder: DateOrder

    /// Makes a normaliser for fields of `kind`; `dateOrder` matters only to dates.
    public init(kind: FieldKind, dateOrder: DateOrder = .dayFirst) {
        self.kind = kind
        self.dateOrder = dateOrder
    }

    /// Normalises one raw value (SPEC §3).
    ///
    /// Rules for every kind:
    /// 1. Leading and trailing white space (Unicode `White_Space`) is trimmed.
    /// 2. An empty value is `.missing`, and so is one equal, ignoring ASCII case, to a missing-value sentinel:
    ///    `null`, `n/a`, `na`, `none`, `unknown`, `-`, `?`. The check is on the trimmed raw value, before any other
    ///    rule, so `N / A` or `n.a.` are not sentinels. (A person whose name is "Na" is therefore missing too.)
    /// 3. The kind's own rules then apply to the trimmed value.
    public func normalise(_ raw: Substring) -> NormalisedValue {
        var raw = raw
        if let result = raw.withUTF8({ normaliseASCII($0) }) { return result }
        return normaliseUnicode(raw)
    }

    /// Normalises one raw value (SPEC §3); see `normalise(_:)` for `Substring`.
    public func normalise(_ raw: String) -> NormalisedValue {
        var raw = raw
        if let result = raw.withUTF8({ normaliseASCII($0) }) { return result }
        return normaliseUnicode(raw[...])
    }

    /// The fast path: `nil` when `bytes` holds anything but ASCII.
    @inline(__always)
    private func normaliseASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> NormalisedValue? {
        var high: UInt8 = 0
        for byte in bytes { high |= byte }
        guard high < 0x80 else { return nil }
        let trimmed = Self.trimmedASCII(bytes)
        if trimmed.isEmpty || Self.isSentinel(trimmed) { return .missing }
        return normaliseTrimmedASCII(trimmed)
    }

    /// The most bytes `normalise(_:into:)` writes for `count` input bytes.
    static func outputCapacity(forInput count: Int) -> Int { max(count, 10) }

    /// Normalises one raw ASCII value into `output` (at least `outputCapacity(forInput: raw.count)` bytes), or
    /// returns `nil` when `raw` holds anything but ASCII: then use `normalise(_:)`, which reads such input as
    /// Unicode. The tokeniser's path, with no allocation; the result is always the one `normalise(_:)` gives.
    func normalise(
        _ raw: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes? {
        var high: UInt8 = 0
        for byte in raw { high |= byte }
        guard high < 0x80 else { return nil }
        let trimmed = Self.trimmedASCII(raw)
        if trimmed.isEmpty || Self.isSentinel(trimmed) { return .missing }
        return writeTrimmedASCII(trimmed, into: output)
    }

    /// The kind's own rules on a trimmed, non-sentinel ASCII value.
    private func normaliseTrimmedASCII(_ trimmed: UnsafeBufferPointer<UInt8>) -> NormalisedValue {
        Self.normalisedValue(capacity: Self.outputCapacity(forInput: trimmed.count)) {
            writeTrimmedASCII(trimmed, into: $0)
        }
    }

    /// The ``NormalisedValue`` that `write` gives when it writes into a new string of `capacity` bytes (no
    /// allocation up to 15).
    static func normalisedValue(
        capacity: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> NormalisedBytes
    ) -> NormalisedValue {
        var outcome = NormalisedBytes.invalid
        let text = String(unsafeUninitializedCapacity: capacity) { output in
            outcome = write(output)
            if case .value(let count) = outcome { return count }
            return 0
        }
        switch outcome {
        case .value: return .value(text)
        case .missing: return .missing
        case .invalid: return .invalid
        }
    }

    /// The kind's own rules on a trimmed, non-sentinel ASCII value, writing the value to `output` (at least
    /// `outputCapacity(forInput: trimmed.count)` bytes).
    private func writeTrimmedASCII(
        _ trimmed: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>
    ) -> NormalisedBytes {
        switch kind {
        case .name: return Self.normaliseWords(trimmed, droppingTitles: true, into: output)
        case .text: return Self.normaliseWords(trimmed, droppingTitles: false, into: output)
        case .date: return Self.normaliseDate(trimmed, order: dateOrder, into: output)
        case .sex: return Self.normaliseSex(trimmed, into: output)
        case .postcode: return Self.normalisePostcode(trimmed, into: output)
        case .nino: return Self.normaliseNINO(trimmed, into: output)
        case .exact:
            for index in trimmed.indices { output[index] = trimmed[index] }
            return .value(count: trimmed.count)
        }
    }

    /// The slow path, for input with non-ASCII characters; it also accepts ASCII, and must then agree with the fast
    /// path (the tests hold it to that).
    ///
    /// `name` and `text` fold Unicode as `Names.swift` says. `exact` keeps the trimmed value as it is. Every other
    /// kind puts the value in Unicode NFKC (so full-width digits and letters become ASCII) and then applies its ASCII
    /// rules; if NFKC leaves a non-ASCII character, the value is `.invalid`.
    func normaliseUnicode(_ raw: Substring) -> NormalisedValue {
        var trimmed = Self.trimmedUnicode(raw)
        if trimmed.isEmpty { return .missing }
        let isSentinel = trimmed.withUTF8 { $0.count <= 7 && Self.isSentinel($0) }
        if isSentinel { return .missing }
        switch kind {
        case .name, .text:
            let letters = Self.foldedLetters(trimmed)
            return letters.withUnsafeBufferPointer { letters in
                Self.normalisedValue(capacity: Self.outputCapacity(forInput: letters.count)) {
                    Self.normaliseWords(letters, droppingTitles: kind == .name, into: $0)
                }
            }
        case .exact:
            return .value(String(trimmed))
        case .date, .sex, .postcode, .nino:
            var compatible = String(trimmed).precomposedStringWithCompatibilityMapping
            return compatible.withUTF8 { bytes in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return .invalid }
                let retrimmed = Self.trimmedASCII(bytes)
                guard !retrimmed.isEmpty else { return .invalid }
                return normaliseTrimmedASCII(retrimmed)
            }
        }
    }
}

// MARK: - Shared byte helpers

extension Normaliser {
    /// The missing-value sentinels of rule 2, packed by `packedLowercased`.
    static let sentinels: [UInt64] = ["null", "n/a", "na", "none", "unknown", "-", "?"].map { word in
        var word = word
        return word.withUTF8 { packedLowercased($0) }
    }

    /// ASCII white space, the ASCII part of Unicode `White_Space`: tab, line feed, vertical tab, form feed,
    /// carriage return and space.
    @inline(__always)
    static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// An ASCII letter in lower case; any other byte unchanged.
    @inline(__always)
    static func lowercasedASCII(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// An ASCII letter in upper case; any other byte unchanged.
    @inline(__always)
    static func uppercasedASCII(_ byte: UInt8) -> UInt8 {
        byte &- 0x61 < 26 ? byte & 0xDF : byte
    }

    @inline(__always)
    static func isASCIIDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    @inline(__always)
    static func isASCIIUpperLetter(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }

    /// Up to 7 bytes, ASCII letters lowered, packed with their count in the top byte; 0 when longer. Two words
    /// pack equal exactly when they are equal ignoring ASCII case.
    @inline(__always)
    static func packedLowercased(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard bytes.count <= 7 else { return 0 }
        var packed = UInt64(bytes.count) << 56
        for index in 0..<bytes.count {
            packed |= UInt64(lowercasedASCII(bytes[index])) << (8 * UInt64(index))
        }
        return packed
    }

    /// Up to 15 bytes packed with their count: equal exactly when the words are byte for byte equal. A hashable
    /// key for short words (nicknames, sex codes) that needs no String.
    struct PackedWord: Hashable {
        private var low: UInt64 = 0
        private var high: UInt64 = 0

        /// The bytes packed so far.
        var count: Int { Int(high >> 56) }

        init() {}

        /// The word, or nil when it is longer than 15 bytes.
        init?(_ bytes: some Collection<UInt8>) {
            guard bytes.count <= 15 else { return nil }
            for byte in bytes { append(byte) }
        }

        /// Adds a byte at the end; a word holds at most 15.
        @inline(__always)
        mutating func append(_ byte: UInt8) {
            let index = count
            precondition(index < 15, "a packed word holds at most 15 bytes")
            let shift = 8 * UInt64(index & 7)
            if index < 8 { low |= UInt64(byte) << shift } else { high |= UInt64(byte) << shift }
            high = (high & 0x00FF_FFFF_FFFF_FFFF) | UInt64(index + 1) << 56
        }
    }

    /// Whether `bytes` is one of the missing-value sentinels, ignoring ASCII case.
    @inline(__always)
    static func isSentinel(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count <= 7 else { return false }
        return sentinels.contains(packedLowercased(bytes))
    }

    /// `bytes` without leading and trailing ASCII white space.
    @inline(__always)
    static func trimmedASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        var start = 0
        var end = bytes.count
        while start < end && isASCIIWhitespace(bytes[start]) { start += 1 }
        while end > start && isASCIIWhitespace(bytes[end - 1]) { end -= 1 }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    /// `text` without leading and trailing Unicode `White_Space` scalars.
    static func trimmedUnicode(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return text[text.endIndex...] }
        return Substring(scalars[first...last])
    }
}
