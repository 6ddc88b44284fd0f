import FeedbackLoop
import Foundation
import Learning
import MarketData
import Testing

/// A demo market under another symbol: a second asset with its own bars.
func asset(_ symbol: String, seed: UInt64, days: Int = 30, endingAt end: TimeInterval = fixedNow) throws -> PriceSeries {
    PriceSeries(symbol: symbol, source: "demo", bars: try DemoMarket.generate(days: days, seed: seed, endingAt: end).bars)
}

/// Several assets in one loop: each its own models, versions, tier clocks, triggers and log.
@Suite struct MultiAsset {
    @Test func anotherSymbolIsANewAssetAndTheSameSymbolRefreshesIt() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        engine.load(try asset("ETHUSDT", seed: 7))
        #expect(engine.assetNames == ["DEMO", "ETHUSDT"])
        #expect(engine.focus == 1)
        #expect(engine.models.isEmpty, "a new market never inherits another's models")
        #expect(engine.config.lstm.epochs == 2, "settings are the session's")
        // The same symbol again refreshes that asset, models kept.
        engine.load(try DemoMarket.generate(days: 31, endingAt: fixedNow + 86_400))
        #expect(engine.assets.count == 2)
        #expect(engine.focus == 0)
        #expect(engine.models[.logistic]?.record.version == 1)
        #expect(engine.series?.count == 31 * 24)
        #expect(engine.asset(named: "ethusdt") == 1)
        #expect(engine.asset(named: "SOLUSDT") == nil)
        // Every change is kept with the asset it changed.
        #expect(engine.unstoredChanges.contains { $0.asset == 1 })
        #expect(engine.unstoredChanges.filter { if case .dataLoaded = $0.change { true } else { false } }.map(\.asset) == [0, 1, 0])
    }

    @Test func aTriggerOnOneAssetDoesNotRetrainAnother() throws {
        let engine = try makeEngine()
        engine.load(try asset("ETHUSDT", seed: 7))
        for index in engine.assets.indices { try engine.withAsset(index) { try engine.train(Tier.all[0]) } }
        try engine.setConfig("evaluation_window", "5")
        // Asset 0 predicts wrong five times: its performance trigger fires.
        try engine.withAsset(0) {
            for _ in 0..<5 { try engine.logOutcome(actual: .sell, predicted: .buy) }
        }
        let tier1 = Tier.all[0]
        let due0 = engine.withAsset(0) { engine.decision(for: tier1) }
        let due1 = engine.withAsset(1) { engine.decision(for: tier1) }
        #expect(due0.due)
        #expect(!due1.due, "asset 1's log is its own: \(due1.reason)")
        let other = engine.withAsset(1) { engine.cycle(tiers: [1]) }
        #expect(other.status == .noAction)
        let own = engine.withAsset(0) { engine.cycle(tiers: [1]) }
        #expect(own.status == .success)
        #expect(engine.assets[0].versions[.logistic] == 2)
        #expect(engine.assets[1].versions[.logistic] == 1, "the other asset did not retrain")
        #expect(engine.assets[1].log.totalLogged == 0)
    }

    @Test func settingsAndTheClockAreEveryAssets() throws {
        let engine = try makeEngine()
        engine.load(try asset("ETHUSDT", seed: 7))
        engine.discardUnstoredChanges()
        try engine.setConfig("tier1_interval", "2h")
        try engine.advance(by: 3600)
        for state in engine.assets {
            #expect(state.config.tier1Interval == 7200)
            #expect(state.clockOffset == 3600)
        }
        // Kept once, with the focused asset.
        #expect(engine.unstoredChanges.filter { if case .configChanged = $0.change { true } else { false } }.count == 1)
    }

    @Test func poolingRefusesAssetsOfAnotherInterval() throws {
        let hourly = try asset("DAILY", seed: 3, days: 400)
        // Daily bars: every 24th hourly bar.
        let daily = PriceSeries(symbol: "DAILY", source: "demo",
                                bars: stride(from: 23, to: hourly.count, by: 24).map { hourly.bars[$0] })
        // Set while both are loaded: refused at once, naming both; nothing changes.
        let engine = try makeEngine()
        engine.load(daily)
        engine.setFocus(0)
        #expect(throws: LoopError.poolIntervalsDiffer(asset: "DEMO", interval: 3600, other: "DAILY", otherInterval: 86_400)) {
            try engine.setConfig("training_pool", "all")
        }
        #expect(engine.config.trainingPool == .own)
        // Set before the other interval was loaded: refused at the training, and nothing is trained.
        let late = try makeEngine()
        try late.setConfig("training_pool", "all")
        late.load(daily)
        late.setFocus(0)
        do {
            try late.train(Tier.all[0])
            Issue.record("a pooled training over two intervals ran")
        } catch LoopError.poolIntervalsDiffer(let own, _, let other, _) {
            #expect(own == "DEMO" && other == "DAILY")
        }
        #expect(late.models.isEmpty, "nothing trained")
        try late.setConfig("training_pool", "self")
        try late.train(Tier.all[0])
        #expect(late.models[.logistic] != nil)
    }

    @Test func pooledTrainingUsesTheOtherAssetsRows() throws {
        let engine = try makeEngine()
        engine.load(try asset("ETHUSDT", seed: 7))
        engine.setFocus(0)
        let own = try engine.train(Tier.all[0]).records[0]
        try engine.setConfig("training_pool", "all")
        let pooled = try engine.train(Tier.all[0]).records[0]
        #expect(pooled.testRows == own.testRows, "the test stays the asset's own rows")
        #expect(pooled.trainRows > own.trainRows)
        // ETHUSDT's rows up to DEMO's first test bar: its bars are at the same hours.
        let dataset = try Dataset.make(from: try #require(engine.series))
        let rows = PooledRows([PooledSource(series: engine.assets[1].series!)], labelledBy: dataset.testStart).rows
        #expect(pooled.trainRows == own.trainRows + rows)
    }
}

/// `training_pool all` never trains on a row of another asset that is later than the asset's test rows.
@Suite struct PooledCut {
    @Test func noPooledRowIsLabelledAfterTheFirstTestBar() throws {
        let own = try asset("BTCUSDT", seed: 1, days: 30)
        // The other asset runs ten days past the asset's own end.
        let other = try asset("ETHUSDT", seed: 2, days: 40, endingAt: fixedNow + 10 * 86_400)
        let dataset = try Dataset.make(from: own).pooled(with: [PooledSource(series: other)])
        let pool = try #require(dataset.pool)
        #expect(pool.labelTimes.allSatisfy { $0 <= dataset.testStart })
        // Exactly the rows whose next bar closed by the first test bar: counted here independently.
        let features = FeatureBuilder.features(for: other)
        let expected = (0..<features.rows).filter { row in
            let t = features.barIndices[row]
            return t + 1 < other.count && other.bars[t + 1].time <= dataset.testStart
        }.count
        #expect(pool.rows == expected)
        #expect(pool.rows > 100)
    }

    /// Planted rows: the other asset's bars after the cut are replaced by a wild pattern. If any row after the cut
    /// reached the training, the fitted model would change; it must not change at all.
    @Test func plantedRowsAfterTheCutChangeNothing() throws {
        let own = try asset("BTCUSDT", seed: 1, days: 30)
        let other = try asset("ETHUSDT", seed: 2, days: 40, endingAt: fixedNow + 10 * 86_400)
        let base = try Dataset.make(from: own)
        var planted = other.bars
        for index in planted.indices where planted[index].time > base.testStart {
            let bar = planted[index]
            let close = index % 2 == 0 ? bar.close * 3 : bar.close / 3
            planted[index] = Bar(time: bar.time, open: bar.open, high: max(bar.high, close) * 1.5, low: min(bar.low, close) / 1.5,
                                 close: close, volume: bar.volume * 50)
        }
        let plantedSeries = PriceSeries(symbol: other.symbol, source: other.source, bars: planted)
        let clean = base.pooled(with: [PooledSource(series: other)])
        let dirty = base.pooled(with: [PooledSource(series: plantedSeries)])
        #expect(clean.pool == dirty.pool)
        let config = LoopConfig()
        let a = try ModelTrainer.fit(.logistic, dataset: clean, series: own, config: config)
        let b = try ModelTrainer.fit(.logistic, dataset: dirty, series: own, config: config)
        #expect(a.accuracy == b.accuracy && a.trainRows == b.trainRows)
        let row = base.trainCount
        #expect(try a.model.probabilityUp(series: own, features: base.features, row: row)
                == b.model.probabilityUp(series: own, features: base.features, row: row))
        // A cut one day later would take planted rows: the same comparison then differs (the test can fail).
        let late = PooledRows([PooledSource(series: plantedSeries)], labelledBy: base.testStart + 86_400)
        let lateClean = PooledRows([PooledSource(series: other)], labelledBy: base.testStart + 86_400)
        #expect(late != lateClean)
    }
}

/// The comparison over all assets: paired per asset, averaged per bar time, bootstrapped in time.
@Suite struct PanelComparison {
    static func steps(_ calls: [Signal], returns: [Double], start: TimeInterval = 1_700_000_000) throws -> [ScoredStep] {
        try zip(calls, returns).enumerated().map { index, pair in
            let (signal, realised) = pair
            return try ScoredStep(signal: signal, probabilityUp: signal == .buy ? 0.7 : 0.3, realisedReturn: realised,
                                  outcome: realised > 0 ? .buy : .sell, barTime: start + Double(index) * 3600)
        }
    }

    @Test func aBetterPolicyOnEveryAssetIsSignificantlyBetterOverAll() throws {
        var assets: [(a: [ScoredStep], b: [ScoredStep])] = []
        for seed in 1...3 {
            let returns = (0..<300).map { index in ((index * 7 + seed * 13) % 11) < 5 ? -0.01 : 0.01 }
            let right = returns.map { $0 > 0 ? Signal.buy : .sell }
            // B is right one time in three.
            let mixed = returns.enumerated().map { $0.offset % 3 == 0 ? ($0.element > 0 ? Signal.buy : .sell) : ($0.element > 0 ? .sell : .buy) }
            assets.append((try Self.steps(right, returns: returns), try Self.steps(mixed, returns: returns)))
        }
        let comparisons = ReplayAnalysis.comparePanel("pool=all", "pool=self", assets: assets)
        let accuracy = try #require(comparisons.first { $0.metric == .accuracy })
        #expect(accuracy.interval.n == 300, "one averaged difference per bar time, not per asset step")
        #expect(abs((accuracy.interval.mean ?? 0) - 2.0 / 3.0) < 0.01)
        #expect(accuracy.interval.significant)
        #expect(!accuracy.identical)
        // The same runs compared with themselves: identical, no difference.
        let same = ReplayAnalysis.comparePanel("a", "b", assets: assets.map { ($0.a, $0.a) })
        #expect(same.first { $0.metric == .accuracy }?.identical == true)
        #expect(same.first { $0.metric == .accuracy }?.interval.significant == false)
    }
}
