import FeedbackLoop
import Foundation
import MarketData
import Testing

/// Pending predictions scored automatically from the realised move when the next bar arrives.
@Suite struct OutcomeResolution {
    @Test(arguments: [
        (0.0011, Signal.buy), (0.001, .hold), (0.0, .hold), (-0.001, .hold), (-0.0011, .sell), (0.05, .buy), (-0.05, .sell),
    ])
    func bandEdges(realised: Double, expected: Signal) {
        #expect(LoopEngine.outcome(ofReturn: realised, band: 0.001) == expected)
    }

    @Test func zeroBandLeavesOnlyFlatAsHold() {
        #expect(LoopEngine.outcome(ofReturn: 0, band: 0) == .hold)
        #expect(LoopEngine.outcome(ofReturn: 1e-12, band: 0) == .buy)
        #expect(LoopEngine.outcome(ofReturn: -1e-12, band: 0) == .sell)
    }

    @Test func theNextBarScoresThePendingPrediction() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let prediction = try engine.predict()
        // Fetching the same market again leaves the prediction waiting: its next bar is not there yet.
        #expect(engine.load(try DemoMarket.generate(days: 30, endingAt: fixedNow)) == .waiting)
        #expect(engine.pending == prediction)
        // An hour later the next bar exists.
        let later = try DemoMarket.generate(days: 30, endingAt: fixedNow + 3600)
        let fate = engine.load(later)
        guard case .resolved(let entry, let realised) = fate else {
            Issue.record("expected a resolution, got \(fate)")
            return
        }
        let bars = later.bars.suffix(2).map(\.close)
        #expect(realised == bars[1] / bars[0] - 1)
        // The default band is auto: a third of a sigma of the 24 returns ending at the predicted bar.
        let band = LoopConfig.HoldBand.auto.band(at: later.count - 2, bars: later.bars)
        #expect(band > 0)
        #expect(entry.actual == LoopEngine.outcome(ofReturn: realised, band: band))
        #expect(entry.realisedReturn == realised, "kept for directional accuracy, Brier and log loss")
        #expect(entry.predicted == prediction.signal && entry.prediction == prediction)
        #expect(engine.pending == nil && engine.log.totalLogged == 1)
    }

    @Test func holdBandIsLiveAndValidated() throws {
        let engine = try makeEngine()
        try engine.setConfig("hold_band", "0.1")   // any hourly move of under ±10 % is HOLD
        #expect(throws: ConfigError.self) { try engine.setConfig("hold_band", "-0.01") }
        #expect(throws: ConfigError.self) { try engine.setConfig("hold_band", "0.2") }
        try engine.train(Tier.all[0])
        _ = try engine.predict()
        guard case .resolved(let entry, _) = engine.load(try DemoMarket.generate(days: 30, endingAt: fixedNow + 3600)) else {
            Issue.record("expected a resolution")
            return
        }
        #expect(entry.actual == .hold)
    }

    @Test func dataWithoutThePredictedBarDropsIt() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        _ = try engine.predict()
        let elsewhere = try DemoMarket.generate(days: 30, endingAt: fixedNow - 90 * 86_400)
        #expect(engine.load(elsewhere) == .dropped)
        #expect(engine.pending == nil && engine.log.totalLogged == 0)
    }

    @Test func eachModelIsScoredOnItsOwnSignal() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[1])
        var expected: [ModelKind: (correct: Int, scored: Int)] = [:]
        for hour in 1...4 {
            let prediction = try engine.predict()
            guard case .resolved(let entry, _) = engine.load(try DemoMarket.generate(days: 30, endingAt: fixedNow + Double(hour) * 3600)) else {
                Issue.record("expected a resolution")
                return
            }
            for probability in prediction.models {
                let own: Signal = probability.value > 0.6 ? .buy : probability.value < 0.4 ? .sell : .hold
                var tally = expected[probability.model] ?? (0, 0)
                tally.scored += 1
                if own == entry.actual { tally.correct += 1 }
                expected[probability.model] = tally
            }
        }
        let performance = engine.performance()
        #expect(Set(performance.models.keys) == [.logistic, .xgboost])
        for (kind, tally) in expected {
            #expect(performance.models[kind] == ModelPerformance(correct: tally.correct, scored: tally.scored), "\(kind)")
        }
    }
}
