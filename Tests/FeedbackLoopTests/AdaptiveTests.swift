import FeedbackLoop
import Foundation
import MarketData
import Testing

/// Adaptive intervals and performance-weighted ensembles.
@Suite struct AdaptiveLoop {
    /// 200 calm hourly bars, then 24 bars moving `tailMove` up and down alternately.
    func engine(tailMove: Double) -> LoopEngine {
        var price = 100.0
        var bars: [Bar] = []
        for index in 0..<224 {
            let move = index < 200 ? 0.001 : tailMove
            price *= index % 2 == 0 ? 1 + move : 1 / (1 + move)
            bars.append(Bar(time: fixedNow + Double(index) * 3600, price: price))
        }
        let engine = LoopEngine(clock: LoopClock { fixedNow })
        engine.load(PriceSeries(symbol: "T", source: "test", bars: bars))
        return engine
    }

    @Test func intervalsShrinkInTurbulenceAndGrowInCalm() throws {
        let stormy = engine(tailMove: 0.02)
        #expect(stormy.effectiveInterval(forTier: 1) == 3600, "off by default")
        try stormy.setConfig("adaptive_intervals", "on")
        #expect(try #require(stormy.volatilityRatio()) > 2)
        #expect(stormy.effectiveInterval(forTier: 1) == 1800, "halved at most")
        let calm = engine(tailMove: 0.0001)
        try calm.setConfig("adaptive_intervals", "on")
        #expect(calm.effectiveInterval(forTier: 2) == 43_200, "doubled at most")
        #expect(throws: ConfigError.self) { try calm.setConfig("adaptive_intervals", "maybe") }
    }

    @Test func theIntervalTriggerUsesTheAdaptedInterval() throws {
        let stormy = engine(tailMove: 0.02)
        try stormy.setConfig("adaptive_intervals", "on")
        try stormy.train(Tier.all[0])
        try stormy.advance(by: 1800)
        #expect(stormy.decision(for: Tier.all[0]).reason == .intervalElapsed(elapsed: 1800, interval: 1800))
    }

    @Test func performanceFactorIsBoundedAndNeedsFiveOutcomes() {
        #expect(LoopEngine.performanceFactor(nil) == 1)
        #expect(LoopEngine.performanceFactor(ModelPerformance(correct: 4, scored: 4)) == 1)
        #expect(LoopEngine.performanceFactor(ModelPerformance(correct: 4, scored: 5)) == 1.6)
        #expect(LoopEngine.performanceFactor(ModelPerformance(correct: 0, scored: 10)) == 0.2)
        #expect(LoopEngine.performanceFactor(ModelPerformance(correct: 10, scored: 10)) == 2)
    }

    @Test func performanceWeightingFollowsEachModelsLiveRecord() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[1])
        try engine.setConfig("ensemble_weighting", "performance")
        // Score six predictions against what XGBoost's own signal said: it is always right, LR often not.
        for _ in 0..<6 {
            let prediction = try engine.predict()
            let xgboost = prediction.models.first { $0.model == .xgboost }!.value
            try engine.logOutcome(actual: xgboost > 0.6 ? .buy : xgboost < 0.4 ? .sell : .hold)
        }
        let live = engine.performance().models
        #expect(live[.xgboost]?.accuracy == 1)
        let prediction = try engine.predict()
        let raw = [0.3 * LoopEngine.performanceFactor(live[.logistic]), 0.5 * LoopEngine.performanceFactor(live[.xgboost])]
        let expected = raw.map { $0 / raw.reduce(0, +) }
        #expect(zip(prediction.weights.map(\.value), expected).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(prediction.weights[1].value >= 0.625, "XGBoost's share grows with its record")
    }
}
