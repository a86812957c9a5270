@testable import BlindmatchMatching

/// A population of 1,000,000 pairs with 1,000 matches whose cells are in the proportions known m- and u-probabilities
/// give, for the tests that check a fit recovers them (`DecisionModelTests`, `SecondScoreTests`): an identifier at
/// levels 0 missing, 1 agree, 2 disagree; two pattern keys at the same levels; Dice bins 0 (below the floor), 1, 2;
/// and optionally a further level per Dice bin (a second score). The pairs where nothing agrees are one uncompared
/// count, as blocking leaves them.
enum KnownPopulation {
    static let population = 1_000_000.0
    static let matches = 1_000.0
    static let mIdentifier = [0.4, 0.58, 0.02]
    static let uIdentifier = [0.4, 0.0, 0.6]
    static let mPattern = [[0.02, 0.9, 0.08], [0.01, 0.85, 0.14]]
    static let uPattern = [[0.02, 0.0001, 0.9799], [0.01, 0.0002, 0.9898]]
    static let mDice = [0.02, 0.18, 0.8]
    static let uDice = [0.97, 0.025, 0.005]

    /// The m-probability of a pair with these levels and Dice bin (without a further level).
    static func m(identifier: Int, first: Int, second: Int, bin: Int) -> Double {
        mIdentifier[identifier] * mPattern[0][first] * mPattern[1][second] * mDice[bin]
    }

    /// The u-probability of a pair with these levels and Dice bin (without a further level).
    static func u(identifier: Int, first: Int, second: Int, bin: Int) -> Double {
        uIdentifier[identifier] * uPattern[0][first] * uPattern[1][second] * uDice[bin]
    }

    /// The compared cells and their expected counts, the uncompared count and the matches hidden in it.
    struct Cells {
        var cells: [PopulationFit.Cell] = []
        var counts: [Double] = []
        var uncompared = 0.0
        var hiddenMatches = 0.0
    }

    /// Every cell of the population. With `levels` above 1 each Dice bin splits into that many further levels, cell
    /// bin `bin * levels + level`, whose m and u within the bin `level(bin, level)` gives. `scale` multiplies the
    /// population and the matches (the same shares, more pairs in every cell).
    static func cells(
        levels: Int = 1, scale: Double = 1,
        level: (_ bin: Int, _ level: Int) -> (m: Double, u: Double) = { _, _ in (1, 1) }
    ) -> Cells {
        let (population, matches) = (Self.population * scale, Self.matches * scale)
        var result = Cells()
        for identifier in 0..<3 {
            for first in 0..<3 {
                for second in 0..<3 {
                    for bin in 0..<3 {
                        for further in 0..<levels {
                            let (mLevel, uLevel) = level(bin, further)
                            let m = m(identifier: identifier, first: first, second: second, bin: bin) * mLevel
                            let u = u(identifier: identifier, first: first, second: second, bin: bin) * uLevel
                            let count = matches * m + (population - matches) * u
                            if identifier != 1 && first != 1 && second != 1 {
                                result.uncompared += count
                                result.hiddenMatches += matches * m
                            } else if count > 0 {
                                result.cells.append(
                                    .init(
                                        identifiers: [UInt8(identifier)], pattern: UInt64(first * 3 + second),
                                        bin: bin * levels + further))
                                result.counts.append(count)
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
