import Testing
@testable import Charts

@Suite struct SparklineTests {
    @Test func scalesToOwnRange() {
        #expect(Sparkline.render([1, 2, 3, 4, 5, 6, 7, 8], width: 20, style: ChartStyle()) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.render([1, 2, 3, 4, 5, 6, 7, 8], width: 20, style: ChartStyle(unicode: false)) == " .-:=+*#")
        #expect(Sparkline.render([1000, 1001], width: 5, style: ChartStyle()) == "▁█")
    }

    @Test func resamplesWithBucketMeans() {
        // Buckets of two: means 1, 4, 9 -> levels 0, 2.6 (rounds to 3), 7.
        #expect(Sparkline.render([0, 2, 3, 5, 8, 10], width: 3, style: ChartStyle()) == "▁▄█")
        #expect(Sparkline.render(GoldenCases.sparkValues, width: 17, style: ChartStyle()).count == 17)
    }

    @Test func degenerateInputs() {
        #expect(Sparkline.render([], width: 10, style: ChartStyle()) == "")
        #expect(Sparkline.render([1, 2], width: 0, style: ChartStyle()) == "")
        #expect(Sparkline.render([.nan, .nan], width: 10, style: ChartStyle()) == "")
        #expect(Sparkline.render([3, 3, 3], width: 10, style: ChartStyle()) == "▄▄▄")
        #expect(Sparkline.render([1, .nan, 3], width: 10, style: ChartStyle()) == "▁ █")
        #expect(Sparkline.render([1, 3], width: 10, style: ChartStyle(color: true)) == "\u{1B}[36m▁█\u{1B}[0m")
    }
}

@Suite struct BarChartTests {
    @Test(arguments: Array(40...160))
    func fitsWidth(width: Int) {
        for style in [ChartStyle(), ChartStyle(unicode: false), ChartStyle(color: true)] {
            for items in [GoldenCases.importances, GoldenCases.coefficients] {
                let chart = BarChart.render(items, width: width, style: style, valueFormat: .auto)
                for line in chart.split(separator: "\n") {
                    #expect(TerminalText.displayWidth(String(line)) <= width)
                    #expect(!line.hasSuffix(" "))
                }
            }
        }
    }

    @Test func largestValueFillsTheBarAndSmallOnesStayVisible() {
        let chart = BarChart.render([("a", 100), ("b", 0.5), ("c", 0)], width: 30, style: ChartStyle(unicode: false), valueFormat: .fixed(1))
        let lines = chart.split(separator: "\n").map(String.init)
        // 30 columns = label 1 + gap 2 + bar 20 + gap 2 + value 5.
        #expect(lines[0] == "a  " + String(repeating: "#", count: 20) + "  100.0")
        #expect(lines[1] == "b  #" + String(repeating: " ", count: 19) + "    0.5")
        #expect(lines[2] == "c  " + String(repeating: " ", count: 20) + "    0.0")
    }

    @Test func degenerateInputs() {
        #expect(BarChart.render([], width: 60, style: ChartStyle(), valueFormat: .auto) == LineChart.noDataMessage)
        let chart = BarChart.render([("nan", .nan), ("zero", 0)], width: 40, style: ChartStyle(), valueFormat: .auto)
        // No bars, values still right-aligned at the edge.
        #expect(chart == "nan" + String(repeating: " ", count: 34) + "nan\nzero" + String(repeating: " ", count: 35) + "0")
    }
}

@Suite struct TextTableTests {
    @Test func measuresVisibleCells() {
        let red = "\u{1B}[31mdown\u{1B}[0m"
        let table = TextTable.render(headers: ["model", "move"], rows: [["logistic", red], ["日本", "up"]], alignments: [.left, .right], style: ChartStyle(unicode: false))
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines[0] == "model     move")
        #expect(lines[1] == "--------  ----")
        #expect(lines[2] == "logistic  \(red)")
        #expect(lines[3] == "日本        up")
    }

    @Test func raggedRowsAndMissingAlignments() {
        let table = TextTable.render(headers: ["a"], rows: [["1", "22"], []], alignments: [], style: ChartStyle())
        #expect(table == "a\n─  ──\n1  22\n")
    }

    @Test func displayWidth() {
        #expect(TerminalText.displayWidth("\u{1B}[1;36mabc\u{1B}[0m") == 3)
        #expect(TerminalText.displayWidth("日本") == 4)
        #expect(TerminalText.displayWidth("e\u{301}") == 1)
        #expect(TerminalText.displayWidth("╭─╮ ▁█ ●") == 8)
    }
}
