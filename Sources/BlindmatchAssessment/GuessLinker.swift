import BlindmatchProtocol

/// Links encoded records to reference records through the field values an attack guessed: a record is linked when
/// exactly one reference record has every guessed value (and at least two fields were guessed).
struct GuessLinker {
    let fieldNames: [String]
    /// Per reference record, its values by field (nil when absent).
    let values: [[String?]]

    init(reference: ReferencePopulation, fieldNames: [String]) {
        self.fieldNames = fieldNames
        values = reference.records.map { record in fieldNames.map { record[$0] } }
    }

    /// For each row, the one reference record consistent with every guess, or nil.
    func links(from guesses: [String: [String?]], rows: Int) -> [Int?] {
        let columns = fieldNames.map { guesses[$0] }
        var indexes: [UInt64: [[String]: Int]] = [:]
        var links = [Int?](repeating: nil, count: rows)
        for row in 0..<rows {
            var mask: UInt64 = 0
            var key: [String] = []
            for (field, column) in columns.enumerated() {
                guard let column, row < column.count, let guess = column[row] else { continue }
                mask |= 1 << UInt64(field)
                key.append(guess)
            }
            guard mask.nonzeroBitCount >= 2 else { continue }
            if indexes[mask] == nil { indexes[mask] = index(for: mask) }
            if let match = indexes[mask]?[key], match >= 0 { links[row] = match }
        }
        return links
    }

    /// Reference records by their values on the fields of `mask`; -1 where several share them.
    private func index(for mask: UInt64) -> [[String]: Int] {
        var index: [[String]: Int] = [:]
        for (position, record) in values.enumerated() {
            var key: [String] = []
            var complete = true
            for field in fieldNames.indices where mask & (1 << UInt64(field)) != 0 {
                guard let value = record[field] else {
                    complete = false
                    break
                }
                key.append(value)
            }
            guard complete else { continue }
            index[key] = index[key] == nil ? position : -1
        }
        return index
    }
}
