import FeedbackLoop
import Foundation
import MarketData
import Testing

/// Outcomes that match predictions: the auto hold band, live honest scores beside naive baselines, and the
/// performance trigger on the metric the user chose (issue 12).
@Suite struct AutoHoldBand {
    /// Closes whose returns are known exactly: +1 %, −2 %, +3 %, … (alternating, growing).
    static func bars(_ returns: [Double]) -> [Bar] {
        var close = 100.0
        var bars = [Bar(time: 0, open: close, high: close, low: close, close: close, volume: 1)]
        for (index, r) in returns.enumerated() {
            close *= 1 + r
            bars.append(Bar(time: Double(index + 1) * 3600, open: close, high: close, low: close, close: close, volume: 1))
        }
        return bars
    }

    @Test func isAThirdOfASigmaOfTheReturnsEndingAtTheBar() {
        let returns = (1...40).map { Double($0 % 7 - 3) / 1000 }
        let bars = Self.bars(returns)
        // Bar 30: the 24 returns ending at it are returns[6...29] (bar i's return is returns[i - 1]).
        let window = bars.indices.dropFirst().map { bars[$0].close / bars[$0 - 1].close - 1 }[6...29]
        let mean = window.reduce(0, +) / 24
        let sd = (window.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 23).squareRoot()
        #expect(abs(LoopConfig.HoldBand.auto.band(at: 30, bars: bars) - 0.43 * sd) < 1e-15)
        // Early bars use the returns there are; fewer than two give no band.
        #expect(LoopConfig.HoldBand.auto.band(at: 1, bars: bars) == 0)
        #expect(LoopConfig.HoldBand.auto.band(at: 0, bars: bars) == 0)
        #expect(LoopConfig.HoldBand.auto.band(at: 2, bars: bars) > 0)
        #expect(LoopConfig.HoldBand.fixed(0.004).band(at: 30, bars: bars) == 0.004)
    }

    @Test func usesNoReturnAfterTheBar() {
        var returns = (1...40).map { Double($0 % 5 - 2) / 1000 }
        let before = LoopConfig.HoldBand.auto.band(at: 20, bars: Self.bars(returns))
        returns[25] = 0.5   // a crash after bar 20 must not move bar 20's band
        #expect(LoopConfig.HoldBand.auto.band(at: 20, bars: Self.bars(returns)) == before)
    }

    @Test func splitsTheDemoMarketsOutcomesIntoRoughThirds() throws {
        let series = try DemoMarket.generate(days: 120, endingAt: fixedNow)
        var counts: [Signal: Int] = [:]
        for index in 1..<(series.count - 1) {
            let r = series.bars[index + 1].close / series.bars[index].close - 1
            let band = LoopConfig.HoldBand.auto.band(at: index, bars: series.bars)
            counts[LoopEngine.outcome(ofReturn: r, band: band), default: 0] += 1
        }
        let total = Double(counts.values.reduce(0, +))
        for signal in Signal.allCases {
            let share = Double(counts[signal] ?? 0) / total
            #expect((0.25...0.42).contains(share), "\(signal): \(share)")
        }
    }

    @Test func isTheDefaultAndAFixedBandStaysSettable() throws {
        var config = LoopConfig()
        #expect(config.holdBand == .auto)
        #expect(LoopConfig.key(named: "hold_band")!.display(config) == "auto")
        try config.set("hold_band", to: "0.002")
        #expect(config.holdBand == .fixed(0.002))
        try config.set("hold_band", to: "AUTO")
        #expect(config.holdBand == .auto)
        for bad in ["-1", "-0.001", "0.2", "nan", "sometimes"] {
            #expect(throws: ConfigError.invalidValue(key: "hold_band", value: bad, expected: "auto or a number from 0 to 0.1")) {
                try config.set("hold_band", to: bad)
            }
        }
        #expect(config.holdBand == .auto, "a refused value changes nothing")
    }

    @Test func aSessionWrittenWithAPlainNumberKeepsItsFixedBand() throws {
        var config = LoopConfig()
        try config.set("hold_band", to: "0.001")
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(json.contains("\"holdBand\":0.001"), "stored as the number older sessions hold")
        #expect(try JSONDecoder().decode(LoopConfig.self, from: Data(json.utf8)).holdBand == .fixed(0.001))
    }
}

@Suite struct LiveHonestScores {
    static func prediction(_ p: Double, signal: Signal, at time: TimeInterval) -> Prediction {
        Prediction(signal: signal, ensemble: p, models: [ModelProbability(model: .logistic, value: p)],
                   weights: [ModelProbability(model: .logistic, value: 1)], price: 100, barTime: time, madeAt: time)
    }

    /// Six scored predictions with returns (hand-checked below) and one outcome logged by hand.
    static func log() -> PredictionLog {
        var log = PredictionLog(capacity: 100)
        let rows: [(Signal, Double, Double, Signal)] = [
            (.buy, 0.7, 0.01, .buy), (.sell, 0.3, 0.002, .hold), (.buy, 0.65, -0.02, .sell),
            (.hold, 0.5, 0.0, .hold), (.sell, 0.2, -0.01, .sell), (.buy, 0.8, 0.03, .buy),
        ]
        for (index, row) in rows.enumerated() {
            log.append(predicted: row.0, actual: row.3, at: Double(index) * 3600 + 3599,
                       prediction: prediction(row.1, signal: row.0, at: Double(index) * 3600), realisedReturn: row.2)
        }
        // `log SELL --predicted BUY`: no return, no probability; its class says the price went down.
        log.append(predicted: .buy, actual: .sell, at: 7 * 3600, prediction: nil)
        return log
    }

    @Test func scoresMatchHandComputedValues() throws {
        let live = LiveScores(Self.log().entries[...])
        let metrics = live.metrics
        // Accuracy: BUY=BUY, SELL≠HOLD, BUY≠SELL, HOLD=HOLD, SELL=SELL, BUY=BUY, BUY≠SELL → 4/7.
        #expect(metrics.accuracy == Score(contributions: [1, 0, 0, 1, 1, 1, 0]))
        #expect(metrics.accuracy?.value == 4.0 / 7)
        // Direction (BUY/SELL with a direction): up ✓, SELL on up ✗, BUY on down ✗, (HOLD), SELL on down ✓, up ✓,
        // hand-logged BUY on SELL ✗ → 3/6.
        #expect(metrics.directionalAccuracy?.value == 0.5 && metrics.directionalAccuracy?.n == 6)
        #expect(metrics.coverage?.value == 6.0 / 7)
        // Brier on the five steps with a probability and a direction (r = 0 and the hand-logged one left out).
        let brier = [(0.7, 1.0), (0.3, 1.0), (0.65, 0.0), (0.2, 0.0), (0.8, 1.0)].map { ($0.0 - $0.1) * ($0.0 - $0.1) }
        #expect(abs(metrics.brier!.value - brier.reduce(0, +) / 5) < 1e-15 && metrics.brier?.n == 5)
        #expect(metrics.zeroReturnSteps == 1, "the flat step; the hand-logged SELL has a direction")
        // Its standard error: s / √n of the 0/1 hits.
        let hits = [1.0, 0, 0, 1, 1, 1, 0], mean = 4.0 / 7
        let se = (hits.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 6 / 7).squareRoot()
        #expect(abs(metrics.accuracy!.standardError! - se) < 1e-15)
        // Naive baselines on the same steps: always up is right on the 3 up moves of 6 with a direction.
        #expect(live.baseline(.alwaysUp)?.directionalAccuracy?.value == 0.5)
        // Persistence repeats the previous outcome: HOLD→? … pairs (BUY,HOLD) (HOLD,SELL) (SELL,HOLD) (HOLD,SELL)
        // (SELL,BUY) (BUY,SELL): none equal → 0/6.
        #expect(live.baseline(.persistence)?.accuracy?.value == 0)
        #expect(live.baseline(.constant)?.accuracy?.value == 3.0 / 7, "SELL is the commonest outcome (3 of 7)")
        // Directional 0.5 does not beat always up's 0.5: flagged.
        #expect(live.failsToBeatBaselines(.directionalAccuracy) == true)
        #expect(live.failsToBeatBaselines(.accuracy) == false)
        #expect(live.failsToBeatBaselines(.coverage) == nil, "coverage is activity, not skill: never flagged")
    }

    @Test func aHandLoggedHoldHasNoDirection() throws {
        let step = try ScoredStep(signal: .buy, probabilityUp: nil, realisedReturn: nil, outcome: .hold, barTime: 0)
        #expect(step.movedUp == nil)
        #expect(HonestMetrics.score([step]).directionalAccuracy == nil && HonestMetrics.score([step]).brier == nil)
        #expect(try ScoredStep(signal: .buy, probabilityUp: nil, realisedReturn: nil, outcome: .buy, barTime: 0).movedUp == true)
        // A known return decides, not the class.
        #expect(try ScoredStep(signal: .buy, probabilityUp: 0.5, realisedReturn: -0.0001, outcome: .hold, barTime: 0).movedUp == false)
    }

    @Test func pnlNeedsEveryReturn() throws {
        let steps = LiveScores(Self.log().entries[...]).steps
        #expect(throws: HonestMetricsError.missingReturn(index: 6)) { try SignalPnL(steps, settings: .standard) }
        #expect(try SignalPnL(Array(steps.prefix(6)), settings: .standard).trades > 0)
    }

    @Test func perfCarriesTheSameScores() throws {
        let engine = try makeEngine()
        for index in 0..<10 { try engine.logOutcome(actual: index < 4 ? .buy : .sell, predicted: .buy) }
        let summary = engine.performance()
        #expect(summary.live.steps.count == 10)
        #expect(summary.live.metrics.accuracy?.value == summary.accuracy)
        #expect(summary.live.metrics.directionalAccuracy?.value == 0.4)
        #expect(summary.live.baseline(.alwaysUp)?.directionalAccuracy?.value == 0.4)
    }
}

@Suite struct PerformanceTriggerMetric {
    func streak(_ engine: LoopEngine, _ outcomes: [(actual: Signal, predicted: Signal)]) throws {
        try engine.train(Tier.all[0])
        for outcome in outcomes { try engine.logOutcome(actual: outcome.actual, predicted: outcome.predicted) }
    }

    @Test func directionalIsTheDefaultAndJudgesOnlyBuyAndSell() throws {
        let engine = try makeEngine()
        #expect(engine.config.performanceMetric == .directional)
        // Ten HOLD outcomes for BUY signals: 0 % three-class accuracy, but no direction to judge.
        try streak(engine, Array(repeating: (.hold, .buy), count: 10))
        #expect(!engine.decision(for: Tier.all[0]).due)
        #expect(engine.performanceVerdict(since: 0) == .notEnoughOutcomes(scored: 10, window: 10))
        // Judged on accuracy the same log is far below 0.55.
        try engine.setConfig("performance_metric", "accuracy")
        #expect(engine.decision(for: Tier.all[0]).reason
                == .performanceBelowThreshold(metric: .accuracy, score: 0, threshold: 0.55, window: 10))
    }

    @Test func directionalFiresOnWrongDirections() throws {
        let engine = try makeEngine()
        try streak(engine, Array(repeating: (.sell, .buy), count: 6) + Array(repeating: (.buy, .buy), count: 4))
        #expect(engine.decision(for: Tier.all[0]).reason
                == .performanceBelowThreshold(metric: .directional, score: 0.4, threshold: 0.55, window: 10))
        try engine.setConfig("performance_threshold", "0.4")
        #expect(!engine.decision(for: Tier.all[0]).due, "0.4 is not below 0.4")
    }

    @Test func brierNeedsProbabilitiesAndItsOwnThreshold() throws {
        let engine = try makeEngine()
        try engine.setConfig("performance_metric", "brier")
        // Hand-logged outcomes without predictions carry no P(up): nothing to judge.
        try streak(engine, Array(repeating: (.sell, .buy), count: 10))
        #expect(!engine.decision(for: Tier.all[0]).due)
        // Predictions scored by hand keep their P(up).
        var brier: [Double] = []
        for _ in 0..<10 {
            let prediction = try engine.predict()
            try engine.logOutcome(actual: .sell)
            brier.append(prediction.ensemble * prediction.ensemble)
        }
        let score = brier.reduce(0, +) / 10
        try engine.setConfig("brier_threshold", String(score / 2))
        guard case .performanceBelowThreshold(.brier, let live, let threshold, 10) = engine.decision(for: Tier.all[0]).reason else {
            Issue.record("expected the Brier trigger, got \(engine.decision(for: Tier.all[0]).reason)")
            return
        }
        #expect(abs(live - score) < 1e-12 && threshold == score / 2)
        try engine.setConfig("brier_threshold", "1")
        #expect(!engine.decision(for: Tier.all[0]).due)
    }

    @Test func versusBaselineComparesWithAlwaysUpOnTheSameWindow() throws {
        let engine = try makeEngine()
        try engine.setConfig("performance_vs_baseline", "on")
        // SELL every time while the price went up 6 of 10 times: 40 % against always up's 60 %.
        try streak(engine, Array(repeating: (.buy, .sell), count: 6) + Array(repeating: (.sell, .sell), count: 4))
        #expect(engine.decision(for: Tier.all[0]).reason
                == .performanceBelowBaseline(metric: .directional, score: 0.4, baseline: .alwaysUp, baselineScore: 0.6, window: 10))
        #expect(engine.decision(for: Tier.all[0]).reason.code == "performance_below_baseline")
        // BUY every time is always up itself: not worse, not due (although 60 % would pass any threshold too).
        let other = try makeEngine()
        try other.setConfig("performance_vs_baseline", "on")
        try other.setConfig("performance_threshold", "0.9")
        try streak(other, Array(repeating: (.buy, .buy), count: 6) + Array(repeating: (.sell, .buy), count: 4))
        #expect(!other.decision(for: Tier.all[0]).due)
    }

    @Test func badValuesAreRefused() throws {
        var config = LoopConfig()
        #expect(throws: ConfigError.invalidValue(key: "performance_metric", value: "f1", expected: "accuracy or directional or brier")) {
            try config.set("performance_metric", to: "f1")
        }
        #expect(throws: ConfigError.self) { try config.set("brier_threshold", to: "1.5") }
        #expect(throws: ConfigError.self) { try config.set("performance_vs_baseline", to: "maybe") }
        #expect(config == LoopConfig())
    }
}
