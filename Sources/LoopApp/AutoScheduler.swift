import FeedbackLoop
import Foundation
import MarketData

/// Why auto mode refused a request.
public enum AutoModeError: Error, Equatable, CustomStringConvertible {
    case tooManyChecks(every: TimeInterval, advance: TimeInterval, limit: Int)

    public var description: String {
        switch self {
        case .tooManyChecks(let every, let advance, let limit):
            return "advancing \(DurationText.format(advance)) would run more than \(limit) auto checks (one every "
                + "\(DurationText.format(every)))"
        }
    }
}

/// What auto mode needs from the application around it: the live loop, the data, the user.
public protocol AutoModeHost: AnyObject {
    var live: LiveLoop { get }
    /// The source's bars as of `time` (the network, or the demo generator); called without holding the loop.
    func refresh(_ source: DataSource, endingAt time: TimeInterval) throws -> PriceSeries
    /// A finished check (loop held): write it through like a command, so a crash loses nothing it acknowledged,
    /// and with `show` tell the user.
    func record(_ report: AutoCheckReport, show: Bool)
    /// Something to tell the user that belongs to no session (a training superseded by a `load`).
    func tell(_ report: AutoCheckReport)
    /// Ctrl-C: `advance` stops between checks, a foreground fit is cancelled.
    var interrupted: Bool { get }
}

/// A loaded session switched auto mode on: when its next check is.
public struct AutoResumed: Sendable {
    public let every: TimeInterval
    public let nextCheck: TimeInterval
}

/// Auto mode: checks the triggers every `check_interval` and runs a cycle — refresh the data from the session's
/// source, score the pending prediction from the realised move, train the highest due tier, predict the newest
/// bar. In real time the checks run on a background thread and the fit runs without holding the loop, so commands
/// stay responsive; `advance` runs the checks it passes over synchronously, in order, so scripts are deterministic.
///
/// A check's outcome is an `AutoCheckReport` (values only); the shell words it for people and tools.
///
/// Locking — every touch of the loop happens under the live loop's serial lock (`LiveLoop.serially`):
/// - the live loop's serial lock (`LiveLoop.serially`) (recursive; the shell holds it for each command, so `advance`'s checks run inside it) guards
///   the loop and this scheduler's schedule and record: `nextCheck`, `plannedEvery`, `background`, `shellDuringFit`,
///   `lastCheck`, `checksRun`, `checksSkipped`, `skipWarned`. A check takes it in `withLock` scopes around its steps;
///   only the fetch and a background fit run outside them (a `load` meanwhile shows in `stateGeneration`).
/// - `wake` guards `stopping` and `poked`, and is the condition the scheduler's thread sleeps on.
/// - Lock order: `engineLock`, then `wake` (`poke()` and `isStopping` run under the engine lock). Never take the
///   engine lock while holding `wake`, and never sleep on `wake` holding the engine lock: the thread reads the
///   schedule under the engine lock, lets go, then waits.
/// - `thread` is touched only from the shell's side (`synchronize` under the engine lock, `shutdown` at exit).
public final class AutoScheduler: @unchecked Sendable {
    // @unchecked: mutable state is guarded by the shell's engine lock or `wake`, as listed above.
    /// Weak: the host owns the scheduler. Code on the scheduler's own thread and the background fit first take a
    /// strong reference (`run`, `check`), so a host freed without `shutdown()` (a test) ends the thread instead of
    /// crashing it; calls from the host's side always have the host alive.
    private weak var owner: AutoModeHost?
    private var shell: AutoModeHost { owner! }
    /// A strong reference while a background fit runs. Guarded by the engine lock.
    private var shellDuringFit: AutoModeHost?
    private let wake = NSCondition()
    private var thread: Thread?
    private var stopping = false
    private var poked = false
    private let finished = DispatchSemaphore(value: 0)
    /// Background fits in flight (at most one: the loop refuses a second training).
    private let fits = DispatchGroup()
    /// Whether the current background training's first skipped check was shown (later ones are only counted).
    private var skipWarned = false

    /// The next check, on the loop's clock; nil while auto mode is off. Guarded by the engine lock.
    public private(set) var nextCheck: TimeInterval?
    /// The check interval `nextCheck` was planned with, to re-plan when `check_interval` changes.
    private var plannedEvery: TimeInterval?
    /// The background training in flight: its tier, why, and when it started.
    public private(set) var background: BackgroundTraining?
    /// The last check recorded (what `auto` and `status` show); a check skipped because its session was replaced,
    /// or a training superseded, is not recorded.
    public private(set) var lastCheck: AutoCheckReport?
    public private(set) var checksRun = 0
    public private(set) var checksSkipped = 0

    public init(host: AutoModeHost) {
        owner = host
    }

    public var settings: LoopConfig.Automation { shell.live.engine.config.automation }
    public var checkInterval: TimeInterval { shell.live.engine.config.checkInterval }
    /// The loop's clock.
    public var now: TimeInterval { shell.live.engine.clock.now }

    // MARK: Scheduling (engine lock held by the caller)

    /// Brings the schedule in line with the settings after any command (`auto`, `set check_interval`, `load`…).
    /// Returns a notice when a loaded session switched auto mode on.
    @discardableResult
    public func synchronize(announceResume: Bool) -> AutoResumed? {
        let every = shell.live.engine.config.checkInterval
        guard settings.enabled else {
            nextCheck = nil
            plannedEvery = nil
            poke()
            return nil
        }
        var notice: AutoResumed?
        if nextCheck == nil || plannedEvery != every {
            if nextCheck == nil, announceResume {
                notice = AutoResumed(every: every, nextCheck: shell.live.engine.clock.now + every)
            }
            nextCheck = shell.live.engine.clock.now + every
            plannedEvery = every
        }
        startThreadIfNeeded()
        poke()
        return notice
    }

    /// The most checks one `advance` simulates: each is a real check (refresh, score, maybe train, predict, write),
    /// so `auto on --every 1s; advance 1d` (86,400 checks) is refused up front instead of running for half an hour.
    public static let maxChecksPerAdvance = 10_000

    /// How many checks `advance` by `seconds` would run now (0 with auto mode off).
    public func checksDuring(advance seconds: TimeInterval) -> Int {
        guard settings.enabled, let next = nextCheck else { return 0 }
        let lead = next - shell.live.engine.clock.now
        guard lead <= seconds else { return 0 }
        let every = shell.live.engine.config.checkInterval
        // Computed in Double and clamped: a long advance with a short interval must not overflow an Int.
        return Int(min(((seconds - lead) / every).rounded(.down) + 1, Double(Self.maxChecksPerAdvance + 1)))
    }

    /// Moves the clock forward by `seconds`, running each check it passes in order (virtual time); their notices.
    /// `progress(done, total)` is called after each check.
    public func advanceClock(by seconds: TimeInterval, progress: (Int, Int) -> Void = { _, _ in }) throws -> [AutoCheckReport] {
        let engine = shell.live.engine
        let total = checksDuring(advance: seconds)
        if total > Self.maxChecksPerAdvance {
            throw AutoModeError.tooManyChecks(every: engine.config.checkInterval, advance: seconds, limit: Self.maxChecksPerAdvance)
        }
        // Offsets, not clock readings: system time moves while checks run, and the offset must land exactly.
        let targetOffset = engine.clock.offset + seconds
        var notices: [AutoCheckReport] = []
        var checks = 0
        while settings.enabled, let next = nextCheck, next - engine.clock.now <= targetOffset - engine.clock.offset {
            let step = next - engine.clock.now
            if step > 0 { try engine.advance(by: step) }
            // One report per asset checked.
            notices += check(background: false)
            checks += 1
            progress(checks, max(total, checks))
            // Ctrl-C stops between checks; the clock stays at the last check that ran.
            if shell.interrupted { return notices }
        }
        let rest = targetOffset - engine.clock.offset
        if rest > 0 { try engine.advance(by: rest) }
        poke()
        return notices
    }

    private func planNext(after check: TimeInterval) {
        let every = shell.live.engine.config.checkInterval
        var next = check + every
        // Checks missed while the machine slept are not made up in a burst: the next one is in the future.
        let now = shell.live.engine.clock.now
        if next <= now { next += (((now - next) / every).rounded(.down) + 1) * every }
        nextCheck = next
    }

    // MARK: One check

    /// What a check knows once it may go on: its planned time, the session it belongs to, and each asset with
    /// where its data comes from (every asset's loop is checked in turn).
    private struct Plan {
        let time: TimeInterval
        let generation: Int
        let assets: [(name: String, source: DataSource?)]
        /// Whether reports name their asset (a session of several).
        var named: Bool { assets.count > 1 }
    }

    /// A due training that waits for the background fit before it (the loop runs one training at a time).
    private struct QueuedTraining {
        let asset: String
        let tier: Tier
        let decision: TriggerDecision
        let time: TimeInterval
        let named: Bool
        /// The session it belongs to: a `load` meanwhile drops it.
        let generation: Int
    }
    /// Due trainings of other assets found while a background fit ran in the same check, in order. Guarded by the
    /// engine lock.
    private var queued: [QueuedTraining] = []

    /// The fetch's outcome before it meets the loop: fresh bars to commit, or a refresh with nothing to commit.
    private enum Fetch {
        case series(PriceSeries, pinnedEnd: TimeInterval?)
        case nothingToCommit(AutoCheckReport.Refresh)
    }

    /// Runs one check, step by step, for every asset in turn (one report each). The foreground (`advance`, which holds the engine lock) and the background run
    /// the same steps and differ only in where the fit runs: here, or on a worker with the loop unlocked, whose end
    /// is a second report. Returns what this call did (in the background: up to the training's start).
    @discardableResult
    private func check(background: Bool) -> [AutoCheckReport] {
        let shell = self.shell
        let (plan, skipped) = shell.live.serially { planOrSkip() }
        if let skipped { return [skipped] }
        guard !plan.assets.isEmpty else {
            return [shell.live.serially {
                var report = AutoCheckReport(time: plan.time, refresh: .noSource)
                report.noData = true
                return conclude(report, show: background)
            }]
        }
        var reports: [AutoCheckReport] = []
        for asset in plan.assets {
            let report = check(asset, plan: plan, background: background)
            reports.append(report)
            if report.skipped == .sessionReplaced || shell.interrupted { break }
        }
        return reports
    }

    /// One asset's part of a check: refresh its data (without holding the loop), score, train its due tier, predict.
    private func check(_ asset: (name: String, source: DataSource?), plan: Plan, background: Bool) -> AutoCheckReport {
        let shell = self.shell
        let fetched = fetch(asset.source, time: plan.time, live: background)
        return shell.live.serially {
            // A `load` while the fetch ran unlocked replaced the loop's state: this check belongs to a session that
            // is gone and must not write into the new one (nor record itself: it is only returned).
            let engine = shell.live.engine
            guard engine.stateGeneration == plan.generation, let index = engine.asset(named: asset.name) else {
                let refresh: AutoCheckReport.Refresh? = if case .nothingToCommit(let refresh) = fetched { refresh } else { nil }
                return AutoCheckReport(time: plan.time, skipped: .sessionReplaced, refresh: refresh)
            }
            return engine.withAsset(index) {
                var report = AutoCheckReport(time: plan.time, refresh: commit(fetched, source: asset.source))
                if plan.named { report.asset = asset.name }
                guard engine.series != nil else {
                    report.noData = true
                    return conclude(report, show: background)
                }
                guard let (tier, decision) = dueTier(at: plan.time) else {
                    report.training = AutoCheckReport.Training.none
                    report.prediction = predict()
                    return conclude(report, show: background)
                }
                // In the background one fit runs at a time: a later asset's due tier waits for the fits before it.
                if background, self.background != nil {
                    queued.append(QueuedTraining(asset: asset.name, tier: tier, decision: decision, time: plan.time,
                                                 named: plan.named, generation: plan.generation))
                    report.training = AutoCheckReport.Training.none
                    report.prediction = predict()
                    return conclude(report, show: background)
                }
                return train(tier, decision, report: report, background: background)
            }
        }
    }

    /// The first step (engine lock held): plans the next check, and skips this one while a training runs.
    private func planOrSkip() -> (Plan, skipped: AutoCheckReport?) {
        let engine = shell.live.engine
        // The check's planned time: triggers are judged and trainings dated as of it, so the schedule never drifts.
        let time = min(nextCheck ?? engine.clock.now, engine.clock.now)
        planNext(after: time)
        checksRun += 1
        let assets = engine.assetNames.filter { !$0.isEmpty }.map { ($0, settings.source(forAsset: $0)) }
        let plan = Plan(time: time, generation: engine.stateGeneration, assets: assets)
        guard engine.trainingInProgress else { return (plan, nil) }
        checksSkipped += 1
        // One warning per training: checks every few seconds during a long fit would bury the prompt.
        let first = !skipWarned
        skipWarned = true
        return (plan, conclude(AutoCheckReport(time: time, skipped: .trainingInProgress(tier: self.background?.tier)), show: first))
    }

    /// Asks the session's source for fresh data, without holding the loop: the network (or the demo generator) may
    /// take its time. `live`: a background check in real time.
    private func fetch(_ source: DataSource?, time: TimeInterval, live: Bool) -> Fetch {
        guard let source else { return .nothingToCommit(.noSource) }
        let demo: Bool, pinnedEnd: TimeInterval?
        if case .demo(_, _, let end) = source { (demo, pinnedEnd) = (true, end) } else { (demo, pinnedEnd) = (false, nil) }
        // A live source has nothing after real time: during `advance` the checks use what is loaded (asking it once
        // per simulated hour would only meet its rate limit).
        guard demo || live else { return .nothingToCommit(.notAsked) }
        do {
            let series = try shell.refresh(source, endingAt: time)
            // A demo pinned with --end is refetched pinned: the same bars, never a new one (the check says so).
            return .series(series, pinnedEnd: pinnedEnd)
        } catch {
            return .nothingToCommit(.failed(error))
        }
    }

    /// Loads fetched bars into the loop, which scores the pending prediction from the realised move (engine lock held).
    private func commit(_ fetched: Fetch, source: DataSource?) -> AutoCheckReport.Refresh {
        let engine = shell.live.engine
        switch fetched {
        case .nothingToCommit(let refresh):
            return refresh
        case .series(let series, let pinnedEnd):
            // A command may have replaced the data source while the fetch ran: its data wins.
            guard let symbol = engine.series?.symbol, settings.source(forAsset: symbol) == source,
                  series.symbol == symbol else { return .sourceReplaced }
            // Unchanged data is not loaded again: nothing to score, and the session need not rewrite its bars.
            guard series != engine.series else { return .unchanged(pinnedEnd: pinnedEnd) }
            let before = engine.series?.last?.time
            let fate = engine.load(series)
            let added = before.map { last in series.bars.lazy.filter { $0.time > last }.count } ?? series.count
            return .loaded(barsAdded: added, lastClose: series.last?.close, fate: fate)
        }
    }

    /// The highest due tier: a tier's training covers the lower tiers (their models are a subset).
    private func dueTier(at time: TimeInterval) -> (Tier, TriggerDecision)? {
        let engine = shell.live.engine
        return settings.tiers.sorted(by: >).lazy.compactMap { number -> (Tier, TriggerDecision)? in
            guard let tier = Tier.all.first(where: { $0.number == number }) else { return nil }
            // The asset's own triggers: a fit of another asset in flight does not make this one's tier not due
            // (its training queues behind that fit).
            let decision = engine.state.decision(for: tier, at: time)
            return decision.due ? (tier, decision) : nil
        }.first
    }

    /// Starts the due tier's training and fits it: here in the foreground, on a worker in the background (engine
    /// lock held).
    private func train(_ tier: Tier, _ decision: TriggerDecision, report: AutoCheckReport, background: Bool) -> AutoCheckReport {
        var report = report
        let job: TrainingJob
        do {
            job = try shell.live.engine.beginTraining(tier, announce: !background, at: report.time)
        } catch {
            report.training = .couldNotStart(tier: tier.number, error: error)
            return conclude(report, show: background)
        }
        guard background else {
            let engine = shell.live.engine
            let result = Result {
                try LoopEngine.fit(job, progress: { [weak engine] in engine?.onEvent?(.progress($0)) },
                                   isCancelled: { [weak shell] in shell?.interrupted ?? true })
            }
            return finish(job, decision, result, report: report, background: false)
        }
        // In the background: say it started, then fit on a worker while commands go on.
        self.background = BackgroundTraining(tier: tier.number, reason: decision.reason, measuredStart: .now)
        skipWarned = false
        report.training = .started(tier: tier.number, reason: decision.reason)
        let started = conclude(report, show: true)
        fitOnWorker(job, decision, time: report.time, asset: report.asset)
        return started
    }

    /// Fits with the loop unlocked, then finishes under the lock (engine lock held by the caller).
    private func fitOnWorker(_ job: TrainingJob, _ decision: TriggerDecision, time: TimeInterval, asset: String?) {
        fits.enter()
        // The fit holds the shell alive until its result is committed or discarded.
        shellDuringFit = shell
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            var next: (job: TrainingJob, decision: TriggerDecision, time: TimeInterval, asset: String?)? = (job, decision, time, asset)
            while let (job, decision, time, asset) = next {
                let result = Result { try LoopEngine.fit(job, isCancelled: { [weak self] in self?.isStopping ?? true }) }
                next = shell.live.serially {
                    // The refresh was reported when the training started: this report says how it ended.
                    var report = AutoCheckReport(time: time)
                    report.asset = asset
                    finish(job, decision, result, report: report, background: true)
                    // Another asset's due training waited for this one: it starts now, on this worker.
                    let following = isStopping ? nil : startQueued()
                    if following == nil { shellDuringFit = nil }
                    return following
                }
            }
            fits.leave()
        }
    }

    /// Begins the first queued training that can still start (engine lock held); nil when none is left.
    private func startQueued() -> (job: TrainingJob, decision: TriggerDecision, time: TimeInterval, asset: String?)? {
        let engine = shell.live.engine
        while !queued.isEmpty {
            let item = queued.removeFirst()
            guard settings.enabled, item.generation == engine.stateGeneration,
                  let index = engine.asset(named: item.asset) else { continue }
            let started: (TrainingJob, AutoCheckReport)? = engine.withAsset(index) {
                var report = AutoCheckReport(time: item.time)
                if item.named { report.asset = item.asset }
                do {
                    let job = try engine.beginTraining(item.tier, announce: false, at: item.time)
                    return (job, report)
                } catch {
                    report.training = .couldNotStart(tier: item.tier.number, error: error)
                    conclude(report, show: true)
                    return nil
                }
            }
            guard let (job, report) = started else { continue }
            background = BackgroundTraining(tier: item.tier.number, reason: item.decision.reason, measuredStart: .now)
            var startedReport = report
            startedReport.training = .started(tier: item.tier.number, reason: item.decision.reason)
            conclude(startedReport, show: true)
            return (job, item.decision, item.time, item.named ? item.asset : nil)
        }
        return nil
    }

    /// Commits (or abandons) a fit and predicts the newest bar (engine lock held).
    @discardableResult
    private func finish(_ job: TrainingJob, _ decision: TriggerDecision, _ result: Result<FittedTier, Error>,
                        report: AutoCheckReport, background: Bool) -> AutoCheckReport {
        var report = report
        let tier = job.tier.number
        self.background = nil
        do {
            report.training = .finished(try shell.live.engine.finishTraining(try result.get()), reason: decision.reason)
        } catch LoopError.trainingSuperseded {
            // Another session was loaded while this fit ran: the check belongs to the old session, so nothing of it
            // (no prediction, no command row) may reach the new one. Only the user is told.
            let superseded = AutoCheckReport(time: report.time, training: .superseded(tier: tier))
            if background { shell.tell(superseded) }
            return superseded
        } catch {
            if case .failure = result { shell.live.engine.abandonTraining(job, error: error) }
            report.training = .failed(tier: tier, error: error, stopping: background && isStopping)
        }
        // The prediction is the trained asset's (a background fit ends while any asset may be in focus).
        let engine = shell.live.engine
        if engine.assets.indices.contains(job.asset) {
            report.prediction = engine.withAsset(job.asset) { predict() }
        }
        return conclude(report, show: background)
    }

    /// A prediction on the newest bar, so the next check can score it; nil when there is nothing new to predict.
    private func predict() -> Prediction? {
        let engine = shell.live.engine
        guard !engine.models.isEmpty, let last = engine.series?.last, engine.pending?.barTime != last.time else { return nil }
        return try? engine.predict()
    }

    /// Records a check (engine lock held): it becomes `lastCheck`, is written through like a command (so a crash
    /// loses nothing auto mode acknowledged) and, with `show`, is posted — unless nothing happened at all, which
    /// would only repeat itself above the prompt.
    @discardableResult
    private func conclude(_ report: AutoCheckReport, show: Bool) -> AutoCheckReport {
        lastCheck = report
        shell.record(report, show: show && (report.eventful || report.warning))
        return report
    }

    // MARK: The background thread

    private var isStopping: Bool { wake.withLock { stopping } }

    private func poke() {
        wake.withLock {
            poked = true
            wake.signal()
        }
    }

    private func startThreadIfNeeded() {
        guard thread == nil else { return }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "lgc-auto"
        self.thread = thread
        thread.start()
    }

    private func run() {
        while true {
            // How long until the next check, read under the loop's lock (never while holding `wake`). The shell is
            // held only for the reading: a shell freed while this thread waits ends the thread.
            let reading: TimeInterval?? = owner.map { shell in
                shell.live.serially { nextCheck.map { $0 - shell.live.engine.clock.now } }
            }
            guard let delay = reading else { return }
            // Sleeps until the next check, a poke or shutdown; the wait lets go of `wake` while it sleeps.
            let (wasPoked, stop) = wake.withLock {
                if !stopping, !poked {
                    if let delay {
                        // NSCondition has no relative wait: the Date is only the wait's deadline, never a duration read.
                        if delay > 0 { _ = wake.wait(until: Date(timeIntervalSinceNow: delay)) }
                    } else {
                        wake.wait()
                    }
                }
                defer { poked = false }
                return (poked, stopping)
            }
            if stop { return }
            if wasPoked { continue }
            guard let shell = owner else { return }
            // Still due? A command may have moved the clock or switched auto mode off meanwhile.
            let due = shell.live.serially {
                settings.enabled && (nextCheck.map { $0 <= shell.live.engine.clock.now } ?? false)
            }
            if due { check(background: true) }
        }
    }

    /// Stops the thread, cancelling a background LSTM training (the previous models stay), and waits for it.
    public func shutdown() {
        guard thread != nil else { return }
        wake.withLock {
            stopping = true
            wake.signal()
        }
        _ = finished.wait(timeout: .now() + 30)
        _ = fits.wait(timeout: .now() + 30)
        thread = nil
    }
}
