import BlindmatchAgency
import BlindmatchProtocol

/// Attack 4, token frequency (SPEC §1.4 item 4; docs/privacy.md): match-key and blocking-key tokens are
/// deterministic, so the matcher sees how often each token occurs. Without the secret it cannot compute a token, but
/// it can rank them: the schema says which normalised values (and transforms) each key combines, so the attacker
/// forms the same combinations from the reference and aligns the most frequent token with the most frequent
/// combination, the second with the second, and so on. Only tokens that occur at least twice are aligned (a token
/// seen once carries no frequency). Each aligned token gives its rows the combination's values for the fields that
/// the key takes whole (`value`, `first`, `canonical`; `year` gives the year); where several keys guess one field,
/// the guess from the most frequent token wins.
///
/// Then frequency signatures (what the presence bits and the counts give together): a row's signature is its
/// token's count in every key, 0 where its presence bit is 0; a reference record's is its combination's count in
/// every key. Bucketed blocking keys (SPEC §4.5.1) are left out where their buckets hold a row or more on average:
/// their counts are then sums over unrelated groups. Where the file and the reference hold the same people (an electoral register against a benefits
/// file), a row's signature is its person's, and a signature that one reference record alone has re-identifies the
/// row whole: every field of that record is guessed. Signatures are compared only when the file and the reference
/// are of about the same size (counts of different populations are not comparable). Otherwise records are linked
/// when the guessed values fit exactly one reference record.
public struct TokenFrequencyAttack: Attack {
    public let name = "token frequency"

    public init() {}

    public func run(
        on view: MatcherView, schema: LinkageSchema, reference: ReferencePopulation, progress: any JobProgress
    ) -> AttackOutcome {
        let fieldNames = ScoredField.fields(of: schema).map(\.name)
        var guesses: [String: [String?]] = [:]
        var weights: [String: [Int]] = [:]
        var notes: [String: Double] = [:]
        var rowSignatures = [[Int]](repeating: [], count: view.count)
        var referenceSignatures = [[Int]](repeating: [], count: reference.records.count)
        for (key, matchKey) in schema.tokenKeys.enumerated() where key < view.tokenClasses.count {
            progress.show("\(name): \(matchKey.name)")
            let classes = view.tokenClasses[key]
            var fileCounts: [Int] = []
            for value in classes where value >= 0 {
                let index = Int(value)
                if index >= fileCounts.count { fileCounts += [Int](repeating: 0, count: index + 1 - fileCounts.count) }
                fileCounts[index] += 1
            }
            let (combinations, recordCounts) = Self.combinations(of: matchKey, schema: schema, reference: reference)
            // A bucketed key's count (SPEC §4.5.1) is a sum over unrelated groups once buckets hold a row or more on
            // average: an attacker who reads the schema then leaves it out of the signatures rather than let it spoil
            // every match, and keeps it where buckets are mostly single groups.
            let present = classes.count { $0 >= 0 }
            let blurred = matchKey.bucketBits.map { Double(present) >= Double(1 << $0) } ?? false
            if !blurred {
                for row in 0..<view.count {
                    rowSignatures[row].append(classes[row] >= 0 ? fileCounts[Int(classes[row])] : 0)
                }
                for record in recordCounts.indices { referenceSignatures[record].append(recordCounts[record]) }
            }
            let repeated = fileCounts.indices.filter { fileCounts[$0] >= 2 }
                .sorted { fileCounts[$0] > fileCounts[$1] || (fileCounts[$0] == fileCounts[$1] && $0 < $1) }
            notes["\(matchKey.name): distinct tokens"] = Double(fileCounts.count)
            notes["\(matchKey.name): rows sharing a token"] = Double(repeated.reduce(0) { $0 + fileCounts[$1] })
            notes["\(matchKey.name): largest token count"] = Double(fileCounts.max() ?? 0)
            var aligned: [Int: Int] = [:]
            for (rank, tokenClass) in repeated.enumerated() where rank < combinations.count {
                aligned[tokenClass] = rank
            }
            for (position, part) in matchKey.parts.enumerated() {
                let field = schema.columns[part.column].name
                let measure: String
                var weightScale = 1
                switch part.transform {
                case .value, .first: measure = field
                case .canonical:
                    measure = field
                    weightScale = 0
                case .year: measure = "\(field) year"
                case .initial, .soundex: continue
                }
                var column = guesses[measure] ?? [String?](repeating: nil, count: view.count)
                var weight = weights[measure] ?? [Int](repeating: -1, count: view.count)
                for (row, value) in classes.enumerated() where value >= 0 {
                    guard let rank = aligned[Int(value)] else { continue }
                    let strength = fileCounts[Int(value)] * weightScale
                    guard strength > weight[row] else { continue }
                    column[row] = combinations[rank].pieces[position]
                    weight[row] = strength
                }
                guesses[measure] = column
                weights[measure] = weight
            }
        }
        var links = GuessLinker(reference: reference, fieldNames: fieldNames).links(from: guesses, rows: view.count)
        let sizes = Double(view.count) / Double(max(1, reference.records.count))
        if rowSignatures.first?.isEmpty == false && sizes > 0.95 && sizes < 1.05 {
            let signed = Self.signatureLinks(rows: rowSignatures, reference: referenceSignatures)
            var signatureLinks = 0
            for (row, link) in signed.enumerated() {
                guard let link else { continue }
                signatureLinks += 1
                links[row] = link
                for name in fieldNames {
                    if guesses[name] == nil { guesses[name] = [String?](repeating: nil, count: view.count) }
                    guesses[name]?[row] = reference.records[link][name]
                }
            }
            notes["rows with a signature of their own"] = Double(signatureLinks)
        }
        return AttackOutcome(attack: name, fieldGuesses: guesses, recordLinks: links, notes: notes)
    }

    /// A combination of a key's pieces in the reference: how many records give it, and the pieces of the first one,
    /// in the key's part order.
    struct Combination {
        var count: Int
        let pieces: [String]
    }

    /// The reference's combinations for `key`, most frequent first (SPEC §4.3's sort for `anyOrder` keys), and
    /// for each reference record the count of its combination (0 when it has none).
    static func combinations(of key: MatchKey, schema: LinkageSchema, reference: ReferencePopulation) -> (
        [Combination], [Int]
    ) {
        var found: [[String]: Combination] = [:]
        var identities: [[String]?] = []
        let names = key.parts.map { schema.columns[$0.column].name }
        for record in reference.records {
            var pieces: [String] = []
            for (part, name) in zip(key.parts, names) {
                guard let value = record[name], let piece = part.piece(of: value) else { break }
                pieces.append(piece)
            }
            guard pieces.count == key.parts.count else {
                identities.append(nil)
                continue
            }
            let identity = key.anyOrder ? pieces.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } : pieces
            identities.append(identity)
            if found[identity] == nil {
                found[identity] = Combination(count: 1, pieces: pieces)
            } else {
                found[identity]?.count += 1
            }
        }
        let counts = identities.map { identity in identity.flatMap { found[$0]?.count } ?? 0 }
        let sorted = found.sorted { left, right in
            left.value.count > right.value.count
                || (left.value.count == right.value.count
                    && left.key.lexicographicallyPrecedes(right.key) { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }.map(\.value)
        return (sorted, counts)
    }

    /// For each row, the one reference record with the same signature, when its signature holds a repeated token
    /// (a signature of counts of 1 and 0 says nothing) and no other reference record has it.
    static func signatureLinks(rows: [[Int]], reference: [[Int]]) -> [Int?] {
        var owners: [[Int]: Int] = [:]
        for (record, signature) in reference.enumerated() where signature.contains(where: { $0 > 1 }) {
            owners[signature] = owners[signature] == nil ? record : -1
        }
        return rows.map { signature in
            guard let owner = owners[signature], owner >= 0 else { return nil }
            return owner
        }
    }
}
