/// A cell of a heat map: its row and column, counted from 0.
public struct HeatMapCell: Hashable, Sendable {
    public var row: Int
    public var column: Int

    public init(row: Int, column: Int) {
        self.row = row
        self.column = column
    }
}

/// Layout and labelling options for `HeatMap.render`.
public struct HeatMapOptions: Sendable {
    /// Total width in terminal columns; a map wider than this is split into blocks of columns.
    public var width: Int = 80
    /// What the rows are (a setting's name), shown above the row labels.
    public var rowsTitle: String? = nil
    /// What the columns are, shown above the column labels.
    public var columnsTitle: String? = nil
    /// `.percent` for rates (one decimal), `.fixed(n)` for scores such as Brier, `.auto` otherwise.
    public var format: YFormat = .percent
    /// Whether a higher value is better (accuracy) or a lower one (Brier, log loss): the better end is shaded darker.
    public var higherIsBetter: Bool = true
    /// The cell marked best (`*`); nil: the best value, the first in reading order on a tie.
    public var best: HeatMapCell? = nil
    /// Cells marked `≈` (`~` in ASCII), e.g. those that cannot be told apart from the best.
    public var marked: Set<HeatMapCell> = []
    /// What a `≈` mark means, for the legend.
    public var markedMeaning: String = "not distinguishable from the best"
    /// What an empty cell means, for the legend.
    public var missingMeaning: String = "no result"

    /// Creates options with defaults: 80 columns, percent values, higher is better.
    public init() {}
}

/// Heat maps for terminals: a value per (row, column), each cell its number beside a shade scaled between the map's
/// worst and best value, the best cell marked, and a legend with the scale's ends.
///
/// ```
///                test_fraction
/// tier1_interval      0.2       0.3
/// 1h              ▒▒ 52.1%  ██ 54.2%*
/// 3h              ░░ 50.3%  ▓▓ 53.8%≈
/// ```
/// Shades are `░▒▓█` (with colour: also tinted from cool to warm), `.:=#` in ASCII. Labels are cut to fit the width;
/// when even that is not enough the columns are drawn in blocks, one under the other.
public enum HeatMap {
    /// Shown instead of a map without rows or columns.
    public static let noDataMessage = "(no data to chart)"

    private static let unicodeShades = ["░", "▒", "▓", "█"]
    private static let asciiShades = [".", ":", "=", "#"]
    /// 256-colour foregrounds from cool (worse) to warm (better): readable on dark and light backgrounds.
    private static let heatColors = [25, 31, 37, 71, 142, 178, 208, 196]

    /// Renders the map as lines without trailing spaces, ending without a newline.
    ///
    /// `values[r][c]` is the value at row `r`, column `c`; nil or a non-finite value is an empty cell. Rows shorter
    /// than `columns` are padded with empty cells.
    public static func render(rows: [String], columns: [String], values: [[Double?]], options: HeatMapOptions,
                              style: ChartStyle) -> String {
        guard !rows.isEmpty, !columns.isEmpty else { return noDataMessage }
        let width = max(options.width, 20)
        let grid: [[Double?]] = rows.indices.map { r in
            columns.indices.map { c in
                guard r < values.count, c < values[r].count, let value = values[r][c], value.isFinite else { return nil }
                return value
            }
        }
        let present = grid.flatMap { $0 }.compactMap { $0 }
        let best = options.best ?? bestCell(grid, higherIsBetter: options.higherIsBetter)
        let worstValue = options.higherIsBetter ? present.min() : present.max()
        let bestValue = options.higherIsBetter ? present.max() : present.min()

        var layout = Layout(rows: rows, columns: columns, options: options, width: width)
        layout.fit(grid: grid)
        let shades = style.unicode ? unicodeShades : asciiShades
        let tieMark = style.unicode ? "≈" : "~"
        let missing = style.unicode ? "·" : "-"

        /// 0 (worst) … 1 (best) on the map's own range; 1 when every value is the same.
        func fraction(_ value: Double) -> Double {
            guard let worstValue, let bestValue, bestValue != worstValue else { return 1 }
            let f = (value - worstValue) / (bestValue - worstValue)
            return f.isFinite ? min(max(f, 0), 1) : 1
        }
        func bar(_ value: Double, width barWidth: Int) -> String {
            let f = fraction(value)
            let glyph = shades[min(shades.count - 1, Int(f * Double(shades.count)))]
            let text = String(repeating: glyph, count: barWidth)
            guard style.color else { return text }
            let color = heatColors[min(heatColors.count - 1, Int(f * Double(heatColors.count)))]
            return "\u{1B}[38;5;\(color)m" + text + ANSIPalette.reset
        }
        func cell(_ r: Int, _ c: Int) -> String {
            let here = HeatMapCell(row: r, column: c)
            guard let value = grid[r][c] else {
                // The missing glyph in the middle of the value's place.
                let slot = layout.valueWidth
                let left = (slot - 1) / 2
                let body = String(repeating: " ", count: layout.barWidth + 1 + left) + missing
                    + String(repeating: " ", count: slot - 1 - left) + " "
                return TerminalText.padLeft(body, to: layout.cellWidth)
            }
            var mark = " "
            if here == best {
                mark = ANSIPalette.wrap("*", "\u{1B}[1m", enabled: style.color)
            } else if options.marked.contains(here) {
                mark = tieMark
            }
            let body = bar(value, width: layout.barWidth) + " " + TerminalText.padLeft(layout.text(value), to: layout.valueWidth) + mark
            return TerminalText.padLeft(body, to: layout.cellWidth)
        }

        var lines: [String] = []
        let blocks = stride(from: 0, to: columns.count, by: layout.columnsPerBlock).map {
            $0..<min(columns.count, $0 + layout.columnsPerBlock)
        }
        let gap = String(repeating: " ", count: layout.gap)
        let lead = layout.rowLabelWidth + 2
        for (index, block) in blocks.enumerated() {
            if index > 0 { lines.append("") }
            var title = options.columnsTitle ?? ""
            if blocks.count > 1 {
                let range = block.count == 1 ? "\(block.upperBound)" : "\(block.lowerBound + 1)\(style.unicode ? "–" : "-")\(block.upperBound)"
                title += (title.isEmpty ? "columns" : "") + " \(range) of \(columns.count)"
            }
            let rowsTitle = options.rowsTitle ?? ""
            if layout.titleInHeader || rowsTitle.isEmpty {
                if !title.isEmpty {
                    lines.append(String(repeating: " ", count: lead) + TerminalText.truncate(title, toWidth: width - lead, unicode: style.unicode))
                }
            } else {
                // The rows' title is wider than the row labels: both titles head the map, saying which is which.
                let heading = "rows: \(rowsTitle)" + (title.isEmpty ? "" : "   columns: \(title)")
                if TerminalText.displayWidth(heading) <= width || title.isEmpty {
                    lines.append(TerminalText.truncate(heading, toWidth: width, unicode: style.unicode))
                } else {
                    lines.append(TerminalText.truncate("rows: \(rowsTitle)", toWidth: width, unicode: style.unicode))
                    lines.append(TerminalText.truncate("columns: \(title)", toWidth: width, unicode: style.unicode))
                }
            }
            var header = TerminalText.padRight(
                layout.titleInHeader ? TerminalText.truncate(rowsTitle, toWidth: layout.rowLabelWidth, unicode: style.unicode) : "",
                to: layout.rowLabelWidth) + "  "
            header += block.map { c in
                let label = TerminalText.truncate(columns[c], toWidth: layout.cellWidth - 1, unicode: style.unicode)
                return TerminalText.padLeft(label, to: layout.cellWidth - 1) + " "
            }.joined(separator: gap)
            lines.append(trimmed(header))
            for r in rows.indices {
                let label = TerminalText.truncate(rows[r], toWidth: layout.rowLabelWidth, unicode: style.unicode)
                let line = TerminalText.padRight(label, to: layout.rowLabelWidth) + "  "
                    + block.map { cell(r, $0) }.joined(separator: gap)
                lines.append(trimmed(line))
            }
        }

        var legend: [String] = []
        if let worstValue, let bestValue {
            let direction = options.higherIsBetter ? "higher is better" : "lower is better"
            if worstValue == bestValue {
                legend.append("\(bar(bestValue, width: 2)) \(layout.text(bestValue)) in every cell with a result")
            } else {
                let steps = shades.indices.map { level -> String in
                    // A value inside each band, so the swatch shows that band's shade (and colour).
                    let f = (Double(level) + 0.5) / Double(shades.count)
                    let value = worstValue + f * (bestValue - worstValue)
                    return bar(value, width: 2)
                }
                legend.append("\(steps[0]) \(layout.text(worstValue)) \(steps.dropFirst().dropLast().joined(separator: " ")) "
                              + "\(steps[steps.count - 1]) \(layout.text(bestValue))")
                legend.append(direction)
            }
            legend.append("* best")
            if !options.marked.subtracting(best.map { [$0] } ?? []).isEmpty { legend.append("\(tieMark) \(options.markedMeaning)") }
        }
        if present.count < rows.count * columns.count { legend.append("\(missing) \(options.missingMeaning)") }
        lines.append(contentsOf: LineChart.wrapLegend(legend, width: width, indent: 0, unicode: style.unicode))
        return lines.joined(separator: "\n")
    }

    /// The best finite value's cell, the first in reading order (row by row) on a tie; nil when there is none.
    public static func bestCell(_ values: [[Double?]], higherIsBetter: Bool) -> HeatMapCell? {
        var best: (cell: HeatMapCell, value: Double)?
        for (r, row) in values.enumerated() {
            for (c, value) in row.enumerated() {
                guard let value, value.isFinite else { continue }
                if let current = best?.value, higherIsBetter ? value <= current : value >= current { continue }
                best = (HeatMapCell(row: r, column: c), value)
            }
        }
        return best?.cell
    }

    private static func trimmed(_ line: String) -> String {
        var line = line
        while line.last == " " { line.removeLast() }
        return line
    }

    /// Widths chosen to fit the terminal: labels cut first, then gaps, bars and decimals narrowed, then the columns
    /// split into blocks.
    private struct Layout {
        let rows: [String]
        let columns: [String]
        let options: HeatMapOptions
        let width: Int
        var barWidth = 2
        var gap = 2
        var decimals: Int
        var valueWidth = 0
        var rowLabelWidth = 0
        var cellWidth = 0
        var columnsPerBlock = 1
        /// Whether the rows' title sits in the header row, above the row labels (else it heads the map).
        var titleInHeader = true

        init(rows: [String], columns: [String], options: HeatMapOptions, width: Int) {
            self.rows = rows
            self.columns = columns
            self.options = options
            self.width = width
            switch options.format {
            case .percent: decimals = 1
            case .fixed(let places): decimals = places
            case .auto: decimals = -1
            }
        }

        func text(_ value: Double) -> String {
            switch options.format {
            case .percent: return NumberText.fixed(value * 100, decimals: max(decimals, 0)) + "%"
            case .fixed: return NumberText.fixed(value, decimals: max(decimals, 0))
            case .auto: return options.format.format(value)
            }
        }

        /// The fewest decimals a narrowed map may show: enough to tell rates apart at a point, scores at 0.01.
        private var fewestDecimals: Int {
            switch options.format {
            case .percent: 0
            case .fixed(let places): min(places, 2)
            case .auto: -1
            }
        }

        mutating func fit(grid: [[Double?]]) {
            let columnLabel = columns.map(TerminalText.displayWidth).max() ?? 0
            let rowLabel = rows.map(TerminalText.displayWidth).max() ?? 0
            let title = TerminalText.displayWidth(options.rowsTitle ?? "")
            // Row labels (and the rows' title above them) may take up to 40 % of the width, at least 6 cells.
            let labelLimit = max(6, width * 2 / 5)
            let fullRows = min(max(rowLabel, title), labelLimit)
            var rowCap = fullRows
            var columnCap = min(columnLabel, 16)
            func measure() {
                let values = grid.flatMap { $0 }.compactMap { $0 }.map { TerminalText.displayWidth(text($0)) }
                valueWidth = max(values.max() ?? 1, 1)
                rowLabelWidth = rowCap
                // bar, space, value, mark; at least as wide as its (cut) label and a space.
                cellWidth = max(barWidth + 1 + valueWidth + 1, columnCap + 1)
            }
            func total() -> Int { rowLabelWidth + 2 + columns.count * cellWidth + (columns.count - 1) * gap }
            measure()
            // Each step narrows one thing and measures again, until the map fits: the gaps, long column labels,
            // the shades, the rows' title (it moves above the map), a decimal, then the row labels themselves.
            let fullDecimals = decimals
            while total() > width {
                if gap > 1 {
                    gap = 1
                } else if columnCap > barWidth + 1 + valueWidth {
                    columnCap = barWidth + 1 + valueWidth
                } else if barWidth > 1 {
                    barWidth = 1
                } else if rowCap > min(rowLabel, labelLimit) {
                    rowCap = min(rowLabel, labelLimit)
                } else if decimals > fewestDecimals {
                    decimals -= 1
                } else if rowCap > 6 {
                    rowCap = max(6, rowCap - (total() - width))
                } else {
                    break
                }
                measure()
            }
            if total() > width {
                // It is split into blocks of columns anyway: then each value keeps its decimals and each row its
                // whole label, where a single column still fits beside them.
                let (narrowDecimals, narrowRows) = (decimals, rowCap)
                (decimals, rowCap) = (fullDecimals, fullRows)
                measure()
                if rowLabelWidth + 2 + cellWidth > width {
                    (decimals, rowCap) = (narrowDecimals, narrowRows)
                    measure()
                }
            }
            titleInHeader = title <= rowLabelWidth
            // Still too wide: as many columns as fit in each block, the blocks one under the other.
            let room = width - rowLabelWidth - 2 + gap
            columnsPerBlock = max(1, min(columns.count, room / (cellWidth + gap)))
        }
    }
}
