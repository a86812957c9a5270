import BlindmatchAgency
import BlindmatchProtocol
import Dispatch

/// Attack 2, frequency alignment of single positions and small fields (docs/privacy.md; after Kuzu et al. 2011 and
/// Niedermeyer et al. 2014, who read tokens off the bit positions they set).
///
/// Without hardening, every record holding a token sets all of that token's `k` positions, so those positions
/// co-occur far more often than chance. The schema tells the attacker `k` for each small field (the `sex` field's
/// exact token, each positional digit of a date) and the reference tells it how the values are spread. The attack:
/// 1. over a sample of filters, the correlation of every pair of positions; for each position its most correlated
///    neighbours;
/// 2. from every position, grows a cluster of up to `k` positions greedily, each step taking the neighbour that is
///    set in more of the cluster's records than chance predicts; the records with every position set are the
///    cluster's support, the records that hold the token;
/// 3. finds groups of clusters whose supports are disjoint although chance would make them overlap: the values of
///    one small field (M or F; the digits at one position of a date) exclude each other;
/// 4. matches each group to the schema field whose reference frequencies it resembles most (sorted shares, scaled by
///    the share of records with the field, which the header discloses; clusters of another size than the field's
///    tokens set count against it), and gives the value of the same rank to the records in each cluster's support.
/// A date whose eight digits are all read is a date of birth guess; its first four a year guess. It fails against
/// hardening that breaks position co-occurrence (diffusion, randomised response, salting by a field that differs
/// between records sharing the value).
public struct FrequencyAlignmentAttack: Attack {
    public let name = "frequency alignment"
    public var readsFilters: Bool { true }
    /// Filters used to find clusters (all are used to read values).
    public var sampleSize = 20_000
    /// Most-correlated neighbours kept per position.
    public var neighbours = 48

    public init() {}

    /// A small field's token group: the values of an exact field, or the digits at one position of a date.
    struct TargetGroup {
        let field: String
        /// 1-based digit position of a date, or nil for an exact field.
        let position: Int?
        /// Positions each token sets.
        let tokenBits: Int
        /// Values and their share of all encoded records (scaled by the share with the field), most common first.
        let values: [(value: String, share: Double)]
    }

    /// A set of positions that co-occur, and the sample rows that have all of them.
    struct Cluster {
        let members: [Int]
        let support: [UInt64]
        let size: Int
    }

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        let groups = Self.targetGroups(schema: schema, view: view, reference: reference)
        let bits = view.filters.filterBits
        guard !groups.isEmpty, bits > 0, bits <= 8192, view.count >= 100 else {
            return AttackOutcome(attack: name, notes: ["small-field groups in the schema": Double(groups.count)])
        }
        progress.show("\(name): correlating positions")
        let sample = min(view.count, sampleSize)
        let columns = PositionBitColumns(filters: view.filters, rows: sample)
        let nearest = columns.nearestNeighbours(count: neighbours)
        var clusters: [Cluster] = []
        for tokenBits in Set(groups.map(\.tokenBits)).sorted() {
            progress.show("\(name): growing clusters of \(tokenBits) positions")
            clusters += grow(columns: columns, nearest: nearest, tokenBits: tokenBits)
        }
        clusters = Self.distinct(clusters, rows: sample)
        let cliques = Self.exclusiveGroups(clusters, rows: sample)
        // Shares are counted over every row, not the sample: where the reference holds the same people, the counts
        // then agree exactly and near-equal frequencies (M and F) still come out in the right order.
        progress.show("\(name): counting")
        var counted = clusters
        for index in Set(cliques.joined()) {
            let cluster = clusters[index]
            counted[index] = Cluster(
                members: cluster.members, support: [], size: Self.rowsHolding(cluster.members, in: view))
        }
        var guesses: [String: [String?]] = [:]
        var digits: [String: [Int: [UInt8?]]] = [:]
        var matched = 0
        for group in groups {
            // A digit the reference never varies (the 1 of 19xx when everyone was born in the 1900s) is known
            // without reading a position.
            if let position = group.position, group.values.count == 1 {
                let digit = group.values[0].value.utf8.first
                digits[group.field, default: [:]][position] = [UInt8?](repeating: digit, count: view.count)
                continue
            }
            guard let clique = Self.bestClique(for: group, among: cliques, clusters: counted, rows: view.count) else {
                continue
            }
            matched += 1
            let values = reading(view: view, clusters: clique.map { clusters[$0] }, values: group.values.map(\.value))
            if let position = group.position {
                digits[group.field, default: [:]][position] = values.map { $0?.utf8.first }
            } else {
                guesses[group.field] = values
            }
        }
        for (field, positions) in digits {
            guesses[field] = (0..<view.count).map { row in Self.date(positions, row: row, through: 8) }
            guesses["\(field) year"] = (0..<view.count).map { row in Self.date(positions, row: row, through: 4) }
        }
        let fieldNames = ScoredField.fields(of: schema).map(\.name)
        let links = GuessLinker(reference: reference, fieldNames: fieldNames).links(from: guesses, rows: view.count)
        return AttackOutcome(
            attack: name, fieldGuesses: guesses, recordLinks: links,
            notes: [
                "small-field groups in the schema": Double(groups.count),
                "token clusters found": Double(clusters.count),
                "exclusive groups found": Double(cliques.count), "groups aligned": Double(matched),
            ])
    }

    /// The digits read at positions 1…`through`, as a date (`YYYY-MM-DD`) or year; nil unless every one was read.
    static func date(_ positions: [Int: [UInt8?]], row: Int, through last: Int) -> String? {
        var text: [UInt8] = []
        for position in 1...last {
            guard let column = positions[position], let digit = column[row] else { return nil }
            if position == 5 || position == 7 { text.append(UInt8(ascii: "-")) }
            text.append(digit)
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The schema's small fields, with the reference's value frequencies.
    static func targetGroups(schema: LinkageSchema, view: MatcherView, reference: ReferencePopulation)
        -> [TargetGroup]
    {
        guard let bloom = schema.bloom else { return [] }
        var groups: [TargetGroup] = []
        for field in bloom.fields {
            let name = schema.columns[field.column].name
            let values = reference.records.compactMap { $0[name] }
            guard !values.isEmpty else { continue }
            let counts = field.column < view.statistics.columns.count ? view.statistics.columns[field.column] : nil
            let withField = counts.map { Double($0.present) / Double(max(1, view.statistics.records)) } ?? 1
            func shares(_ items: [String]) -> [(value: String, share: Double)] {
                var tally: [String: Int] = [:]
                for item in items { tally[item, default: 0] += 1 }
                return tally.map { ($0.key, withField * Double($0.value) / Double(items.count)) }
                    .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            }
            switch field.tokenizer {
            case .exact:
                let spread = shares(values)
                guard spread.count <= 20 else { continue }
                let bits: Int
                switch field.strategy {
                case .bitsPerToken(let k): bits = k
                case .bitsPerFeature(let total): bits = total
                }
                groups.append(TargetGroup(field: name, position: nil, tokenBits: bits, values: spread))
            case .ngram(n: 1, positional: true):
                guard case .normalised(let normaliser) = schema.columns[field.column].format,
                    normaliser.kind == .date
                else { continue }
                let digitsOf = values.map { Array($0.utf8.filter { $0 != UInt8(ascii: "-") }) }.filter { $0.count == 8 }
                for position in 1...8 {
                    let bits: Int
                    switch field.strategy {
                    case .bitsPerToken(let k): bits = k
                    case .bitsPerFeature(let total):
                        bits = total / 8 + (position - 1 < total % 8 ? 1 : 0)
                    }
                    let spread = shares(digitsOf.map { String(decoding: [$0[position - 1]], as: UTF8.self) })
                    groups.append(TargetGroup(field: name, position: position, tokenBits: bits, values: spread))
                }
            default: continue
            }
        }
        return groups.filter { $0.tokenBits >= 2 }
    }

    /// Step 2: from every position, a cluster of up to `tokenBits` co-occurring positions.
    func grow(columns: PositionBitColumns, nearest: [[Int]], tokenBits: Int) -> [Cluster] {
        let minimum = max(5, columns.rows / 1000)
        var found = [Cluster?](repeating: nil, count: columns.positions)
        found.withUnsafeMutableBufferPointer { slots in
            let output = UnsafeSendable(slots)
            DispatchQueue.concurrentPerform(iterations: columns.positions) { seed in
                output.value[seed] = Self.cluster(
                    from: seed, columns: columns, nearest: nearest[seed], tokenBits: tokenBits, minimum: minimum)
            }
        }
        return found.compactMap { $0 }
    }

    static func cluster(from seed: Int, columns: PositionBitColumns, nearest: [Int], tokenBits: Int, minimum: Int)
        -> Cluster?
    {
        var support = columns.column(seed)
        var size = columns.counts[seed]
        guard size >= minimum else { return nil }
        var members = [seed]
        while members.count < tokenBits {
            var best = -Double.infinity
            var bestPosition = -1
            var bestOverlap = 0
            for candidate in nearest where !members.contains(candidate) {
                let overlap = columns.overlap(candidate, with: support)
                let excess = Double(overlap) - Double(size) * columns.frequency(candidate)
                if excess > best {
                    best = excess
                    bestPosition = candidate
                    bestOverlap = overlap
                }
            }
            // Once the support has settled on one token's records, a position of that token keeps nearly all of
            // them; a position that loses many is another token's, so the cluster is complete.
            guard bestPosition >= 0, best > 0 else { break }
            if members.count >= 4 && Double(bestOverlap) < 0.85 * Double(size) { break }
            columns.intersect(&support, with: bestPosition)
            size = bestOverlap
            members.append(bestPosition)
        }
        guard members.count >= max(3, tokenBits / 2), size >= minimum else { return nil }
        return Cluster(members: members.sorted(), support: support, size: size)
    }

    /// Clusters with (nearly) the same support are one token (or tokens that always occur together); keep one.
    static func distinct(_ clusters: [Cluster], rows: Int) -> [Cluster] {
        var kept: [Cluster] = []
        for cluster in clusters.sorted(by: { $0.members.count > $1.members.count || $0.size > $1.size }) {
            let duplicate = kept.contains { other in
                guard Double(min(other.size, cluster.size)) >= 0.8 * Double(max(other.size, cluster.size)) else {
                    return false
                }
                let common = PositionBitColumns.overlap(other.support, cluster.support)
                return Double(common) >= 0.8 * Double(other.size + cluster.size - common)
            }
            if !duplicate { kept.append(cluster) }
        }
        return kept
    }

    /// Step 3: groups of clusters whose supports exclude each other although chance would make them overlap.
    static func exclusiveGroups(_ clusters: [Cluster], rows: Int) -> [[Int]] {
        let order = clusters.indices.sorted { clusters[$0].size > clusters[$1].size }
        func exclusive(_ a: Int, _ b: Int) -> Bool {
            let expected = Double(clusters[a].size) * Double(clusters[b].size) / Double(max(1, rows))
            guard expected >= 8 else { return false }
            let common = PositionBitColumns.overlap(clusters[a].support, clusters[b].support)
            return Double(common) <= 0.03 * Double(min(clusters[a].size, clusters[b].size)) + 2
        }
        var assigned = Set<Int>()
        var groups: [[Int]] = []
        for first in order where !assigned.contains(first) {
            var group = [first]
            for other in order where other != first && !assigned.contains(other) {
                if group.allSatisfy({ exclusive($0, other) }) { group.append(other) }
            }
            guard group.count >= 2 else { continue }
            assigned.formUnion(group)
            groups.append(group)
        }
        return groups
    }

    /// Step 4: the group whose sorted shares are nearest the field's reference shares, if near enough.
    static func bestClique(for group: TargetGroup, among cliques: [[Int]], clusters: [Cluster], rows: Int) -> [Int]? {
        var best: (distance: Double, clique: [Int])?
        for clique in cliques {
            let sorted = clique.sorted { clusters[$0].size > clusters[$1].size }
            let shares = sorted.map { Double(clusters[$0].size) / Double(max(1, rows)) }
            // The schema says how many positions each of the group's tokens sets (13 for the first four digits of a
            // date, 12 for the last four): a group of clusters of another size is another field's.
            let sizes = sorted.map { clusters[$0].members.count }.sorted()
            var distance = abs(sizes[sizes.count / 2] - group.tokenBits) > 0 ? 0.2 : 0
            for index in 0..<max(shares.count, group.values.count) {
                let observed = index < shares.count ? shares[index] : 0
                let expected = index < group.values.count ? group.values[index].share : 0
                distance += abs(observed - expected)
            }
            if best == nil || distance < best?.distance ?? .infinity { best = (distance, sorted) }
        }
        guard let best, best.distance < 0.3 else { return nil }
        return best.clique
    }

    /// Rows whose filter has every one of `positions` set.
    static func rowsHolding(_ positions: [Int], in view: MatcherView) -> Int {
        let width = view.filters.wordsPerFilter
        var mask = [UInt64](repeating: 0, count: width)
        for position in positions { mask[position / 64] |= 1 << UInt64(position % 64) }
        let words = (0..<width).filter { mask[$0] != 0 }
        return view.filters.words.withUnsafeBufferPointer { all in
            var count = 0
            for row in 0..<view.count where words.allSatisfy({ all[row * width + $0] & mask[$0] == mask[$0] }) {
                count += 1
            }
            return count
        }
    }

    /// The value of the cluster whose positions are all set in each row (nil when none or several are).
    func reading(view: MatcherView, clusters: [Cluster], values: [String]) -> [String?] {
        let width = view.filters.wordsPerFilter
        let masks = clusters.map { cluster in
            var mask = [UInt64](repeating: 0, count: width)
            for position in cluster.members { mask[position / 64] |= 1 << UInt64(position % 64) }
            return mask
        }
        return (0..<view.count).map { row in
            var found: String?
            for (index, mask) in masks.enumerated() where index < values.count {
                var all = true
                for word in 0..<width where mask[word] != 0 {
                    if view.filters.words[row * width + word] & mask[word] != mask[word] {
                        all = false
                        break
                    }
                }
                guard all else { continue }
                if found != nil { return nil }
                found = values[index]
            }
            return found
        }
    }
}

/// A buffer handed to concurrent iterations that each write their own slot.
struct UnsafeSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
