import BlindmatchAgency
import BlindmatchMatching
import BlindmatchProtocol
import Glibc

/// Graph matching (Vidanage, Christen, Ranbaduge & Schnell, "A graph matching attack on privacy-preserving record
/// linkage", CIKM 2020), as docs/privacy.md describes it:
///
/// 1. **Two similarity graphs.** One over the encoded filters (Dice, by the project's kernel), one over the reference
///    records. The paper compares reference records by the Dice coefficient of their n-gram sets and calibrates the
///    two similarity scales by regression; here the attacker encodes the reference itself under the public schema
///    with a secret of its own and compares those filters by Dice. That *is* the n-gram-set Dice weighted as the
///    schema weights each field (and with the same collisions, folding and hardening), so the two scales agree
///    without regression, and the kernel builds both graphs. Each node keeps its `neighbourLimit` most similar
///    neighbours at or above a threshold chosen on a sample of the encoded filters so that a node has about
///    `targetDegree` neighbours; the same threshold is used for both graphs.
/// 2. **Node features.** Per node: its popcount (a matcher sees it; it reflects how many tokens the record has),
///    its degree, its egonet's density, its neighbours' mean degree and mean popcount, and its similarities to its
///    nearest neighbours in order (its similarity histogram at the finest resolution). Each feature is standardised
///    over both graphs.
/// 3. **Matching.** Candidate pairs by nearest feature vectors (Euclidean locality-sensitive hashing on random
///    projections, a bounded number of candidates per node), then a one-to-one assignment, greedily by ascending
///    distance. On dense record-level filters this first matching is mostly wrong (3% right on the example schema):
///    the two graphs' similarities differ by the collisions of two keys (±0.03), more than neighbouring nodes'
///    features differ. The paper's refinement by already matched neighbours then does the work, as percolation
///    graph matching: a pair (x, y) gets a *mark* for each neighbour of x matched to a neighbour of y. Phase one
///    re-matches every node to its most-marked candidate, round after round (wrong matches spread marks at random,
///    right ones consistently, so the right ones multiply) until the well-marked matches stop growing; phase two
///    keeps the matches with at least `seedMarks` marks as seeds and grows from them alone, monotonically, taking
///    only clear winners (more marks than any other candidate), until nothing grows.
///
/// Each encoded record is linked to its matched reference record, and its field guesses are that record's values.
/// The attack needs the reference to overlap the encoded population: on a disjoint reference it links records to
/// other people with similar neighbourhoods and recovers little, as the papers report.
///
/// Cost: two self-joins by the kernel (pairs at or above the chosen threshold only), O(n · neighbourLimit) memory
/// per graph, candidate lists bounded by `candidateLimit` per node, and O(neighbourLimit²) marks per node and round.
public enum GraphMatchingAttack {
    static let targetDegree = 24
    static let neighbourLimit = 24
    static let candidateLimit = 48
    static let hashTables = 10
    static let propagationRounds = 60
    /// A pair is proposed by propagation when at least this many of its neighbours are matched to each other.
    static let minimumMarks = 2
    /// Marks a seed needs from the feature matching.
    static let seedMarks = 3
    /// The attacker's own secret for encoding the reference: any secret will do, since only similarities matter.
    static let attackerSecret = Array("graph matching attacker's own key, unrelated to any agency's".utf8)

    public static func run(
        filters: EncodedFilters, schema: LinkageSchema, reference: ReferencePopulation,
        progress: (@Sendable (Double) -> Void)? = nil
    ) -> AttackOutcome {
        run(
            filters: filters, fieldNames: FeatureSpace(schema: schema).fields.map(\.name), reference: reference,
            encodeReference: { try encode(reference, schema: schema) }, progress: progress)
    }

    /// The attack on a record's filters taken together (``GraphMatchingOnEveryFilter``): `filters` holds each row's
    /// filters side by side, and the reference is encoded under each filter's settings and put side by side alike.
    public static func run(
        filters: EncodedFilters, of recordFilters: [RecordFilter], reference: ReferencePopulation,
        progress: (@Sendable (Double) -> Void)? = nil
    ) -> AttackOutcome {
        var fieldNames: [String] = []
        for filter in recordFilters {
            for name in FeatureSpace(schema: filter.schema).fields.map(\.name) where !fieldNames.contains(name) {
                fieldNames.append(name)
            }
        }
        return run(
            filters: filters, fieldNames: fieldNames, reference: reference,
            encodeReference: {
                EncodedFilters.concatenated(try recordFilters.map { try encode(reference, schema: $0.schema) })
            }, progress: progress)
    }

    static func run(
        filters: EncodedFilters, fieldNames: [String], reference: ReferencePopulation,
        encodeReference: () throws -> EncodedFilters, progress: (@Sendable (Double) -> Void)?
    ) -> AttackOutcome {
        var outcome = AttackOutcome(
            attack: "graph matching",
            fieldGuesses: Dictionary(
                fieldNames.map { ($0, [String?](repeating: nil, count: filters.count)) },
                uniquingKeysWith: { first, _ in first }),
            recordLinks: [Int?](repeating: nil, count: filters.count))
        guard filters.count > 1, reference.records.count > 1,
            let referenceFilters = try? encodeReference(),
            referenceFilters.filterBits == filters.filterBits,
            let encodedMatrix = try? matrix(filters), let referenceMatrix = try? matrix(referenceFilters)
        else { return outcome }
        progress?(0.05)
        let threshold = chooseThreshold(encodedMatrix)
        outcome.notes["threshold"] = Double(threshold.numerator) / Double(threshold.denominator)
        guard
            let encodedGraph = try? SimilarityGraph(
                matrix: encodedMatrix, threshold: threshold, progress: { progress?(0.05 + 0.3 * $0) }),
            let referenceGraph = try? SimilarityGraph(
                matrix: referenceMatrix, threshold: threshold, progress: { progress?(0.35 + 0.3 * $0) })
        else { return outcome }
        outcome.notes["encodedEdges"] = Double(encodedGraph.edgeCount)
        outcome.notes["referenceEdges"] = Double(referenceGraph.edgeCount)
        var encodedFeatures = encodedGraph.features(threshold: threshold)
        var referenceFeatures = referenceGraph.features(threshold: threshold)
        standardise(&encodedFeatures, &referenceFeatures)
        var matches = match(encodedFeatures, referenceFeatures, count: filters.count)
        let initial = matches
        // Phase 1: every match is re-proposed from its neighbours' matches, round after round; wrong matches spread
        // marks at random and right ones consistently, so the share of right matches grows.
        var current = matches.map { $0.map { (candidate: $0.0, marks: 0, distance: $0.1) } }
        var strongest = 0
        var stalled = 0
        for round in 0..<propagationRounds {
            current = propagate(
                current.map { $0?.candidate }, fixed: [], encoded: encodedGraph, reference: referenceGraph,
                encodedFeatures: encodedFeatures, referenceFeatures: referenceFeatures, minimum: minimumMarks,
                strict: false)
            progress?(0.75 + 0.1 * Double(round + 1) / Double(propagationRounds))
            // Stop when the well-supported matches stop growing.
            let strong = current.filter { ($0?.marks ?? 0) >= seedMarks }.count
            stalled = strong > strongest + current.count / 200 ? 0 : stalled + 1
            strongest = max(strongest, strong)
            if stalled >= 3 { break }
        }
        // Phase 2: the well-supported matches are seeds; percolation from them alone, monotone (a match stays).
        var seeds = current.map { match in match.flatMap { $0.marks >= seedMarks ? $0 : nil } }
        for round in 0..<propagationRounds {
            let next = propagate(
                seeds.map { $0?.candidate }, fixed: seeds, encoded: encodedGraph, reference: referenceGraph,
                encodedFeatures: encodedFeatures, referenceFeatures: referenceFeatures, minimum: minimumMarks,
                strict: true)
            let grown = next.compactMap { $0 }.count - seeds.compactMap { $0 }.count
            seeds = next
            progress?(0.85 + 0.1 * Double(round + 1) / Double(propagationRounds))
            if grown == 0 { break }
        }
        matches = seeds.map { $0.map { ($0.candidate, $0.distance) } }
        outcome.notes["propagated"] = Double(matches.compactMap { $0 }.count)
        // Nodes propagation left unmatched keep their feature match where its reference node is still free.
        var used = Set(matches.compactMap { $0?.0 })
        for row in matches.indices where matches[row] == nil {
            if let fallback = initial[row], used.insert(fallback.0).inserted { matches[row] = fallback }
        }
        outcome.recordLinks = matches.map { $0?.0 }
        outcome.notes["linked"] = Double(matches.compactMap { $0 }.count)
        for name in fieldNames {
            outcome.fieldGuesses[name] = matches.map { match in match.flatMap { reference.records[$0.0][name] } }
        }
        progress?(1)
        return outcome
    }

    /// The reference encoded by the attacker under the public schema with its own secret.
    static func encode(_ reference: ReferencePopulation, schema: LinkageSchema) throws -> EncodedFilters {
        let context = try EncodingContext(schema: schema, secret: try LinkageSecret(importing: attackerSecret))
        let tokeniser = try Tokeniser(context: context, workers: parallelWorkers)
        let bits = schema.bloom?.filterBits ?? 0
        let wordsPerFilter = (bits + 63) / 64
        var words = [UInt64](repeating: 0, count: reference.records.count * wordsPerFilter)
        let offset = context.presenceBytes + schema.tokenKeys.count * EncodingContext.tokenBytes
        var rows: [UInt8] = []
        let chunk = 8192
        for start in stride(from: 0, to: reference.records.count, by: chunk) {
            let end = min(reference.records.count, start + chunk)
            var batch = RecordBatch(width: schema.columns.count)
            for record in start..<end {
                let values = reference.records[record]
                let fields = schema.columns.enumerated().map { column, description in
                    column == schema.recordKeyColumn ? "r\(record)" : values[description.name] ?? ""
                }
                batch.append(fields: fields, line: record + 2)
            }
            _ = tokeniser.encode(batch, into: &rows)
            for record in start..<end {
                let base = (record - start) * context.rowWidth + offset
                for byte in 0..<(bits / 8) {
                    let value = rows[base + byte]
                    guard value != 0 else { continue }
                    for bit in 0..<8 where value & (0x80 >> UInt8(bit)) != 0 {
                        let position = byte * 8 + bit
                        words[record * wordsPerFilter + position / 64] |= 1 << UInt64(position % 64)
                    }
                }
            }
        }
        return EncodedFilters(filterBits: bits, count: reference.records.count, words: words)
    }

    static func matrix(_ filters: EncodedFilters) throws -> BitMatrix {
        try filters.words.withUnsafeBytes { bytes in
            try BitMatrix(filters: bytes, count: filters.count, filterBits: filters.wordsPerFilter * 64)
        }
    }

    /// The lowest threshold (in hundredths) at which a sampled node has at most `targetDegree` neighbours on
    /// average, estimated from a sample of rows against a sample of the matrix.
    static func chooseThreshold(_ matrix: BitMatrix) -> DiceThreshold {
        let sampleRows = evenSample(count: matrix.count, limit: 256)
        let others = evenSample(count: matrix.count, limit: 8192)
        let scale = Double(matrix.count) / Double(others.count)
        var counts = [Double](repeating: 0, count: 101)
        for row in sampleRows {
            let a = matrix.filter(row: row)
            let popA = a.reduce(0) { $0 + $1.nonzeroBitCount }
            for other in others where other != row {
                let b = matrix.filter(row: other)
                var common = 0
                var popB = 0
                for word in 0..<a.count {
                    common += (a[word] & b[word]).nonzeroBitCount
                    popB += b[word].nonzeroBitCount
                }
                guard popA + popB > 0 else { continue }
                let dice = 2.0 * Double(common) / Double(popA + popB)
                counts[min(100, Int(dice * 100))] += 1
            }
        }
        var atLeast = 0.0
        var chosen = 100
        for hundredths in stride(from: 100, through: 30, by: -1) {
            atLeast += counts[hundredths]
            if atLeast * scale / Double(sampleRows.count) > Double(targetDegree) { break }
            chosen = hundredths
        }
        return DiceThreshold(numerator: UInt64(max(30, chosen)), denominator: 100)
    }

    /// Candidate pairs by locality-sensitive hashing, then a greedy one-to-one assignment by distance.
    static func match(_ encoded: FeatureTable, _ reference: FeatureTable, count: Int) -> [(Int, Double)?] {
        let dimensions = encoded.dimensions
        var generator = SplitMix64(seed: 0x5eed)
        let projections = (0..<(hashTables * 3)).map { _ in
            (0..<dimensions).map { _ in generator.nextGaussian() }
        }
        let offsets = (0..<(hashTables * 3)).map { _ in generator.nextUniform() }
        let width = 1.0 + 0.25 * Double(dimensions).squareRoot()
        @Sendable func key(_ vector: ArraySlice<Double>, table: Int) -> [Int] {
            (0..<3).map { part in
                let projection = projections[table * 3 + part]
                var dot = 0.0
                for (value, weight) in zip(vector, projection) { dot += value * weight }
                return Int((dot / width + offsets[table * 3 + part]).rounded(.down))
            }
        }
        var buckets = [[[Int]: [Int]]](repeating: [:], count: hashTables)
        for row in 0..<reference.count {
            for table in 0..<hashTables {
                buckets[table][key(reference.row(row), table: table), default: []].append(row)
            }
        }
        let bucketsCopy = buckets
        let perSlice = inParallel(count: encoded.count) { range in
            var pairs: [(Int, Int, Double)] = []
            for row in range {
                let vector = encoded.row(row)
                var seen = Set<Int>()
                var found: [(Int, Double)] = []
                for table in 0..<hashTables {
                    guard let members = bucketsCopy[table][key(vector, table: table)] else { continue }
                    for candidate in members.prefix(4 * candidateLimit) where seen.insert(candidate).inserted {
                        found.append((candidate, encoded.distance(row, to: reference, row: candidate)))
                    }
                }
                found.sort { $0.1 < $1.1 }
                for (candidate, distance) in found.prefix(candidateLimit / 4) {
                    pairs.append((row, candidate, distance))
                }
            }
            return pairs
        }
        var pairs = perSlice.flatMap { $0 }
        pairs.sort { $0.2 < $1.2 }
        var usedReference = Set<Int>()
        var result = [(Int, Double)?](repeating: nil, count: count)
        for (row, candidate, distance) in pairs where result[row] == nil && !usedReference.contains(candidate) {
            result[row] = (candidate, distance)
            usedReference.insert(candidate)
        }
        return result
    }

    /// One round of percolation graph matching: each encoded node x proposes the reference node y with the most
    /// *marks*, neighbours of x matched to neighbours of y (ties: the nearer description); proposals are accepted
    /// one to one, most marks first. Wrong matches spread their marks at random, right ones consistently, so the
    /// right matches grow from round to round.
    static func propagate(
        _ current: [Int?], fixed: [Proposal?], encoded: SimilarityGraph, reference: SimilarityGraph,
        encodedFeatures: FeatureTable, referenceFeatures: FeatureTable, minimum: Int, strict: Bool
    ) -> [Proposal?] {
        let taken = Set(fixed.compactMap { $0?.candidate })
        let proposals = inParallel(count: current.count) { range in
            var found: [(row: Int, candidate: Int, marks: Int, distance: Double)] = []
            var marks: [Int: Int] = [:]
            for row in range where fixed.isEmpty || fixed[row] == nil {
                marks.removeAll(keepingCapacity: true)
                for neighbour in encoded.neighbours[row] {
                    guard let partner = current[Int(neighbour.node)] else { continue }
                    for candidate in reference.neighbours[partner] { marks[Int(candidate.node), default: 0] += 1 }
                }
                var best: (candidate: Int, marks: Int, distance: Double)?
                var runnerUp = 0
                for (candidate, count) in marks where count >= minimum && !taken.contains(candidate) {
                    guard count >= best?.marks ?? 0 else {
                        runnerUp = max(runnerUp, count)
                        continue
                    }
                    let distance = encodedFeatures.distance(row, to: referenceFeatures, row: candidate)
                    if let known = best {
                        if count == known.marks, distance >= known.distance {
                            runnerUp = max(runnerUp, count)
                            continue
                        }
                        runnerUp = max(runnerUp, known.marks)
                    }
                    best = (candidate, count, distance)
                }
                // Only a clear winner: as many marks for another candidate is no evidence for either.
                if let best, best.marks > runnerUp || !strict {
                    found.append((row, best.candidate, best.marks, best.distance))
                }
            }
            return found
        }.flatMap { $0 }
            .sorted { ($0.marks, -$0.distance) > ($1.marks, -$1.distance) }
        var result = fixed.isEmpty ? [Proposal?](repeating: nil, count: current.count) : fixed
        var used = taken
        for proposal in proposals where result[proposal.row] == nil && used.insert(proposal.candidate).inserted {
            result[proposal.row] = Proposal(
                candidate: proposal.candidate, marks: proposal.marks, distance: proposal.distance)
        }
        return result
    }

    typealias Proposal = (candidate: Int, marks: Int, distance: Double)

    static func standardise(_ a: inout FeatureTable, _ b: inout FeatureTable) {
        for dimension in 0..<a.dimensions {
            var sum = 0.0
            var squares = 0.0
            for table in [a, b] {
                for row in 0..<table.count {
                    let value = table.values[row * table.dimensions + dimension]
                    sum += value
                    squares += value * value
                }
            }
            let n = Double(a.count + b.count)
            let mean = sum / n
            let deviation = max(1e-9, (squares / n - mean * mean).squareRoot())
            a.scale(dimension: dimension, mean: mean, deviation: deviation)
            b.scale(dimension: dimension, mean: mean, deviation: deviation)
        }
    }
}

/// Node descriptions, row by row.
struct FeatureTable: Sendable {
    var dimensions: Int
    var count: Int
    var values: [Double]

    func row(_ row: Int) -> ArraySlice<Double> { values[(row * dimensions)..<((row + 1) * dimensions)] }

    func distance(_ row: Int, to other: FeatureTable, row otherRow: Int) -> Double {
        var total = 0.0
        let base = row * dimensions
        let otherBase = otherRow * dimensions
        for dimension in 0..<dimensions {
            let difference = values[base + dimension] - other.values[otherBase + dimension]
            total += difference * difference
        }
        return total.squareRoot()
    }

    mutating func scale(dimension: Int, mean: Double, deviation: Double) {
        for row in 0..<count {
            values[row * dimensions + dimension] = (values[row * dimensions + dimension] - mean) / deviation
        }
    }
}

/// A similarity graph: each node's most similar neighbours at or above a threshold, in file order.
struct SimilarityGraph {
    let count: Int
    let popcounts: [Int]
    /// Per node, its neighbours (node, Dice), most similar first, at most `neighbourLimit`.
    let neighbours: [[(node: Int32, dice: Float)]]
    /// Per node, its degree before truncation.
    let degrees: [Int]
    var edgeCount: Int { degrees.reduce(0, +) / 2 }

    init(matrix: BitMatrix, threshold: DiceThreshold, progress: @escaping @Sendable (Double) -> Void) throws {
        count = matrix.count
        var popcounts = [Int](repeating: 0, count: matrix.count)
        for (sortedRow, fileRow) in matrix.fileRow.enumerated() {
            popcounts[Int(fileRow)] = Int(matrix.popcounts[sortedRow])
        }
        self.popcounts = popcounts
        let (pairs, _) = try DiceKernel.candidates(
            between: matrix, and: matrix, threshold: threshold, threads: parallelWorkers, progress: progress)
        var lists = [[(node: Int32, dice: Float)]](repeating: [], count: matrix.count)
        var degrees = [Int](repeating: 0, count: matrix.count)
        for pair in pairs where pair.rowA != pair.rowB {
            let total = Float(pair.popcountA + pair.popcountB)
            let dice = total > 0 ? 2 * Float(pair.common) / total : 0
            lists[Int(pair.rowA)].append((Int32(pair.rowB), dice))
            degrees[Int(pair.rowA)] += 1
        }
        neighbours = lists.map { list in
            Array(list.sorted { $0.dice > $1.dice }.prefix(GraphMatchingAttack.neighbourLimit))
        }
        self.degrees = degrees
    }

    /// Per node: its popcount, its degree (log), its egonet's density, its neighbours' mean degree (log) and mean
    /// popcount, and its similarities to its `neighbourLimit` nearest neighbours, largest first (the threshold
    /// where it has fewer): a histogram of its similarities at the finest resolution.
    func features(threshold: DiceThreshold) -> FeatureTable {
        let low = Double(threshold.numerator) / Double(threshold.denominator)
        let limit = GraphMatchingAttack.neighbourLimit
        let dimensions = 5 + limit
        var values = [Double](repeating: 0, count: count * dimensions)
        let sets = neighbours.map { Set($0.map(\.node)) }
        for node in 0..<count {
            let list = neighbours[node]
            let base = node * dimensions
            values[base] = Double(popcounts[node])
            values[base + 1] = log(1 + Double(degrees[node]))
            if list.count > 1 {
                var links = 0
                for entry in list {
                    for other in list where other.node != entry.node && sets[Int(entry.node)].contains(other.node) {
                        links += 1
                    }
                }
                values[base + 2] = Double(links) / Double(list.count * (list.count - 1))
            }
            if !list.isEmpty {
                values[base + 3] = list.reduce(0.0) { $0 + log(1 + Double(degrees[Int($1.node)])) } / Double(list.count)
                values[base + 4] = list.reduce(0.0) { $0 + Double(popcounts[Int($1.node)]) } / Double(list.count)
            }
            for rank in 0..<limit {
                values[base + 5 + rank] = rank < list.count ? Double(list[rank].dice) : low
            }
        }
        return FeatureTable(dimensions: dimensions, count: count, values: values)
    }
}

/// The hashing projections' draws.
extension SplitMix64 {
    /// A standard normal draw (Box–Muller).
    mutating func nextGaussian() -> Double {
        let u = max(1e-12, nextUniform())
        let v = nextUniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// Graph matching on every record-level filter at once, for schemas with several: the attacker holds each record's
/// filters and compares records by the Dice coefficient of all of them side by side (the reference likewise,
/// encoded under each filter's public settings with its own secret). Whether holding every filter helps beyond
/// attacking each alone (``Attack/readsFilters``) is what it measures.
public struct GraphMatchingOnEveryFilter: Attack {
    public let name = "graph matching (every filter at once)"

    public init() {}

    public func applies(to schema: LinkageSchema) -> Bool {
        ((try? RecordFilter.filters(of: schema))?.count ?? 0) > 1
    }

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        guard let recordFilters = try? RecordFilter.filters(of: schema), recordFilters.count > 1 else {
            return AttackOutcome(attack: name)
        }
        var outcome = GraphMatchingAttack.run(
            filters: EncodedFilters.concatenated(view.allFilters), of: recordFilters, reference: reference,
            progress: { progress.fraction($0) })
        outcome.attack = name
        outcome.notes["filters"] = Double(recordFilters.count)
        return outcome
    }
}
