/// A cross-tabulation of counts (rows × columns) with its row, column and grand totals, before anything is hidden.
public struct CountTable: Sendable, Hashable {
    public var id: String
    public var title: LocalizedText
    public var rowHeading: LocalizedText
    public var rows: [LocalizedText]
    public var columns: [LocalizedText]
    /// `cells[row][column]`; every count is zero or more.
    public var cells: [[Int]]

    public init(id: String, title: LocalizedText, rowHeading: LocalizedText, rows: [LocalizedText], columns: [LocalizedText], cells: [[Int]]) {
        precondition(cells.count == rows.count && cells.allSatisfy { $0.count == columns.count }, "\(id): cells do not match the labels")
        (self.id, self.title, self.rowHeading, self.rows, self.columns, self.cells) = (id, title, rowHeading, rows, columns, cells)
    }

    public var rowTotals: [Int] { cells.map { $0.reduce(0, +) } }
    public var columnTotals: [Int] { columns.indices.map { column in cells.reduce(0) { $0 + $1[column] } } }
    public var total: Int { cells.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The table as it may be shown (R-STA-1): every count from 1 to `k` − 1 hidden (primary suppression), then
    /// more counts hidden until no row, column or line of totals has exactly one hidden member, so that no hidden
    /// count can be worked out by subtracting the shown ones from a shown total (complementary suppression).
    /// Zero is shown: a published zero names no one.
    public func suppressed(k: Int) -> SuppressedTable {
        let rowCount = rows.count
        let columnCount = columns.count
        // The grid with its totals: cells, a totals column at index `columnCount`, a totals row at `rowCount`.
        let totals = rowTotals
        let value = cells.enumerated().map { index, row in row + [totals[index]] } + [columnTotals + [total]]
        var hidden = value.map { $0.map { $0 > 0 && $0 < k } }
        // Each line is a set of positions whose last member is the sum of the others.
        var lines: [[(Int, Int)]] = []
        for row in 0...rowCount { lines.append((0...columnCount).map { (row, $0) }) }
        for column in 0...columnCount { lines.append((0...rowCount).map { ($0, column) }) }
        var changed = true
        while changed {
            changed = false
            for line in lines {
                let hiddenCount = line.filter { hidden[$0.0][$0.1] }.count
                guard hiddenCount == 1 else { continue }
                // Hide the smallest shown count of the line that is not zero, the total last: it costs the least
                // information. A line whose other members are all zero reveals nothing (the hidden one is the total
                // or equals it), so the total goes too.
                let members = line.dropLast().filter { !hidden[$0.0][$0.1] && value[$0.0][$0.1] > 0 }
                let pick = members.min { value[$0.0][$0.1] < value[$1.0][$1.1] } ?? line[line.count - 1]
                if hidden[pick.0][pick.1] {
                    // Only the total was hidden and every other member is zero or hidden: nothing more can protect it.
                    continue
                }
                hidden[pick.0][pick.1] = true
                changed = true
            }
        }
        func shown(_ row: Int, _ column: Int) -> Int? { hidden[row][column] ? nil : value[row][column] }
        let hiddenCells = (0..<rowCount).reduce(0) { sum, row in sum + (0..<columnCount).filter { hidden[row][$0] }.count }
        let hiddenTotals = hidden.joined().filter { $0 }.count - hiddenCells
        return SuppressedTable(
            id: id,
            title: title,
            rowHeading: rowHeading,
            rows: rows,
            columns: columns,
            cells: (0..<rowCount).map { row in (0..<columnCount).map { shown(row, $0) } },
            rowTotals: (0..<rowCount).map { shown($0, columnCount) },
            columnTotals: (0..<columnCount).map { shown(rowCount, $0) },
            total: shown(rowCount, columnCount),
            k: k,
            hiddenCells: hiddenCells,
            hiddenTotals: hiddenTotals
        )
    }
}

/// A count table as published: a hidden count is nil.
public struct SuppressedTable: Sendable, Hashable {
    public let id: String
    public let title: LocalizedText
    public let rowHeading: LocalizedText
    public let rows: [LocalizedText]
    public let columns: [LocalizedText]
    public let cells: [[Int?]]
    public let rowTotals: [Int?]
    public let columnTotals: [Int?]
    public let total: Int?
    public let k: Int
    /// How many counts of the body were hidden, and how many totals.
    public let hiddenCells: Int
    public let hiddenTotals: Int
}
