/// A run's quality report as `match --report` writes it and the service stores and serves it (`GET …/report`, the
/// contract's `RunReport`): the fitted model's ``LinkageReport``, or, where the files gave it nothing to fit,
/// an ``UnfittedReport`` saying what decided instead and why.
///
/// Read by its `model` member: `"none"` is the unfitted report, anything else the fitted one.
public enum RunQualityReport: Codable, Sendable, Equatable {
    case fitted(LinkageReport)
    case unfitted(UnfittedReport)

    private enum CodingKeys: String, CodingKey { case model }

    public init(from decoder: any Decoder) throws {
        let model = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .model)
        self =
            model == UnfittedReport.noModel
            ? .unfitted(try UnfittedReport(from: decoder)) : .fitted(try LinkageReport(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .fitted(let report): try report.encode(to: encoder)
        case .unfitted(let report): try report.encode(to: encoder)
        }
    }

    /// The Dice threshold that decided, when the fixed rule did (given, or fallen back to).
    public var diceThreshold: Double? {
        switch self {
        case .fitted(let report): report.diceThreshold
        case .unfitted(let report): report.diceThreshold
        }
    }

    /// Why the model did not choose although it was asked to, when it did not.
    public var thresholdFallback: String? {
        switch self {
        case .fitted(let report): report.thresholdFallback
        case .unfitted(let report): report.thresholdFallback
        }
    }
}

/// The report of a run whose files carry no Bloom filters: there are no scores, so no decision model is fitted and
/// there are no estimates; the match keys' exact joins and the fixed rule's Dice threshold decided
/// (docs/decision-model.md, "Where the model cannot choose"). Counts and rules only, never a token.
public struct UnfittedReport: Codable, Sendable, Equatable {
    /// The `model` member that marks this report.
    public static let noModel = "none"

    /// Always ``noModel``.
    public private(set) var model = UnfittedReport.noModel
    /// Always false: no model, so nothing chose.
    public private(set) var thresholdChosen = false
    /// The fixed rule's Dice threshold: the files' default where the project or `match` asked for `auto`, else the
    /// one given.
    public var diceThreshold: Double
    /// Why the model could not choose, when it was asked to (``MatchEngine/Report/thresholdFallback``); absent when
    /// a Dice threshold was given.
    public var thresholdFallback: String?

    public init(diceThreshold: Double, thresholdFallback: String?) {
        self.diceThreshold = diceThreshold
        self.thresholdFallback = thresholdFallback
    }

    private enum CodingKeys: String, CodingKey { case model, thresholdChosen, diceThreshold, thresholdFallback }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let model = try container.decode(String.self, forKey: .model)
        let chosen = try container.decode(Bool.self, forKey: .thresholdChosen)
        guard model == Self.noModel, !chosen else {
            throw DecodingError.dataCorruptedError(
                forKey: .model, in: container,
                debugDescription: "an unfitted report has model \"none\" and thresholdChosen false")
        }
        diceThreshold = try container.decode(Double.self, forKey: .diceThreshold)
        thresholdFallback = try container.decodeIfPresent(String.self, forKey: .thresholdFallback)
    }
}
