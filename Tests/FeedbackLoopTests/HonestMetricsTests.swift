import FeedbackLoop
import Foundation
import MarketData
import Testing

func isClose(_ a: Double?, _ b: Double, _ tolerance: Double = 1e-12) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance
}

/// A fixed six-step series, hourly, band 0.001. Outcomes: BUY, HOLD, SELL, HOLD, SELL, SELL.
///
///     t  signal  P(up)  r        outcome
///     0  BUY     0.7    +0.002   BUY
///     1  SELL    0.4    +0.0005  HOLD
///     2  HOLD    0.5    −0.003   SELL
///     3  BUY     0.6     0       HOLD
///     4  SELL    0.2    −0.002   SELL
///     5  BUY     0.9    −0.002   SELL
func fixedSteps() throws -> [ScoredStep] {
    let rows: [(Signal, Double, Double)] = [(.buy, 0.7, 0.002), (.sell, 0.4, 0.0005), (.hold, 0.5, -0.003),
                                            (.buy, 0.6, 0), (.sell, 0.2, -0.002), (.buy, 0.9, -0.002)]
    return try rows.enumerated().map { index, row in
        try ScoredStep(signal: row.0, probabilityUp: row.1, realisedReturn: row.2, band: 0.001,
                       barTime: 1_790_000_000 + Double(index) * 3600)
    }
}

func steps(signals: [Signal], returns: [Double], probability: Double = 0.5, spacing: TimeInterval = 3600) throws -> [ScoredStep] {
    try zip(signals, returns).enumerated().map { index, pair in
        try ScoredStep(signal: pair.0, probabilityUp: probability, realisedReturn: pair.1, band: 0.001,
                       barTime: 1_790_000_000 + Double(index) * spacing)
    }
}

/// Scores against hand-computed values on the fixed series.
@Suite struct HonestScores {
    @Test func outcomesFollowTheBand() throws {
        #expect(try fixedSteps().map(\.outcome) == [.buy, .hold, .sell, .hold, .sell, .sell])
        #expect(try ScoredStep.outcome(of: 0.001, band: 0.001) == .hold, "on the band is inside it")
        #expect(throws: HonestMetricsError.invalidBand(-1)) { try ScoredStep.outcome(of: 0, band: -1) }
        #expect(throws: HonestMetricsError.invalidProbability(1.5)) {
            try ScoredStep(signal: .buy, probabilityUp: 1.5, realisedReturn: 0, outcome: .hold, barTime: 0)
        }
        #expect(throws: HonestMetricsError.invalidReturn(-2)) {
            try ScoredStep(signal: .buy, probabilityUp: 0.5, realisedReturn: -2, outcome: .hold, barTime: 0)
        }
    }

    @Test func decodingChecksWhatTheInitialiserChecks() throws {
        let step = try fixedSteps()[1]
        #expect(try JSONDecoder().decode(ScoredStep.self, from: JSONEncoder().encode(step)) == step)
        let bad = Data(#"{"signal":"BUY","probabilityUp":2,"realisedReturn":0,"outcome":"HOLD","barTime":0}"#.utf8)
        #expect(throws: HonestMetricsError.invalidProbability(2)) { try JSONDecoder().decode(ScoredStep.self, from: bad) }
    }

    @Test func everyScoreAgainstHandComputedValues() throws {
        let metrics = HonestMetrics.score(try fixedSteps())
        // Right at t0 and t4 of 6.
        #expect(metrics.accuracy == Score(contributions: [1, 0, 0, 0, 1, 0]))
        #expect(isClose(metrics.accuracy?.value, 2.0 / 6) && metrics.accuracy?.n == 6)
        // BUY/SELL with r ≠ 0: t0 right, t1 wrong, t4 right, t5 wrong (t3 has r = 0, t2 is HOLD).
        #expect(isClose(metrics.directionalAccuracy?.value, 0.5) && metrics.directionalAccuracy?.n == 4)
        #expect(isClose(metrics.coverage?.value, 5.0 / 6) && metrics.coverage?.n == 6)
        // (0.7−1)² + (0.4−1)² + 0.5² + 0.2² + 0.9² = 0.09 + 0.36 + 0.25 + 0.04 + 0.81 = 1.55 over 5.
        #expect(isClose(metrics.brier?.value, 0.31) && metrics.brier?.n == 5)
        #expect(metrics.zeroReturnSteps == 1)
        let logTerms: [Double] = [-log(0.7), -log(0.4), -log(0.5), -log(0.8), -log(0.1)]
        let logLoss = logTerms.reduce(0, +) / 5
        #expect(isClose(metrics.logLoss?.value, logLoss) && isClose(logLoss, 0.8983683001362177))
        #expect(metrics.logLoss?.n == 5)
        #expect(metrics[.brier] == metrics.brier && metrics[.directionalAccuracy] == metrics.directionalAccuracy)
        #expect(MetricName.allCases.map(\.rawValue) == ["accuracy", "directional_accuracy", "coverage", "brier", "log_loss"])
    }

    @Test func logLossClipsCertainWrongProbabilities() throws {
        let certain = try steps(signals: [.buy, .buy], returns: [-0.01, 0.01], probability: 1)
        let metrics = HonestMetrics.score(certain)
        #expect(isClose(metrics.logLoss?.value, (-log(1e-15) - log(1 - 1e-15)) / 2, 1e-9))
        #expect(metrics.logLoss!.value.isFinite)
    }

    @Test func noStepsGiveAbsentScoresNotNaN() {
        let metrics = HonestMetrics.score([])
        for metric in MetricName.allCases { #expect(metrics[metric] == nil) }
        #expect(metrics.zeroReturnSteps == 0)
        for baseline in HonestMetrics.baselines([]) {
            for metric in MetricName.allCases { #expect(baseline.metrics[metric] == nil, "\(baseline.baseline) \(metric)") }
        }
        #expect(HonestMetrics.score(.constant, on: []).constantChoice
                == ConstantChoice(accuracySignal: nil, directionalSignal: nil, probabilityUp: nil))
    }

    @Test func allHoldHasNoDirectionAndZeroCoverage() throws {
        let metrics = HonestMetrics.score(try steps(signals: [.hold, .hold, .hold], returns: [0.002, 0.0005, -0.003]))
        #expect(metrics.directionalAccuracy == nil)
        #expect(metrics.coverage?.value == 0 && metrics.coverage?.n == 3)
        #expect(isClose(metrics.accuracy?.value, 1.0 / 3))   // only the 0.0005 move is inside the band
        #expect(isClose(metrics.brier?.value, 0.25) && metrics.brier?.n == 3)   // a constant 0.5
    }

    @Test func zeroReturnsAreLeftOutAndCounted() throws {
        let flat = try steps(signals: [.buy, .sell, .hold, .buy], returns: [0, 0, 0, 0], probability: 0.8)
        let metrics = HonestMetrics.score(flat)
        #expect(metrics.directionalAccuracy == nil && metrics.brier == nil && metrics.logLoss == nil)
        #expect(metrics.zeroReturnSteps == 4)
        #expect(metrics.accuracy?.value == 0.25)   // every outcome is HOLD
        let baselines = HonestMetrics.baselines(flat)
        for baseline in baselines {
            #expect(baseline.metrics.directionalAccuracy == nil && baseline.metrics.brier == nil && baseline.metrics.logLoss == nil)
        }
        #expect(baselines[0].constantChoice == ConstantChoice(accuracySignal: .hold, directionalSignal: nil, probabilityUp: nil))
        #expect(baselines[0].metrics.accuracy?.value == 1)
    }
}

/// The naive baselines against hand-computed values on the fixed series.
@Suite struct NaiveBaselineScores {
    @Test func constantIsTheBestSignalInHindsight() throws {
        let constant = HonestMetrics.score(.constant, on: try fixedSteps())
        #expect(constant.isHindsightUpperBound)
        // Outcomes BUY, HOLD, SELL, HOLD, SELL, SELL: SELL 3, HOLD 2, BUY 1. Ups 2 (t0, t1), downs 3 (t2, t4, t5).
        #expect(constant.constantChoice == ConstantChoice(accuracySignal: .sell, directionalSignal: .sell, probabilityUp: 0.4))
        #expect(constant.metrics.accuracy == Score(contributions: [0, 0, 1, 0, 1, 1]))
        #expect(isClose(constant.metrics.accuracy?.value, 0.5))
        #expect(constant.metrics.coverage?.value == 1)
        #expect(isClose(constant.metrics.directionalAccuracy?.value, 0.6) && constant.metrics.directionalAccuracy?.n == 5)
        // p = 0.4: 2 × 0.36 + 3 × 0.16 = 1.2 over 5.
        #expect(isClose(constant.metrics.brier?.value, 0.24) && constant.metrics.brier?.n == 5)
        let constantLogLoss: Double = (-2 * log(0.4) - 3 * log(0.6)) / 5
        #expect(isClose(constant.metrics.logLoss?.value, constantLogLoss))
        #expect(isClose(constant.metrics.logLoss?.value, 0.6730116670092564))
        #expect(!HonestMetrics.score(.persistence, on: try fixedSteps()).isHindsightUpperBound)
    }

    @Test func persistenceRepeatsTheLastOutcome() throws {
        let persistence = HonestMetrics.score(.persistence, on: try fixedSteps())
        // Predictions for t1…t5: BUY, HOLD, SELL, HOLD, SELL against HOLD, SELL, HOLD, SELL, SELL: only t5 right.
        #expect(isClose(persistence.metrics.accuracy?.value, 0.2) && persistence.metrics.accuracy?.n == 5)
        #expect(isClose(persistence.metrics.coverage?.value, 0.6) && persistence.metrics.coverage?.n == 5)
        // Direction from sign(r_{t−1}): t1 up→up right, t2 up→down wrong, t3 r = 0, t4 after r = 0, t5 down→down right.
        #expect(isClose(persistence.metrics.directionalAccuracy?.value, 2.0 / 3) && persistence.metrics.directionalAccuracy?.n == 3)
        #expect(persistence.metrics.brier == nil && persistence.metrics.logLoss == nil)
    }

    @Test func alwaysUpIsTheShareOfUpMoves() throws {
        let up = HonestMetrics.score(.alwaysUp, on: try fixedSteps())
        #expect(isClose(up.metrics.accuracy?.value, 1.0 / 6))
        #expect(isClose(up.metrics.directionalAccuracy?.value, 0.4) && up.metrics.directionalAccuracy?.n == 5)
        #expect(up.metrics.coverage?.value == 1)
        #expect(up.metrics.brier == nil && up.metrics.logLoss == nil)
    }

    @Test func climatologyUsesOnlyMovesBeforeEachStep() throws {
        let climatology = HonestMetrics.score(.climatology, on: try fixedSteps())
        #expect(climatology.metrics.accuracy == nil && climatology.metrics.directionalAccuracy == nil
                && climatology.metrics.coverage == nil)
        // p: 0.5 (nothing before), 1 (1 of 1), 1 (2 of 2), — (r = 0), 2/3 (2 of 3), 0.5 (2 of 4).
        // Brier: 0.25 + 0 + 1 + 4/9 + 0.25 over 5.
        let brier: Double = (1.5 + 4.0 / 9) / 5
        #expect(isClose(climatology.metrics.brier?.value, brier) && climatology.metrics.brier?.n == 5)
        // Log loss: ln 2, −ln(1 − 1e-15), −ln(1e-15) (clipped), ln 3, ln 2 over 5.
        let terms: [Double] = [log(2.0), -log(1 - 1e-15), -log(1e-15), log(3.0), log(2.0)]
        #expect(isClose(climatology.metrics.logLoss?.value, terms.reduce(0, +) / 5, 1e-9))
        #expect(isClose(climatology.metrics.logLoss?.value, 7.4047366089397375, 1e-9))
        // With history before the steps (1 up of 2 moves) p: 0.5, 2/3, 3/4, —, 3/5, 1/2.
        let prior = HonestMetrics.score(.climatology, on: try fixedSteps(), prior: UpCount(returns: [0.01, 0, -0.02]))
        let priorTerms: [Double] = [0.25, 1.0 / 9, 0.5625, 0.36, 0.25]
        #expect(isClose(prior.metrics.brier?.value, priorTerms.reduce(0, +) / 5))
    }

    @Test func baselinesComeInOneOrderWithTheirMetrics() throws {
        let all = HonestMetrics.baselines(try fixedSteps())
        #expect(all.map(\.baseline) == [.constant, .persistence, .alwaysUp, .climatology])
        #expect(all.map(\.baseline.rawValue) == ["constant", "persistence", "always_up", "climatology"])
        for scores in all {
            for metric in MetricName.allCases {
                #expect((scores.metrics[metric] != nil) == scores.baseline.metrics.contains(metric), "\(scores.baseline) \(metric)")
            }
        }
    }
}

/// Per-step differences of two policies, positive when A is better.
@Suite struct PairedDifferences {
    @Test func differencesAreSignedSoThatPositiveMeansABetter() throws {
        let a = try fixedSteps()
        let b = try a.map { try ScoredStep(signal: .hold, probabilityUp: 0.5, realisedReturn: $0.realisedReturn,
                                           outcome: $0.outcome, barTime: $0.barTime) }
        // Accuracy: A right at t0, t4; B (HOLD) right at t1, t3.
        #expect(try HonestMetrics.pairedDifferences(.accuracy, a: a, b: b) == [1, -1, 0, -1, 1, 0])
        // Brier B − A: 0.25 − (0.09, 0.36, 0.25, 0.04, 0.81).
        let brier = try HonestMetrics.pairedDifferences(.brier, a: a, b: b)
        #expect(brier.count == 5)
        for (d, expected) in zip(brier, [0.16, -0.11, 0, 0.21, -0.56]) { #expect(isClose(d, expected, 1e-12)) }
        // B never gives a direction: no step where both do.
        #expect(try HonestMetrics.pairedDifferences(.directionalAccuracy, a: a, b: b).isEmpty)
        #expect(try HonestMetrics.pairedDifferences(.coverage, a: a, b: b) == [1, 1, 0, 1, 1, 1])
        // The mean of the differences is the difference of the scores when both count the same steps.
        let metricsA = HonestMetrics.score(a), metricsB = HonestMetrics.score(b)
        #expect(isClose(brier.reduce(0, +) / 5, metricsB.brier!.value - metricsA.brier!.value))
    }

    @Test func againstABaselineOnlyStepsBothScoreArePaired() throws {
        let a = try fixedSteps()
        let persistence = try #require(HonestMetrics.contributions(.accuracy, of: .persistence, on: a))
        #expect(try HonestMetrics.pairedDifferences(.accuracy, a: HonestMetrics.contributions(.accuracy, of: a), b: persistence)
                == [0, 0, 0, 1, -1])
        #expect(HonestMetrics.contributions(.brier, of: .persistence, on: a) == nil, "persistence has no probabilities")
    }

    @Test func stepsThatDifferAreRefused() throws {
        let a = try fixedSteps()
        #expect(throws: HonestMetricsError.misalignedSteps(countA: 6, countB: 5, index: nil)) {
            try HonestMetrics.pairedDifferences(.accuracy, a: a, b: Array(a.dropLast()))
        }
        var b = a
        b[2] = try ScoredStep(signal: .hold, probabilityUp: 0.5, realisedReturn: a[2].realisedReturn, outcome: a[2].outcome,
                              barTime: a[2].barTime + 60)
        #expect(throws: HonestMetricsError.misalignedSteps(countA: 6, countB: 6, index: 2)) {
            try HonestMetrics.pairedDifferences(.accuracy, a: a, b: b)
        }
    }
}
