/// The reference population cut into features exactly as the encoder would cut it (SPEC §5.1): what the attacker
/// aligns the filters' bit patterns with.
struct ReferenceIndex {
    /// Per reference record, its features over every Bloom field (distinct, ascending).
    let recordFeatures: [[Int32]]
    /// Per feature, the number of reference records that have it.
    let featureCounts: [Int]
    /// Per feature, the fewest and the most positions it sets in any reference value (SPEC §5.2).
    let fewestPositions: [Int]
    let mostPositions: [Int]
    /// Per Bloom field, its distinct reference values.
    let fieldValues: [FieldValues]

    struct FieldValues {
        var values: [String] = []
        var counts: [Int] = []
        var features: [[Int32]] = []
        /// The most common value (the frequency baseline's guess).
        var mostCommon: String? {
            counts.indices.max { counts[$0] < counts[$1] }.map { values[$0] }
        }
    }

    init(reference: ReferencePopulation, space: inout FeatureSpace) {
        var recordFeatures: [[Int32]] = []
        recordFeatures.reserveCapacity(reference.records.count)
        var fewest: [Int] = []
        var most: [Int] = []
        var fields = [FieldValues](repeating: FieldValues(), count: space.fields.count)
        var valueIndex = [[String: Int]](repeating: [:], count: space.fields.count)
        // Per field, per distinct value: its features and fewest positions, computed once.
        for record in reference.records {
            var all: [Int32] = []
            for (fieldIndex, field) in space.fields.enumerated() {
                guard let value = record[field.name], !value.isEmpty else { continue }
                if let known = valueIndex[fieldIndex][value] {
                    fields[fieldIndex].counts[known] += 1
                    all.append(contentsOf: fields[fieldIndex].features[known])
                    continue
                }
                let cut = FeatureSpace.tokens(of: value, field: field)
                var features: [Int32] = []
                for (i, token) in cut.enumerated() {
                    let feature = Int(space.feature(domain: field.domain, token: token))
                    while fewest.count <= feature {
                        fewest.append(Int.max)
                        most.append(0)
                    }
                    let k = FeatureSpace.positionsPerToken(i, of: cut.count, strategy: field.strategy)
                    fewest[feature] = min(fewest[feature], k)
                    most[feature] = max(most[feature], k)
                    features.append(Int32(feature))
                }
                features = Array(Set(features)).sorted()
                valueIndex[fieldIndex][value] = fields[fieldIndex].values.count
                fields[fieldIndex].values.append(value)
                fields[fieldIndex].counts.append(1)
                fields[fieldIndex].features.append(features)
                all.append(contentsOf: features)
            }
            recordFeatures.append(Array(Set(all)).sorted())
        }
        var counts = [Int](repeating: 0, count: space.featureCount)
        for features in recordFeatures {
            for feature in features { counts[Int(feature)] += 1 }
        }
        self.recordFeatures = recordFeatures
        featureCounts = counts
        fewestPositions = fewest
        mostPositions = most
        fieldValues = fields
    }
}
