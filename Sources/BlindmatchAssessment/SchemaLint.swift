import BlindmatchProtocol

/// A warning about a schema's privacy, with the measured figure behind it.
public struct LintFinding: Sendable {
    /// What is affected: a match key, a blocking key, a Bloom field or the salt.
    public let subject: String
    public let message: String
}

/// The schema lint of `assess`: what frequency attacks can read before any attack is run.
public enum SchemaLint {
    /// Share of a key's rows that share their token with another row, above which the key is flagged.
    public static let repeatedTokenShare = 0.10
    /// Mean rows per bucket of a bucketed blocking key below which it is flagged.
    public static let minimumRowsPerBucket = 1.0
    /// Share of records without a salt value above which the salt is flagged.
    public static let missingSaltShare = 0.05

    /// Findings for `schema` on the agency's records.
    public static func findings(schema: LinkageSchema, input: AgencyInput) -> [LintFinding] {
        var findings: [LintFinding] = []
        for (key, matchKey) in schema.tokenKeys.enumerated() where key < input.view.tokenClasses.count {
            var counts: [Int32: Int] = [:]
            for value in input.view.tokenClasses[key] where value >= 0 { counts[value, default: 0] += 1 }
            let rows = counts.values.reduce(0, +)
            let shared = counts.values.filter { $0 > 1 }.reduce(0, +)
            guard rows > 0 else { continue }
            if let bits = matchKey.bucketBits {
                // Bucketed tokens repeat by design (SPEC §4.5.1); what matters is that buckets mix enough groups.
                let perBucket = Double(rows) / Double(1 << bits)
                if perBucket < minimumRowsPerBucket {
                    findings.append(
                        LintFinding(
                            subject: "blocking key \(matchKey.name)",
                            message:
                                "\((perBucket * 10).rounded() / 10) rows per bucket on average (\(bits) bucket bits): too few collisions to blur each token's count (SPEC §4.5.1); use fewer bucket bits"
                        ))
                }
                continue
            }
            let share = Double(shared) / Double(rows)
            if share > repeatedTokenShare {
                let kind = key < schema.matchKeys.count ? "match key" : "blocking key"
                findings.append(
                    LintFinding(
                        subject: "\(kind) \(matchKey.name)",
                        message:
                            "\(percent(share)) of its tokens repeat (largest group \(counts.values.max() ?? 0) rows): their frequencies can be aligned with public frequencies of the same combination (token frequency attack); combine more fields"
                    ))
            }
        }
        // Each record-level filter on its own settings; the first is named as before, the others by name.
        for (index, filter) in input.recordFilters.enumerated() {
            guard let bloom = filter.schema.bloom else { continue }
            let prefix = index == 0 ? "" : "filter \(filter.name): "
            for field in bloom.fields {
                let name = schema.columns[field.column].name
                switch field.tokenizer {
                case .exact:
                    let distinct = Set(
                        input.truth.compactMap { record in
                            input.fields.firstIndex { $0.column == field.column }.flatMap { record[$0] }
                        }
                    ).count
                    if distinct <= 20 {
                        findings.append(
                            LintFinding(
                                subject: "\(prefix)Bloom field \(name)",
                                message:
                                    "one exact token for a field of \(distinct) values: its positions are set together in every record with the value and can be read by frequency alignment"
                            ))
                    }
                case .ngram(n: 1, positional: true):
                    findings.append(
                        LintFinding(
                            subject: "\(prefix)Bloom field \(name)",
                            message:
                                "positional unigrams: each position is a field of at most 10 or 26 values whose positions can be read by frequency alignment"
                        ))
                default: break
                }
            }
            let hardening = bloom.hardening
            if let salt = hardening.salt, let field = input.fields.firstIndex(where: { $0.column == salt.column }) {
                let missing = input.truth.count { record in record[field].flatMap { salt.piece(of: $0) } == nil }
                let share = Double(missing) / Double(max(1, input.truth.count))
                if share > missingSaltShare {
                    findings.append(
                        LintFinding(
                            subject: "\(prefix)salt \(input.fields[field].name)",
                            message:
                                "missing in \(percent(share)) of records, which are encoded unsalted (SPEC §5.5.1) and open to the attacks salting is meant to stop"
                        ))
                }
            }
            if hardening == .none && bloom.xorFolds == 0 {
                findings.append(
                    LintFinding(
                        subject: "\(prefix)Bloom hardening",
                        message: "none: no salting, diffusion, balancing or randomised response (SPEC §5.5)"))
            }
        }
        return findings
    }

    static func percent(_ share: Double) -> String {
        "\((share * 1000).rounded() / 10)%"
    }
}
