import Foundation
import Learning
import MarketData

/// Everything the feedback loop knows, as one value: the data, the settings, the models and every version trained,
/// the tiers' clocks, the prediction log and the pending prediction, and the clock's offset.
///
/// Every operation is a function of the state that returns what it did and the **typed changes** it made
/// (`LoopChange`). Whoever owns the live state (`LoopEngine`) keeps those changes until the session writer has
/// stored them; a replay runs the same functions on a copy and keeps only what it needs. Time is always passed in
/// (the owner reads its clock), so nothing here reads a wall clock.
public struct LoopState: Sendable {
    public internal(set) var series: PriceSeries?
    public internal(set) var config: LoopConfig
    /// How far the loop's clock runs ahead of its time source (`advance`).
    public internal(set) var clockOffset: TimeInterval
    /// Every training, in order.
    public internal(set) var history: [TrainingRecord]
    /// The current model of each kind.
    public internal(set) var models: [ModelKind: ModelSlot]
    /// The highest version ever trained per model (new trainings number after it, whatever is current).
    public internal(set) var versions: [ModelKind: Int]
    /// Last training time per tier number.
    public internal(set) var lastTraining: [Int: TimeInterval]
    /// The log's `totalLogged` when each tier last trained: the performance trigger counts only later outcomes.
    public internal(set) var logMarks: [Int: Int]
    public internal(set) var log: PredictionLog
    public internal(set) var pending: Prediction?

    /// An empty loop with `config`.
    public init(config: LoopConfig = LoopConfig()) {
        self.init(series: nil, config: config, clockOffset: 0, history: [], models: [:], lastTraining: [:], logMarks: [:],
                  log: PredictionLog(capacity: config.logWindow), pending: nil)
    }

    /// A stored loop. `versions` defaults to the highest version of each model in `history`.
    public init(series: PriceSeries?, config: LoopConfig, clockOffset: TimeInterval, history: [TrainingRecord],
                models: [ModelKind: ModelSlot], versions: [ModelKind: Int]? = nil, lastTraining: [Int: TimeInterval],
                logMarks: [Int: Int], log: PredictionLog, pending: Prediction?) {
        self.series = series
        self.config = config
        self.clockOffset = clockOffset
        self.history = history
        self.models = models
        self.versions = versions ?? history.reduce(into: [:]) { $0[$1.model] = max($0[$1.model] ?? 0, $1.version) }
        self.lastTraining = lastTraining
        self.logMarks = logMarks
        self.log = log
        self.pending = pending
    }
}

/// One typed change to the loop's state: what the session writer stores, one transaction per command.
/// Adding a persisted field means a `LoopState` property, its case here, and its table in the session schema.
public enum LoopChange: Sendable {
    /// The market data was replaced.
    case dataLoaded(PriceSeries)
    /// The settings changed (`set`, `reset`, auto mode's settings).
    case configChanged(LoopConfig)
    /// The clock's offset moved (`advance`).
    case clockMoved(offset: TimeInterval)
    /// Trainings joined the history; `models` holds the fitted model of every version whose weights are kept (each
    /// version of a live training, promoted or not; the versions an applied replay left current).
    case trained([TrainingRecord], models: [ModelSlot])
    /// Which version of each model is now current (a promotion, a rollback, an applied replay).
    case currentVersions([ModelKind: Int])
    /// The tiers' last-training times and log marks now.
    case tierClocks(lastTraining: [Int: TimeInterval], logMarks: [Int: Int])
    /// An outcome was scored and appended to the log.
    case scored(ScoredPrediction)
    /// A prediction was made; it is the pending one now.
    case predicted(Prediction)
    /// The pending prediction is gone (scored, or its bar left the data).
    case pendingCleared
}

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

// MARK: - Data, settings, clock

extension LoopState {
    /// Replaces the market data. Models stay (they are scored on the new data). A pending prediction whose next bar
    /// is now known is scored from the realised move at `now`; one whose bar is gone is dropped.
    public mutating func load(_ newSeries: PriceSeries, at now: TimeInterval) -> (fate: PendingFate, changes: [LoopChange]) {
        series = newSeries
        var changes: [LoopChange] = [.dataLoaded(newSeries)]
        guard let prediction = pending else { return (.none, changes) }
        guard let index = newSeries.bars.firstIndex(where: { $0.time == prediction.barTime }) else {
            pending = nil
            changes.append(.pendingCleared)
            return (.dropped, changes)
        }
        guard index + 1 < newSeries.count else { return (.waiting, changes) }
        let realised = newSeries.bars[index + 1].close / newSeries.bars[index].close - 1
        let band = config.holdBand.band(at: index, bars: newSeries.bars)
        let entry = log.append(predicted: prediction.signal, actual: LoopEngine.outcome(ofReturn: realised, band: band),
                               at: now, prediction: prediction, realisedReturn: realised)
        pending = nil
        changes += [.scored(entry), .pendingCleared]
        return (.resolved(entry, realisedReturn: realised), changes)
    }

    public mutating func setConfig(_ key: String, _ value: String) throws -> [LoopChange] {
        let before = config
        try config.set(key, to: value)
        log.setCapacity(config.logWindow)
        return config == before ? [] : [.configChanged(config)]
    }

    public mutating func resetConfig(_ key: String) throws -> [LoopChange] {
        let before = config
        try config.reset(key)
        log.setCapacity(config.logWindow)
        return config == before ? [] : [.configChanged(config)]
    }

    /// Changes settings that are not `set` keys (auto mode's); the result must still validate.
    public mutating func updateConfig(_ change: (inout LoopConfig) throws -> Void) throws -> [LoopChange] {
        var updated = config
        try change(&updated)
        try updated.validate()
        guard updated != config else { return [] }
        config = updated
        return [.configChanged(config)]
    }

    /// Moves the clock forward (never back, and within `Bounded.clockOffset` of its source).
    public mutating func advanceClock(by seconds: TimeInterval) throws -> [LoopChange] {
        try LoopEngine.checkAdvance(seconds, from: clockOffset)
        clockOffset += seconds
        return [.clockMoved(offset: clockOffset)]
    }

    /// Makes `slot` (an earlier version, decoded from storage) the current model of its kind: rollback.
    /// New trainings still number after the highest version ever trained.
    public mutating func install(_ slot: ModelSlot) -> [LoopChange] {
        models[slot.model.kind] = slot
        return [.currentVersions(models.mapValues(\.record.version))]
    }
}

// MARK: - Triggers

extension LoopState {
    /// Whether `tier` should train at `time`, and why.
    public func decision(for tier: Tier, at time: TimeInterval) -> TriggerDecision {
        guard let last = lastTraining[tier.number] else {
            return TriggerDecision(tier: tier.number, due: true, reason: .neverTrained)
        }
        let interval = effectiveInterval(forTier: tier.number)
        let elapsed = time - last
        if elapsed >= interval {
            return TriggerDecision(tier: tier.number, due: true,
                                   reason: .intervalElapsed(elapsed: elapsed, interval: interval))
        }
        switch performanceVerdict(since: logMarks[tier.number] ?? 0) {
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
            let errors = log.recent(config.logWindow, after: logMarks[tier.number] ?? 0).map { $0.correct ? 0.0 : 1.0 }
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
}

// MARK: - Training

/// How a cycle's trainings run: the owner fits (with its progress and cancellation) and hears the results.
public struct TrainingRunner {
    /// Fits a job's models (see `LoopEngine.fit`); called with the job the cycle made.
    public var fit: (TrainingJob) throws -> FittedTier
    /// Told of each committed training.
    public var finished: (TierTrainingResult) -> Void = { _ in }
    /// Told of each failed one.
    public var failed: (Tier, any Error) -> Void = { _, _ in }

    public init(fit: @escaping (TrainingJob) throws -> FittedTier, finished: @escaping (TierTrainingResult) -> Void = { _ in },
                failed: @escaping (Tier, any Error) -> Void = { _, _ in }) {
        self.fit = fit
        self.finished = finished
        self.failed = failed
    }
}

extension LoopState {
    /// What a training of `tier` at loop time `time` needs, snapshotted from the state; the fit touches nothing else.
    /// `pool`: the other assets whose rows join the training under `training_pool all` (ignored under `self`).
    func trainingJob(_ tier: Tier, at time: TimeInterval, generation: Int, announce: Bool,
                     replayCache: ReplayCache? = nil, pool: [PooledSource] = []) throws -> TrainingJob {
        guard let series else { throw LoopError.noData }
        return TrainingJob(tier: tier, series: series, config: config, pool: config.trainingPool == .all ? pool : [],
                           incumbents: config.promotion == .better ? models.mapValues(\.model) : [:],
                           stateGeneration: generation, measuredStart: ContinuousClock.now, startedAt: time,
                           announce: announce, replayCache: replayCache)
    }

    /// Commits a finished fit: new versions, promoted models, the tiers' clocks.
    mutating func commit(_ fitted: FittedTier) -> (result: TierTrainingResult, changes: [LoopChange]) {
        let job = fitted.job
        let series = job.series
        // Intervals run from the start of a training, so a check every hour retrains an hourly tier every hour
        // however long the fit took.
        let now = job.startedAt
        var records: [TrainingRecord] = []
        var slots: [ModelSlot] = []
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
            slots.append(slot)
            // A rejected challenger is still a recorded version; the current model stays.
            if fittedModel.verdict?.promoted ?? true { models[kind] = slot }
            history.append(record)
            records.append(record)
        }
        // A tier retrains the models of every lower tier too, so their clocks restart with it.
        for lower in Tier.all where lower.number <= job.tier.number && Set(lower.models).isSubset(of: job.tier.models) {
            lastTraining[lower.number] = now
            logMarks[lower.number] = log.totalLogged
        }
        let result = TierTrainingResult(tier: job.tier.number, seconds: LoopEngine.measuredSeconds(since: job.measuredStart),
                                        records: records)
        return (result, [.trained(records, models: slots), .currentVersions(models.mapValues(\.record.version)),
                         .tierClocks(lastTraining: lastTraining, logMarks: logMarks)])
    }

    /// Trains every model of `tier` now; on any failure nothing changes.
    mutating func train(_ tier: Tier, at time: TimeInterval, generation: Int = 0, runner: TrainingRunner,
                        replayCache: ReplayCache? = nil,
                        pool: [PooledSource] = []) throws -> (result: TierTrainingResult, changes: [LoopChange]) {
        let job = try trainingJob(tier, at: time, generation: generation, announce: true, replayCache: replayCache,
                                  pool: pool)
        let fitted: FittedTier
        do {
            fitted = try runner.fit(job)
        } catch {
            runner.failed(tier, error)
            throw error
        }
        let committed = commit(fitted)
        runner.finished(committed.result)
        return committed
    }

    /// One feedback-loop cycle at `time`: trains the due tiers, highest first; a trained tier covers the lower ones.
    /// `tiers`: only these tier numbers take part (replay's `--tiers`); all by default.
    mutating func cycle(tiers: Set<Int>? = nil, at time: TimeInterval, generation: Int = 0, runner: TrainingRunner,
                        replayCache: ReplayCache? = nil,
                        pool: [PooledSource] = []) -> (report: CycleReport, changes: [LoopChange]) {
        guard series != nil else {
            return (CycleReport(status: .error, message: LoopError.noData.description, tiers: [], failure: LoopError.noData), [])
        }
        var changes: [LoopChange] = []
        var outcomes: [Int: CycleTierOutcome] = [:]
        var coveredBy: [Int: Int] = [:]
        for tier in Tier.all.reversed() where tiers?.contains(tier.number) ?? true {
            if let covering = coveredBy[tier.number] {
                outcomes[tier.number] = CycleTierOutcome(
                    decision: TriggerDecision(tier: tier.number, due: false, reason: .coveredByTier(covering)),
                    result: nil, error: nil)
                continue
            }
            let decision = decision(for: tier, at: time)
            guard decision.due else {
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: nil, error: nil)
                continue
            }
            do {
                let trained = try train(tier, at: time, generation: generation, runner: runner, replayCache: replayCache,
                                        pool: pool)
                changes += trained.changes
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: trained.result, error: nil)
                for lower in Tier.all where lower.number < tier.number && Set(lower.models).isSubset(of: tier.models) {
                    coveredBy[lower.number] = tier.number
                }
            } catch {
                outcomes[tier.number] = CycleTierOutcome(decision: decision, result: nil, error: error)
            }
        }
        let ordered = Tier.all.compactMap { outcomes[$0.number] }
        let trained = ordered.filter { $0.result != nil }.count
        if let first = ordered.first(where: { $0.error != nil }) {
            return (CycleReport(status: .error, message: "tier\(first.decision.tier) failed: \(first.error.map { String(describing: $0) } ?? "")",
                                tiers: ordered, failure: first.error, failedTier: first.decision.tier), changes)
        }
        if trained > 0 {
            return (CycleReport(status: .success, message: "\(trained) tier(s) trained", tiers: ordered), changes)
        }
        return (CycleReport(status: .noAction, message: "no tier due", tiers: ordered), changes)
    }
}

// MARK: - Prediction and outcomes

extension LoopState {
    /// Ensemble prediction on the latest bar at `now`; it becomes the pending prediction. `features`: the series'
    /// feature matrix when the caller has it (a replay slices one matrix), else it is built here.
    public mutating func predict(at now: TimeInterval, features precomputed: FeatureMatrix? = nil) throws
        -> (prediction: Prediction, changes: [LoopChange]) {
        guard let series else { throw LoopError.noData }
        let trained = ModelKind.allCases.compactMap { models[$0] }
        guard !trained.isEmpty else { throw LoopError.noTrainedModel }
        let features = precomputed ?? FeatureBuilder.features(for: series)
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
            rawWeights.append((kind, config.weight(for: kind) * LoopEngine.performanceFactor(liveRecord[kind])))
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
                                    price: lastBar.close, barTime: lastBar.time, madeAt: now)
        pending = prediction
        return (prediction, [.predicted(prediction)])
    }

    /// Scores the pending prediction (or `predicted`, when given) against what happened, at `now`.
    public mutating func logOutcome(actual: Signal, predicted: Signal? = nil, at now: TimeInterval) throws
        -> (entry: ScoredPrediction, changes: [LoopChange]) {
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
        let entry = log.append(predicted: signal, actual: actual, at: now, prediction: scored)
        guard scored != nil else { return (entry, [.scored(entry)]) }
        pending = nil
        return (entry, [.scored(entry), .pendingCleared])
    }
}

// MARK: - Reporting

extension LoopState {
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
}
