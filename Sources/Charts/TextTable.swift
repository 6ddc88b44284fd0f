/// Plain aligned text tables.
public enum TextTable {
    /// Horizontal alignment of a column.
    public enum Alignment: Sendable { case left, right }

    /// Aligned columns separated by two spaces, a header row and a rule under it (─ or -); column widths measured in terminal cells (handle ANSI colour codes and common Unicode as width 1).
    ///
    /// Rows may be ragged (missing cells are blank); columns without an alignment are left-aligned. Lines carry no trailing spaces.
    public static func render(headers: [String], rows: [[String]], alignments: [Alignment], style: ChartStyle) -> String {
        let columnCount = rows.reduce(headers.count) { max($0, $1.count) }
        guard columnCount > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columnCount)
        for (column, header) in headers.enumerated() { widths[column] = TerminalText.displayWidth(header) }
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], TerminalText.displayWidth(cell)) }
        }
        var lines: [String] = []
        lines.reserveCapacity(rows.count + 2)
        lines.append(line(headers, widths: widths, alignments: alignments))
        let rule = style.unicode ? "─" : "-"
        lines.append(widths.map { String(repeating: rule, count: $0) }.joined(separator: "  "))
        for row in rows { lines.append(line(row, widths: widths, alignments: alignments)) }
        return lines.joined(separator: "\n")
    }

    private static func line(_ cells: [String], widths: [Int], alignments: [Alignment]) -> String {
        var text = ""
        for column in widths.indices {
            let cell = column < cells.count ? cells[column] : ""
            let alignment = column < alignments.count ? alignments[column] : .left
            if column > 0 { text += "  " }
            text += alignment == .right ? TerminalText.padLeft(cell, to: widths[column]) : TerminalText.padRight(cell, to: widths[column])
        }
        while text.last == " " { text.removeLast() }
        return text
    }
}
