import BlindmatchProtocol

/// What a run decides once, over the whole of both files, before any chunk is computed (docs/scale.md, "Chunks"):
/// the Dice floor at which every chunk keeps fuzzy candidates, whether the fuzzy stage uses blocking, and, when the
/// decision model is fitted, the sampled pairs below that floor that the model needs.
///
/// A plan is small: a few numbers and, with the model, one sample of pairs (about 512 watch-list rows' blocked pairs).
/// It does not hold the key that slots tokens in the join tables: each chunk draws its own (``TokenHashKey``), which
/// never leaves the process that computes the chunk, and the pairs do not depend on it.
public struct MatchPlan: Sendable, Equatable {
    /// Records of the watch list (A) and of the bulk data (B) the plan was made for.
    public var recordsA: Int
    public var recordsB: Int
    /// Whether the fuzzy stage compares only pairs that share a blocking-key token.
    public var blocked: Bool
    /// Whether the decision model is fitted (`fitsModel` or `chooseThreshold`, and the files have filters).
    public var fitsModel: Bool
    /// The Dice score at or above which a chunk keeps a fuzzy pair; nil when the files have no filters.
    public var floor: DiceThreshold?
    /// The model's candidate floor (a score), as the engine passes it to the model; 1 without a model.
    public var candidateFloor: Double
    /// The sampled compared pairs below the floor, for the model (empty without a model), in (rowA, rowB) order.
    public var floorSample: [ScoredPair]

    public init(
        recordsA: Int, recordsB: Int, blocked: Bool, fitsModel: Bool, floor: DiceThreshold?, candidateFloor: Double,
        floorSample: [ScoredPair]
    ) {
        self.recordsA = recordsA
        self.recordsB = recordsB
        self.blocked = blocked
        self.fitsModel = fitsModel
        self.floor = floor
        self.candidateFloor = candidateFloor
        self.floorSample = floorSample
    }

    /// Throws unless the plan was made for files of the sizes of `a` and `b`.
    func check(_ a: TokenFile, _ b: TokenFile) throws {
        guard a.recordCount == recordsA, b.recordCount == recordsB else {
            throw MatchingError(
                .invalidInput,
                "the plan was made for \(recordsA) × \(recordsB) records; the files hold \(a.recordCount) × "
                    + "\(b.recordCount)")
        }
    }
}
