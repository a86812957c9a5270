/// A named set of error models and population shape for ``SyntheticPopulation`` (`blindmatch synth --profile`,
/// docs/synthetic-data.md).
public enum SyntheticProfile: String, CaseIterable, Sendable {
    /// The original rates: a dirty watch list against fairly clean bulk data. The same seed gives the same bytes as
    /// before profiles existed.
    case standard = "default"
    /// Both sides corrupted independently and heavily (a fifth moved, 1 in 12 without postcode, a tenth of names
    /// with a typo on each side, 45% of watch-list NINOs missing, dates a day or a year out, married surnames).
    case harsh
    /// The harsh error models with the namesake rates of a national population: more watch-list people share their
    /// names with someone in bulk, and a few share the date of birth too.
    case population

    /// A configuration of this profile.
    public func configuration(watchCount: Int, bulkCount: Int, seed: UInt64) -> SyntheticPopulation.Configuration {
        var configuration = SyntheticPopulation.Configuration(watchCount: watchCount, bulkCount: bulkCount, seed: seed)
        switch self {
        case .standard:
            break
        case .harsh:
            configuration.watchErrors = .harshWatchList
            configuration.bulkErrors = .harshBulk
        case .population:
            configuration.watchErrors = .harshWatchList
            configuration.bulkErrors = .harshBulk
            configuration.namesakes = 0.40
            configuration.namesakeSameDate = 0.03
            configuration.namesakeSameYear = 0.30
            configuration.duplicated = 0.10
            configuration.watchTwins = 0.02
            configuration.bulkTwins = 0.015
        }
        return configuration
    }
}
