import Charts
import Testing

/// The heat map's content: where the best and the marks land, empty cells, shading, ASCII, width.
@Suite struct HeatMapTests {
    static let rows = ["1h", "3h", "6h"]
    static let columns = ["0.2", "0.3", "0.4"]
    /// Best at row 1, column 2 (0.58); worst at row 2, column 0 (0.41); row 0, column 1 missing.
    static let values: [[Double?]] = [[0.50, nil, 0.52], [0.47, 0.55, 0.58], [0.41, 0.49, 0.53]]

    static func options(width: Int = 80) -> HeatMapOptions {
        var options = HeatMapOptions()
        options.width = width
        options.rowsTitle = "tier1_interval"
        options.columnsTitle = "test_fraction"
        return options
    }

    /// The map's row line for `label` (the first line that starts with it).
    static func line(_ map: String, row label: String) throws -> String {
        try #require(map.split(separator: "\n").map(String.init).first { $0.hasPrefix(label + " ") })
    }

    @Test func theBestCellIsMarkedAndOnlyIt() throws {
        let map = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: Self.options(), style: ChartStyle())
        let best = try Self.line(map, row: "3h")
        #expect(best.hasSuffix("██ 58.0%*"), "\(map)")
        let body = map.split(separator: "\n").filter { Self.rows.contains(String($0.prefix(2))) }
        #expect(body.count == 3)
        #expect(body.map { $0.filter { $0 == "*" }.count } == [0, 1, 0], "one * in the whole map:\n\(map)")
        // The worst cell has the lightest shade, the best the darkest.
        #expect(try Self.line(map, row: "6h").contains("░░ 41.0%"))
        #expect(HeatMap.bestCell(Self.values, higherIsBetter: true) == HeatMapCell(row: 1, column: 2))
    }

    @Test func lowerIsBetterShadesAndMarksTheSmallestValue() throws {
        var options = Self.options()
        options.higherIsBetter = false
        options.format = .fixed(3)
        let scores: [[Double?]] = [[0.251, 0.248], [0.262, 0.244]]
        let map = HeatMap.render(rows: ["a", "b"], columns: ["x", "y"], values: scores, options: options, style: ChartStyle())
        #expect(try Self.line(map, row: "b").hasSuffix("██ 0.244*"), "\(map)")
        #expect(try Self.line(map, row: "b").contains("░░ 0.262 "), "the worst (highest) is lightest:\n\(map)")
        #expect(map.contains("░░ 0.262 ▒▒ ▓▓ ██ 0.244   lower is better"), "the legend runs from worst to best:\n\(map)")
        #expect(HeatMap.bestCell(scores, higherIsBetter: false) == HeatMapCell(row: 1, column: 1))
    }

    @Test func aMissingCellIsShownEmptyAndTheLegendSaysSo() throws {
        let map = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: Self.options(), style: ChartStyle())
        let first = try Self.line(map, row: "1h")
        // 1h: 50.0% · 52.0% — the middle cell has no number and no shade.
        let middle = try #require(first.range(of: "50.0%")).upperBound
        let last = try #require(first.range(of: "52.0%")).lowerBound
        let between = first[middle..<last]
        #expect(between.contains("·"), "\(first)")
        #expect(!between.contains(where: \.isNumber) && !between.contains("░") && !between.contains("█"), "\(first)")
        #expect(map.contains("· no result"))
        let ascii = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: Self.options(), style: ChartStyle(unicode: false))
        #expect(ascii.contains("- no result"))
        // Non-finite values are missing too; a map of nothing but rows still draws them.
        let empty = HeatMap.render(rows: ["a"], columns: ["x", "y"], values: [[.nan, nil]], options: Self.options(), style: ChartStyle())
        #expect(!empty.contains("*") && empty.contains("· no result"), "\(empty)")
        #expect(HeatMap.render(rows: [], columns: ["x"], values: [], options: Self.options(), style: ChartStyle()) == HeatMap.noDataMessage)
    }

    @Test func markedCellsCarryTheMarkAndTheLegendItsMeaning() throws {
        var options = Self.options()
        options.marked = [HeatMapCell(row: 1, column: 1), HeatMapCell(row: 2, column: 2)]
        options.markedMeaning = "cannot be told apart from the best"
        let map = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: options, style: ChartStyle())
        #expect(try Self.line(map, row: "3h").contains("55.0%≈"))
        #expect(try Self.line(map, row: "6h").hasSuffix("53.0%≈"))
        #expect(try !Self.line(map, row: "1h").contains("≈"))
        #expect(map.contains("≈ cannot be told apart from the best"))
        let ascii = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: options, style: ChartStyle(unicode: false))
        #expect(try Self.line(ascii, row: "3h").contains("55.0%~") && ascii.contains("~ cannot be told apart"))
        // A best given by the caller wins over the renderer's own choice.
        options.best = HeatMapCell(row: 0, column: 0)
        let chosen = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: options, style: ChartStyle())
        #expect(try Self.line(chosen, row: "1h").contains("50.0%*") && !Self.line(chosen, row: "3h").contains("*"))
    }

    @Test func theAxesTitlesAndLabelsAreWhereAReaderLooks() throws {
        let map = HeatMap.render(rows: Self.rows, columns: Self.columns, values: Self.values, options: Self.options(), style: ChartStyle())
        let lines = map.split(separator: "\n").map(String.init)
        #expect(lines[0].drop(while: { $0 == " " }) == "test_fraction", "the columns' title heads the columns:\n\(map)")
        #expect(lines[1].hasPrefix("tier1_interval "), "the rows' title heads the row labels")
        for label in Self.columns { #expect(lines[1].contains(label)) }
        // Each column label ends where its cells' values end (before the mark).
        let header = lines[1], row = try Self.line(map, row: "3h")
        let labelEnd = try #require(header.range(of: "0.4")).upperBound.utf16Offset(in: header)
        let valueEnd = try #require(row.range(of: "58.0%")).upperBound.utf16Offset(in: row)
        #expect(labelEnd == valueEnd, "\n\(header)\n\(row)")
    }

    @Test func theASCIIFallbackHasOnlyASCIIBytes() {
        var options = Self.options(width: 50)
        options.marked = [HeatMapCell(row: 0, column: 0)]
        options.rowsTitle = "xgboost.max_depth, the depth"
        for (rows, columns) in [(Self.rows, Self.columns), (["only"], Self.columns), (Self.rows, ["one"]),
                                ((1...8).map { "row\($0)" }, (1...12).map { "column-\($0)-with-a-long-name" })] {
            let values = rows.indices.map { r in columns.indices.map { c -> Double? in (r + c) % 5 == 3 ? nil : Double(r * 7 + c) / 100 } }
            for color in [false, true] {
                let map = HeatMap.render(rows: rows, columns: columns, values: values, options: options, style: ChartStyle(unicode: false, color: color))
                let text = TerminalText.strippingANSI(map)
                #expect(text.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII in:\n\(text)")
            }
        }
    }

    @Test(arguments: [(1, 1), (1, 9), (9, 1), (8, 6), (3, 20), (2, 40)])
    func everyLineFitsTheWidth(rows: Int, columns: Int) {
        let rowLabels = (0..<rows).map { "tier2_interval=\($0 + 1)h" }
        let columnLabels = (0..<columns).map { "drift_detector_\($0)" }
        let values = (0..<rows).map { r in (0..<columns).map { c -> Double? in 0.4 + Double((r * 31 + c * 17) % 23) / 100 } }
        var options = Self.options()
        options.rowsTitle = "tier2_interval"
        options.columnsTitle = "drift_detector"
        for width in [20, 40, 60, 80, 120, 200] {
            options.width = width
            for style in [ChartStyle(), ChartStyle(unicode: false), ChartStyle(unicode: true, color: true)] {
                let map = HeatMap.render(rows: rowLabels, columns: columnLabels, values: values, options: options, style: style)
                for line in map.split(separator: "\n") {
                    #expect(TerminalText.displayWidth(String(line)) <= width, "\(rows)×\(columns) at \(width):\n\(map)")
                    #expect(!line.hasSuffix(" "), "no trailing spaces")
                }
                // Every value is drawn (in one block or another), and exactly one cell is the best.
                let stripped = TerminalText.strippingANSI(map)
                let body = stripped.split(separator: "\n").filter { $0.hasPrefix("tier2") && $0.contains("%") }
                #expect(body.count % rows == 0 && !body.isEmpty)
                #expect(body.reduce(0) { $0 + $1.filter { $0 == "*" }.count } == 1)
            }
        }
    }

    @Test func aMapTooWideForTheTerminalIsSplitIntoBlocksOfColumns() throws {
        let columns = (1...20).map { "\($0 * 5)m" }
        let values: [[Double?]] = (0..<3).map { r in (0..<20).map { c in 0.45 + Double((r + c) % 7) / 100 } }
        var options = Self.options(width: 60)
        options.columnsTitle = "tier1_interval"
        options.rowsTitle = "seed"
        let map = HeatMap.render(rows: ["a", "b", "c"], columns: columns, values: values, options: options, style: ChartStyle())
        let headings = map.split(separator: "\n").filter { $0.contains("tier1_interval") }
        #expect(headings.count > 1, "\(map)")
        #expect(headings.allSatisfy { $0.contains("of 20") })
        // Every column label shows once, whole.
        for label in columns {
            #expect(map.split(separator: "\n").filter { line in line.split(separator: " ").contains { $0 == label } }.count == 1, "\(label)\n\(map)")
        }
    }

    @Test func longLabelsAreCutAndColourOnlyAddsEscapes() throws {
        var options = Self.options(width: 40)
        options.rowsTitle = "r"
        let rows = ["a-very-long-row-label-that-cannot-fit", "b"]
        let columns = ["a-very-long-column-label", "another-long-column-label"]
        let values: [[Double?]] = [[0.5, 0.6], [0.55, nil]]
        let plain = HeatMap.render(rows: rows, columns: columns, values: values, options: options, style: ChartStyle())
        #expect(plain.contains("…"), "\(plain)")
        #expect(!plain.contains("a-very-long-row-label-that-cannot-fit"))
        let colored = HeatMap.render(rows: rows, columns: columns, values: values, options: options, style: ChartStyle(unicode: true, color: true))
        #expect(colored.contains("\u{1B}[38;5;"), "a heat colour per shade")
        #expect(TerminalText.strippingANSI(colored) == plain)
    }
}

/// The heat maps pinned by golden files: a sweep's accuracy over two axes, one point not finished.
extension GoldenCases {
    static let heatRows = ["3", "6", "9"]
    static let heatColumns = ["3h", "6h", "12h", "24h"]
    static let heatValues: [[Double?]] = [[0.512, 0.534, 0.541, 0.497], [0.523, 0.556, nil, 0.505], [0.488, 0.529, 0.547, 0.501]]

    static var heatOptions: HeatMapOptions {
        var options = HeatMapOptions()
        options.width = 64
        options.rowsTitle = "xgboost.max_depth"
        options.columnsTitle = "tier2_interval"
        options.marked = [HeatMapCell(row: 0, column: 2), HeatMapCell(row: 2, column: 2)]
        options.markedMeaning = "cannot be told apart from the best"
        options.missingMeaning = "not finished"
        return options
    }
}
