import BlindmatchProtocol

/// What the harness scores: a field's value, or a coarser value derived from it that an attacker gains by itself
/// (the year of a date of birth, the area of a postcode).
public struct Measure: Sendable, Equatable {
    /// How the scored value is taken from the field's normalised value.
    public enum Derivation: String, Sendable, Codable {
        /// The whole normalised value.
        case value
        /// The year of a date (`YYYY` of `YYYY-MM-DD`).
        case year
        /// The area of a UK postcode: the letters before the first digit (`SW` of `SW1A 1AA`).
        case area
    }

    /// How much an attacker may gain on it before the verdict fails.
    public enum Sensitivity: String, Sendable, Codable {
        /// Names, dates of birth, postcodes, NINOs and any other identifier: a small bound.
        case identifying
        /// Attributes that many people share (sex, year of birth, postcode area): a larger bound.
        case lowEntropy = "low-entropy"
    }

    /// The name reported: the field's name, followed by `year` or `area` for a derived measure.
    public let name: String
    /// Index into the scored fields.
    public let field: Int
    public let derivation: Derivation
    public let sensitivity: Sensitivity

    /// The measures of `fields`: each field's value, a date's year and a postcode's area.
    public static func measures(of fields: [ScoredField]) -> [Measure] {
        var measures: [Measure] = []
        for (index, field) in fields.enumerated() {
            let sensitivity: Sensitivity = field.kind == .sex ? .lowEntropy : .identifying
            measures.append(Measure(name: field.name, field: index, derivation: .value, sensitivity: sensitivity))
            if field.kind == .date {
                measures.append(
                    Measure(name: "\(field.name) year", field: index, derivation: .year, sensitivity: .lowEntropy))
            }
            if field.kind == .postcode {
                measures.append(
                    Measure(name: "\(field.name) area", field: index, derivation: .area, sensitivity: .lowEntropy))
            }
        }
        return measures
    }

    /// The measured value of a field's normalised value, or nil when it has none.
    public func derive(_ value: String?) -> String? {
        guard let value else { return nil }
        switch derivation {
        case .value: return value
        case .year:
            guard value.utf8.count >= 4 else { return nil }
            return String(value.prefix(4))
        case .area:
            let letters = value.prefix { $0.isLetter }
            return letters.isEmpty ? nil : String(letters)
        }
    }
}

/// The gains above baseline the verdict allows, in percentage points (issue 15's defaults).
public struct AssessmentBounds: Sendable, Equatable {
    /// For identifying fields (given name, surname, date of birth, postcode, NINO, any other identifier).
    public var identifying = 1.0
    /// For low-entropy attributes (sex, year of birth, postcode area).
    public var lowEntropy = 10.0
    /// For whole records linked to the right person.
    public var records = 1.0
    /// Bounds for single measures by name (e.g. "sex"), overriding the above.
    public var perMeasure: [String: Double] = [:]

    public init() {}

    /// The bound on `measure`.
    public func bound(for measure: Measure) -> Double {
        if let bound = perMeasure[measure.name] { return bound }
        return measure.sensitivity == .identifying ? identifying : lowEntropy
    }
}
