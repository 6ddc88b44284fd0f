import Foundation
import Charts

/// The charts pinned by golden files in Golden/, built from deterministic synthetic data.
enum GoldenCases {
    /// Golden file name (without extension) and the output it pins.
    static var all: [(name: String, output: String)] {
        [
            ("line-single-unicode", LineChart.render([price], options: priceOptions, style: ChartStyle())),
            ("line-single-ascii", LineChart.render([price], options: priceOptions, style: ChartStyle(unicode: false))),
            ("line-multi-unicode", LineChart.render(accuracySeries, options: accuracyOptions, style: ChartStyle())),
            ("line-multi-ascii", LineChart.render(accuracySeries, options: accuracyOptions, style: ChartStyle(unicode: false))),
            ("line-time-days", LineChart.render([dailyPrice], options: dailyOptions, style: ChartStyle())),
            ("line-percent-reference", LineChart.render([liveAccuracy], options: liveOptions, style: ChartStyle())),
            ("line-narrow-40", LineChart.render(accuracySeries, options: narrowOptions, style: ChartStyle())),
            ("sparkline-unicode", Sparkline.render(sparkValues, width: 40, style: ChartStyle())),
            ("sparkline-ascii", Sparkline.render(sparkValues, width: 40, style: ChartStyle(unicode: false))),
            ("bar-unicode", BarChart.render(importances, width: 60, style: ChartStyle(), valueFormat: .fixed(3))),
            ("bar-signed-ascii", BarChart.render(coefficients, width: 60, style: ChartStyle(unicode: false), valueFormat: .fixed(2))),
            ("table-unicode", TextTable.render(headers: tableHeaders, rows: tableRows, alignments: tableAlignments, style: ChartStyle())),
            ("table-ascii", TextTable.render(headers: tableHeaders, rows: tableRows, alignments: tableAlignments, style: ChartStyle(unicode: false))),
            ("heatmap-unicode", HeatMap.render(rows: heatRows, columns: heatColumns, values: heatValues, options: heatOptions, style: ChartStyle())),
            ("heatmap-ascii", HeatMap.render(rows: heatRows, columns: heatColumns, values: heatValues, options: heatOptions, style: ChartStyle(unicode: false))),
        ]
    }

    /// 2026-11-24 00:00:00 UTC.
    static let start = 1_795_478_400.0

    /// 120 hourly prices around 95k: a slow wave plus faster wiggles.
    static var price: ChartSeries {
        let points = (0..<120).map { i -> ChartPoint in
            let t = Double(i)
            return ChartPoint(x: start + t * 3600, y: 95_000 + 2_400 * sin(t / 14) + 700 * sin(t / 3.3) + 15 * t)
        }
        return ChartSeries(name: "BTC-USD", points: points)
    }

    static var priceOptions: LineChartOptions {
        var options = LineChartOptions()
        options.title = "BTC-USD, hourly close"
        options.yLabel = "USD"
        options.xAxis = .time
        return options
    }

    /// Accuracy of two models over 14 successive trainings.
    static var accuracySeries: [ChartSeries] {
        let logistic = (1...14).map { i -> ChartPoint in
            let t = Double(i)
            return ChartPoint(x: t, y: 0.53 + 0.02 * sin(t * 0.9) + 0.002 * t)
        }
        let xgboost = (1...14).map { i -> ChartPoint in
            let t = Double(i)
            return ChartPoint(x: t, y: 0.51 + 0.035 * sin(t * 0.6 + 1) + 0.003 * t)
        }
        return [ChartSeries(name: "logistic", points: logistic), ChartSeries(name: "xgboost", points: xgboost)]
    }

    static var accuracyOptions: LineChartOptions {
        var options = LineChartOptions()
        options.title = "Accuracy per training"
        options.yLabel = "accuracy"
        options.yFormat = .percent
        return options
    }

    static var narrowOptions: LineChartOptions {
        var options = accuracyOptions
        options.width = 40
        options.height = 8
        return options
    }

    /// 90 daily closes: a 400-day-style trend with weekly noise.
    static var dailyPrice: ChartSeries {
        let points = (0..<90).map { i -> ChartPoint in
            let t = Double(i)
            return ChartPoint(x: start - 89 * 86_400 + t * 86_400, y: 180 + 0.35 * t + 6 * sin(t / 5) + 2.5 * sin(t * 1.7))
        }
        return ChartSeries(name: "AAPL", points: points)
    }

    static var dailyOptions: LineChartOptions {
        var options = LineChartOptions()
        options.title = "AAPL, daily close"
        options.yLabel = "USD"
        options.xAxis = .time
        options.height = 10
        return options
    }

    /// Rolling accuracy of scored live predictions over two days, against the 55% threshold.
    static var liveAccuracy: ChartSeries {
        let points = (0..<48).map { i -> ChartPoint in
            let t = Double(i)
            return ChartPoint(x: start + t * 3600, y: 0.56 + 0.06 * sin(t / 7) - 0.0015 * t)
        }
        return ChartSeries(name: "rolling accuracy (24 predictions)", points: points)
    }

    static var liveOptions: LineChartOptions {
        var options = LineChartOptions()
        options.title = "Live prediction accuracy"
        options.yFormat = .percent
        options.yRange = 0.4...0.7
        options.xAxis = .time
        options.referenceLine = (value: 0.55, label: "retrain threshold")
        return options
    }

    static var sparkValues: [Double] {
        (0..<100).map { i -> Double in
            let t = Double(i)
            return 100 + 10 * sin(t / 9) + 3 * sin(t / 2.1)
        }
    }

    static let importances: [(label: String, value: Double)] = [
        ("return_1h", 0.241), ("rsi_14", 0.187), ("volatility_24h", 0.153),
        ("momentum_12h", 0.098), ("volume_zscore_24h", 0.061), ("hour_of_day", 0.0125),
    ]

    static let coefficients: [(label: String, value: Double)] = [
        ("return_1h", 0.84), ("rsi_14", -0.52), ("volatility_24h", 0.31), ("momentum_12h", -0.07), ("bias", 0.0),
    ]

    static let tableHeaders = ["model", "trainings", "accuracy", "trend"]
    static let tableRows = [
        ["logistic", "14", "55.8%", "▃▄▆▇▆▄▅▇█"],
        ["xgboost", "14", "57.1%", "▂▃▅▆▇█▇▆▅"],
        ["lstm", "3", "51.2%", "▄▁█"],
    ]
    static let tableAlignments: [TextTable.Alignment] = [.left, .right, .right, .left]
}
