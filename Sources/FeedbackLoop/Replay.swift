import Foundation
import Learning
import MarketData

/// How a replay retrains.
public enum ReplayPolicy: String, Sendable, CaseIterable {
    /// The loop's own triggers (intervals, performance, drift), as configured.
    case triggers
    /// Train once at the start, never again: the first baseline.
    case never
    /// Retrain the highest selected tier at every step: the second baseline.
    case everyStep = "every_step"
}

/// What a walk-forward replay did.
public struct ReplayReport: Sendable {
    public let policy: ReplayPolicy
    public let steps: Int
    public let scored: Int
    public let correct: Int
    public var accuracy: Double? { scored > 0 ? Double(correct) / Double(scored) : nil }
    /// The performance trigger's score (`rollingMetric`) over the evaluation window after each scored prediction,
    /// where the window counts it: (bar time, score).
    public let rollingScore: [(time: TimeInterval, score: Double)]
    /// What `rollingScore` measures: the run's `performance_metric`.
    public let rollingMetric: PerformanceMetric
    /// Per tier, per cause (`never_trained`, `interval_elapsed`, …): how often it retrained.
    public let retrains: [Int: [RetrainCause: Int]]
    /// Bar times at which some tier retrained.
    public let retrainTimes: [TimeInterval]
    /// Bar times of the retrainings worth marking on a chart: any tier above 1, or a retraining for a reason
    /// other than its interval (tier 1 at its default interval retrains at every hourly step).
    public let notableRetrainTimes: [TimeInterval]
    public let trainingSeconds: Double
    public let start: TimeInterval
    public let end: TimeInterval
    /// Stopped early (Ctrl-C): the report covers the steps that ran — after a multi-run replay, the steps every run
    /// completed (see `truncatedFrom`).
    public let cancelled: Bool
    /// When a stopped replay's runs had completed different numbers of steps, this run's count before it was cut to
    /// the steps every run completed; nil when nothing was cut.
    public internal(set) var truncatedFrom: Int?
    /// Every scored prediction, in order: signal, P(up), realised return and outcome — what the honest scores,
    /// naive baselines, paired comparisons and P&L are computed from.
    public internal(set) var scoredSteps: [ScoredStep] = []
    /// The running totals after each step, so a report can be cut to fewer steps.
    var marks: [StepMark] = []

    /// The totals after one step.
    struct StepMark: Sendable {
        let scored: Int
        let correct: Int
        let rolling: Int
        let retrains: [Int: [RetrainCause: Int]]
        let retrainTimes: Int
        let notable: Int
        let trainingSeconds: Double
        let time: TimeInterval
        var scoredSteps = 0
    }

    /// The same report over its first `count` steps only (the runs of a stopped replay are compared over the
    /// steps all of them completed).
    func truncated(toSteps count: Int) -> ReplayReport {
        guard count < steps else { return self }
        let mark = count > 0 ? marks[count - 1] : nil
        var report = ReplayReport(policy: policy, steps: count, scored: mark?.scored ?? 0, correct: mark?.correct ?? 0,
                                  rollingScore: Array(rollingScore.prefix(mark?.rolling ?? 0)), rollingMetric: rollingMetric,
                                  retrains: mark?.retrains ?? [:], retrainTimes: Array(retrainTimes.prefix(mark?.retrainTimes ?? 0)),
                                  notableRetrainTimes: Array(notableRetrainTimes.prefix(mark?.notable ?? 0)),
                                  trainingSeconds: mark?.trainingSeconds ?? 0, start: start, end: mark?.time ?? start,
                                  cancelled: cancelled)
        report.truncatedFrom = steps
        report.marks = Array(marks.prefix(count))
        report.scoredSteps = Array(scoredSteps.prefix(mark?.scoredSteps ?? 0))
        return report
    }
}

extension LoopState {
    /// After a stop, every run cut to the steps all of them completed, so their figures compare the same bars.
    static func coveringCommonSteps(_ results: [(report: ReplayReport, loop: ReplayedLoop)]) -> [(report: ReplayReport, loop: ReplayedLoop)] {
        guard results.contains(where: { $0.report.cancelled }), let common = results.map(\.report.steps).min() else { return results }
        return results.map { (report: $0.report.truncated(toSteps: common), loop: $0.loop) }
    }
}

public enum ReplayError: Error, Sendable, CustomStringConvertible {
    /// The range leaves fewer than two bars to step through.
    case tooFewBars
    /// A tier's training failed in the replay for a reason other than too few rows yet.
    case tierFailed(tier: Int, error: any Error)
    /// No model could be trained anywhere in the range.
    case noModelTrained

    public var description: String {
        switch self {
        case .tooFewBars: return "the replay range must leave at least two bars to step through"
        case .tierFailed(_, let error): return String(describing: error)
        case .noModelTrained:
            return "no model could be trained in the replay range"
        }
    }
}

/// One replay to run: a retraining policy under a configuration (`--compare` varies the configuration).
extension LoopConfig {
    /// The settings a replay trains with: these, except that XGBoost fits on one thread, so the replay can run two
    /// fits side by side on two cores (1.7x faster here than one two-thread fit after another) and its result does
    /// not depend on the machine's core count. The thread count changes only the order of XGBoost's floating-point
    /// histogram sums, not the model it fits.
    public var forReplay: LoopConfig {
        var replayed = self
        replayed.xgboost.threads = 1
        return replayed
    }
}

public struct ReplayRun: Sendable {
    public var policy: ReplayPolicy
    public var configuration: LoopConfig

    public init(policy: ReplayPolicy, configuration: LoopConfig) {
        self.policy = policy
        self.configuration = configuration
    }
}

/// How a replay computes. Every mode trains the same models on the same data and gives the same reports
/// (`trainingSeconds` aside, which is measured); they differ in speed only.
public enum ReplayExecution: String, Sendable, CaseIterable {
    /// Each run alone, one after the other, rebuilding the features at every step: the reference.
    case plain
    /// One after the other, sharing the whole series' feature matrix and every fit between the runs.
    case shared
    /// Shared, with each run on its own thread and the fits the runs are scheduled to need computed ahead, two or
    /// more at once — when the XGBoost thread setting leaves room for that (`xgboost.threads` at most half the
    /// cores, or no XGBoost); otherwise as `shared`.
    case concurrent
}

/// A flag set by one thread and read by others.
final class ReplayFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The replayed series and its causal feature matrix, built once. Because every feature row depends only on its
/// own and earlier bars, the matrix of a prefix is the first rows of this one.
final class ReplayData: Sendable {
    let series: PriceSeries
    let features: FeatureMatrix
    /// Other assets' series for `training_pool all`, their matrices built once too.
    let pool: [PooledSource]

    init(series: PriceSeries, pool: [PooledSource] = []) {
        self.series = series
        features = FeatureBuilder.features(for: series)
        self.pool = pool
    }

    /// The index of `prefix`'s last bar when `prefix` is this series cut after that bar; nil otherwise.
    func endIndex(ofPrefix prefix: PriceSeries) -> Int? {
        let count = prefix.count
        guard count > 0, count <= series.count, prefix.bars[0].time == series.bars[0].time,
              prefix.bars[count - 1].time == series.bars[count - 1].time,
              prefix.bars[count - 1].close == series.bars[count - 1].close else { return nil }
        return count - 1
    }

    func dataset(throughBar end: Int, of prefix: PriceSeries, testFraction: Double) throws -> Dataset {
        let rows = max(0, end + 1 - FeatureBuilder.warmup)
        return try Dataset.make(from: prefix, features: { self.features.prefix(rows: rows) }, testFraction: testFraction)
    }
}

/// Fits shared by a replay's runs, keyed by what determines them: the model kind, the last bar of the data it
/// was fitted on, and the settings its training reads. A fit runs once; a run that needs one being fitted by
/// another thread waits for it. `permits` bounds the XGBoost fits running at once so that its OpenMP threads never
/// outnumber the cores (logistic regression and the LSTM run on the calling thread alone).
///
/// Runs only move forward, so a fit for a bar that every run has passed is dropped: memory holds the fits between
/// the slowest run and the prefetching ahead of it (at most `lookahead` bars).
final class FitMemo: @unchecked Sendable {
    struct Key: Hashable {
        let kind: ModelKind
        let endIndex: Int
        let settings: Settings

        struct Settings: Equatable {
            var testFraction: Double?
            var xgboost: XGBoostParameters?
            var lstm: LSTMConfiguration?
            /// The LSTM learns from its own asset's closes whatever the pool.
            var pool: LoopConfig.TrainingPool?
        }

        init(kind: ModelKind, endIndex: Int, config: LoopConfig) {
            self.kind = kind
            self.endIndex = endIndex
            switch kind {
            case .logistic: settings = Settings(testFraction: config.testFraction, pool: config.trainingPool)
            case .xgboost: settings = Settings(testFraction: config.testFraction, xgboost: config.xgboost,
                                               pool: config.trainingPool)
            case .lstm: settings = Settings(lstm: config.lstm)
            }
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(kind)
            hasher.combine(endIndex)
        }
    }

    private enum Entry {
        case inFlight
        case done(FitOutcome, seconds: Double)
    }

    private let condition = NSCondition()
    private var entries: [Key: Entry] = [:]
    private let permits: DispatchSemaphore
    /// Per run, the bar it is at (`Int.max` once finished).
    private var positions: [Int]
    private var slowest: Int
    let lookahead: Int

    init(permits: Int, runs: Int, start: Int, lookahead: Int = 96) {
        self.permits = DispatchSemaphore(value: max(1, permits))
        positions = Array(repeating: start, count: runs)
        slowest = start
        self.lookahead = lookahead
    }

    /// Run `run` is now at bar `index`: fits for earlier bars that no run needs any more are dropped.
    func advance(run: Int, to index: Int) {
        condition.lock()
        defer { condition.unlock() }
        positions[run] = index
        let minimum = positions.min() ?? index
        guard minimum > slowest else { return }
        slowest = minimum
        entries = entries.filter { key, entry in
            if case .inFlight = entry { return true }
            return key.endIndex >= minimum
        }
        condition.broadcast()
    }

    /// The bar the slowest run has reached.
    var slowestIndex: Int { condition.withLock { slowest } }

    /// Waits until the slowest run is within `lookahead` bars of `index`, or `stop` says so; false when stopped.
    /// Whoever makes `stop` true calls `interrupt()` after, which wakes this wait (no polling).
    func waitForRoom(before index: Int, stop: () -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while index - lookahead > slowest {
            if stop() { return false }
            condition.wait()
        }
        return !stop()
    }

    /// Wakes every `waitForRoom`, to look at its `stop` again.
    func interrupt() {
        condition.withLock { condition.broadcast() }
    }

    /// The fit for `key` and the seconds it took when it ran: from the memo, from the thread fitting it, or
    /// computed now. With `onlyIfNew`, returns nil at once when the fit is done or under way (a prefetch).
    func outcome(for key: Key, onlyIfNew: Bool = false,
                 compute: () throws -> FitOutcome) throws -> (outcome: FitOutcome, seconds: Double)? {
        condition.lock()
        claiming: while true {
            switch entries[key] {
            case .done(let outcome, let seconds):
                condition.unlock()
                return onlyIfNew ? nil : (outcome, seconds)
            case .inFlight:
                if onlyIfNew {
                    condition.unlock()
                    return nil
                }
                condition.wait()
            case nil:
                entries[key] = .inFlight
                break claiming
            }
        }
        condition.unlock()
        do {
            if key.kind == .xgboost { permits.wait() }
            defer { if key.kind == .xgboost { permits.signal() } }
            let measuredStart = ContinuousClock.now
            let outcome = try compute()
            let measuredSeconds = LoopEngine.measuredSeconds(since: measuredStart)
            condition.lock()
            entries[key] = .done(outcome, seconds: measuredSeconds)
            condition.broadcast()
            condition.unlock()
            return (outcome, measuredSeconds)
        } catch {
            // Failures (and cancellations) are not remembered: whoever needs the fit tries it again.
            condition.lock()
            entries[key] = nil
            condition.broadcast()
            condition.unlock()
            throw error
        }
    }
}

/// A simulated loop's view of the shared data and fits (its trainings' `TrainingJob.replayCache`).
final class ReplayCache {
    let data: ReplayData
    let memo: FitMemo
    /// This loop's run number in the memo.
    let run: Int
    /// Seconds the fits this loop used took when they ran, whichever run ran them.
    private(set) var fitSeconds = 0.0

    init(data: ReplayData, memo: FitMemo, run: Int) {
        self.data = data
        self.memo = memo
        self.run = run
    }

    /// `Dataset.make(from: series, testFraction:)` from the shared matrix; nil when `series` is not a prefix.
    func dataset(for series: PriceSeries, testFraction: Double) throws -> Dataset? {
        guard let end = data.endIndex(ofPrefix: series) else { return nil }
        return try data.dataset(throughBar: end, of: series, testFraction: testFraction)
    }

    /// The feature row `predict` scores (the latest bar's) as a one-row matrix; nil when `series` is not a prefix.
    func latestFeatures(for series: PriceSeries) -> FeatureMatrix? {
        guard let end = data.endIndex(ofPrefix: series) else { return nil }
        let rows = max(0, end + 1 - FeatureBuilder.warmup)
        return rows > 0 ? data.features.single(row: rows - 1) : data.features.prefix(rows: 0)
    }

    /// `ModelTrainer.fit`, memoised; nil when `series` is not a prefix.
    func fit(_ kind: ModelKind, dataset: Dataset, series: PriceSeries, config: LoopConfig,
             isCancelled: @escaping () -> Bool) throws -> FitOutcome? {
        guard let end = data.endIndex(ofPrefix: series) else { return nil }
        let key = FitMemo.Key(kind: kind, endIndex: end, config: config)
        guard let (outcome, seconds) = try memo.outcome(for: key, compute: {
            try ModelTrainer.fit(kind, dataset: dataset, series: series, config: config, isCancelled: isCancelled)
        }) else { return nil }
        fitSeconds += seconds
        return outcome
    }
}

/// Runs of a concurrent replay, filled in by their threads.
private final class ReplayResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: Result<(report: ReplayReport, loop: ReplayedLoop), any Error>] = [:]
    private var failure: (any Error)?
    /// The error of the run that failed first: the others may fail only because it stopped them.
    var firstFailure: (any Error)? { lock.withLock { failure } }

    func set(_ index: Int, _ result: Result<(report: ReplayReport, loop: ReplayedLoop), any Error>) {
        lock.withLock {
            results[index] = result
            if failure == nil, case .failure(let error) = result { failure = error }
        }
    }

    func get(_ index: Int) -> Result<(report: ReplayReport, loop: ReplayedLoop), any Error>? {
        lock.withLock { results[index] }
    }
}

/// The next fit for the prefetching threads to take.
private final class PrefetchQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let items: [(key: FitMemo.Key, config: LoopConfig)]
    private var next = 0

    init(_ items: [(key: FitMemo.Key, config: LoopConfig)]) { self.items = items }

    func take() -> (key: FitMemo.Key, config: LoopConfig)? {
        lock.withLock {
            guard next < items.count else { return nil }
            defer { next += 1 }
            return items[next]
        }
    }
}

/// Reports a replay's progress: steps the slowest run has taken, steps in all (on the replaying thread).
public typealias ReplayProgress = (_ step: Int, _ steps: Int) -> Void

extension LoopState {
    /// A walk-forward simulation of the loop over this state's series, in virtual time: at each step the simulated
    /// loop sees only the bars up to that moment, scores the previous prediction from the realised move, runs its
    /// triggers (or the baseline `policy`), retrains what is due and predicts. It runs on fresh copies; this state is
    /// only read. Polls `isCancelled` between steps.
    ///
    /// - Parameters:
    ///   - startIndex: the first bar of the replay (earlier bars are history the first training may use).
    ///   - stepBars: bars between steps.
    ///   - tiers: tier numbers that take part.
    ///   - configuration: the simulated loop's settings (default: this loop's), e.g. for `--compare`.
    public func replay(from startIndex: Int, through endIndex: Int? = nil, stepBars: Int, tiers: Set<Int>,
                       policy: ReplayPolicy, configuration: LoopConfig? = nil,
                       isCancelled: (() -> Bool)? = nil) throws -> (report: ReplayReport, loop: ReplayedLoop) {
        try replay([ReplayRun(policy: policy, configuration: configuration ?? config)], from: startIndex,
                   through: endIndex, stepBars: stepBars, tiers: tiers, execution: .shared, isCancelled: isCancelled)[0]
    }

    /// Several replays of the same range — the three policies, or one policy under several configurations
    /// (`--compare`) — sharing the feature matrix and every fit (see `ReplayExecution`). Results come in the order of
    /// `runs` and equal those of replaying each alone.
    ///
    /// ```swift
    /// let reports = try state.replay(ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: state.config) },
    ///                                from: start, stepBars: 1, tiers: [1, 2]).map(\.report)
    /// ```
    ///
    /// `isCancelled` is polled on the calling thread only (between steps, or every 10 ms while runs are on threads);
    /// a cancellation stops every run, and each report covers the steps all the runs completed. A failing run stops
    /// the others and its error is thrown. `progress` hears how far the slowest run is, on the calling thread.
    /// `pool`: the other assets a run with `training_pool all` trains beside this one (their rows cut at each
    /// training's first test bar, so none is later than what the simulated loop knows).
    public func replay(_ runs: [ReplayRun], from startIndex: Int, through endIndex: Int? = nil, stepBars: Int,
                       tiers: Set<Int>, execution: ReplayExecution = .concurrent, progress: ReplayProgress? = nil,
                       pool: [PooledSource] = [],
                       isCancelled: (() -> Bool)? = nil) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        guard let series else { throw LoopError.noData }
        let lastIndex = min(endIndex ?? series.count - 1, series.count - 1)
        guard startIndex >= 0, startIndex < lastIndex else {
            throw ReplayError.tooFewBars
        }
        let range = ReplayRange(start: startIndex, last: lastIndex, step: max(1, stepBars), tiers: tiers)
        let replayer = Replayer(series: series, range: range, pool: pool, progress: progress, isCancelled: isCancelled)
        return Self.coveringCommonSteps(try replayer.replay(runs, execution: execution))
    }
}

extension LoopEngine {
    /// A replay of the live loop's state (see `LoopState.replay`), cancelled by this loop's `isCancelled`.
    public func replay(from startIndex: Int, through endIndex: Int? = nil, stepBars: Int, tiers: Set<Int>,
                       policy: ReplayPolicy, configuration: LoopConfig? = nil) throws -> (report: ReplayReport, loop: ReplayedLoop) {
        try state.replay(from: startIndex, through: endIndex, stepBars: stepBars, tiers: tiers, policy: policy,
                         configuration: configuration, isCancelled: isCancelled)
    }

    /// Several replays of the live loop's state (see `LoopState.replay`), cancelled by this loop's `isCancelled`.
    public func replay(_ runs: [ReplayRun], from startIndex: Int, through endIndex: Int? = nil, stepBars: Int,
                       tiers: Set<Int>, execution: ReplayExecution = .concurrent,
                       progress: ReplayProgress? = nil) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        let pooled = runs.contains { $0.configuration.trainingPool == .all }
        return try state.replay(runs, from: startIndex, through: endIndex, stepBars: stepBars, tiers: tiers,
                                execution: execution, progress: progress,
                                pool: pooled ? try poolSources(required: true) : [], isCancelled: isCancelled)
    }
}

/// One replay's range over one series, with the caller's progress and cancellation: how its runs compute.
struct Replayer {
    let series: PriceSeries
    let range: ReplayRange
    let pool: [PooledSource]
    let progress: ReplayProgress?
    let isCancelled: (() -> Bool)?

    func replay(_ runs: [ReplayRun], execution: ReplayExecution) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        try replay(runs, range: range, series: series, execution: execution)
    }

    private func replay(_ runs: [ReplayRun], range: ReplayRange, series: PriceSeries,
                        execution: ReplayExecution) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        switch execution {
        case .plain:
            return try runs.map {
                try ReplaySimulation($0, series: series, range: range, pool: pool, cache: nil, isCancelled: isCancelled).runToEnd()
            }
        case .shared:
            return try sharedReplay(runs, series: series, range: range)
        case .concurrent:
            // XGBoost's OpenMP threads slow each other many times over when they outnumber the cores (libgomp
            // spins, then sleeps and wakes per parallel region): run fits side by side only where the configured
            // thread counts leave room for two at once.
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let usesXGBoost = Tier.all.contains { range.tiers.contains($0.number) && $0.models.contains(.xgboost) }
            let threads = usesXGBoost ? runs.map { $0.configuration.xgboost.threads > 0 ? $0.configuration.xgboost.threads : cores }.max() ?? 1 : 1
            let slots = cores / threads
            guard slots >= 2 else { return try sharedReplay(runs, series: series, range: range) }
            return try concurrentReplay(runs, series: series, range: range, slots: slots)
        }
    }

    /// Tells `progress` how many steps the slowest run has taken.
    private func reportProgress(_ memo: FitMemo, _ range: ReplayRange) {
        guard let progress else { return }
        let total = (range.last - range.start) / range.step + 1
        progress(min(total, max(0, (memo.slowestIndex - range.start) / range.step)), total)
    }

    /// The runs in lockstep on this thread, sharing the feature matrix and fits; fits behind every run are dropped.
    private func sharedReplay(_ runs: [ReplayRun], series: PriceSeries,
                              range: ReplayRange) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        let data = ReplayData(series: series, pool: pool), memo = FitMemo(permits: 1, runs: runs.count, start: range.start)
        // The every-step baseline first: its fits include every other run's at the same bar.
        let order = runs.indices.sorted { (runs[$0].policy == .everyStep ? 0 : 1, $0) < (runs[$1].policy == .everyStep ? 0 : 1, $1) }
        let simulations = runs.enumerated().map { index, run in
            ReplaySimulation(run, series: series, range: range, pool: pool, cache: ReplayCache(data: data, memo: memo, run: index),
                             isCancelled: isCancelled)
        }
        var active = true
        while active {
            active = false
            for index in order where try simulations[index].step() { active = true }
            reportProgress(memo, range)
        }
        return try simulations.map { try $0.finish() }
    }

    /// Each run on its own thread; `slots` threads fit ahead what the runs' schedules call for.
    private func concurrentReplay(_ runs: [ReplayRun], series: PriceSeries, range: ReplayRange,
                                  slots: Int) throws -> [(report: ReplayReport, loop: ReplayedLoop)] {
        let data = ReplayData(series: series, pool: pool)
        let memo = FitMemo(permits: slots, runs: runs.count, start: range.start)
        let stop = ReplayFlag(), finished = ReplayFlag()
        let results = ReplayResults()
        if isCancelled?() ?? false { stop.set() }
        let group = DispatchGroup()
        for (index, run) in runs.enumerated() {
            DispatchQueue.global().async(group: group) {
                let simulation = ReplaySimulation(run, series: series, range: range, pool: data.pool,
                                                  cache: ReplayCache(data: data, memo: memo, run: index),
                                                  isCancelled: { stop.isSet })
                let result = Result { try simulation.runToEnd() }
                memo.advance(run: index, to: .max)
                // A failing run stops the others: its error is the answer.
                if case .failure = result {
                    stop.set()
                    memo.interrupt()
                }
                results.set(index, result)
            }
        }
        // Prefetching: the fits the runs' schedules call for, in step order, on `slots` threads.
        let queue = PrefetchQueue(Self.prefetchPlan(runs, series: series, range: range))
        let prefetchers = DispatchGroup()
        for _ in 0..<slots {
            DispatchQueue.global().async(group: prefetchers) {
                while !stop.isSet && !finished.isSet, let (key, config) = queue.take(),
                      memo.waitForRoom(before: key.endIndex, stop: { stop.isSet || finished.isSet }) {
                    let prefix = series.prefix(through: key.endIndex)
                    _ = try? memo.outcome(for: key, onlyIfNew: true) {
                        let dataset = try data.dataset(throughBar: key.endIndex, of: prefix, testFraction: config.testFraction)
                            .pooled(with: config.trainingPool == .all ? data.pool : [])
                        return try ModelTrainer.fit(key.kind, dataset: dataset, series: prefix, config: config,
                                                    isCancelled: { stop.isSet || finished.isSet })
                    }
                }
            }
        }
        while group.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
            if isCancelled?() ?? false {
                stop.set()
                memo.interrupt()
            }
            reportProgress(memo, range)
        }
        finished.set()
        memo.interrupt()
        prefetchers.wait()
        if let failure = results.firstFailure { throw failure }
        var outcomes: [(report: ReplayReport, loop: ReplayedLoop)] = []
        for index in runs.indices {
            guard let result = results.get(index) else { continue }
            outcomes.append(try result.get())
        }
        return outcomes
    }

    /// The fits each run is scheduled to make if only its time triggers fire: the every-step baseline's at every
    /// step, the never baseline's first, the triggers policy's at each interval (none with adaptive intervals, whose
    /// schedule depends on the data). A performance or drift trigger changes the schedule; the prefetched fits
    /// then go unused, and nothing else changes.
    static func prefetchPlan(_ runs: [ReplayRun], series: PriceSeries,
                             range: ReplayRange) -> [(key: FitMemo.Key, config: LoopConfig)] {
        let selected = Tier.all.filter { range.tiers.contains($0.number) }
        let highest = selected.last ?? Tier.all[0]
        var items: [(key: FitMemo.Key, config: LoopConfig, order: Int)] = []
        for (runIndex, run) in runs.enumerated() {
            var last: [Int: TimeInterval] = [:]
            for index in stride(from: range.start, through: range.last, by: range.step) {
                let tier: Tier?
                switch run.policy {
                case .everyStep: tier = highest
                case .never: tier = index == range.start ? highest : nil
                case .triggers:
                    guard run.configuration.adaptiveIntervals == .off else { continue }
                    let now = series.bars[index].time
                    tier = selected.reversed().first { tier in
                        last[tier.number].map { now - $0 >= run.configuration.interval(forTier: tier.number) } ?? true
                    }
                    if let tier { for lower in selected where lower.number <= tier.number { last[lower.number] = now } }
                }
                for kind in tier?.models ?? [] {
                    items.append((FitMemo.Key(kind: kind, endIndex: index, config: run.configuration), run.configuration,
                                  index * (runs.count + 1) + runIndex))
                }
            }
        }
        var seen = Set<FitMemo.Key>()
        return items.sorted { $0.order < $1.order }.filter { seen.insert($0.key).inserted }.map { ($0.key, $0.config) }
    }
}

/// One run of the simulated loop over a range, a step at a time (runs sharing fits advance in lockstep). The loop is
/// a `LoopState` of its own, driven by the same functions as the live loop, in virtual time (the bars' times).
final class ReplaySimulation {
    let run: ReplayRun
    let series: PriceSeries
    let range: ReplayRange
    let pool: [PooledSource]
    let cache: ReplayCache?
    let isCancelled: (() -> Bool)?
    private var state: LoopState
    /// Every outcome the run scored, in order (its state's log keeps only the last `log_window`).
    private var scored: [ScoredPrediction] = []
    private let runner: TrainingRunner
    private let highest: Tier
    private var steps = 0
    private var rolling: [(TimeInterval, Double)] = []
    private var retrains: [Int: [RetrainCause: Int]] = [:]
    private var retrainTimes: [TimeInterval] = []
    private var notable: [TimeInterval] = []
    private var trainingSeconds = 0.0
    private var index: Int
    private var marks: [ReplayReport.StepMark] = []
    private var scoredSteps: [ScoredStep] = []
    private var cancelled = false
    private(set) var isFinished = false

    init(_ run: ReplayRun, series: PriceSeries, range: ReplayRange, pool: [PooledSource] = [], cache: ReplayCache?,
         isCancelled: (() -> Bool)?) {
        self.run = run
        self.series = series
        self.range = range
        self.pool = pool
        self.cache = cache
        self.isCancelled = isCancelled
        index = range.start
        state = LoopState(config: run.configuration)
        runner = TrainingRunner(fit: { job in try LoopEngine.fit(job, isCancelled: { isCancelled?() ?? false }) })
        highest = Tier.all.filter { range.tiers.contains($0.number) }.max { $0.number < $1.number } ?? Tier.all[0]
    }

    /// Runs to the end (or a cancellation) and reports.
    func runToEnd() throws -> (report: ReplayReport, loop: ReplayedLoop) {
        while try step() {}
        return try finish()
    }

    /// One step: score the previous prediction, retrain what the policy says, predict. False once finished.
    func step() throws -> Bool {
        guard !isFinished else { return false }
        guard index <= range.last else {
            isFinished = true
            return false
        }
        // Ctrl-C stops the replay between steps; what ran is still reported.
        if isCancelled?() ?? false {
            cancelled = true
            isFinished = true
            return false
        }
        let policy = run.policy, window = run.configuration.evaluationWindow
        let now = series.bars[index].time
        if let cache { cache.memo.advance(run: cache.run, to: index) }
        let fate = state.load(series.prefix(through: index), at: now).fate
        if case .resolved(let entry, let realised) = fate {
            scored.append(entry)
            // Values from the loop's own prediction and the market; both are finite and in range by construction.
            if let prediction = entry.prediction,
               let step = try? ScoredStep(signal: entry.predicted, probabilityUp: prediction.ensemble, realisedReturn: realised,
                                          outcome: entry.actual, barTime: prediction.barTime) {
                scoredSteps.append(step)
            }
        }
        if case .resolved = fate, state.log.entries.count >= window,
           let score = LiveScores(state.log.recent(window)).metrics[run.configuration.performanceMetric.metric] {
            rolling.append((now, score.value))
        }
        let fitSecondsBefore = cache?.fitSeconds ?? 0
        var trained: [(tier: Int, cause: RetrainCause, seconds: Double)] = []
        switch policy {
        case .triggers:
            let report = state.cycle(tiers: range.tiers, at: now, runner: runner, replayCache: cache, pool: pool).report
            // Ctrl-C during a long training (the LSTM) cancels that training; the replay stops there.
            if report.status == .error, isCancelled?() ?? false {
                cancelled = true
                isFinished = true
                return false
            }
            if report.status == .error, let failure = report.tiers.first(where: { $0.error != nil }),
               !failure.needsMoreData, let error = failure.error {
                throw ReplayError.tierFailed(tier: failure.decision.tier, error: error)
            }
            for outcome in report.tiers {
                if let result = outcome.result, let cause = outcome.decision.reason.retrainCause {
                    trained.append((outcome.decision.tier, cause, Self.fitSeconds(of: result)))
                }
            }
        case .never, .everyStep:
            if policy == .everyStep || state.models.isEmpty,
               let result = try? state.train(highest, at: now, runner: runner, replayCache: cache, pool: pool).result {
                trained.append((highest.number, policy == .never ? .firstTraining : .everyStep, Self.fitSeconds(of: result)))
            }
        }
        for item in trained {
            retrains[item.tier, default: [:]][item.cause, default: 0] += 1
        }
        // Training time is the models' fit time, as measured when each fit ran (shared fits count for every run
        // that used them: it is what the policy costs on its own).
        trainingSeconds += cache.map { $0.fitSeconds - fitSecondsBefore } ?? trained.reduce(0) { $0 + $1.seconds }
        if !trained.isEmpty { retrainTimes.append(now) }
        if trained.contains(where: { $0.tier > 1 || $0.cause != .intervalElapsed }) { notable.append(now) }
        if !state.models.isEmpty, let loaded = state.series {
            _ = try state.predict(at: now, features: cache?.latestFeatures(for: loaded))
        }
        steps += 1
        index += range.step
        marks.append(ReplayReport.StepMark(scored: state.log.totalLogged, correct: state.log.totalCorrect, rolling: rolling.count,
                                           retrains: retrains, retrainTimes: retrainTimes.count, notable: notable.count,
                                           trainingSeconds: trainingSeconds, time: now, scoredSteps: scoredSteps.count))
        return true
    }

    /// The report of the steps that ran.
    func finish() throws -> (report: ReplayReport, loop: ReplayedLoop) {
        if let cache { cache.memo.advance(run: cache.run, to: .max) }
        guard !state.history.isEmpty || (cancelled && steps == 0) else {
            throw ReplayError.noModelTrained
        }
        var report = ReplayReport(policy: run.policy, steps: steps, scored: state.log.totalLogged, correct: state.log.totalCorrect,
                                  rollingScore: rolling, rollingMetric: run.configuration.performanceMetric, retrains: retrains, retrainTimes: retrainTimes,
                                  notableRetrainTimes: notable,
                                  trainingSeconds: trainingSeconds, start: series.bars[range.start].time,
                                  end: series.bars[max(range.start, min(range.last, index - range.step))].time,
                                  cancelled: cancelled)
        report.marks = marks
        report.scoredSteps = scoredSteps
        return (report, ReplayedLoop(state: state, scored: scored))
    }

    /// The fit seconds of the models a training produced.
    private static func fitSeconds(of result: TierTrainingResult) -> Double {
        result.records.reduce(0) { $0 + $1.seconds }
    }
}

/// The bars a replay steps through, and the tiers that take part.
struct ReplayRange: Sendable {
    let start: Int
    let last: Int
    let step: Int
    let tiers: Set<Int>
}
