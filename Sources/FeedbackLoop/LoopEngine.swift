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

/// One typed change and the asset (position in the session) whose loop it changed. Settings and the clock are the
/// session's: their changes are made to every asset's state and kept once.
public struct AssetChange: Sendable {
    public let asset: Int
    public let change: LoopChange
}

/// The owner of the live loop: one `LoopState` per asset (market) and the focus that commands act on, the changes
/// made to them that the session writer has not stored yet (`unstoredChanges`), and what exists only while the
/// process runs (a training in flight, the generation a background fit is committed against, the hooks that report
/// progress and ask for cancellation).
///
/// Every operation runs the focused state's function of the same name and keeps its typed changes; `withAsset`
/// runs them on another asset. Each asset has its own models, versions, tier clocks, triggers and prediction log;
/// the settings and the clock are shared. Not thread-safe by itself: one serial executor (the shell's command lock,
/// which auto mode's checks also take) drives it.
public final class LoopEngine {
    /// Every asset's loop, by position; never empty (a new loop has one asset without data).
    public private(set) var assets: [LoopState]
    /// The asset operations act on.
    public private(set) var focus = 0
    /// The focused asset's loop.
    public private(set) var state: LoopState {
        get { assets[focus] }
        set { assets[focus] = newValue }
    }
    private let clockSource: LoopClock
    /// Changes since the session writer last stored them, oldest first.
    public private(set) var unstoredChanges: [AssetChange] = []
    public private(set) var trainingInProgress = false
    /// Bumped when the whole state is replaced (`restore`), so a training begun before cannot commit into it.
    public private(set) var stateGeneration = 0
    public var onEvent: ((LoopEvent) -> Void)?
    /// Polled during long trainings and replays; returning true cancels them (the previous models stay).
    public var isCancelled: (() -> Bool)?

    public typealias PendingFate = FeedbackLoop.PendingFate

    public init(clock: LoopClock) {
        clockSource = clock
        var first = LoopState()
        first.clockOffset = clock.offset
        assets = [first]
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

    /// Installs a state made from the focused one by an operation, with the changes that made it.
    func replaceState(_ next: LoopState, adding changes: [LoopChange]) {
        state = next
        keep(((), changes))
    }

    /// Keeps an operation's changes as the focused asset's.
    private func keep<T>(_ outcome: (T, [LoopChange])) -> T {
        unstoredChanges += outcome.1.map { AssetChange(asset: focus, change: $0) }
        return outcome.0
    }

    /// Runs a session-wide operation (settings, clock) on every asset's state; the changes are kept once.
    private func everyAsset(_ operation: (inout LoopState) throws -> [LoopChange]) rethrows {
        let changes = try operation(&assets[focus])
        for index in assets.indices where index != focus { _ = try operation(&assets[index]) }
        keep(((), changes))
    }

    // MARK: Assets

    /// Each asset's name: its data's symbol ("" for an asset without data).
    public var assetNames: [String] { assets.map { $0.series?.symbol ?? "" } }

    /// The position of the asset called `name` (its symbol, any case), nil when none is loaded.
    public func asset(named name: String) -> Int? {
        assets.firstIndex { $0.series.map { $0.symbol.caseInsensitiveCompare(name) == .orderedSame } ?? false }
    }

    /// Makes the asset at `index` the one commands act on.
    public func setFocus(_ index: Int) {
        precondition(assets.indices.contains(index), "asset \(index) is not loaded")
        focus = index
    }

    /// Runs `body` with the asset at `index` in focus, then restores the focus.
    public func withAsset<T>(_ index: Int, _ body: () throws -> T) rethrows -> T {
        let previous = focus
        setFocus(index)
        defer { focus = previous }
        return try body()
    }

    /// Where new data for `series` goes: the loaded asset of its symbol, else the focused asset while it has no data
    /// yet, else a new asset (with the session's settings and clock) — another market never inherits models.
    private func position(for series: PriceSeries) -> Int {
        if let existing = assets.firstIndex(where: { $0.series?.symbol == series.symbol }) { return existing }
        if state.series == nil { return focus }
        var fresh = LoopState(config: config)
        fresh.clockOffset = state.clockOffset
        assets.append(fresh)
        return assets.count - 1
    }

    /// The other assets whose rows a training of the focused asset may pool with: every other asset with data, as
    /// long as all have the focused asset's bar interval. `required`: throw when they do not (a training or replay
    /// under `training_pool all`); otherwise only the matching ones are returned.
    public func poolSources(required: Bool) throws -> [PooledSource] {
        guard let own = state.series else { return [] }
        var sources: [PooledSource] = []
        for (index, other) in assets.enumerated() where index != focus {
            guard let series = other.series else { continue }
            guard LoopEngine.sameInterval(own.interval, series.interval) else {
                if required {
                    throw LoopError.poolIntervalsDiffer(asset: own.symbol, interval: own.interval ?? 0,
                                                        other: series.symbol, otherInterval: series.interval ?? 0)
                }
                continue
            }
            sources.append(PooledSource(series: series))
        }
        return sources
    }

    /// Whether two bar intervals are the same (within 1 %: median spacings of real data).
    static func sameInterval(_ a: TimeInterval?, _ b: TimeInterval?) -> Bool {
        guard let a, let b, a > 0, b > 0 else { return false }
        return abs(a - b) <= 0.01 * max(a, b)
    }

    /// The pool a training of the focused asset uses now: none under `training_pool self`.
    private func trainingPool() throws -> [PooledSource] {
        config.trainingPool == .all ? try poolSources(required: true) : []
    }

    // MARK: Data and config

    /// The signal that would have been right for a move: BUY above `band`, SELL below −`band`, else HOLD.
    public static func outcome(ofReturn realised: Double, band: Double) -> Signal {
        realised > band ? .buy : realised < -band ? .sell : .hold
    }

    /// Replaces the market data (see `LoopState.load`).
    @discardableResult
    public func load(_ newSeries: PriceSeries) -> PendingFate {
        focus = position(for: newSeries)
        return keep(state.load(newSeries, at: clock.now))
    }

    /// Replaces every asset's state with a stored session's (after it was read and validated in full). Its changes
    /// are the store's already, and a training begun before cannot commit into it.
    public func restore(_ stored: [LoopState], focus: Int = 0) {
        precondition(!stored.isEmpty && stored.indices.contains(focus), "a loop has at least one asset, and its focus")
        assets = stored
        self.focus = focus
        unstoredChanges = []
        stateGeneration += 1
    }

    /// `restore` of a session with one asset.
    public func restore(_ stored: LoopState) {
        restore([stored], focus: 0)
    }

    /// Makes `slot` (an earlier version, decoded from storage) the current model of its kind: rollback.
    public func install(_ slot: ModelSlot) {
        keep(((), state.install(slot)))
    }

    public func setConfig(_ key: String, _ value: String) throws {
        // `training_pool all` over assets of different intervals is refused when it is set, not at the next training.
        var probe = config
        try probe.set(key, to: value)
        if probe.trainingPool == .all, config.trainingPool != .all { try checkPoolIntervals() }
        try everyAsset { try $0.setConfig(key, value) }
    }

    /// Throws `poolIntervalsDiffer` unless every asset with data has the same bar interval.
    private func checkPoolIntervals() throws {
        let loaded = assets.compactMap(\.series)
        guard let first = loaded.first else { return }
        if let other = loaded.first(where: { !Self.sameInterval(first.interval, $0.interval) }) {
            throw LoopError.poolIntervalsDiffer(asset: first.symbol, interval: first.interval ?? 0,
                                                other: other.symbol, otherInterval: other.interval ?? 0)
        }
    }

    /// Changes settings that are not `set` keys (auto mode's); the result must still validate.
    public func updateConfig(_ change: (inout LoopConfig) throws -> Void) throws {
        try everyAsset { try $0.updateConfig(change) }
    }

    public func resetConfig(_ key: String) throws {
        try everyAsset { try $0.resetConfig(key) }
    }

    /// Moves the loop's clock (every asset's) forward.
    public func advance(by seconds: TimeInterval) throws {
        try everyAsset { try $0.advanceClock(by: seconds) }
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
        let now = clock.now, generation = stateGeneration, runner = foreground, pool = try trainingPool()
        return try training { try $0.train(tier, at: now, generation: generation, runner: runner, pool: pool) }
    }

    /// Starts a training of `tier`: snapshots what the fit needs and marks the loop busy, so no second training
    /// starts until `finishTraining` or `abandonTraining`. The fit itself (`fit`) touches no loop state, which lets
    /// the shell run it on another thread while commands go on. `announce`: false keeps `onEvent` silent about it
    /// (a background training is reported by its scheduler, not as a foreground command's log lines).
    /// `time`: the training's time on the loop's clock (default now).
    public func beginTraining(_ tier: Tier, announce: Bool = true, at time: TimeInterval? = nil) throws -> TrainingJob {
        guard !trainingInProgress else { throw LoopError.trainingInProgress }
        var job = try state.trainingJob(tier, at: time ?? clock.now, generation: stateGeneration, announce: announce,
                                        pool: try trainingPool())
        job.asset = focus
        trainingInProgress = true
        if announce { onEvent?(.trainingStarted(tier: tier)) }
        return job
    }

    /// Fits every model of the job's tier on its snapshot; pure, so it may run on any thread.
    public static func fit(_ job: TrainingJob, progress: @escaping (TrainingProgress) -> Void = { _ in },
                           isCancelled: @escaping () -> Bool = { false }) throws -> FittedTier {
        // A replay's simulated loop slices one feature matrix and shares fits between its runs (same results).
        let dataset = try (job.replayCache?.dataset(for: job.series, testFraction: job.config.testFraction)
            ?? Dataset.make(from: job.series, testFraction: job.config.testFraction)).pooled(with: job.pool)
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
        let result = withAsset(job.asset) { keep(state.commit(fitted)) }
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
        let pool: [PooledSource]
        do {
            pool = try trainingPool()
        } catch {
            return CycleReport(status: .error, message: String(describing: error), tiers: [], failure: error)
        }
        // A cycle reports its failures instead of throwing them.
        return (try? training { $0.cycle(tiers: tiers, at: now, generation: generation, runner: runner, pool: pool) })
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
    /// Other assets whose rows train beside the asset's own (`training_pool all`; empty under `self`).
    public let pool: [PooledSource]
    /// The asset (position) it trains; its fit is committed there.
    public internal(set) var asset = 0
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
