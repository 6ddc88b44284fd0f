import FeedbackLoop
import Foundation
import MarketData
import Testing

/// An hourly market whose next move keeps the current one's direction with probability 0.85 before bar `change`
/// (momentum) and reverses it with probability 0.85 from then on (mean reversion); sizes 0.3–1 %, seeded.
func regimeChangeMarket(bars count: Int, change: Int, seed: UInt64 = 7) -> PriceSeries {
    var random = SplitMix64(seed: seed)
    func uniform() -> Double { (Double(random.next() >> 11) + 0.5) / 9_007_199_254_740_992 }
    func gaussian() -> Double { (-2 * Foundation.log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()) }
    var bars: [Bar] = []
    var close = 100.0, direction = 1.0
    for index in 0..<count {
        let keep = uniform() < (index < change ? 0.85 : 0.15)
        if !keep { direction = -direction }
        let open = close
        close *= 1 + direction * 0.003 * (1 + min(2, abs(gaussian())))
        bars.append(Bar(time: 1_700_000_000 + Double(index) * 3600, open: open, high: max(open, close) * 1.001,
                        low: min(open, close) * 0.999, close: close, volume: 1000))
    }
    return PriceSeries(symbol: "REGIME", source: "test", bars: bars)
}

@Suite struct ReplayRegimeChange {
    static let change = 260

    /// Tier 1 only, its interval far beyond the replay: only the performance (or drift) trigger can retrain.
    func engine(detector: String = "off") throws -> LoopEngine {
        let engine = LoopEngine(clock: LoopClock { 1_800_000_000 })
        engine.load(regimeChangeMarket(bars: 1000, change: Self.change))
        try engine.setConfig("tier1_interval", "3650d")
        try engine.setConfig("performance_threshold", detector == "off" ? "0.4" : "0")
        try engine.setConfig("drift_detector", detector)
        // Page–Hinkley's default (3 errors) fires on the odd run of errors a 0.85-accurate model makes.
        try engine.setConfig("drift.lambda", "6")
        return engine
    }

    func accuracyAfterChange(_ loop: ReplayedLoop, series: PriceSeries) -> Double {
        let changeTime = series.bars[Self.change].time
        let after = loop.log.entries.filter { ($0.prediction?.barTime ?? 0) >= changeTime }
        return Double(after.filter(\.correct).count) / Double(after.count)
    }

    @Test(arguments: ["off", "page_hinkley"])
    func theTriggerRetrainsAfterTheChangeAndBeatsNeverRetraining(detector: String) throws {
        let engine = try engine(detector: detector)
        let series = engine.series!
        let runs = [ReplayPolicy.triggers, .never].map { ReplayRun(policy: $0, configuration: engine.config) }
        let results = try engine.replay(runs, from: 200, stepBars: 1, tiers: [1])
        let (triggers, triggersLoop) = results[0], (_, neverLoop) = results[1]
        let cause: RetrainCause = detector == "off" ? .performanceBelowThreshold : .driftDetected
        let changeTime = series.bars[Self.change].time
        let retrains = triggersLoop.history.map(\.time)
        // The first training at the start, then nothing until the regime changes.
        #expect(triggers.retrains[1]?[.neverTrained] == 1)
        #expect((triggers.retrains[1]?[cause] ?? 0) >= 1)
        #expect(triggers.retrains[1]?.keys.sorted() == [cause, .neverTrained].sorted())
        #expect(retrains.dropFirst().allSatisfy { $0 > changeTime }, "no retraining before the change")
        let firstAfter = try #require(retrains.dropFirst().first)
        #expect(firstAfter <= changeTime + 30 * 3600, "the trigger fires within 30 bars of the change")
        // Retraining on the new regime beats the model that learnt the old one.
        let retrained = accuracyAfterChange(triggersLoop, series: series)
        let never = accuracyAfterChange(neverLoop, series: series)
        #expect(retrained > never + 0.2, "after the change: triggers \(retrained), never retrain \(never)")
    }
}
