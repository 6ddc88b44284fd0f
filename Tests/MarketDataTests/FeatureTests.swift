import Foundation
import Testing
@testable import MarketData

@Suite("Features and dataset")
struct FeatureTests {
    static let end: TimeInterval = 1_700_000_000

    /// `count` daily bars of a deterministic zig-zag walk around 100 (price-only, no volume).
    static func dailySeries(count: Int) -> PriceSeries {
        var price = 100.0
        let bars = (0..<count).map { i -> Bar in
            price *= 1 + 0.01 * sin(Double(i) * 1.7) + 0.002
            return Bar(time: 1_600_000_000 + Double(i) * 86_400, price: price)
        }
        return PriceSeries(symbol: "TEST", source: "csv:test.csv", bars: bars)
    }

    @Test func columnsAndShape() throws {
        let series = try DemoMarket.generate(days: 5, endingAt: Self.end)
        let m = FeatureBuilder.features(for: series)
        #expect(m.names == FeatureBuilder.names)
        #expect(m.cols == 19)
        #expect(m.rows == series.count - FeatureBuilder.warmup)
        #expect(m.values.count == m.rows * m.cols)
        #expect(m.barIndices == Array(FeatureBuilder.warmup..<series.count))
        #expect(m.times == series.bars[FeatureBuilder.warmup...].map(\.time))
        #expect(Array(m.row(3)) == (0..<m.cols).map { m[3, $0] })
    }

    @Test func tooShortSeriesGivesNoRows() {
        let m = FeatureBuilder.features(for: Self.dailySeries(count: FeatureBuilder.warmup))
        #expect(m.rows == 0)
        #expect(m.values.isEmpty)
        #expect(m.cols == 19)
    }

    @Test func columnValuesFollowTheirDefinitions() throws {
        let series = try DemoMarket.generate(days: 10, endingAt: Self.end)
        let m = FeatureBuilder.features(for: series)
        let closes = series.closes
        let column = { (name: String) in FeatureBuilder.names.firstIndex(of: name)! }
        let sma7 = Indicators.sma(closes, period: 7)
        let rsi = Indicators.rsi(closes)
        for r in [0, 17, m.rows - 1] {
            let t = m.barIndices[r]
            #expect(m[r, column("return_1")] == closes[t] / closes[t - 1] - 1)
            #expect(m[r, column("return_24")] == closes[t] / closes[t - 24] - 1)
            #expect(m[r, column("sma_7_ratio")] == closes[t] / sma7[t] - 1)
            #expect(m[r, column("rsi_14")] == rsi[t] / 100)
            #expect(m[r, column("quarter_end")] == (Indicators.isQuarterEnd(series.bars[t].time) ? 1 : 0))
            let support = series.bars[max(0, t - 47)...t].map(\.low).min()!
            #expect(m[r, column("support_48")] == closes[t] / support - 1)
            let volumes = series.bars[(t - 19)...t].map(\.volume)
            let meanVolume = volumes.reduce(0, +) / 20
            #expect(abs(m[r, column("volume_ratio")] - series.bars[t].volume / meanVolume) <= 1e-12 * m[r, column("volume_ratio")])
        }
    }

    /// The value of every column at bar t must not change when bars after t are added.
    @Test func featuresAreCausal() throws {
        let series = try DemoMarket.generate(days: 17, endingAt: Self.end)  // 408 bars
        let full = FeatureBuilder.features(for: series)
        for t in FeatureBuilder.warmup..<series.count {
            let partial = FeatureBuilder.features(for: series.prefix(through: t))
            let last = partial.rows - 1
            #expect(partial.barIndices[last] == t)
            let fullRow = t - FeatureBuilder.warmup
            #expect(full.barIndices[fullRow] == t)
            for c in 0..<full.cols where partial[last, c] != full[fullRow, c] {
                Issue.record("bar \(t), column \(full.names[c]): \(partial[last, c]) with the prefix vs \(full[fullRow, c]) with the full series")
            }
        }
    }

    @Test func labelsAreNextBarUpAndSplitIsChronological() throws {
        let series = try DemoMarket.generate(days: 20, endingAt: Self.end)
        let data = try Dataset.make(from: series)
        let m = data.features
        #expect(data.labels.count == m.rows - 1)
        #expect(m.barIndices.last == series.count - 1)  // the latest bar has a row but no label
        for r in 0..<data.labels.count {
            let t = m.barIndices[r]
            #expect(data.labels[r] == (series.bars[t + 1].close > series.bars[t].close ? 1 : 0))
        }
        #expect(data.trainCount == Int((Double(data.labels.count) * 0.8).rounded(.down)))
        #expect(data.trainCount + data.testCount == data.labels.count)
        let lastTrainTime = m.times[data.trainCount - 1]
        let firstTestTime = m.times[data.trainCount]
        #expect(lastTrainTime < firstTestTime)
        #expect(zip(m.times, m.times.dropFirst()).allSatisfy { $0 < $1 })
        // Both classes occur, so the labels are not a constant.
        #expect(Set(data.labels) == [0, 1])
    }

    @Test func hundredDailyRowsGiveSixtyFifteenSplit() throws {
        let data = try Dataset.make(from: Self.dailySeries(count: 100))
        #expect(data.features.rows == 76)
        #expect(data.labels.count == 75)
        #expect(data.trainCount == 60)
        #expect(data.testCount == 15)
    }

    @Test func smallestAcceptedSeries() throws {
        let data = try Dataset.make(from: Self.dailySeries(count: 55))
        #expect(data.labels.count == 30)
        #expect(data.trainCount == 24)
        #expect(data.testCount == 6)
    }

    @Test func tooFewRowsThrows() {
        #expect(throws: MarketDataError.tooFewRows(have: 54, need: 55)) {
            try Dataset.make(from: Self.dailySeries(count: 54))
        }
        #expect(throws: MarketDataError.tooFewRows(have: 10, need: 35)) {
            try Dataset.make(from: Self.dailySeries(count: 10), minimumRows: 10)
        }
        // Even with no minimum, a train and a test row are needed.
        #expect(throws: MarketDataError.tooFewRows(have: 26, need: 27)) {
            try Dataset.make(from: Self.dailySeries(count: 26), minimumRows: 0)
        }
    }

    @Test func splitKeepsOneRowOnEachSide() throws {
        let tiny = try Dataset.make(from: Self.dailySeries(count: 27), minimumRows: 2)
        #expect(tiny.labels.count == 2)
        #expect(tiny.trainCount == 1)
        #expect(tiny.testCount == 1)
        let mostlyTest = try Dataset.make(from: Self.dailySeries(count: 100), testFraction: 0.999)
        #expect(mostlyTest.trainCount == 1)
        let mostlyTrain = try Dataset.make(from: Self.dailySeries(count: 100), testFraction: 0.001)
        #expect(mostlyTrain.testCount == 1)
    }

    @Test(arguments: [0.0, 1.0, -0.5, Double.nan])
    func invalidTestFractionThrows(fraction: Double) {
        #expect(throws: MarketDataError.self) {
            try Dataset.make(from: Self.dailySeries(count: 100), testFraction: fraction)
        }
    }

    @Test func featuresAreFiniteForOrdinaryData() throws {
        let demo = try DemoMarket.generate(days: 60, endingAt: Self.end)
        var noVolume = demo
        for i in noVolume.bars.indices { noVolume.bars[i].volume = 0 }
        var someZeroVolume = demo
        for i in someZeroVolume.bars.indices where i % 40 < 25 { someZeroVolume.bars[i].volume = 0 }
        let flat = PriceSeries(symbol: "FLAT", source: "csv:flat.csv",
                               bars: (0..<200).map { Bar(time: Double($0) * 3600, price: 0.1) })
        for series in [demo, noVolume, someZeroVolume, flat, Self.dailySeries(count: 300)] {
            let m = FeatureBuilder.features(for: series)
            #expect(m.rows > 0)
            #expect(m.values.allSatisfy { $0.isFinite }, "\(series.symbol)")
        }
    }

    @Test func degenerateInputsGiveNeutralValues() {
        let flat = PriceSeries(symbol: "FLAT", source: "csv:flat.csv",
                               bars: (0..<60).map { Bar(time: Double($0) * 3600, price: 0.1) })
        let m = FeatureBuilder.features(for: flat)
        let column = { (name: String) in FeatureBuilder.names.firstIndex(of: name)! }
        for r in 0..<m.rows {
            #expect(m[r, column("bb_position")] == 0.5)
            #expect(m[r, column("bb_width")] == 0)
            #expect(m[r, column("rsi_14")] == 0.5)
            #expect(m[r, column("volume_ratio")] == 1)
            #expect(m[r, column("volatility_24")] == 0)
            #expect(m[r, column("return_1")] == 0)
        }
    }
}
