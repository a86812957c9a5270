import BlindmatchProtocol

/// A run's settings as a project or a command names them: thresholds as decimal text, veto keys by match-key name.
///
/// ``MatchEngine/Settings/init(named:matchKeys:threads:)`` turns them into the engine's settings for files with
/// given match keys; the service stores them as they are, so a run copies exactly what its project said.
public struct NamedMatchSettings: Sendable, Equatable {
    /// The match threshold: a Dice score as text (`"0.85"`, the fixed rule), or ``automatic`` (`"auto"`: the fitted
    /// decision model chooses, falling back to the fixed rule's default where it cannot).
    public var threshold: String
    /// Where the review band starts, as text; nil for no band.
    public var reviewFrom: String?
    public var solver: Solver
    /// Match keys that veto a pair when both rows have them and they differ.
    public var vetoKeys: [String]
    /// Whether ``vetoKeys`` are the defaults rather than named by someone: defaults missing from the files are
    /// skipped, named keys missing from them are an error.
    public var vetoKeysDefaulted: Bool
    /// Compare only pairs that share a blocking-key token (SPEC §4.5).
    public var blocking: Bool

    public init(
        threshold: String, reviewFrom: String?, solver: Solver, vetoKeys: [String], vetoKeysDefaulted: Bool,
        blocking: Bool
    ) {
        self.threshold = threshold
        self.reviewFrom = reviewFrom
        self.solver = solver
        self.vetoKeys = vetoKeys
        self.vetoKeysDefaulted = vetoKeysDefaulted
        self.blocking = blocking
    }

    /// The threshold that lets the decision model choose.
    public static let automatic = "auto"

    /// Whether the decision model chooses the threshold (``automatic``).
    public var isAutomatic: Bool { threshold == Self.automatic }
}

extension MatchEngine.Settings {
    /// The engine's settings for files with `header` (its match keys' cascade, and its hardening for the fixed
    /// rule's default threshold).
    ///
    /// With ``NamedMatchSettings/automatic`` the decision model chooses (``chooseThreshold``), and the threshold is
    /// the fixed rule's default for these filters (``DefaultThreshold``), which decides only where the model cannot.
    ///
    /// - Throws: `MatchingError.invalidThreshold` for a threshold that is neither `auto` nor a Dice score in (0, 1],
    ///   or a review band with `auto`; `MatchingError.unknownVetoKey` for a named veto key that is not a match key
    ///   of the files.
    public init(named: NamedMatchSettings, header: TokenFileHeader, threads: Int) throws {
        let matchKeys = header.matchKeys
        var indices: [Int] = []
        for name in named.vetoKeys {
            if let index = matchKeys.firstIndex(of: name) {
                indices.append(index)
            } else if !named.vetoKeysDefaulted {
                throw MatchingError(.unknownVetoKey, "veto key \(name) is not a match key of the files")
            }
        }
        if named.isAutomatic && named.reviewFrom != nil {
            throw MatchingError(.invalidThreshold, "a review band needs a Dice threshold, not auto")
        }
        self.init(
            threshold: try DiceThreshold(named.isAutomatic ? DefaultThreshold.text(for: header) : named.threshold),
            reviewFrom: try named.reviewFrom.map(DiceThreshold.init), solver: named.solver, threads: max(1, threads),
            vetoKeys: indices)
        useBlocking = named.blocking
        chooseThreshold = named.isAutomatic
    }
}

extension MatchResult.Rule {
    /// The rule's name in results: the match key's name from the files' cascade, or `bloom`.
    public func name(matchKeys: [String]) -> String {
        switch self {
        case .matchKey(let index): index < matchKeys.count ? matchKeys[index] : "key\(index)"
        case .bloom: "bloom"
        }
    }
}
