/// Plain-text columns for the listing commands: a header row, then one row per item, each column padded to its
/// widest cell. Cells are made printable (no control characters from the server reach the terminal).
enum Table {
    /// The rows under `header`, two spaces between columns, one line each.
    static func render(header: [String], rows: [[String]]) -> String {
        let all = ([header] + rows).map { $0.map(\.printable) }
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        return all.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                let isLast = column == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }
            return line + "\n"
        }.joined()
    }
}
