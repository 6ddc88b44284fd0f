/// Horizontal bar charts, e.g. feature importance.
public enum BarChart {
    /// Horizontal bars, labels left-aligned, values right, scaled to the largest value, fitted to width. For feature importance.
    ///
    /// Bars scale to the largest magnitude. When some values are negative (e.g. signed coefficients) the bars
    /// diverge from a zero axis: negative to the left, positive to the right. Non-finite values get no bar.
    public static func render(_ items: [(label: String, value: Double)], width: Int, style: ChartStyle, valueFormat: YFormat) -> String {
        guard !items.isEmpty else { return LineChart.noDataMessage }
        let width = max(width, 20)
        let values = items.map { valueFormat.format($0.value) }
        let valueWidth = values.reduce(0) { max($0, TerminalText.displayWidth($1)) }
        // Labels may take up to 40% of the line so long feature names never squeeze the bars away.
        let labelLimit = max(4, width * 2 / 5)
        let labels = items.map { TerminalText.truncate($0.label, toWidth: labelLimit, unicode: style.unicode) }
        let labelWidth = labels.reduce(0) { max($0, TerminalText.displayWidth($1)) }
        let barWidth = max(1, width - labelWidth - valueWidth - 4)

        var largest = 0.0
        var anyNegative = false
        for item in items where item.value.isFinite {
            largest = max(largest, abs(item.value))
            if item.value < 0 { anyNegative = true }
        }
        let negativeWidth = anyNegative ? barWidth / 2 : 0
        let positiveWidth = anyNegative ? barWidth - negativeWidth - 1 : barWidth

        var lines: [String] = []
        lines.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            var bar = ""
            if anyNegative {
                let left = item.value < 0 ? cells(abs(item.value), of: largest, width: negativeWidth) : 0
                bar += String(repeating: " ", count: negativeWidth - left)
                bar += ANSIPalette.wrap(String(repeating: style.unicode ? "█" : "#", count: left), ANSIPalette.seriesColor(1), enabled: style.color)
                bar += style.unicode ? "│" : "|"
                if item.value > 0 {
                    bar += ANSIPalette.wrap(positiveBar(item.value, of: largest, width: positiveWidth, unicode: style.unicode), ANSIPalette.seriesColor(0), enabled: style.color)
                }
            } else if item.value > 0 {
                bar += ANSIPalette.wrap(positiveBar(item.value, of: largest, width: positiveWidth, unicode: style.unicode), ANSIPalette.seriesColor(0), enabled: style.color)
            }
            let barCells = TerminalText.displayWidth(bar)
            let line = TerminalText.padRight(labels[index], to: labelWidth) + "  " + bar
                + String(repeating: " ", count: (anyNegative ? barWidth : positiveWidth) - barCells + 2)
                + TerminalText.padLeft(values[index], to: valueWidth)
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// Whole cells for `value`, rounded, with any non-zero value visible as at least one cell.
    private static func cells(_ value: Double, of largest: Double, width: Int) -> Int {
        guard largest > 0, value > 0 else { return 0 }
        return min(width, max(1, Int((value / largest * Double(width)).rounded())))
    }

    /// A bar with eighth-block resolution in Unicode (█ plus one of ▏▎▍▌▋▊▉), whole `#` cells in ASCII.
    private static func positiveBar(_ value: Double, of largest: Double, width: Int, unicode: Bool) -> String {
        guard largest > 0, value > 0 else { return "" }
        guard unicode else { return String(repeating: "#", count: cells(value, of: largest, width: width)) }
        let eighths = max(1, min(width * 8, Int((value / largest * Double(width) * 8).rounded())))
        let partials: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        var bar = String(repeating: "█", count: eighths / 8)
        if eighths % 8 > 0 { bar.append(partials[eighths % 8 - 1]) }
        return bar
    }
}
