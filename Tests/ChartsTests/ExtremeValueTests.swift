import Testing
@testable import Charts

/// Charts draw any finite series without trapping (issue 11: a close of 1e308 crashed the sparkline).
@Suite struct ChartsOfExtremeValues {
    static let greatest = Double.greatestFiniteMagnitude

    /// Finite series at the edges of Double: huge, tiny, mixed-sign, constant, subnormal.
    static let series: [[Double]] = [
        [1e308, 1e308, 1e308],
        [100, 1e308, 100],
        [greatest, -greatest],
        [-greatest, greatest, -greatest, greatest],
        [greatest, greatest],
        [1e-320, 0, -1e-320],
        [5e-324, 1e-323],
        [42],
        [7, 7, 7, 7],
        [0, 0],
        [1, 1 + 1e-15, 1 - 1e-15],
        Array(repeating: 1e12, count: 500) + [1e-12],
    ]

    @Test(arguments: series)
    func sparklineDrawsEveryFiniteSeries(values: [Double]) {
        for width in [1, 3, 60] {
            for style in [ChartStyle(), ChartStyle(unicode: false)] {
                let line = Sparkline.render(values, width: width, style: style)
                #expect(line.unicodeScalars.count <= width)
            }
        }
    }

    @Test func sparklineOfAHugeCloseStillShowsTheJump() {
        #expect(Sparkline.render([100, 1e308, 100], width: 3, style: ChartStyle()) == "▁█▁")
    }

    @Test(arguments: series)
    func lineChartDrawsEveryFiniteSeriesOverAnyXRange(values: [Double]) {
        let spans: [(Double, Double)] = [(0, 1), (-Self.greatest, Self.greatest), (1e300, 1e300 + 1e285), (0, 7_258_118_399)]
        for (start, end) in spans {
            let points = values.enumerated().map { index, value in
                let t = values.count == 1 ? 0 : Double(index) / Double(values.count - 1)
                return ChartPoint(x: start * (1 - t) + end * t, y: value)
            }
            for axis in [XAxisKind.index, .time] {
                var options = LineChartOptions()
                options.xAxis = axis
                let chart = LineChart.render([ChartSeries(name: "s", points: points)], options: options, style: ChartStyle())
                #expect(!chart.isEmpty)
                let two = LineChart.render([ChartSeries(name: "a", points: points), ChartSeries(name: "b", points: points.reversed().map { ChartPoint(x: $0.x, y: -$0.y) })],
                                           options: options, style: ChartStyle(unicode: false))
                #expect(!two.isEmpty)
            }
        }
    }

    @Test(arguments: series)
    func barChartDrawsEveryFiniteSeries(values: [Double]) {
        let items = values.enumerated().map { (label: "m\($0.offset)", value: $0.element) }
        for format in [YFormat.auto, .percent, .fixed(2)] {
            #expect(!BarChart.render(items, width: 60, style: ChartStyle(), valueFormat: format).isEmpty)
        }
    }
}
