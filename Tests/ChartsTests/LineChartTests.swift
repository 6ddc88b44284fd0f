import Testing
@testable import Charts

@Suite struct LineChartTests {
    static let unicode = ChartStyle()
    static let ascii = ChartStyle(unicode: false)

    /// Every chart the shell draws, at a given width.
    static func charts(width: Int, style: ChartStyle) -> [String] {
        var options = [GoldenCases.priceOptions, GoldenCases.accuracyOptions, GoldenCases.dailyOptions, GoldenCases.liveOptions]
        for index in options.indices { options[index].width = width }
        return [
            LineChart.render([GoldenCases.price], options: options[0], style: style),
            LineChart.render(GoldenCases.accuracySeries, options: options[1], style: style),
            LineChart.render([GoldenCases.dailyPrice], options: options[2], style: style),
            LineChart.render([GoldenCases.liveAccuracy], options: options[3], style: style),
        ]
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test(arguments: Array(40...160))
    func noLineExceedsWidth(width: Int) {
        for style in [Self.unicode, Self.ascii, ChartStyle(unicode: true, color: true)] {
            for chart in Self.charts(width: width, style: style) {
                for line in Self.lines(chart) {
                    #expect(TerminalText.displayWidth(line) <= width, "\(width): \(line)")
                }
            }
        }
    }

    @Test func linesHaveNoTrailingSpacesAndOutputHasNoTrailingNewline() {
        for chart in Self.charts(width: 80, style: Self.unicode) + Self.charts(width: 57, style: Self.ascii) {
            #expect(!chart.hasSuffix("\n"))
            for line in Self.lines(chart) { #expect(!line.hasSuffix(" "), "trailing space: \(line)") }
        }
    }

    @Test func outputIsDeterministic() {
        #expect(Self.charts(width: 80, style: Self.unicode) == Self.charts(width: 80, style: Self.unicode))
        #expect(Self.charts(width: 93, style: Self.ascii) == Self.charts(width: 93, style: Self.ascii))
    }

    @Test func colourOnlyAddsEscapeCodes() {
        let plain = Self.charts(width: 80, style: Self.unicode)
        let colored = Self.charts(width: 80, style: ChartStyle(unicode: true, color: true))
        #expect(plain.allSatisfy { !$0.contains("\u{1B}") })
        #expect(colored.allSatisfy { $0.contains("\u{1B}[36m") })
        #expect(colored.map(TerminalText.strippingANSI) == plain)
    }

    @Test func multiSeriesColoursDiffer() {
        let colored = LineChart.render(GoldenCases.accuracySeries, options: GoldenCases.accuracyOptions, style: ChartStyle(color: true))
        #expect(colored.contains("\u{1B}[36m●"))
        #expect(colored.contains("\u{1B}[33m▲"))
    }

    @Test func emptyInputsGiveAMessage() {
        let options = LineChartOptions()
        #expect(LineChart.render([], options: options, style: Self.unicode) == LineChart.noDataMessage)
        #expect(LineChart.render([ChartSeries(name: "a", points: [])], options: options, style: Self.unicode) == LineChart.noDataMessage)
        let allNaN = ChartSeries(name: "a", points: [ChartPoint(x: 1, y: .nan), ChartPoint(x: .nan, y: 2), ChartPoint(x: 3, y: .infinity)])
        #expect(LineChart.render([allNaN], options: options, style: Self.ascii) == LineChart.noDataMessage)
    }

    @Test func nanPointsAreSkipped() {
        var points = GoldenCases.accuracySeries[0].points
        let clean = LineChart.render([ChartSeries(name: "a", points: points)], options: LineChartOptions(), style: Self.unicode)
        points.insert(ChartPoint(x: 4.5, y: .nan), at: 4)
        points.append(ChartPoint(x: .nan, y: 0.5))
        let withNaN = LineChart.render([ChartSeries(name: "a", points: points)], options: LineChartOptions(), style: Self.unicode)
        #expect(withNaN == clean)
    }

    @Test func emptySeriesKeepsItsMarkerSlot() {
        let series = GoldenCases.accuracySeries
        let withEmpty = [series[0], ChartSeries(name: "lstm", points: []), series[1]]
        let chart = LineChart.render(withEmpty, options: GoldenCases.accuracyOptions, style: Self.unicode)
        // The third series keeps the third marker so markers do not shift when a model has no data yet.
        #expect(chart.contains("■ xgboost"))
        #expect(!chart.contains("lstm"))
    }

    @Test func singlePointIsVisibleInTheMiddle() {
        let chart = LineChart.render([ChartSeries(name: "one", points: [ChartPoint(x: 7, y: 0.5)])], options: LineChartOptions(), style: Self.unicode)
        let lines = Self.lines(chart)
        let row = try! #require(lines.firstIndex { $0.contains("●") })
        #expect(row == 5 || row == 6)
        #expect(lines.contains { $0.trimmedSpaces() == "7" })
    }

    @Test func flatSeriesIsAHorizontalLineInTheMiddle() {
        var options = LineChartOptions()
        options.height = 11
        let flat = ChartSeries(name: "flat", points: (0..<50).map { ChartPoint(x: Double($0), y: 42_000) })
        let lines = Self.lines(LineChart.render([flat], options: options, style: Self.unicode))
        let plotRows = lines.prefix(11)
        let curveRows = plotRows.indices.filter { plotRows[$0].contains("──") }
        #expect(curveRows == [5])
        #expect(plotRows[5].hasPrefix("42k ┤"))
    }

    @Test func manyPointsAreResampledAndKeepTheLastPoint() {
        // 10,000 zeros and a final spike: bucket means would hide the spike, but the last point is kept exactly.
        var points = (0..<10_000).map { ChartPoint(x: Double($0), y: 0) }
        points.append(ChartPoint(x: 10_000, y: 10))
        var options = LineChartOptions()
        options.yRange = 0...10
        options.yFormat = .fixed(0)
        let lines = Self.lines(LineChart.render([ChartSeries(name: "spike", points: points)], options: options, style: Self.unicode))
        #expect(lines.allSatisfy { TerminalText.displayWidth($0) <= 80 })
        #expect(lines[0].hasPrefix("10 ┤"))
        #expect(lines[0].hasSuffix("─"))
        #expect(TerminalText.displayWidth(lines[0]) == 80)
    }

    @Test func identicalSeriesShowTheOverlapMarker() {
        let series = GoldenCases.accuracySeries[0]
        let chart = LineChart.render([series, ChartSeries(name: "copy", points: series.points)], options: LineChartOptions(), style: Self.unicode)
        let lines = Self.lines(chart)
        let axisRow = try! #require(lines.firstIndex { $0.contains("└") })
        let plot = lines[..<axisRow].joined()
        #expect(!plot.contains("●") && !plot.contains("▲"))
        #expect(plot.filter { $0 == "◉" }.count == series.points.count)
        #expect(lines.last!.contains("◉ overlap"))
        let separate = LineChart.render(GoldenCases.accuracySeries, options: LineChartOptions(), style: Self.ascii)
        #expect(separate.contains("* logistic   o xgboost"))
    }

    @Test func referenceLineIsDrawnAndLabelled() {
        let chart = LineChart.render([GoldenCases.liveAccuracy], options: GoldenCases.liveOptions, style: Self.ascii)
        let lines = Self.lines(chart)
        let referenceRow = try! #require(lines.first { $0.hasPrefix("55% +") })
        #expect(referenceRow.filter { $0 == "=" }.count > 30)
        #expect(lines.last!.contains("== retrain threshold"))
    }

    @Test func referenceLineOutsideTheDataWidensTheFittedRange() {
        var options = LineChartOptions()
        options.yFormat = .percent
        options.referenceLine = (value: 0.55, label: "threshold")
        let low = ChartSeries(name: "low", points: (1...5).map { ChartPoint(x: Double($0), y: 0.40 + 0.01 * Double($0)) })
        let chart = LineChart.render([low], options: options, style: Self.unicode)
        #expect(chart.contains("┄┄┄┄"))
        #expect(chart.contains("55%"))
    }

    @Test func veryLargeValuesUseSuffixes() {
        let huge = ChartSeries(name: "cap", points: (0..<40).map { ChartPoint(x: Double($0), y: 2.5e12 + 1e10 * Double($0)) })
        let chart = LineChart.render([huge], options: LineChartOptions(), style: Self.unicode)
        #expect(chart.contains("T ┤"))
        #expect(Self.lines(chart).allSatisfy { TerminalText.displayWidth($0) <= 80 })
    }

    @Test func narrowWidthsDegradeWithoutOverflow() {
        for width in [1, 10, 20, 30, 39] {
            var options = GoldenCases.priceOptions
            options.width = width
            let chart = LineChart.render([GoldenCases.price], options: options, style: Self.unicode)
            // Below 20 columns the chart is drawn 20 wide: the documented minimum.
            for line in Self.lines(chart) { #expect(TerminalText.displayWidth(line) <= max(width, 20)) }
        }
    }
}

extension String {
    func trimmedSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

@Suite struct ExtremeValueTests {
    @Test func extremeMagnitudesDoNotCrash() {
        let extreme = [1e308, -1e308, .greatestFiniteMagnitude, 1, -.greatestFiniteMagnitude, 1e-300]
        let points = extreme.enumerated().map { ChartPoint(x: Double($0.offset), y: $0.element) }
        let wide = [ChartPoint(x: -1e308, y: 1), ChartPoint(x: 1e308, y: 2)]
        for axis in [XAxisKind.index, .time] {
            var options = LineChartOptions()
            options.xAxis = axis
            for style in [ChartStyle(), ChartStyle(unicode: false, color: true)] {
                let charts = [
                    LineChart.render([ChartSeries(name: "extreme", points: points)], options: options, style: style),
                    LineChart.render([ChartSeries(name: "wide", points: wide)], options: options, style: style),
                    LineChart.render([ChartSeries(name: "a", points: points), ChartSeries(name: "b", points: wide)], options: options, style: style),
                ]
                for chart in charts {
                    for line in chart.split(separator: "\n") { #expect(TerminalText.displayWidth(String(line)) <= 80) }
                }
            }
        }
        #expect(Sparkline.render(extreme, width: 10, style: ChartStyle()).count == 6)
        let bars = BarChart.render(extreme.map { ("v", $0) }, width: 60, style: ChartStyle(), valueFormat: .auto)
        #expect(bars.split(separator: "\n").count == 6)
    }
}

@Suite struct ReferenceLineLabel {
    @Test func theReferenceValueLabelsItsRowEvenWhereATickRoundsOntoIt() {
        var options = LineChartOptions()
        options.yRange = 0...1
        options.yFormat = .percent
        options.height = 12
        options.referenceLine = (0.55, "threshold")
        let series = ChartSeries(name: "accuracy", points: (1...10).map { ChartPoint(x: Double($0), y: 0.7) })
        let chart = LineChart.render([series], options: options, style: ChartStyle(unicode: true, color: false))
        #expect(chart.split(separator: "\n").contains { $0.hasPrefix(" 55% ┤┄") }, "\n\(chart)")
    }
}
