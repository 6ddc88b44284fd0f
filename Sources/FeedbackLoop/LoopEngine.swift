import Foundation
import Learning
import MarketData

/// The loop's clock: a time source plus an offset that `advance` moves.
public struct LoopClock: Sendable {
    public var offset: TimeInterval = 0
    private let source: @Sendable () -> TimeInterval

    public init(offset: TimeInterval = 0, source: @escaping @Sendable () -> TimeInterval) {
        self.offset = offset
        self.source = source
    }

    public var now: TimeInterval { source() + offset }
}

/// The current model of a kind, with its version and holdout metrics.
public struct ModelSlot: Sendable {
    public let model: any TrainedModel
    public let record: TrainingRecord

    public init(model: any TrainedModel, record: TrainingRecord) {
        self.model = model
        self.record = record
    }
}

/// The models one `train` produced.
public struct TierTrainingResult: Sendable {
    public let tier: Int
    /// Measured (monotonic clock) duration of the whole training, not loop time.
    public let seconds: Double
    public let records: [TrainingRecord]
}

/// What one `cycle` did for one tier.
public struct CycleTierOutcome: Sendable {
    public let decision: TriggerDecision
    public let result: TierTrainingResult?
    /// Why the training failed: the error itself, so callers branch on its type and the shell words it.
    public let error: (any Error)?

    /// The tier failed only because the data had too few rows for it yet (a replay's early steps): not fatal.
    public var needsMoreData: Bool {
        if let error, case MarketDataError.tooFewRows = error { return true }
        return false
    }
}

public enum CycleStatus: String, Sendable {
    case success, noAction = "no_action", skipped, error
}

public struct CycleReport: Sendable {
    public let status: CycleStatus
    public let message: String
    public let tiers: [CycleTierOutcome]
    /// With status `error`: what failed (and in which tier, when a training did), for the shell to word.
    public var failure: (any Error)?
    public var failedTier: Int?
}

/// Something worth telling the user while the loop works; the shell turns these into log lines.
public enum LoopEvent: Sendable {
    case trainingStarted(tier: Tier)
    /// A long-running model finished one epoch (or similar step) of its training.
    case progress(TrainingProgress)
    case trainingFinished(TierTrainingResult)
    case trainingFailed(tier: Tier, error: any Error)
}

/// One step of a long training, for progress bars.
public struct TrainingProgress: Sendable, Equatable {
    public let model: ModelKind
    public let step: Int
    public let steps: Int
    public let loss: Double
    public let validationLoss: Double?
    public let elapsed: Double

    public init(model: ModelKind, step: Int, steps: Int, loss: Double, validationLoss: Double?, elapsed: Double) {
        self.model = model
        self.step = step
        self.steps = steps
        self.loss = loss
        self.validationLoss = validationLoss
        self.elapsed = elapsed
    }

    /// Seconds left if the remaining steps take as long as the finished ones.
    public var estimatedRemaining: Double { step > 0 ? elapsed / Double(step) * Double(steps - step) : .nan }
}

/// The feedback loop: data, tiers, triggers, models, ensemble, prediction log and history.
///
/// Not thread-safe by itself; the shell drives it from one thread.
public final class LoopEngine {
    public private(set) var config = LoopConfig()
    public var clock: LoopClock
    public private(set) var series: PriceSeries?
    public private(set) var models: [ModelKind: ModelSlot] = [:]
    public private(set) var history: [TrainingRecord] = []
    public private(set) var versions: [ModelKind: Int] = [:]
    /// Last training time per tier number.
    public private(set) var lastTraining: [Int: TimeInterval] = [:]
    /// The log's `totalLogged` when each tier last trained: the performance trigger counts only later outcomes.
    public private(set) var logMarkAtTraining: [Int: Int] = [:]
    public private(set) var log = PredictionLog()
    public private(set) var pending: Prediction?
    public private(set) var trainingInProgress = false
    /// Bumped when the whole state is replaced (`restore`), so a training begun before cannot commit into it.
    public private(set) var stateGeneration = 0
    /// Bumped whenever the series is replaced, so persistence knows to rewrite the bars.
    public private(set) var seriesGeneration = 0
    /// Every model the last training fitted, promoted or not (persistence stores each version's weights).
    public private(set) var lastFitted: [ModelKind: ModelSlot] = [:]
    /// Predictions made since this engine started (each `predict`), so persistence stores every one.
    public private(set) var predictionsMade = 0
    public var onEvent: ((LoopEvent) -> Void)?
    /// Polled during long trainings; returning true cancels them (the previous models stay).
    public var isCancelled: (() -> Bool)?
    /// Set only on a replay's simulated loop: the whole series' features, sliced per step, and fits shared
    /// between the replay's runs. Same data and fits as without it, computed once.
    var replayCache: ReplayCache?
    /// How this loop's replays compute when the caller does not say; every mode gives the same reports. `.shared`
    /// polls `isCancelled` once per step, which makes a cancellation land on a known step.
    public var replayExecution = ReplayExecution.concurrent
    /// Hears a replay's progress (steps the slowest run has taken, steps in all), on the replaying thread.
    public var replayProgress: ((_ step: Int, _ steps: Int) -> Void)?

    public init(clock: LoopClock) {
        self.clock = clock
    }

    // MARK: Data and config

    /// Replaces the market data. Models stay (they are scored on the new data); a pending prediction is dropped
    /// because it referred to the old series.
    /// What became of the pending prediction when new data arrived.
    public enum PendingFate: Sendable, Equatable {
        case none
        /// Its next bar arrived: scored from the realised move.
        case resolved(ScoredPrediction, realisedReturn: Double)
        /// Its bar is still the latest: it waits for the next one.
        case waiting
        /// The new data does not contain its bar (another market or source): it cannot be scored.
        case dropped
    }

    /// Replaces the market data. Models stay (they are scored on the new data). A pending prediction whose next bar
    /// is now known is scored from the realised move; one whose bar is gone is dropped.
    @discardableResult
    public func load(_ newSeries: PriceSeries) -> PendingFate {
        series = newSeries
        seriesGeneration += 1
        guard let prediction = pending else { return .none }
        guard let index = newSeries.bars.firstIndex(where: { $0.time == prediction.barTime }) else {
            pending = nil
            return .dropped
        }
        guard index + 1 < newSeries.count else { return .waiting }
        let realised = newSeries.bars[index + 1].close / newSeries.bars[index].close - 1
        let band = config.holdBand.band(at: index, bars: newSeries.bars)
        let entry = log.append(predicted: prediction.signal, actual: Self.outcome(ofReturn: realised, band: band),
                               at: clock.now, prediction: prediction, realisedReturn: realised)
        pending = nil
        return .resolved(entry, realisedReturn: realised)
    }

    /// The signal that would have been right for a move: BUY above `band`, SELL below −`band`, else HOLD.
    public static func outcome(ofReturn realised: Double, band: Double) -> Signal {
        realised > band ? .buy : realised < -band ? .sell : .hold
    }

    /// Replaces the whole state with a stored session's (after it was read and validated in full).
    public func restore(series: PriceSeries?, config: LoopConfig, clockOffset: TimeInterval, history: [TrainingRecord],
                        models: [ModelKind: ModelSlot], versions: [ModelKind: Int], lastTraining: [Int: TimeInterval],
                        logMarks: [Int: Int], log: PredictionLog, pending: Prediction?) {
        self.series = series
        seriesGeneration += 1
        self.config = config
        clock.offset = clockOffset
        self.history = history
        self.models = models
        self.versions = versions
        self.lastTraining = lastTraining
        self.logMarkAtTraining = logMarks
        self.log = log
        self.pending = pending
        lastFitted = [:]
        stateGeneration += 1
    }

    /// Makes `slot` (an earlier version, decoded from storage) the current model of its kind: rollback.
    /// New trainings still number after the highest version ever trained.
    public func install(_ slot: ModelSlot) {
        models[slot.model.kind] = slot
    }

    public func setConfig(_ key: String, _ value: String) throws {
        try config.set(key, to: value)
        log.setCapacity(config.logWindow)
    }

    /// Changes settings that are not `set` keys (auto mode's); the result must still validate.
    public func updateConfig(_ change: (inout LoopConfig) throws -> Void) throws {
        var updated = config
        try change(&updated)
        try updated.validate()
        config = updated
    }

    public func resetConfig(_ key: String) throws {
        try config.reset(key)
        log.setCapacity(config.logWindow)
    }

    /// Moves the loop's clock forward.
    public func advance(by seconds: TimeInterval) throws {
        try Self.checkAdvance(seconds, from: clock.offset)
        clock.offset += seconds
    }

    /// Throws unless `seconds` is a duration the clock may move forward by from `offset` (the clock never goes
    /// back, and stays within `Bounded.clockOffset` of system time).
    public static func checkAdvance(_ seconds: TimeInterval, from offset: TimeInterval) throws {
        guard seconds.isFinite, seconds > 0 else {
            throw LoopError.nonMonotonicClock("advance needs a positive duration such as 90m, 6h or 2d — the loop's clock never goes back")
        }
        guard Bounded.clockOffset.contains(offset + seconds) else {
            throw LoopError.clockOutOfRange(offset: offset, seconds: seconds)
        }
    }

    // MARK: Triggers

    /// Whether `tier` should train now, and why. Shared by `cycle`, `status` and tests.
    /// `time`: judge as of this moment instead of the clock's now (auto mode judges at each check's planned time,
    /// so an hourly check keeps an hourly tier due however long the previous check's fetch took).
    public func decision(for tier: Tier, at time: TimeInterval? = nil) -> TriggerDecision {
        if trainingInProgress { return TriggerDecision(tier: tier.number, due: false, reason: .trainingInProgress) }
        guard let last = lastTraining[tier.number] else {
            return TriggerDecision(tier: tier.number, due: true, reason: .neverTrained)
        }
        let interval = effectiveInterval(forTier: tier.number)
        let elapsed = (time ?? clock.now) - last
        if elapsed >= interval {
            return TriggerDecision(tier: tier.number, due: true,
                                   reason: .intervalElapsed(elapsed: elapsed, interval: interval))
        }
        switch performanceVerdict(since: logMarkAtTraining[tier.number] ?? 0) {
        case .belowThreshold(let metric, let score, let threshold, let window):
            return TriggerDecision(tier: tier.number, due: true,
                                   reason: .performanceBelowThreshold(metric: metric, score: score, threshold: threshold,
                                                                       window: window))
        case .belowBaseline(let metric, let score, let baseline, let baselineScore, let window):
            return TriggerDecision(tier: tier.number, due: true,
                                   reason: .performanceBelowBaseline(metric: metric, score: score, baseline: baseline,
                                                                      baselineScore: baselineScore, window: window))
        case .fine, .notEnoughOutcomes:
            break
        }
        if config.driftDetector != .off {
            let errors = log.recent(config.logWindow, after: logMarkAtTraining[tier.number] ?? 0).map { $0.correct ? 0.0 : 1.0 }
            if config.driftDetector.fires(on: errors, delta: config.driftDelta, lambda: config.driftLambda) {
                return TriggerDecision(tier: tier.number, due: true,
                                       reason: .driftDetected(detector: config.driftDetector, outcomes: errors.count))
            }
        }
        return TriggerDecision(tier: tier.number, due: false, reason: .notDue(nextIn: interval - elapsed))
    }

    /// The tier's interval; with adaptive intervals, scaled by long-run / recent volatility, within ×0.5…×2.
    public func effectiveInterval(forTier tier: Int) -> TimeInterval {
        let base = config.interval(forTier: tier)
        guard config.adaptiveIntervals == .on, let ratio = volatilityRatio() else { return base }
        return base * min(2, max(0.5, 1 / ratio))
    }

    /// Recent (last 24 bars) over long-run (the whole loaded series) volatility of bar-to-bar log returns;
    /// nil without enough data or movement.
    public func volatilityRatio() -> Double? {
        guard let closes = series?.closes, closes.count >= 49 else { return nil }
        var returns: [Double] = []
        returns.reserveCapacity(closes.count - 1)
        for index in 1..<closes.count { returns.append(Foundation.log(closes[index] / closes[index - 1])) }
        func deviation(_ values: ArraySlice<Double>) -> Double {
            let mean = values.reduce(0, +) / Double(values.count)
            return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
        }
        let longRun = deviation(returns[...]), recent = deviation(returns.suffix(24))
        guard longRun > 0, recent.isFinite else { return nil }
        return recent / longRun
    }

    /// The performance trigger on the last `evaluationWindow` outcomes scored after log position `mark`.
    public func performanceVerdict(since mark: Int) -> PerformanceVerdict {
        PerformanceVerdict.judge(log.recent(config.evaluationWindow, after: mark), config: config, series: series)
    }

    // MARK: Training

    /// Trains every model of `tier` on the loaded data; on any failure no model changes.
    @discardableResult
    public func train(_ tier: Tier) throws -> TierTrainingResult {
        let job = try beginTraining(tier)
        do {
            let fitted = try Self.fit(job, progress: { [weak self] in self?.onEvent?(.progress($0)) },
                                      isCancelled: { [weak self] in self?.isCancelled?() ?? false })
            return try finishTraining(fitted)
        } catch {
            abandonTraining(job, error: error)
            throw error
        }
    }

    /// Starts a training of `tier`: snapshots what the fit needs and marks the loop busy, so no second training
    /// starts until `finishTraining` or `abandonTraining`. The fit itself (`fit`) touches no engine state, which lets
    /// the shell run it on another thread while commands go on. `announce`: false keeps `onEvent` silent about it
    /// (a background training is reported by its scheduler, not as a foreground command's log lines).
    /// `time`: the training's time on the loop's clock (default now).
    public func beginTraining(_ tier: Tier, announce: Bool = true, at time: TimeInterval? = nil) throws -> TrainingJob {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        guard let series else { throw LoopError.noData }
        trainingInProgress = true
        if announce { onEvent?(.trainingStarted(tier: tier)) }
        return TrainingJob(tier: tier, series: series, config: config,
                           incumbents: config.promotion == .better ? models.mapValues(\.model) : [:],
                           stateGeneration: stateGeneration, measuredStart: ContinuousClock.now, startedAt: time ?? clock.now,
                           announce: announce, replayCache: replayCache)
    }

    /// Fits every model of the job's tier on its snapshot; pure, so it may run on any thread.
    public static func fit(_ job: TrainingJob, progress: @escaping (TrainingProgress) -> Void = { _ in },
                           isCancelled: @escaping () -> Bool = { false }) throws -> FittedTier {
        // A replay's simulated loop slices one feature matrix and shares fits between its runs (same results).
        let dataset = try job.replayCache?.dataset(for: job.series, testFraction: job.config.testFraction)
            ?? Dataset.make(from: job.series, testFraction: job.config.testFraction)
        var fitted: [FittedTier.Model] = []
        for kind in job.tier.models {
            let modelStart = ContinuousClock.now
            let outcome = try job.replayCache?.fit(kind, dataset: dataset, series: job.series, config: job.config,
                                                   isCancelled: isCancelled)
                ?? ModelTrainer.fit(kind, dataset: dataset, series: job.series, config: job.config,
                                    progress: progress, isCancelled: isCancelled)
            var model = FittedTier.Model(outcome: outcome, measuredSeconds: measuredSeconds(since: modelStart))
            // With `promotion better`, each challenger meets the current model on the same most recent holdout.
            if let incumbent = job.incumbents[kind] {
                let challengerScore = try ModelTrainer.holdoutAccuracy(of: outcome.model, dataset: dataset, series: job.series)
                let incumbentScore = try ModelTrainer.holdoutAccuracy(of: incumbent, dataset: dataset, series: job.series)
                model.verdict = PromotionVerdict(promoted: challengerScore >= incumbentScore + job.config.improvementThreshold,
                                                 challengerHoldout: challengerScore, incumbentHoldout: incumbentScore)
            }
            fitted.append(model)
        }
        return FittedTier(job: job, models: fitted)
    }

    /// Commits a finished fit: new versions, promoted models, the tiers' clocks. Nothing is committed when the
    /// loop's state was replaced (a session loaded) while the fit ran.
    @discardableResult
    public func finishTraining(_ fitted: FittedTier) throws -> TierTrainingResult {
        let job = fitted.job
        trainingInProgress = false
        let series = job.series
        guard job.stateGeneration == stateGeneration else {
            let error = LoopError.trainingSuperseded(tier: job.tier.number)
            if job.announce { onEvent?(.trainingFailed(tier: job.tier, error: error)) }
            throw error
        }
        // Intervals run from the start of a training, so a check every hour retrains an hourly tier every hour
        // however long the fit took.
        let now = job.startedAt
        var records: [TrainingRecord] = []
        lastFitted = [:]
        for fittedModel in fitted.models {
            let outcome = fittedModel.outcome
            let kind = outcome.model.kind
            let version = (versions[kind] ?? 0) + 1
            versions[kind] = version
            var details = outcome.details
            details.promotion = fittedModel.verdict
            let record = TrainingRecord(time: now, model: kind, version: version, tier: job.tier.number,
                                        accuracy: outcome.accuracy, baselineAccuracy: outcome.baselineAccuracy,
                                        trainRows: outcome.trainRows, testRows: outcome.testRows, seconds: fittedModel.measuredSeconds,
                                        details: details, dataStart: series.first?.time, dataEnd: series.last?.time,
                                        dataSymbol: series.symbol, dataInterval: series.interval)
            let slot = ModelSlot(model: outcome.model, record: record)
            lastFitted[kind] = slot
            // A rejected challenger is still a recorded version; the current model stays.
            if fittedModel.verdict?.promoted ?? true { models[kind] = slot }
            history.append(record)
            records.append(record)
        }
        // A tier retrains the models of every lower tier too, so their clocks restart with it.
        for lower in Tier.all where lower.number <= job.tier.number && Set(lower.models).isSubset(of: job.tier.models) {
            lastTraining[lower.number] = now
            logMarkAtTraining[lower.number] = log.totalLogged
        }
        let result = TierTrainingResult(tier: job.tier.number, seconds: Self.measuredSeconds(since: job.measuredStart), records: records)
        if job.announce { onEvent?(.trainingFinished(result)) }
        return result
    }

    /// Ends a training that failed or was cancelled; every previous model stays.
    public func abandonTraining(_ job: TrainingJob, error: Error) {
        trainingInProgress = false
        if job.announce { onEvent?(.trainingFailed(tier: job.tier, error: error)) }
    }

    /// One feedback-loop cycle: trains the due tiers, highest first; a trained tier covers the lower ones.
    /// `tiers`: only these tier numbers take part (replay's `--tiers`); all by default.
    public func cycle(tiers: Set<Int>? = nil) -> CycleReport {
        if trainingInProgress {
            let outcomes = Tier.all.map {
                CycleTierOutcome(decision: TriggerDecision(tier: $0.number, due: false, reason: .trainingInProgress),
                                 result: nil, error: nil)
            }
            return CycleReport(status: .skipped, message: "training already in progress, skipping cycle", tiers: outcomes)
        }
        guard series != nil else {
            return CycleReport(status: .error, message: LoopError.noData.description, tiers: [], failure: LoopError.noData)
        }
        var outcomes: [Int: CycleTierOutcome] = [:]
        var coveredBy: [Int: Int] = [:]
        for tier in Tier.all.reversed() where tiers?.contains(tier.number) ?? true {
            if let covering = coveredBy[tier.number] {
                outcomes[tier.number] = CycleTierOutcome(
                    decision: TriggerDecision(tier: tier.number, due: false, reason: .coveredByTier(covering)),
                    result: nil, error: nil)
                continue
            }
            let decision = decision(for: tier)
            guard decision.due else {
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: nil, error: nil)
                continue
            }
            do {
                let result = try train(tier)
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: result, error: nil)
                for lower in Tier.all where lower.number < tier.number && Set(lower.models).isSubset(of: tier.models) {
                    coveredBy[lower.number] = tier.number
                }
            } catch {
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: nil, error: error)
            }
        }
        let ordered = Tier.all.compactMap { outcomes[$0.number] }
        let trained = ordered.filter { $0.result != nil }.count
        let failed = ordered.filter { $0.error != nil }
        if let first = failed.first {
            return CycleReport(status: .error, message: "tier\(first.decision.tier) failed: \(first.error.map { String(describing: $0) } ?? "")",
                               tiers: ordered, failure: first.error, failedTier: first.decision.tier)
        }
        if trained > 0 {
            return CycleReport(status: .success, message: "\(trained) tier(s) trained", tiers: ordered)
        }
        return CycleReport(status: .noAction, message: "no tier due", tiers: ordered)
    }

    // MARK: Prediction

    /// Ensemble prediction on the latest bar; it becomes the pending prediction.
    public func predict() throws -> Prediction {
        guard let series else { throw LoopError.noData }
        let trained = ModelKind.allCases.compactMap { models[$0] }
        guard !trained.isEmpty else { throw LoopError.noTrainedModel }
        let features = replayCache?.latestFeatures(for: series) ?? FeatureBuilder.features(for: series)
        let row = features.rows - 1
        guard row >= 0, let lastBar = series.last else { throw LoopError.noData }
        var probabilities: [ModelProbability] = []
        var rawWeights: [(ModelKind, Double)] = []
        // Only the per-model records: the full summary scans the series for climatology, too slow per prediction.
        let liveRecord = config.ensembleWeighting == .performance ? modelRecords(log.recent(config.evaluationWindow)) : [:]
        for slot in trained {
            let kind = slot.model.kind
            probabilities.append(ModelProbability(model: kind,
                                                  value: try slot.model.probabilityUp(series: series, features: features, row: row)))
            rawWeights.append((kind, config.weight(for: kind) * Self.performanceFactor(liveRecord[kind])))
        }
        var weightSum = rawWeights.reduce(0) { $0 + $1.1 }
        // All trained models weighted 0: fall back to equal weights rather than dividing by zero.
        if weightSum <= 0 {
            rawWeights = rawWeights.map { ($0.0, 1) }
            weightSum = Double(rawWeights.count)
        }
        let weights = rawWeights.map { ModelProbability(model: $0.0, value: $0.1 / weightSum) }
        let ensemble = zip(probabilities, weights).reduce(0) { $0 + $1.0.value * $1.1.value }
        let signal: Signal = ensemble > config.buyThreshold ? .buy : ensemble < config.sellThreshold ? .sell : .hold
        let prediction = Prediction(signal: signal, ensemble: ensemble, models: probabilities, weights: weights,
                                    price: lastBar.close, barTime: lastBar.time, madeAt: clock.now)
        pending = prediction
        predictionsMade += 1
        return prediction
    }

    /// With performance weighting, a model's configured weight is scaled by its live accuracy over the evaluation
    /// window relative to a coin flip (accuracy / 0.5, clamped to 0.2…2); under 5 scored predictions it keeps ×1.
    public static func performanceFactor(_ record: ModelPerformance?) -> Double {
        guard let record, record.scored >= 5, let accuracy = record.accuracy else { return 1 }
        return min(2, max(0.2, accuracy / 0.5))
    }

    /// Scores the pending prediction (or `predicted`, when given) against what happened.
    @discardableResult
    public func logOutcome(actual: Signal, predicted: Signal? = nil) throws -> ScoredPrediction {
        let scored: Prediction?
        let signal: Signal
        if let predicted {
            signal = predicted
            scored = pending?.signal == predicted ? pending : nil
        } else if let pending {
            signal = pending.signal
            scored = pending
        } else {
            throw LoopError.noPendingPrediction
        }
        let entry = log.append(predicted: signal, actual: actual, at: clock.now, prediction: scored)
        if scored != nil { pending = nil }
        return entry
    }

    // MARK: Reporting

    public func performance() -> PerformanceSummary {
        let window = config.evaluationWindow
        let recent = log.recent(window)
        let correct = recent.lazy.filter(\.correct).count
        return PerformanceSummary(accuracy: recent.count >= window ? Double(correct) / Double(recent.count) : nil,
                                  evaluationWindow: window, windowPredictions: recent.count,
                                  correctPredictions: correct, totalPredictions: log.totalLogged,
                                  totalCorrect: log.totalCorrect,
                                  models: modelRecords(recent),
                                  live: LiveScores(recent, prior: LiveScores.prior(for: recent, series: series)),
                                  trigger: PerformanceVerdict.judge(recent, config: config, series: series))
    }

    /// Each model's own signal (its probability against the same thresholds) scored against the same outcomes.
    func modelRecords(_ entries: ArraySlice<ScoredPrediction>) -> [ModelKind: ModelPerformance] {
        var perModel: [ModelKind: (correct: Int, scored: Int)] = [:]
        for entry in entries {
            for probability in entry.prediction?.models ?? [] {
                let own: Signal = probability.value > config.buyThreshold ? .buy
                    : probability.value < config.sellThreshold ? .sell : .hold
                var tally = perModel[probability.model] ?? (0, 0)
                tally.scored += 1
                if own == entry.actual { tally.correct += 1 }
                perModel[probability.model] = tally
            }
        }
        return perModel.mapValues { ModelPerformance(correct: $0.correct, scored: $0.scored) }
    }

    public func trend(_ model: ModelKind, window: Int? = nil) -> Trend {
        Trend.of(model, history: history, window: window ?? config.trendWindow, threshold: config.improvementThreshold)
    }

    /// Seconds measured on the monotonic clock since `start`: a duration, never a time of the loop.
    static func measuredSeconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// What a training needs, taken from the loop when it starts (see `LoopEngine.beginTraining`).
public struct TrainingJob: @unchecked Sendable {
    // @unchecked: the incumbent models are immutable after training (XGBoost serialises its own calls).
    public let tier: Tier
    public let series: PriceSeries
    public let config: LoopConfig
    /// The current models, met by each challenger under `promotion better`.
    let incumbents: [ModelKind: any TrainedModel]
    let stateGeneration: Int
    /// When it started on the monotonic clock, only to measure how long it took (`startedAt` is its loop time).
    public let measuredStart: ContinuousClock.Instant
    /// The loop's clock when it started: the training's time in the history and for the tiers' intervals.
    public let startedAt: TimeInterval
    let announce: Bool
    /// Set only on a replay's simulated loop.
    let replayCache: ReplayCache?
}

/// A tier's fitted models, not yet committed to the loop.
public struct FittedTier: @unchecked Sendable {
    struct Model {
        let outcome: FitOutcome
        /// The fit's measured duration (monotonic clock).
        let measuredSeconds: Double
        var verdict: PromotionVerdict?
    }
    public let job: TrainingJob
    let models: [Model]
}
