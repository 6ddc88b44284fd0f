import FeedbackLoop
import Foundation
import Learning
import MarketData
import Testing

let fixedNow: TimeInterval = 1_790_000_000

/// An engine on the demo market with a small LSTM, so a `cycle` that trains tier 3 takes moments in debug
/// builds (the default network is measured by lgc-bench instead).
func makeEngine(days: Int = 30) throws -> LoopEngine {
    let engine = LoopEngine(clock: LoopClock { fixedNow })
    engine.load(try DemoMarket.generate(days: days, endingAt: fixedNow))
    try engine.setConfig("lstm.epochs", "2")
    try engine.setConfig("lstm.units", "8")
    try engine.setConfig("lstm.sequence_length", "16")
    // Tests run in parallel: spinning OpenMP threads on a busy machine would slow XGBoost tenfold.
    try engine.setConfig("xgboost.threads", "1")
    return engine
}

@Suite struct ConfigDefaults {
    @Test func defaultsMatchTheSeedApp() {
        let config = LoopConfig()
        #expect(config.tier1Interval == 3600)
        #expect(config.tier2Interval == 21_600)
        #expect(config.tier3Interval == 86_400)
        #expect(config.performanceThreshold == 0.55)
        #expect(config.improvementThreshold == 0.02)
        #expect(config.evaluationWindow == 10)
        #expect(config.logWindow == 1000)
        #expect(config.weightLogistic == 0.3 && config.weightXGBoost == 0.5 && config.weightLSTM == 0.2)
        #expect(config.buyThreshold == 0.6 && config.sellThreshold == 0.4)
        #expect(config.testFraction == 0.2)
        #expect(config.xgboost.rounds == 100 && config.xgboost.maxDepth == 6 && config.xgboost.learningRate == 0.1)
        #expect(config.xgboost.seed == 42 && config.xgboost.threads == 0)
    }

    @Test func tierIntervalsAreOrdered() {
        let config = LoopConfig()
        #expect(config.tier1Interval < config.tier2Interval)
        #expect(config.tier2Interval < config.tier3Interval)
        #expect(Tier.all.map(\.models.count) == [1, 2, 3])
    }

    @Test(arguments: [
        ("performance_threshold", "1.5"), ("performance_threshold", "-0.1"), ("performance_threshold", "abc"),
        ("tier1_interval", "0"), ("tier1_interval", "-5"), ("tier2_interval", "soon"),
        ("evaluation_window", "2.5"), ("evaluation_window", "0"), ("test_fraction", "0.9"),
        ("buy_threshold", "0.3"), ("evaluation_window", "5000"),
        ("xgboost.max_depth", "0"), ("xgboost.max_depth", "21"), ("xgboost.learning_rate", "-1"),
        ("xgboost.learning_rate", "0"), ("xgboost.n_estimators", "0"), ("xgboost.subsample", "1.5"),
        ("xgboost.threads", "-1"), ("xgboost.foo", "3"),
    ])
    func invalidValuesAreRejectedAndLeaveConfigUnchanged(key: String, value: String) {
        var config = LoopConfig()
        #expect(throws: ConfigError.self) { try config.set(key, to: value) }
        #expect(config == LoopConfig())
    }

    @Test func validValuesAreParsed() throws {
        var config = LoopConfig()
        try config.set("performance_threshold", to: "0.6")
        try config.set("tier1_interval", to: "90m")
        try config.set("tier3_interval", to: "2d")
        try config.set("evaluation_window", to: "20")
        #expect(config.performanceThreshold == 0.6)
        #expect(config.tier1Interval == 5400)
        #expect(config.tier3Interval == 172_800)
        #expect(config.evaluationWindow == 20)
        try config.reset("tier1_interval")
        #expect(config.tier1Interval == 3600)
        try config.set("xgboost.max_depth", to: "4")
        try config.set("xgboost.n_estimators", to: "300")
        try config.set("xgboost.learning_rate", to: "0.05")
        #expect(config.xgboost.maxDepth == 4 && config.xgboost.rounds == 300 && config.xgboost.learningRate == 0.05)
        try config.reset("xgboost.max_depth")
        #expect(config.xgboost.maxDepth == 6)
    }

    @Test func unknownKeyGetsDidYouMean() {
        var config = LoopConfig()
        #expect(throws: ConfigError.unknownKey("performance_treshold", suggestion: "performance_threshold")) {
            try config.set("performance_treshold", to: "0.5")
        }
        let error = ConfigError.unknownKey("performance_treshold", suggestion: "performance_threshold")
        // The suggestion travels in the case; the shell's Advice words it ("did you mean '…'?", AdviceTable tests).
        #expect(error.description == "unknown config key 'performance_treshold'")
    }

    @Test func inconsistentThresholdsAreRejected() {
        var config = LoopConfig()
        #expect(throws: ConfigError.inconsistent("sell_threshold (0.7) must be below buy_threshold (0.6)")) {
            try config.set("sell_threshold", to: "0.7")
        }
    }

    @Test(arguments: [("90m", 5400.0), ("6h", 21_600), ("2d", 172_800), ("1h30m", 5400), ("45", 45), ("1w", 604_800)])
    func durations(text: String, seconds: Double) {
        #expect(DurationText.parse(text) == seconds)
    }

    @Test func badDurations() {
        for text in ["", "h", "6x", "6h5", "abc"] { #expect(DurationText.parse(text) == nil, "\(text)") }
        #expect(DurationText.format(5400) == "1h30m")
        #expect(DurationText.format(86_400) == "1d")
    }
}

@Suite struct PredictionLogging {
    @Test func correctAndIncorrectOutcomes() throws {
        let engine = try makeEngine()
        let right = try engine.logOutcome(actual: .buy, predicted: .buy)
        let wrong = try engine.logOutcome(actual: .sell, predicted: .buy)
        #expect(right.correct && !wrong.correct)
        #expect(engine.log.totalLogged == 2 && engine.log.totalCorrect == 1)
    }

    @Test func rollingWindowKeepsTheLast1000() {
        var log = PredictionLog(capacity: 1000)
        for index in 0..<1100 { log.append(predicted: .buy, actual: index % 2 == 0 ? .buy : .sell, at: 0, prediction: nil) }
        #expect(log.entries.count == 1000)
        #expect(log.totalLogged == 1100)
        #expect(log.entries.first?.sequence == 101)
        #expect(log.entries.last?.sequence == 1100)
        #expect(log.totalCorrect == 550)
    }

    @Test func performanceNeedsAFullWindow() throws {
        let engine = try makeEngine()
        for _ in 0..<9 { try engine.logOutcome(actual: .buy, predicted: .buy) }
        let few = engine.performance()
        #expect(few.accuracy == nil)
        #expect(few.totalPredictions == 9 && few.windowPredictions == 9)
    }

    @Test func performanceOverTheLastWindowOf15() throws {
        let engine = try makeEngine()
        // 5 wrong, then 10 of which 7 right: the window sees only the last 10.
        for _ in 0..<5 { try engine.logOutcome(actual: .sell, predicted: .buy) }
        for index in 0..<10 { try engine.logOutcome(actual: index < 7 ? .buy : .sell, predicted: .buy) }
        let summary = engine.performance()
        #expect(summary.accuracy == 0.7)
        #expect(summary.correctPredictions == 7)
        #expect(summary.windowPredictions == 10)
        #expect(summary.totalPredictions == 15)
        #expect(summary.totalCorrect == 7)
    }

    @Test func pendingPredictionIsScoredOnce() throws {
        let engine = try makeEngine()
        #expect(throws: LoopError.noTrainedModel) { try engine.predict() }
        #expect(throws: LoopError.noPendingPrediction) { try engine.logOutcome(actual: .buy) }
        try engine.train(Tier.all[0])
        let prediction = try engine.predict()
        let entry = try engine.logOutcome(actual: .hold)
        #expect(entry.predicted == prediction.signal)
        #expect(entry.prediction == prediction)
        #expect(engine.pending == nil)
        #expect(throws: LoopError.noPendingPrediction) { try engine.logOutcome(actual: .buy) }
    }
}

@Suite struct TrainingAndTriggers {
    @Test func trainingBeforeDataFails() {
        let engine = LoopEngine(clock: LoopClock { fixedNow })
        #expect(throws: LoopError.noData) { try engine.train(Tier.all[0]) }
        #expect(engine.cycle().status == .error)
    }

    @Test func tier1RecordsResultsVersionsAndTimestamps() throws {
        let engine = try makeEngine()
        let result = try engine.train(Tier.all[0])
        #expect(result.tier == 1)
        #expect(result.records.map(\.model) == [.logistic])
        let record = try #require(result.records.first)
        #expect(record.version == 1)
        #expect(record.trainRows + record.testRows == 720 - FeatureBuilder.warmup - 1)
        #expect((0...1).contains(record.accuracy) && (0...1).contains(record.baselineAccuracy))
        #expect(engine.lastTraining[1] == fixedNow)
        #expect(engine.history.count == 1)
        try engine.train(Tier.all[0])
        #expect(engine.versions[.logistic] == 2)
        #expect(engine.history.map(\.version) == [1, 2])
    }

    @Test func tier3TrainsAllThreeModelsAndTheLSTMVotes() throws {
        let engine = try makeEngine()
        var progress: [TrainingProgress] = []
        engine.onEvent = { if case .progress(let step) = $0 { progress.append(step) } }
        let result = try engine.train(Tier.all[2])
        #expect(result.records.map(\.model) == [.logistic, .xgboost, .lstm])
        let lstm = try #require(result.records.last)
        #expect(lstm.details.sequenceValidation?.mse.isFinite == true && lstm.details.sequenceValidation?.naiveMSE.isFinite == true)
        #expect(lstm.details.sequenceValidation?.epochs == 2)
        #expect(lstm.trainRows + lstm.testRows == 720 - 16)
        #expect(progress.map(\.step) == [1, 2] && progress.allSatisfy { $0.model == .lstm && $0.steps == 2 })
        #expect(Tier.all.allSatisfy { engine.lastTraining[$0.number] == fixedNow })

        let prediction = try engine.predict()
        #expect(prediction.models.map(\.model) == [.logistic, .xgboost, .lstm])
        #expect(prediction.weights.map(\.value) == [0.3, 0.5, 0.2])
        let regressor = try #require(engine.models[.lstm]?.model as? LSTMModel).regressor
        let closes = engine.series!.closes.suffix(16)
        #expect(prediction.models[2].value == (try regressor.probabilityUp(prices: Array(closes))))
        #expect(prediction.models[2].value != 0.5, "the seed app's fixed 0.5 vote is the defect to fix")
    }

    @Test func cancellingTier3KeepsThePreviousModels() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[2])
        try engine.setConfig("lstm.epochs", "500")
        var epochs = 0
        engine.onEvent = { if case .progress = $0 { epochs += 1 } }
        engine.isCancelled = { epochs >= 2 }
        #expect(throws: LoopError.cancelled) { try engine.train(Tier.all[2]) }
        #expect(epochs < 10)
        #expect(engine.versions == [.logistic: 1, .xgboost: 1, .lstm: 1])
        #expect(engine.history.count == 3)
        #expect(!engine.trainingInProgress)
    }

    @Test func tooFewPricesForTheLSTMFailsTheWholeTier() throws {
        // 3 days: enough rows for the feature models (55), too few for 60-bar sequences plus validation.
        let engine = try makeEngine(days: 3)
        try engine.setConfig("lstm.sequence_length", "70")
        #expect(LSTMConfiguration().sequenceLength == 60)
        let need = LSTMRegressor.requiredPrices(sequenceLength: 70)
        #expect(throws: LSTMError.tooFewPrices(have: 72, need: need)) { try engine.train(Tier.all[2]) }
        #expect(engine.history.isEmpty && engine.models.isEmpty)
    }

    @Test func tier2TrainsBothModelsOnTheSameSplitAndCoversTier1() throws {
        let engine = try makeEngine()
        let result = try engine.train(Tier.all[1])
        #expect(result.records.map(\.model) == [.logistic, .xgboost])
        #expect(Set(result.records.map(\.trainRows)).count == 1 && Set(result.records.map(\.testRows)).count == 1)
        #expect(Set(result.records.map(\.baselineAccuracy)).count == 1, "same holdout, same baseline")
        #expect(engine.lastTraining[1] == fixedNow && engine.lastTraining[2] == fixedNow)
        #expect(engine.versions == [.logistic: 1, .xgboost: 1])
        #expect(!engine.decision(for: Tier.all[0]).due && !engine.decision(for: Tier.all[1]).due)
        let prediction = try engine.predict()
        #expect(prediction.weights.map(\.value) == [0.3 / 0.8, 0.5 / 0.8])
        let features = FeatureBuilder.features(for: engine.series!)
        let direct = try engine.models[.xgboost]!.model.probabilityUp(series: engine.series!, features: features,
                                                                      row: features.rows - 1)
        #expect(prediction.models[1] == ModelProbability(model: .xgboost, value: direct))
    }

    @Test func xgboostTrainingIsDeterministic() throws {
        let first = try makeEngine(), second = try makeEngine()
        try first.train(Tier.all[1])
        try second.train(Tier.all[1])
        #expect(first.history.map(\.accuracy) == second.history.map(\.accuracy))
        #expect(try first.predict().models == second.predict().models)
    }

    @Test func failedXGBoostTrainingKeepsEveryModel() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[1])
        // A constant market: every label is "not up", a single class.
        let flat = PriceSeries(symbol: "DEMO", source: "test",
                               bars: (0..<200).map { Bar(time: fixedNow + Double($0) * 3600, price: 100) })
        engine.load(flat)
        #expect(throws: (any Error).self) { try engine.train(Tier.all[1]) }
        #expect(engine.versions == [.logistic: 1, .xgboost: 1])
        #expect(engine.history.count == 2)
    }

    @Test func neverTrainedIsDue() throws {
        let engine = try makeEngine()
        #expect(engine.decision(for: Tier.all[0]) == TriggerDecision(tier: 1, due: true, reason: .neverTrained))
    }

    @Test func intervalTrigger() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        #expect(engine.decision(for: Tier.all[0]).reason == .notDue(nextIn: 3600))
        try engine.advance(by: 3599)
        #expect(!engine.decision(for: Tier.all[0]).due)
        try engine.advance(by: 1)
        #expect(engine.decision(for: Tier.all[0]) ==
            TriggerDecision(tier: 1, due: true, reason: .intervalElapsed(elapsed: 3600, interval: 3600)))
        let report = engine.cycle()
        #expect(report.status == .success)
        #expect(engine.lastTraining[1] == fixedNow + 3600)
        #expect(engine.cycle().status == .noAction)
    }

    @Test func performanceTriggerCountsOnlyOutcomesSinceTraining() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        for _ in 0..<9 { try engine.logOutcome(actual: .sell, predicted: .buy) }
        #expect(!engine.decision(for: Tier.all[0]).due, "fewer than evaluation_window outcomes")
        try engine.logOutcome(actual: .sell, predicted: .buy)
        let decision = engine.decision(for: Tier.all[0])
        #expect(decision == TriggerDecision(tier: 1, due: true,
                                            reason: .performanceBelowThreshold(metric: .directional, score: 0, threshold: 0.55, window: 10)))
        #expect(engine.cycle().status == .success)
        // The bad streak happened before this training: it must not trigger again.
        #expect(!engine.decision(for: Tier.all[0]).due)
        #expect(engine.cycle().status == .noAction)
        // Live accuracy overall is still 0 %, but it counts only for tiers trained before it.
        #expect(engine.performance().accuracy == 0)
    }

    @Test func goodPerformanceDoesNotTrigger() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        for index in 0..<10 { try engine.logOutcome(actual: index < 6 ? .buy : .sell, predicted: .buy) }
        #expect(!engine.decision(for: Tier.all[0]).due)
        try engine.setConfig("performance_threshold", "0.65")
        #expect(engine.decision(for: Tier.all[0]).due)
    }

    @Test func nothingIsDueWhileTraining() throws {
        let engine = try makeEngine()
        var seen: [TriggerReason] = []
        var cycleStatus: CycleStatus?
        engine.onEvent = { event in
            if case .trainingStarted = event {
                seen.append(engine.decision(for: Tier.all[0]).reason)
                cycleStatus = engine.cycle().status
            }
        }
        try engine.train(Tier.all[0])
        #expect(seen == [.trainingInProgress])
        #expect(cycleStatus == .skipped)
        #expect(throws: Never.self) { try engine.train(Tier.all[0]) }
    }

    @Test func tooFewRowsFailsAndKeepsTheModel() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let tiny = try DemoMarket.generate(days: 1, endingAt: fixedNow)
        engine.load(tiny)
        #expect(throws: (any Error).self) { try engine.train(Tier.all[0]) }
        #expect(engine.versions[.logistic] == 1)
        #expect(engine.models[.logistic] != nil)
    }

    @Test func ensembleRenormalisesOverTrainedModels() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let prediction = try engine.predict()
        #expect(prediction.weights == [ModelProbability(model: .logistic, value: 1)])
        #expect(prediction.ensemble == prediction.models[0].value)
        let expected: Signal = prediction.ensemble > 0.6 ? .buy : prediction.ensemble < 0.4 ? .sell : .hold
        #expect(prediction.signal == expected)
        #expect(prediction.barTime == engine.series!.bars.last!.time)
    }

    @Test func predictionComesFromTheTrainedModel() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[0])
        let slot = try #require(engine.models[.logistic])
        let features = FeatureBuilder.features(for: engine.series!)
        let direct = try slot.model.probabilityUp(series: engine.series!, features: features, row: features.rows - 1)
        #expect(try engine.predict().models[0].value == direct)
    }

    @Test func advanceRejectsNonPositive() throws {
        let engine = try makeEngine()
        #expect(throws: LoopError.self) { try engine.advance(by: 0) }
        #expect(throws: LoopError.self) { try engine.advance(by: -60) }
        #expect(engine.clock.offset == 0)
    }
}

@Suite struct Trends {
    func records(_ accuracies: [Double]) -> [TrainingRecord] {
        var result: [TrainingRecord] = []
        for (index, accuracy) in accuracies.enumerated() {
            result.append(TrainingRecord(time: Double(index), model: .logistic, version: index + 1, tier: 1,
                                         accuracy: accuracy, baselineAccuracy: 0.5, trainRows: 10, testRows: 3,
                                         seconds: 0.001))
        }
        return result
    }

    @Test func directions() {
        #expect(Trend.of(.logistic, history: records([0.5]), window: 5, threshold: 0.02).direction == .insufficientData)
        #expect(Trend.of(.logistic, history: records([0.5, 0.53]), window: 5, threshold: 0.02).direction == .improving)
        #expect(Trend.of(.logistic, history: records([0.55, 0.52]), window: 5, threshold: 0.02).direction == .degrading)
        #expect(Trend.of(.logistic, history: records([0.55, 0.56]), window: 5, threshold: 0.02).direction == .stable)
    }

    @Test func comparesFirstAndLastOfTheWindow() throws {
        // Window 3 of [0.40, 0.60, 0.50, 0.70, 0.55]: first 0.50, last 0.55.
        let trend = Trend.of(.logistic, history: records([0.40, 0.60, 0.50, 0.70, 0.55]), window: 3, threshold: 0.02)
        #expect(trend.direction == .improving)
        #expect(abs(try #require(trend.improvement) - 0.05) < 1e-12)
        #expect(trend.recentAccuracy == 0.55)
        let average = try #require(trend.averageAccuracy)
        let expectedAverage: Double = (0.50 + 0.70 + 0.55) / 3
        #expect(abs(average - expectedAverage) < 1e-12)
        #expect(Trend.of(.xgboost, history: records([0.5, 0.6]), window: 5, threshold: 0.02).records.isEmpty)
    }

    func records(_ scores: [(accuracy: Double, testRows: Int)]) -> [TrainingRecord] {
        scores.enumerated().map { index, score in
            TrainingRecord(time: Double(index), model: .logistic, version: index + 1, tier: 1, accuracy: score.accuracy,
                           baselineAccuracy: 0.5, trainRows: 10, testRows: score.testRows, seconds: 0.001)
        }
    }

    @Test("+6 pp on holdouts of 100 rows is within noise: SE = √(.5·.5/100 + .56·.44/100) ≈ 7.05 pp")
    func withinNoise() throws {
        let trend = Trend.of(.logistic, history: records([(0.50, 100), (0.56, 100)]), window: 5, threshold: 0.02)
        #expect(trend.direction == .improving, "the threshold rule is unchanged")
        #expect(abs(try #require(trend.changeStandardError) - 0.070455659815) < 1e-9)
        #expect(trend.exceedsNoise == false)
    }

    @Test("+6 pp on holdouts of 2,000 rows is beyond noise: SE ≈ 1.58 pp, 1.96 × SE ≈ 3.09 pp")
    func beyondNoise() throws {
        let trend = Trend.of(.logistic, history: records([(0.50, 2000), (0.56, 2000)]), window: 5, threshold: 0.02)
        #expect(abs(try #require(trend.changeStandardError) - 0.015754364475) < 1e-9)
        #expect(trend.exceedsNoise == true)
        // Downward by as much: the rule is on |change|.
        let down = Trend.of(.logistic, history: records([(0.56, 2000), (0.50, 2000)]), window: 5, threshold: 0.02)
        #expect(down.direction == .degrading && down.exceedsNoise == true)
    }

    @Test("the standard error uses each end's own test rows; the middle trainings do not enter it")
    func unequalHoldouts() throws {
        // First 0.5 over 40 rows, last 0.6 over 60: √(.25/40 + .24/60) ≈ 10.12 pp; the middle record is ignored.
        let trend = Trend.of(.logistic, history: records([(0.5, 40), (0.9, 5), (0.6, 60)]), window: 5, threshold: 0.02)
        #expect(abs(try #require(trend.changeStandardError) - 0.101242283657) < 1e-9)
        #expect(trend.exceedsNoise == false)
    }

    @Test("no standard error or verdict with one training or an empty holdout")
    func noStandardError() {
        let one = Trend.of(.logistic, history: records([(0.5, 100)]), window: 5, threshold: 0.02)
        #expect(one.changeStandardError == nil && one.exceedsNoise == nil)
        let empty = Trend.of(.logistic, history: records([(0.5, 100), (0.7, 0)]), window: 5, threshold: 0.02)
        #expect(empty.improvement != nil)
        #expect(empty.changeStandardError == nil && empty.exceedsNoise == nil)
    }
}
