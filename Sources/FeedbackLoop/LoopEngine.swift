import Foundation
import Learning
import MarketData

/// The loop's clock: a time source plus an offset that `advance` moves.
public struct LoopClock: Sendable {
    public var offset: TimeInterval = 0
    let source: @Sendable () -> TimeInterval

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

/// The owner of the live loop: one `LoopState`, the changes made to it that the session writer has not stored yet
/// (`unstoredChanges`), and what exists only while the process runs (a training in flight, the generation a
/// background fit is committed against, the hooks that report progress and ask for cancellation).
///
/// Every operation runs the state's function of the same name and keeps its typed changes. Not thread-safe by
/// itself: one serial executor (the shell's command lock, which auto mode's checks also take) drives it.
public final class LoopEngine {
    public private(set) var state: LoopState
    private let clockSource: LoopClock
    /// Changes since the session writer last stored them, oldest first.
    public private(set) var unstoredChanges: [LoopChange] = []
    public private(set) var trainingInProgress = false
    /// Bumped when the whole state is replaced (`restore`), so a training begun before cannot commit into it.
    public private(set) var stateGeneration = 0
    public var onEvent: ((LoopEvent) -> Void)?
    /// Polled during long trainings and replays; returning true cancels them (the previous models stay).
    public var isCancelled: (() -> Bool)?

    public typealias PendingFate = FeedbackLoop.PendingFate

    public init(clock: LoopClock) {
        clockSource = clock
        state = LoopState()
        state.clockOffset = clock.offset
    }

    // MARK: The state, read

    public var config: LoopConfig { state.config }
    public var series: PriceSeries? { state.series }
    public var models: [ModelKind: ModelSlot] { state.models }
    public var history: [TrainingRecord] { state.history }
    public var versions: [ModelKind: Int] { state.versions }
    public var lastTraining: [Int: TimeInterval] { state.lastTraining }
    public var logMarkAtTraining: [Int: Int] { state.logMarks }
    public var log: PredictionLog { state.log }
    public var pending: Prediction? { state.pending }
    /// The loop's clock: its time source plus the state's offset.
    public var clock: LoopClock { LoopClock(offset: state.clockOffset, source: clockSource.source) }

    // MARK: The journal

    /// The session writer stored the first `count` unstored changes.
    public func markStored(_ count: Int) {
        unstoredChanges.removeFirst(min(count, unstoredChanges.count))
    }

    /// Forgets the unstored changes (a loop without a session file keeps none).
    public func discardUnstoredChanges() {
        unstoredChanges.removeAll()
    }

    /// Installs a state made from this one by an operation, with the changes that made it.
    func replaceState(_ next: LoopState, adding changes: [LoopChange]) {
        state = next
        unstoredChanges += changes
    }

    private func keep<T>(_ outcome: (T, [LoopChange])) -> T {
        unstoredChanges += outcome.1
        return outcome.0
    }

    // MARK: Data and config

    /// The signal that would have been right for a move: BUY above `band`, SELL below −`band`, else HOLD.
    public static func outcome(ofReturn realised: Double, band: Double) -> Signal {
        realised > band ? .buy : realised < -band ? .sell : .hold
    }

    /// Replaces the market data (see `LoopState.load`).
    @discardableResult
    public func load(_ newSeries: PriceSeries) -> PendingFate {
        keep(state.load(newSeries, at: clock.now))
    }

    /// Replaces the whole state with a stored session's (after it was read and validated in full). Its changes are
    /// the store's already, and a training begun before cannot commit into it.
    public func restore(_ stored: LoopState) {
        state = stored
        unstoredChanges = []
        stateGeneration += 1
    }

    /// Makes `slot` (an earlier version, decoded from storage) the current model of its kind: rollback.
    public func install(_ slot: ModelSlot) {
        keep(((), state.install(slot)))
    }

    public func setConfig(_ key: String, _ value: String) throws {
        keep(((), try state.setConfig(key, value)))
    }

    /// Changes settings that are not `set` keys (auto mode's); the result must still validate.
    public func updateConfig(_ change: (inout LoopConfig) throws -> Void) throws {
        keep(((), try state.updateConfig(change)))
    }

    public func resetConfig(_ key: String) throws {
        keep(((), try state.resetConfig(key)))
    }

    /// Moves the loop's clock forward.
    public func advance(by seconds: TimeInterval) throws {
        keep(((), try state.advanceClock(by: seconds)))
    }

    /// Throws unless `seconds` is a duration the clock may move forward by from `offset` (the clock never goes
    /// back, and stays within `Bounded.clockOffset` of system time).
    public static func checkAdvance(_ seconds: TimeInterval, from offset: TimeInterval) throws {
        guard seconds.isFinite, seconds > 0 else {
            throw LoopError.nonMonotonicClock(seconds: seconds)
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
        return state.decision(for: tier, at: time ?? clock.now)
    }

    public func effectiveInterval(forTier tier: Int) -> TimeInterval { state.effectiveInterval(forTier: tier) }
    public func volatilityRatio() -> Double? { state.volatilityRatio() }
    public func performanceVerdict(since mark: Int) -> PerformanceVerdict { state.performanceVerdict(since: mark) }

    // MARK: Training

    /// Fits in the foreground: progress and cancellation through the hooks, each step announced.
    private var foreground: TrainingRunner {
        TrainingRunner(fit: { [weak self] job in
            self?.onEvent?(.trainingStarted(tier: job.tier))
            return try Self.fit(job, progress: { [weak self] in self?.onEvent?(.progress($0)) },
                                isCancelled: { [weak self] in self?.isCancelled?() ?? false })
        }, finished: { [weak self] in self?.onEvent?(.trainingFinished($0)) },
           failed: { [weak self] in self?.onEvent?(.trainingFailed(tier: $0, error: $1)) })
    }

    /// Runs `body` on a copy of the state with the loop marked busy, and keeps the copy only if it returns:
    /// the hooks a training calls may read the loop meanwhile, and a failure leaves it as it was.
    private func training<T>(_ body: (inout LoopState) throws -> (T, [LoopChange])) throws -> T {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        trainingInProgress = true
        defer { trainingInProgress = false }
        var next = state
        let outcome = try body(&next)
        state = next
        return keep(outcome)
    }

    /// Trains every model of `tier` on the loaded data; on any failure no model changes.
    @discardableResult
    public func train(_ tier: Tier) throws -> TierTrainingResult {
        let now = clock.now, generation = stateGeneration, runner = foreground
        return try training { try $0.train(tier, at: now, generation: generation, runner: runner) }
    }

    /// Starts a training of `tier`: snapshots what the fit needs and marks the loop busy, so no second training
    /// starts until `finishTraining` or `abandonTraining`. The fit itself (`fit`) touches no loop state, which lets
    /// the shell run it on another thread while commands go on. `announce`: false keeps `onEvent` silent about it
    /// (a background training is reported by its scheduler, not as a foreground command's log lines).
    /// `time`: the training's time on the loop's clock (default now).
    public func beginTraining(_ tier: Tier, announce: Bool = true, at time: TimeInterval? = nil) throws -> TrainingJob {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        let job = try state.trainingJob(tier, at: time ?? clock.now, generation: stateGeneration, announce: announce)
        trainingInProgress = true
        if announce { onEvent?(.trainingStarted(tier: tier)) }
        return job
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
        guard job.stateGeneration == stateGeneration else {
            let error = LoopError.trainingSuperseded(tier: job.tier.number)
            if job.announce { onEvent?(.trainingFailed(tier: job.tier, error: error)) }
            throw error
        }
        let result = keep(state.commit(fitted))
        if job.announce { onEvent?(.trainingFinished(result)) }
        return result
    }

    /// Ends a training that failed or was cancelled; every previous model stays.
    public func abandonTraining(_ job: TrainingJob, error: Error) {
        trainingInProgress = false
        if job.announce { onEvent?(.trainingFailed(tier: job.tier, error: error)) }
    }

    /// One feedback-loop cycle: trains the due tiers, highest first; a trained tier covers the lower ones.
    /// `tiers`: only these tier numbers take part; all by default.
    public func cycle(tiers: Set<Int>? = nil) -> CycleReport {
        if trainingInProgress {
            let outcomes = Tier.all.map {
                CycleTierOutcome(decision: TriggerDecision(tier: $0.number, due: false, reason: .trainingInProgress),
                                 result: nil, error: nil)
            }
            return CycleReport(status: .skipped, message: "training already in progress, skipping cycle", tiers: outcomes)
        }
        let now = clock.now, generation = stateGeneration, runner = foreground
        // A cycle reports its failures instead of throwing them.
        return (try? training { $0.cycle(tiers: tiers, at: now, generation: generation, runner: runner) })
            ?? CycleReport(status: .skipped, message: "training already in progress, skipping cycle", tiers: [])
    }

    // MARK: Prediction

    /// Ensemble prediction on the latest bar; it becomes the pending prediction.
    public func predict() throws -> Prediction {
        keep(try state.predict(at: clock.now))
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
        keep(try state.logOutcome(actual: actual, predicted: predicted, at: clock.now))
    }

    // MARK: Reporting

    public func performance() -> PerformanceSummary { state.performance() }

    func modelRecords(_ entries: ArraySlice<ScoredPrediction>) -> [ModelKind: ModelPerformance] {
        state.modelRecords(entries)
    }

    public func trend(_ model: ModelKind, window: Int? = nil) -> Trend { state.trend(model, window: window) }

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
