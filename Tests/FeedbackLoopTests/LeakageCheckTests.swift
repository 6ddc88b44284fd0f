import Foundation
import MarketData
import Testing
@testable import FeedbackLoop

/// `check lookahead` and `check warmup`: a planted leak is found and named; the real features and models are clean.
@Suite struct LeakageCheckTests {
    static let series: PriceSeries = try! DemoMarket.generate(days: 20, endingAt: fixedNow)

    /// The real features plus one column that peeks at the next bar's close: a textbook leak.
    static func leakingFeatures(_ series: PriceSeries) -> FeatureMatrix {
        let real = FeatureBuilder.features(for: series)
        var values: [Double] = []
        values.reserveCapacity(real.rows * (real.cols + 1))
        for row in 0..<real.rows {
            values += real.row(row)
            let bar = real.barIndices[row]
            values.append(bar + 1 < series.count ? series.bars[bar + 1].close / series.bars[bar].close - 1 : .nan)
        }
        return FeatureMatrix(names: real.names + ["next_return"], barIndices: real.barIndices, times: real.times, values: values)
    }

    /// A model whose P(up) looks at the bar after the row's: it "knows" the answer.
    struct ClairvoyantModel: TrainedModel {
        var kind: ModelKind { .lstm }
        func probabilityUp(series: PriceSeries, features: FeatureMatrix, row: Int) -> Double {
            let bar = features.barIndices[row]
            guard bar + 1 < series.count else { return 0.5 }
            return series.bars[bar + 1].close > series.bars[bar].close ? 0.9 : 0.1
        }
    }

    @Test func theRealFeaturesAndATrainedModelShowNoLookahead() throws {
        let dataset = try Dataset.make(from: Self.series)
        let logistic = try ModelTrainer.fit(.logistic, dataset: dataset, series: Self.series, config: LoopConfig()).model
        let report = try LeakageCheck.lookahead(series: Self.series, models: [logistic], samples: 25)
        #expect(report.differences.isEmpty, "\(report.differences)")
        #expect(report.sampleTimes.count == 25)
        #expect(report.featuresChecked == FeatureBuilder.names.count)
        #expect(report.modelsChecked == [.logistic])
    }

    @Test func aFeatureThatPeeksAtTheNextBarIsFoundAndNamed() throws {
        let report = try LeakageCheck.lookahead(series: Self.series, models: [], samples: 20,
                                                features: Self.leakingFeatures)
        #expect(report.differences.map(\.subject) == [.feature("next_return")])
        let leak = try #require(report.differences.first)
        // At every cut the next bar is gone: the full series has a return, the cut one NaN.
        #expect(leak.bars == 20)
        #expect(leak.largest == .infinity)
        #expect(leak.firstBarTime == report.sampleTimes.first)
    }

    @Test func aModelThatReadsTheFutureIsFoundEvenOnCleanFeatures() throws {
        let report = try LeakageCheck.lookahead(series: Self.series, models: [ClairvoyantModel()], samples: 30)
        #expect(report.differences.map(\.subject) == [.model(.lstm)])
        #expect((report.differences.first?.bars ?? 0) > 0)
        #expect((report.differences.first?.largest ?? 0) == 0.4, "0.9 or 0.1 with the next bar, 0.5 without")
    }

    @Test func samplesSpreadOverTheSeriesAndNeverCutAtItsEnd() {
        #expect(LeakageCheck.sampleRows(rows: 100, samples: 5) == [0, 25, 49, 74, 98])
        #expect(LeakageCheck.sampleRows(rows: 100, samples: 1) == [98])
        #expect(LeakageCheck.sampleRows(rows: 4, samples: 10) == [0, 1, 2])
        #expect(LeakageCheck.sampleRows(rows: 1, samples: 10).isEmpty)
    }

    @Test func tooLittleDataIsATypedError() throws {
        let tiny = PriceSeries(symbol: "X", source: "test", bars: Array(Self.series.bars.prefix(FeatureBuilder.warmup + 1)))
        #expect(throws: LeakageCheck.CheckError.tooLittleData(rows: 1)) {
            try LeakageCheck.lookahead(series: tiny, models: [], samples: 5)
        }
    }

    @Test func warmupMeasuresEachFeaturesMemory() throws {
        let report = try LeakageCheck.warmup(series: Self.series, samples: 4)
        let bars = Dictionary(uniqueKeysWithValues: report.features.map { ($0.name, $0.bars) })
        // An expanding mean over at most 99 bars settles exactly when it has 99.
        #expect(bars["sma_99_ratio"] == 99)
        // Short windows need no more than the fewest bars that give a row at all.
        #expect(bars["sma_7_ratio"] == report.shortestWindow)
        #expect(bars["return_1"] == report.shortestWindow)
        // An EMA never forgets: at 1e-9 a 26-bar EMA needs hundreds of bars, more than a 12-bar one.
        let ema26 = try #require(bars["ema_26_ratio"] ?? nil)
        let ema12 = try #require(bars["ema_12_ratio"] ?? nil)
        #expect(ema26 > ema12 && ema26 > 150)
        #expect(report.sampleTimes.count == 4)
    }

    @Test func aFeatureWithUnboundedMemoryNeverSettles() throws {
        // Cumulative return since the first bar: every earlier bar changes it.
        let cumulative: LeakageCheck.Features = { series in
            let real = FeatureBuilder.features(for: series)
            let values = real.barIndices.map { series.bars[$0].close / series.bars[0].close }
            return FeatureMatrix(names: ["since_start"], barIndices: real.barIndices, times: real.times, values: values)
        }
        let report = try LeakageCheck.warmup(series: Self.series, samples: 3, features: cumulative)
        #expect(report.features == [.init(name: "since_start", bars: nil)])
    }
}
