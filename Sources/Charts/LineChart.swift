/// Line charts for terminals: one series as a continuous box-drawing curve, several series as distinct markers with a legend.
public enum LineChart {
    /// Shown instead of a chart when no series has a finite point.
    public static let noDataMessage = "(no data to chart)"

    /// Renders one or more series as a multi-line string (no trailing spaces on lines, ends without newline).
    public static func render(_ series: [ChartSeries], options: LineChartOptions, style: ChartStyle) -> String {
        let drawn = cleanSeries(series)
        guard !drawn.isEmpty else { return noDataMessage }
        let glyphs = Glyphs(unicode: style.unicode)
        let width = max(options.width, 20)
        let rows = max(options.height, 2)

        // Y scale: the reference line counts as data so it always lands inside the plot.
        var minY = Double.infinity
        var maxY = -Double.infinity
        for entry in drawn {
            for point in entry.points {
                minY = min(minY, point.y)
                maxY = max(maxY, point.y)
            }
        }
        let reference = options.referenceLine.flatMap { $0.value.isFinite ? $0 : nil }
        if let reference {
            minY = min(minY, reference.value)
            maxY = max(maxY, reference.value)
        }
        let scale = YTicks.scale(minY: minY, maxY: maxY, fixed: options.yRange, rows: rows)
        let rowOf = { (value: Double) -> Int in
            let fraction = (value - scale.low) / (scale.high - scale.low)
            return min(max(Int((fraction * Double(rows - 1)).rounded()), 0), rows - 1)
        }
        var axisLabels = [String?](repeating: nil, count: rows)
        for (tick, label) in zip(scale.ticks, options.yFormat.tickLabels(scale.ticks, step: scale.step)) {
            axisLabels[rowOf(tick)] = label
        }
        // The reference's own value labels its row, even over a tick that rounds onto it (a 55 % threshold must
        // not read as 50 %).
        if let reference {
            axisLabels[rowOf(reference.value)] = options.yFormat.offTickLabel(reference.value, step: scale.step)
        }
        var labelWidth = axisLabels.reduce(0) { max($0, $1.map(TerminalText.displayWidth) ?? 0) }
        // Below ~24 plot columns the axis labels would crowd out the data, so they are dropped first.
        if width - labelWidth - 2 < 24 { labelWidth = min(labelWidth, max(0, width - 26)) }
        let plotLeft = labelWidth + 2
        let columns = width - plotLeft

        var minX = Double.infinity
        var maxX = -Double.infinity
        for entry in drawn {
            minX = min(minX, entry.points.first!.x)
            maxX = max(maxX, entry.points.last!.x)
        }

        var grid = Grid(rows: rows, columns: columns)
        if let reference {
            let row = rowOf(reference.value)
            for column in 0..<columns { grid.set(row: row, column: column, glyphs.reference, color: Grid.dimColor) }
        }
        var buckets = ColumnBuckets(columns: columns)
        var overlapped = false
        if drawn.count == 1 {
            buckets.fill(drawn[0].points, minX: minX, maxX: maxX)
            drawCurve(buckets.values, rowOf: rowOf, glyphs: glyphs, color: Int8(drawn[0].index % 100), into: &grid)
        } else {
            var owner = [Int16](repeating: -1, count: rows * columns)
            for entry in drawn {
                buckets.fill(entry.points, minX: minX, maxX: maxX)
                let marker = glyphs.marker(entry.index)
                for column in 0..<columns where !buckets.values[column].isNaN {
                    let row = rowOf(buckets.values[column])
                    let cell = (rows - 1 - row) * columns + column
                    if owner[cell] >= 0 && owner[cell] != Int16(entry.index) {
                        owner[cell] = Int16.max
                        overlapped = true
                        grid.set(row: row, column: column, glyphs.overlap, color: Grid.noColor)
                    } else if owner[cell] < 0 {
                        owner[cell] = Int16(entry.index)
                        grid.set(row: row, column: column, marker, color: Int8(entry.index % 100))
                    }
                }
            }
        }

        var lines: [String] = []
        lines.reserveCapacity(rows + 6)
        lines.append(contentsOf: headerLines(options: options, width: width, plotLeft: plotLeft, columns: columns, style: style))
        for line in 0..<rows {
            let row = rows - 1 - line
            var text = ""
            text.reserveCapacity(plotLeft + columns * 3)
            if labelWidth > 0 {
                let label = TerminalText.truncate(axisLabels[row] ?? "", toWidth: labelWidth, unicode: style.unicode)
                text += TerminalText.padLeft(label, to: labelWidth)
            }
            text += " "
            text.unicodeScalars.append(axisLabels[row] == nil ? glyphs.axis : glyphs.axisTick)
            grid.appendRow(line, to: &text, color: style.color)
            lines.append(text)
        }

        let ticks = options.xAxis == .time
            ? XTicks.time(minX: minX, maxX: maxX, columns: columns)
            : XTicks.index(minX: minX, maxX: maxX, columns: columns)
        let columnOf = { (x: Double) -> Int in ColumnBuckets.column(of: x, minX: minX, maxX: maxX, columns: columns) }
        lines.append(contentsOf: xAxisLines(ticks: ticks, columnOf: columnOf, plotLeft: plotLeft, columns: columns, width: width, glyphs: glyphs))

        var legend: [String] = []
        for entry in drawn {
            let key = drawn.count == 1 ? glyphs.lineKey : String(glyphs.marker(entry.index))
            let colored = ANSIPalette.wrap(key, ANSIPalette.seriesColor(entry.index), enabled: style.color)
            legend.append(entry.name.isEmpty ? colored : colored + " " + entry.name)
        }
        if overlapped { legend.append(String(glyphs.overlap) + " overlap") }
        if let reference {
            let key = ANSIPalette.wrap(String(repeating: String(glyphs.reference), count: 2), ANSIPalette.dim, enabled: style.color)
            legend.append(reference.label.isEmpty ? key : key + " " + reference.label)
        }
        lines.append(contentsOf: wrapLegend(legend, width: width, indent: plotLeft, unicode: style.unicode))
        return lines.joined(separator: "\n")
    }

    // MARK: - Series preparation

    struct DrawnSeries {
        var index: Int
        var name: String
        var points: [ChartPoint]
    }

    /// Largest magnitude drawn; beyond it the span between two values could overflow to infinity.
    static let plottableMagnitude = 1e300

    /// Drops non-plottable points and empty series, keeping each series' original index so its marker and colour stay stable.
    static func cleanSeries(_ series: [ChartSeries]) -> [DrawnSeries] {
        let plottable = { (point: ChartPoint) -> Bool in
            abs(point.x) <= plottableMagnitude && abs(point.y) <= plottableMagnitude
        }
        var result: [DrawnSeries] = []
        for (index, entry) in series.enumerated() {
            // abs(NaN) <= bound is false, so this also drops NaN.
            let points = entry.points.allSatisfy(plottable) ? entry.points : entry.points.filter(plottable)
            if !points.isEmpty { result.append(DrawnSeries(index: index, name: entry.name, points: points)) }
        }
        return result
    }

    // MARK: - Curve

    /// asciichart's rule: column i joins point i to point i+1, so a step becomes a corner pair with │ between.
    static func drawCurve(_ values: [Double], rowOf: (Double) -> Int, glyphs: Glyphs, color: Int8, into grid: inout Grid) {
        guard let first = values.firstIndex(where: { !$0.isNaN }), let last = values.lastIndex(where: { !$0.isNaN }) else { return }
        if first == last {
            grid.set(row: rowOf(values[first]), column: first, glyphs.single, color: color)
            return
        }
        var rowsByColumn = [Int](repeating: 0, count: values.count)
        // Columns between sparse points are linearly interpolated so the curve reads as one continuous line.
        var previous = first
        rowsByColumn[first] = rowOf(values[first])
        for column in (first + 1)...last where !values[column].isNaN {
            let span = Double(column - previous)
            for gap in (previous + 1)..<column {
                let t = Double(gap - previous) / span
                rowsByColumn[gap] = rowOf(values[previous] + (values[column] - values[previous]) * t)
            }
            rowsByColumn[column] = rowOf(values[column])
            previous = column
        }
        for column in first..<last {
            let from = rowsByColumn[column]
            let to = rowsByColumn[column + 1]
            if from == to {
                grid.set(row: from, column: column, glyphs.horizontal, color: color)
            } else if to > from {
                grid.set(row: from, column: column, glyphs.upFromLeft, color: color)
                grid.set(row: to, column: column, glyphs.upToRight, color: color)
                for row in (from + 1)..<to { grid.set(row: row, column: column, glyphs.vertical, color: color) }
            } else {
                grid.set(row: from, column: column, glyphs.downFromLeft, color: color)
                grid.set(row: to, column: column, glyphs.downToRight, color: color)
                for row in (to + 1)..<from { grid.set(row: row, column: column, glyphs.vertical, color: color) }
            }
        }
        grid.set(row: rowsByColumn[last], column: last, glyphs.horizontal, color: color)
    }

    // MARK: - Text around the plot

    static func headerLines(options: LineChartOptions, width: Int, plotLeft: Int, columns: Int, style: ChartStyle) -> [String] {
        let unit = options.yLabel.map { TerminalText.truncate($0, toWidth: width, unicode: style.unicode) } ?? ""
        let unitWidth = TerminalText.displayWidth(unit)
        guard let rawTitle = options.title, !rawTitle.isEmpty else { return unit.isEmpty ? [] : [unit] }
        let title = TerminalText.truncate(rawTitle, toWidth: width, unicode: style.unicode)
        let titleWidth = TerminalText.displayWidth(title)
        let centered = plotLeft + max(0, (columns - titleWidth) / 2)
        if unit.isEmpty {
            return [String(repeating: " ", count: max(0, min(centered, width - titleWidth))) + title]
        }
        let start = max(centered, unitWidth + 2)
        if start + titleWidth <= width {
            return [unit + String(repeating: " ", count: start - unitWidth) + title]
        }
        return [String(repeating: " ", count: max(0, min(centered, width - titleWidth))) + title, unit]
    }

    static func xAxisLines(ticks: [XTick], columnOf: (Double) -> Int, plotLeft: Int, columns: Int, width: Int, glyphs: Glyphs) -> [String] {
        var axis = [Unicode.Scalar](repeating: glyphs.xAxis, count: columns)
        var labels = [Character](repeating: " ", count: width)
        var nextFree = 0
        for tick in ticks {
            let column = columnOf(tick.value)
            let label = Array(tick.label)
            // Centre the label under its tick, then nudge it inside the width; skip it if it would touch the previous one.
            let start = min(max(plotLeft + column - (label.count - 1) / 2, 0), width - label.count)
            guard start >= nextFree, start >= 0 else { continue }
            for (offset, character) in label.enumerated() { labels[start + offset] = character }
            nextFree = start + label.count + XTicks.labelGap
            axis[column] = glyphs.xTick
        }
        var axisLine = String(repeating: " ", count: plotLeft - 1)
        axisLine.unicodeScalars.append(glyphs.corner)
        axisLine.unicodeScalars.append(contentsOf: axis)
        var labelLine = String(labels)
        while labelLine.last == " " { labelLine.removeLast() }
        return labelLine.isEmpty ? [axisLine] : [axisLine, labelLine]
    }

    static func wrapLegend(_ items: [String], width: Int, indent: Int, unicode: Bool) -> [String] {
        guard !items.isEmpty else { return [] }
        let separator = "   "
        let totalWidth = items.reduce(0) { $0 + TerminalText.displayWidth($1) } + separator.count * (items.count - 1)
        // Align with the plot when the legend fits that way, else start at the left margin.
        let margin = indent + totalWidth <= width ? indent : 0
        var lines: [String] = []
        var current = ""
        var currentWidth = 0
        for item in items {
            let fitted = TerminalText.displayWidth(item) > width - margin
                ? TerminalText.truncate(TerminalText.strippingANSI(item), toWidth: width - margin, unicode: unicode)
                : item
            let itemWidth = TerminalText.displayWidth(fitted)
            if currentWidth > 0 && currentWidth + separator.count + itemWidth > width - margin {
                lines.append(current)
                current = ""
                currentWidth = 0
            }
            if currentWidth > 0 {
                current += separator
                currentWidth += separator.count
            }
            current += fitted
            currentWidth += itemWidth
        }
        lines.append(current)
        let pad = String(repeating: " ", count: margin)
        return lines.map { pad + $0 }
    }
}

/// The glyph set for one style.
struct Glyphs {
    let unicode: Bool
    let horizontal: Unicode.Scalar
    let vertical: Unicode.Scalar
    let upFromLeft: Unicode.Scalar
    let upToRight: Unicode.Scalar
    let downFromLeft: Unicode.Scalar
    let downToRight: Unicode.Scalar
    let single: Unicode.Scalar
    let axis: Unicode.Scalar
    let axisTick: Unicode.Scalar
    let corner: Unicode.Scalar
    let xAxis: Unicode.Scalar
    let xTick: Unicode.Scalar
    let reference: Unicode.Scalar
    let overlap: Unicode.Scalar
    let lineKey: String
    private let markers: [Unicode.Scalar]

    init(unicode: Bool) {
        self.unicode = unicode
        if unicode {
            (horizontal, vertical) = ("─", "│")
            (upFromLeft, upToRight, downFromLeft, downToRight) = ("╯", "╭", "╮", "╰")
            (single, axis, axisTick, corner, xAxis, xTick) = ("●", "│", "┤", "└", "─", "┬")
            (reference, overlap, lineKey) = ("┄", "◉", "──")
            markers = ["●", "▲", "■", "◆", "★", "▼", "✚", "✖"]
        } else {
            (horizontal, vertical) = ("-", "|")
            // Classic ASCII-art rounded corners: .-- at the top of a step, --' at the bottom.
            (upFromLeft, upToRight, downFromLeft, downToRight) = ("'", ".", ".", "'")
            (single, axis, axisTick, corner, xAxis, xTick) = ("*", "|", "+", "+", "-", "+")
            (reference, overlap, lineKey) = ("=", "#", "--")
            markers = ["*", "o", "x", "+", "%", "&", "$", "="]
        }
    }

    /// Marker for series `index`; beyond eight series markers repeat (colour still separates them when enabled).
    func marker(_ index: Int) -> Unicode.Scalar { markers[index % markers.count] }
}

/// Per-column y values of one series after resampling to the plot width.
struct ColumnBuckets {
    private(set) var values: [Double]
    private var sums: [Double]
    private var counts: [Int]

    init(columns: Int) {
        values = [Double](repeating: .nan, count: columns)
        sums = [Double](repeating: 0, count: columns)
        counts = [Int](repeating: 0, count: columns)
    }

    static func column(of x: Double, minX: Double, maxX: Double, columns: Int) -> Int {
        guard maxX > minX else { return (columns - 1) / 2 }
        let column = Int(((x - minX) / (maxX - minX) * Double(columns - 1)).rounded())
        return min(max(column, 0), columns - 1)
    }

    /// Bucket means per column; the column holding the final point shows that point exactly, because the latest value is what readers look for at the right edge.
    mutating func fill(_ points: [ChartPoint], minX: Double, maxX: Double) {
        let columns = values.count
        for i in 0..<columns {
            sums[i] = 0
            counts[i] = 0
        }
        for point in points {
            let column = Self.column(of: point.x, minX: minX, maxX: maxX, columns: columns)
            sums[column] += point.y
            counts[column] += 1
        }
        for i in 0..<columns { values[i] = counts[i] > 0 ? sums[i] / Double(counts[i]) : .nan }
        if let last = points.last {
            values[Self.column(of: last.x, minX: minX, maxX: maxX, columns: columns)] = last.y
        }
    }
}

/// Plot cells, top row first, with a colour slot per cell.
struct Grid {
    static let noColor: Int8 = -1
    static let dimColor: Int8 = -2

    let rows: Int
    let columns: Int
    private var glyphs: [Unicode.Scalar]
    private var colors: [Int8]

    init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        glyphs = [Unicode.Scalar](repeating: " ", count: rows * columns)
        colors = [Int8](repeating: Grid.noColor, count: rows * columns)
    }

    /// Sets the cell at `row` counted from the bottom.
    mutating func set(row: Int, column: Int, _ glyph: Unicode.Scalar, color: Int8) {
        let cell = (rows - 1 - row) * columns + column
        glyphs[cell] = glyph
        colors[cell] = color
    }

    /// Appends display line `line` (0 = top) without trailing blanks, opening and closing colour runs as needed.
    func appendRow(_ line: Int, to text: inout String, color: Bool) {
        let base = line * columns
        var end = columns
        while end > 0 && glyphs[base + end - 1] == " " { end -= 1 }
        var open: Int8 = Grid.noColor
        for column in 0..<end {
            let cell = base + column
            if color && colors[cell] != open && glyphs[cell] != " " {
                if open != Grid.noColor { text += ANSIPalette.reset }
                open = colors[cell]
                if open == Grid.dimColor {
                    text += ANSIPalette.dim
                } else if open >= 0 {
                    text += ANSIPalette.seriesColor(Int(open))
                }
            }
            text.unicodeScalars.append(glyphs[cell])
        }
        if color && open != Grid.noColor { text += ANSIPalette.reset }
    }
}
