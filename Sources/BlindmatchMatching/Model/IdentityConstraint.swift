import BlindmatchProtocol
import Glibc

/// One watch-list record is one person: the pairwise model's match probabilities, conditioned on the other candidates
/// of the same watch-list row.
///
/// The pairwise model (``MatchWeightModel``) scores each pair as if the others did not exist. At population scale a
/// watch-list row's candidates include chance namesakes (the same names and date of birth at another address) and
/// relatives beside its true match, with the same key pattern and a similar score: the model cannot tell them apart
/// and rates all of them as matches (at 100,000 × 10,000,000 most of the false matches sit beside the row's true
/// match). Among one watch-list row's candidates, the *top* pair (the best pair of the best group of bulk records whose
/// identifiers agree: an agreeing identifier first, then the most evidence, see ``topOfBestGroup``) is the row's person
/// if any is; every other candidate (a *secondary*) is then true only if its bulk record
/// is another record of that person (a duplicate in the bulk file). Two bulk records whose identifier tokens (the
/// NINO) differ are different people, up to a typo; two whose tokens agree are one person. So:
///
/// - a secondary whose bulk identifier agrees with the top pair's bulk identifier is true if the top pair is;
/// - one whose bulk identifier differs is true, given the top pair, only as a duplicate whose identifier was
///   mistyped (the rate at which true pairs' identifiers disagree, from the fitted model);
/// - one where either bulk record has no identifier is true, given the top pair, with the probability that a
///   secondary of its weight is a duplicate: a non-decreasing step curve in the weight, fitted by isotonic
///   regression (pool-adjacent-violators, each secondary weighted by its top pair's probability) to the
///   secondaries whose identifier says which they are. It
///   assumes that whether a bulk record carries an identifier does not depend on whether it is a duplicate, and it
///   never raises a pair above its own probability.
///
/// A secondary's probability is then `p_top · P(true | top true) + (1 − p_top) · p`, with `p` its own; the top pair
/// keeps its own. The result is in the decision model's weights, so the threshold, the solver and the estimates all
/// see it. Only tokens are compared: the identifier tokens are keyed hashes, and equality is all this needs.
public struct IdentityConstraint: Codable, Sendable, Equatable {
    /// Secondaries (pairs beside a watch-list row's top pair) whose bulk identifier agrees with, differs from, or
    /// cannot be compared with (missing on either bulk record) the top pair's, among those the curve is fitted on
    /// (match probability at least ``relevant``).
    public var agreeing: Int
    public var conflicting: Int
    public var unknown: Int
    /// The curve P(duplicate | weight w): from each `curveWeights` entry (a weight, ascending) up to the next, the
    /// share `curveShares` (non-decreasing; below the first weight the first share). Nil when too few secondaries
    /// were labelled to fit it (the unknown secondaries then keep their own probability).
    public var curveWeights: [Double]?
    public var curveShares: [Double]?
    /// The rate at which two records of one person carry different identifier tokens (the fitted model's).
    public var typoRate: Double
    /// The sum of the match probabilities over all candidates before and after the constraint.
    public var expectedMatchesBefore: Double
    public var expectedMatchesAfter: Double

    /// The least match probability of a secondary the curve is fitted on and counted for.
    static let relevant = 0.001
    /// The fewest labelled secondaries of each kind for the curve to be fitted.
    static let minimumLabelled = 10

    /// The identity of a secondary's bulk record against its top pair's.
    enum Relation: UInt8 {
        case unknown, agrees, conflicts
    }

    /// Adjusts `weights` (log₂ odds, one per pair) of the pairs `rowsA[i] × rowsB[i]`.
    ///
    /// - Parameters:
    ///   - identifierAgrees: whether the pair's own identifier agrees (the watch-list row's identifier is the bulk
    ///     row's): such a pair is its row's top pair before any other.
    ///   - relation: the identity of two bulk rows by their identifier tokens.
    ///   - typoRate: the rate at which two records of one person carry different identifier tokens.
    static func adjust(
        weights: [Double], rowsA: [UInt32], rowsB: [UInt32], recordsA: Int, identifierAgrees: (Int) -> Bool,
        relation: (UInt32, UInt32) -> Relation, typoRate: Double
    ) -> (weights: [Double], constraint: IdentityConstraint) {
        let count = weights.count
        // The candidates of each watch-list row, by a counting sort on the row.
        var starts = [Int](repeating: 0, count: recordsA + 1)
        for row in rowsA { starts[Int(row) + 1] += 1 }
        for row in 0..<recordsA { starts[row + 1] += starts[row] }
        var next = starts
        var order = [Int](repeating: 0, count: count)
        for index in 0..<count {
            let row = Int(rowsA[index])
            order[next[row]] = index
            next[row] += 1
        }
        // Each secondary: its top pair and its relation to it.
        var top = [Int](repeating: -1, count: count)
        var relations = [Relation](repeating: .unknown, count: count)
        for row in 0..<recordsA where starts[row + 1] - starts[row] > 1 {
            let members = order[starts[row]..<starts[row + 1]]
            guard
                let best = topOfBestGroup(
                    members: members, weights: weights, rowsB: rowsB, identifierAgrees: identifierAgrees,
                    relation: relation)
            else { continue }
            for member in members where member != best {
                top[member] = best
                relations[member] = relation(rowsB[best], rowsB[member])
            }
        }
        // The curve, fitted to the relevant labelled secondaries.
        var samples: [(weight: Double, duplicate: Bool, importance: Double)] = []
        var agreeing = 0
        var conflicting = 0
        var unknown = 0
        for index in 0..<count where top[index] >= 0 {
            guard MatchWeightModel.probability(weight: weights[index]) >= relevant else { continue }
            let importance = MatchWeightModel.probability(weight: weights[top[index]])
            switch relations[index] {
            case .agrees:
                agreeing += 1
                samples.append((weights[index], true, importance))
            case .conflicts:
                conflicting += 1
                samples.append((weights[index], false, importance))
            case .unknown:
                unknown += 1
            }
        }
        let curve =
            agreeing >= minimumLabelled && conflicting >= minimumLabelled ? fitIsotonic(samples) : nil
        let typo = min(max(typoRate, 0), 0.5)
        var adjusted = weights
        var before = 0.0
        var after = 0.0
        for index in 0..<count {
            let own = MatchWeightModel.probability(weight: weights[index])
            before += own
            guard top[index] >= 0 else {
                after += own
                continue
            }
            let topProbability = MatchWeightModel.probability(weight: weights[top[index]])
            let duplicate: Double
            let curveValue = curve.map { share(at: weights[index], $0) }
            switch relations[index] {
            case .agrees:
                duplicate = 1
            case .conflicts:
                // A duplicate whose identifier was mistyped: the curve's (or the pair's own) prior odds of a
                // duplicate, times the typo rate.
                let prior = min(curveValue ?? own, own)
                duplicate = prior * typo / max(prior * typo + (1 - prior), 1e-300)
            case .unknown:
                duplicate = min(curveValue ?? own, own)
            }
            let probability = topProbability * duplicate + (1 - topProbability) * own
            after += probability
            adjusted[index] = logOdds(probability)
        }
        let constraint = IdentityConstraint(
            agreeing: agreeing, conflicting: conflicting, unknown: unknown, curveWeights: curve?.weights,
            curveShares: curve?.shares,
            typoRate: typo, expectedMatchesBefore: before, expectedMatchesAfter: after)
        return (adjusted, constraint)
    }

    /// The most candidates of one row grouped by identity; a row with more is decided pair by pair.
    static let groupingLimit = 256

    /// The top pair of a watch-list row: the best pair of its best *group*.
    ///
    /// The row's bulk records whose identifier tokens agree are one person and form one group (a record with no
    /// identifier, or one that conflicts with every group so far, is a group of its own; records are taken in
    /// decreasing weight and join the first group whose best record agrees with them). A group ranks by whether any
    /// of its pairs has an agreeing identifier, then by its evidence: the log₂ of the sum of its pairs' odds. The sum
    /// of odds (rather than adding each further member's full weight) is the conservative choice: duplicates are
    /// largely copies of one source, so their agreements are not independent evidence; the sum never adds more than
    /// log₂ k bits for k records, so it only decides between groups the single weights hardly tell apart (a person
    /// with several bulk records against one slightly higher namesake) and a single pair keeps its own weight.
    static func topOfBestGroup(
        members: ArraySlice<Int>, weights: [Double], rowsB: [UInt32], identifierAgrees: (Int) -> Bool,
        relation: (UInt32, UInt32) -> Relation
    ) -> Int? {
        func pairKey(_ index: Int) -> (Int, Double, Int) {
            (identifierAgrees(index) ? 1 : 0, weights[index], -index)
        }
        guard members.count <= groupingLimit else {
            return members.max { pairKey($0) < pairKey($1) }
        }
        let sorted = members.sorted { pairKey($0) > pairKey($1) }
        guard let first = sorted.first else { return nil }
        // A group's evidence exceeds its best pair's weight by at most log₂ k, so only a group led by a pair of the
        // first pair's tier within log₂ k of its weight can win (the first pair's group has at least its weight);
        // other records join those groups or are passed over, and records 60 bits below them add nothing a Double
        // holds. This keeps the relation calls near one per record.
        let tier = pairKey(first).0
        let leaderFloor = weights[first] - log2(Double(sorted.count))
        // Each group: its best pair (the first to join), whether any pair's identifier agrees, its sum of odds
        // relative to the best pair's (so that it stays finite).
        var groups: [(best: Int, agrees: Bool, relativeOdds: Double)] = []
        for member in sorted where weights[member] >= leaderFloor - 60 {
            if let group = groups.firstIndex(where: { relation(rowsB[$0.best], rowsB[member]) == .agrees }) {
                groups[group].agrees = groups[group].agrees || identifierAgrees(member)
                groups[group].relativeOdds += exp2(weights[member] - weights[groups[group].best])
            } else if pairKey(member).0 == tier && weights[member] >= leaderFloor {
                groups.append((member, identifierAgrees(member), 1))
            }
        }
        func groupKey(_ group: (best: Int, agrees: Bool, relativeOdds: Double)) -> (Int, Double, Int) {
            (group.agrees ? 1 : 0, weights[group.best] + log2(group.relativeOdds), -group.best)
        }
        return groups.max { groupKey($0) < groupKey($1) }?.best ?? first
    }

    /// log₂ odds of a probability, kept finite.
    static func logOdds(_ probability: Double) -> Double {
        let clamped = min(max(probability, 1e-300), 1 - 1e-16)
        return log2(clamped / (1 - clamped))
    }

    /// Weighted isotonic regression of `duplicate` on the weight (pool-adjacent-violators): the non-decreasing step
    /// function closest to the labels in weighted squared error, as the blocks' lowest weights and shares.
    static func fitIsotonic(
        _ samples: [(weight: Double, duplicate: Bool, importance: Double)]
    ) -> (weights: [Double], shares: [Double])? {
        let sorted = samples.filter { $0.importance > 0 }.sorted { $0.weight < $1.weight }
        guard !sorted.isEmpty else { return nil }
        var starts: [Double] = []
        var sums: [Double] = []
        var masses: [Double] = []
        var index = 0
        while index < sorted.count {
            // Samples of one weight are one point (the curve cannot tell them apart).
            let start = sorted[index].weight
            var sum = 0.0
            var mass = 0.0
            while index < sorted.count && sorted[index].weight == start {
                sum += sorted[index].duplicate ? sorted[index].importance : 0
                mass += sorted[index].importance
                index += 1
            }
            var blockStart = start
            // Pool with the previous block while it is not below this one.
            while let last = masses.last, sums[sums.count - 1] / last >= sum / mass {
                sum += sums.removeLast()
                mass += masses.removeLast()
                blockStart = starts.removeLast()
            }
            starts.append(blockStart)
            sums.append(sum)
            masses.append(mass)
        }
        return (starts, zip(sums, masses).map { $0 / $1 })
    }

    /// The curve's share at weight `weight`: that of the last block starting at or below it (the first block's below).
    static func share(at weight: Double, _ curve: (weights: [Double], shares: [Double])) -> Double {
        var low = 0
        var high = curve.weights.count
        while low < high {
            let middle = (low + high) / 2
            if curve.weights[middle] <= weight { low = middle + 1 } else { high = middle }
        }
        return curve.shares[max(low - 1, 0)]
    }
}
