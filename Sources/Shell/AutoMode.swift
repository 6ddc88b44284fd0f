import FeedbackLoop
import Foundation
import MarketData

/// Why auto mode refused a request.
enum AutoModeError: Error, Equatable, CustomStringConvertible {
    case tooManyChecks(every: TimeInterval, advance: TimeInterval, limit: Int)

    var description: String {
        switch self {
        case .tooManyChecks(let every, let advance, let limit):
            return "advancing \(DurationText.format(advance)) would run more than \(limit) auto checks (one every "
                + "\(DurationText.format(every))) — advance less at a time, use a longer 'auto on --every', or 'auto off' first"
        }
    }
}

/// Something auto mode did, shown above the prompt (text) or as one JSON object (tools).
struct Notice: @unchecked Sendable {
    // @unchecked: JSON is an immutable value tree of strings and numbers.
    var text: String
    var fields: [(String, JSON)]
    var warning = false
}

/// Notices posted by the background scheduler, waiting for the main thread to print them. A byte written to a pipe
/// per notice wakes the line editor, which waits on the terminal and this pipe at once.
final class Notices: @unchecked Sendable {
    // @unchecked: `queue` is guarded by `lock`; the descriptors never change after init.
    private let lock = NSLock()
    private var queue: [Notice] = []
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func post(_ notice: Notice) {
        lock.withLock { queue.append(notice) }
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Everything posted so far, oldest first.
    func drain() -> [Notice] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
        return lock.withLock {
            defer { queue.removeAll() }
            return queue
        }
    }
}

/// Auto mode: checks the triggers every `check_interval` and runs a cycle — refresh the data from the session's
/// source, score the pending prediction from the realised move, train the highest due tier, predict the newest
/// bar. In real time the checks run on a background thread and the fit runs without holding the loop, so commands
/// stay responsive; `advance` runs the checks it passes over synchronously, in order, so scripts are deterministic.
///
/// Every touch of the loop happens under `ShellContext.engineLock` (the shell holds it for each command).
final class AutoScheduler: @unchecked Sendable {
    // @unchecked: mutable state is guarded by the shell's engine lock (schedule, background) or `wake` (the rest).
    /// Weak: the shell owns the scheduler. Code on the scheduler's own thread and the background fit first take a
    /// strong reference (`run`, `check`), so a shell freed without `shutdown()` (a test) ends the thread instead of
    /// crashing it; calls from the shell's side always have the shell alive.
    private weak var owner: ShellContext?
    private var shell: ShellContext { owner! }
    /// A strong reference while a background fit runs. Guarded by the engine lock.
    private var shellDuringFit: ShellContext?
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
    private(set) var nextCheck: TimeInterval?
    /// The check interval `nextCheck` was planned with, to re-plan when `check_interval` changes.
    private var plannedEvery: TimeInterval?
    /// The background training in flight: its tier, why, and when it started (wall clock).
    private(set) var background: (tier: Int, reason: String, started: Date)?
    private(set) var lastCheck: (time: TimeInterval, summary: String)?
    private(set) var checksRun = 0
    private(set) var checksSkipped = 0

    init(shell: ShellContext) {
        owner = shell
    }

    var settings: LoopConfig.Automation { shell.engine.config.automation }

    // MARK: Scheduling (engine lock held by the caller)

    /// Brings the schedule in line with the settings after any command (`auto`, `set check_interval`, `load`…).
    /// Returns a notice when a loaded session switched auto mode on.
    @discardableResult
    func synchronize(announceResume: Bool) -> Notice? {
        let every = shell.engine.config.checkInterval
        guard settings.enabled else {
            nextCheck = nil
            plannedEvery = nil
            poke()
            return nil
        }
        var notice: Notice?
        if nextCheck == nil || plannedEvery != every {
            if nextCheck == nil, announceResume {
                notice = Notice(text: "auto mode is on in this session: next check in \(DurationText.format(every)) ('auto off' stops it)",
                                fields: [("event", .string("auto_resumed")), ("next_check", .time(shell.engine.clock.now + every))])
            }
            nextCheck = shell.engine.clock.now + every
            plannedEvery = every
        }
        startThreadIfNeeded()
        poke()
        return notice
    }

    /// The most checks one `advance` simulates: each is a real check (refresh, score, maybe train, predict, write),
    /// so `auto on --every 1s; advance 1d` (86,400 checks) is refused up front instead of running for half an hour.
    static let maxChecksPerAdvance = 10_000

    /// How many checks `advance` by `seconds` would run now (0 with auto mode off).
    func checksDuring(advance seconds: TimeInterval) -> Int {
        guard settings.enabled, let next = nextCheck else { return 0 }
        let lead = next - shell.engine.clock.now
        guard lead <= seconds else { return 0 }
        let every = shell.engine.config.checkInterval
        // Computed in Double and clamped: a long advance with a short interval must not overflow an Int.
        return Int(min(((seconds - lead) / every).rounded(.down) + 1, Double(Self.maxChecksPerAdvance + 1)))
    }

    /// Moves the clock forward by `seconds`, running each check it passes in order (virtual time); their notices.
    /// `progress(done, total)` is called after each check.
    func advanceClock(by seconds: TimeInterval, progress: (Int, Int) -> Void = { _, _ in }) throws -> [Notice] {
        let engine = shell.engine
        let total = checksDuring(advance: seconds)
        if total > Self.maxChecksPerAdvance {
            throw AutoModeError.tooManyChecks(every: engine.config.checkInterval, advance: seconds, limit: Self.maxChecksPerAdvance)
        }
        // Offsets, not clock readings: system time moves while checks run, and the offset must land exactly.
        let targetOffset = engine.clock.offset + seconds
        var notices: [Notice] = []
        while settings.enabled, let next = nextCheck, next - engine.clock.now <= targetOffset - engine.clock.offset {
            let step = next - engine.clock.now
            if step > 0 { try engine.advance(by: step) }
            notices.append(check(background: false))
            progress(notices.count, max(total, notices.count))
            // Ctrl-C stops between checks; the clock stays at the last check that ran.
            if Interrupts.requested != 0 { return notices }
        }
        let rest = targetOffset - engine.clock.offset
        if rest > 0 { try engine.advance(by: rest) }
        poke()
        return notices
    }

    private func planNext(after check: TimeInterval) {
        let every = shell.engine.config.checkInterval
        var next = check + every
        // Checks missed while the machine slept are not made up in a burst: the next one is in the future.
        let now = shell.engine.clock.now
        if next <= now { next += (((now - next) / every).rounded(.down) + 1) * every }
        nextCheck = next
    }

    // MARK: One check

    /// What one check did, gathered as it goes: a line of text and the same as JSON fields.
    private struct CheckRecord {
        let time: TimeInterval
        var parts: [String] = []
        var fields: [(String, JSON)]
        var warning = false
        /// Something worth showing happened (a new bar, a score, a training, a prediction).
        var eventful = false

        init(time: TimeInterval) {
            self.time = time
            fields = [("event", .string("auto_check")), ("time", .time(time))]
        }

        var notice: Notice {
            Notice(text: "[auto \(ISOTime.short(time))] \(parts.isEmpty ? "nothing to do" : parts.joined(separator: " · "))",
                   fields: fields, warning: warning)
        }
    }

    /// Records a check (engine lock held): written through like a command and, in the background, shown — unless
    /// nothing happened at all, which would only repeat itself above the prompt.
    private func conclude(_ record: CheckRecord, show: Bool) -> Notice {
        let notice = record.notice
        lastCheck = (record.time, record.parts.isEmpty ? "nothing to do" : record.parts.joined(separator: " · "))
        persist(notice)
        if show, record.eventful || record.warning { shell.notices.post(notice) }
        return notice
    }

    /// Runs one check. `background`: the fit runs on a worker with the loop unlocked, and what happened is posted
    /// as notices (when it starts, then when it ends); otherwise everything runs under the caller's lock (`advance`)
    /// and the returned notice says what happened.
    @discardableResult
    private func check(background: Bool) -> Notice {
        let engine = shell.engine
        let lock = shell.engineLock
        lock.lock()
        // The check's planned time: triggers are judged and trainings dated as of it, so the schedule never drifts.
        let checkTime = min(nextCheck ?? engine.clock.now, engine.clock.now)
        planNext(after: checkTime)
        checksRun += 1
        var record = CheckRecord(time: checkTime)
        // A `load` while the fetch below runs unlocked replaces the loop's state: this check then belongs to a
        // session that is gone and must not write into the new one.
        let generation = engine.stateGeneration
        if engine.trainingInProgress {
            checksSkipped += 1
            let tier = self.background.map { "tier\($0.tier) is" } ?? "a training is"
            record.parts.append("skipped: \(tier) still training (the loop never runs two trainings at once)")
            record.fields.append(("skipped", .string("training_in_progress")))
            record.warning = true
            // One warning per training: checks every few seconds during a long fit would bury the prompt.
            let first = !skipWarned
            skipWarned = true
            let notice = conclude(record, show: first)
            lock.unlock()
            return notice
        }
        let source = settings.source
        lock.unlock()

        // The network (or the demo generator) runs without holding the loop.
        var fetched: PriceSeries?
        // A demo pinned with --end is refetched pinned: the same bars, never a new one (the check says so).
        var pinnedEnd: TimeInterval?
        if let source {
            do {
                let request = Commands.FetchRequest(source: source)
                pinnedEnd = request.demo ? request.end : nil
                // A live source has nothing after real time: during `advance` the checks use what is loaded
                // (asking it once per simulated hour would only meet its rate limit).
                if !request.demo && !background {
                    record.parts.append("CoinGecko not asked during 'advance' (no data after real time)")
                } else {
                    fetched = try request.fetch(shell: shell, endingAt: checkTime) { _, _, _ in }
                }
            } catch {
                record.parts.append("could not refresh the data (\(ShellContext.message(for: error))); using what is loaded")
                record.fields.append(("fetch_error", .string(ShellContext.message(for: error))))
                record.warning = true
            }
        }

        lock.lock()
        defer { lock.unlock() }
        guard engine.stateGeneration == generation else {
            return Notice(text: "[auto \(ISOTime.short(checkTime))] skipped: another session was loaded during the check",
                          fields: record.fields + [("skipped", .string("session_replaced"))], warning: true)
        }
        // A command may have replaced the data source while the fetch ran: its data wins.
        // Unchanged data is not loaded again: nothing to score, and the session need not rewrite its bars.
        if let series = fetched, settings.source == source, series != engine.series {
            let before = engine.series?.last?.time
            let fate = engine.load(series)
            let added = before.map { last in series.bars.lazy.filter { $0.time > last }.count } ?? series.count
            record.parts.append("+\(added) bar\(added == 1 ? "" : "s") (\(Format.price(series.last?.close ?? .nan)))")
            record.fields.append(("bars_added", .int(added)))
            record.eventful = added > 0
            if case .resolved(let entry, let realised) = fate {
                record.parts.append("scored \(entry.predicted.rawValue): moved \(String(format: "%+.3f%%", realised * 100)) → \(entry.actual.rawValue), \(entry.correct ? "correct" : "wrong")")
                record.fields.append(("resolved", .object([("predicted", .string(entry.predicted.rawValue)),
                                                          ("actual", .string(entry.actual.rawValue)),
                                                          ("correct", .bool(entry.correct)),
                                                          ("realised_return", .number(realised))])))
            } else if case .dropped = fate {
                record.parts.append("the pending prediction's bar is gone from the new data; dropped")
            }
        } else if fetched != nil, settings.source == source {
            record.parts.append(pinnedEnd.map { "no new bar: the demo is pinned at \(ISOTime.short($0)) (fetch without --end to follow the clock)" } ?? "no new bar")
            record.fields.append(("bars_added", .int(0)))
        }
        guard engine.series != nil else {
            record.parts.append("no data loaded")
            record.warning = true
            return conclude(record, show: background)
        }
        // The highest due tier: a tier's training covers the lower tiers (their models are a subset).
        let due = settings.tiers.sorted(by: >).lazy.compactMap { number -> (Tier, TriggerDecision)? in
            guard let tier = Tier.all.first(where: { $0.number == number }) else { return nil }
            let decision = engine.decision(for: tier, at: checkTime)
            return decision.due ? (tier, decision) : nil
        }.first
        guard let (tier, decision) = due else {
            record.parts.append("no tier due")
            if predict(&record) { record.eventful = true }
            return conclude(record, show: background)
        }
        let job: TrainingJob
        do {
            job = try engine.beginTraining(tier, announce: !background, at: checkTime)
        } catch {
            record.parts.append("tier\(tier.number) could not start: \(ShellContext.message(for: error))")
            record.warning = true
            return conclude(record, show: background)
        }
        guard background else {
            let result = Result {
                try LoopEngine.fit(job, progress: { [weak engine] in engine?.onEvent?(.progress($0)) },
                                   isCancelled: { Interrupts.requested != 0 })
            }
            return finishTraining(job, decision: decision, result: result, record: record, background: false)
        }
        // In the background: say it started, then fit on a worker while commands go on.
        self.background = (tier.number, decision.reason.code, Date())
        skipWarned = false
        var started = record
        started.parts.append("tier\(tier.number) due (\(decision.reason.code.replacingOccurrences(of: "_", with: " "))): training in the background…")
        started.fields.append(("training", .object([("tier", .int(tier.number)), ("reason", .string(decision.reason.code)),
                                                   ("state", .string("started"))])))
        started.eventful = true
        let notice = conclude(started, show: true)
        fits.enter()
        // The fit holds the shell alive until its result is committed or discarded (engine lock held here).
        shellDuringFit = shell
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let result = Result { try LoopEngine.fit(job, isCancelled: { [weak self] in self?.isStopping ?? true }) }
            shell.engineLock.withLock {
                _ = finishTraining(job, decision: decision, result: result, record: CheckRecord(time: checkTime), background: true)
                shellDuringFit = nil
            }
            fits.leave()
        }
        return notice
    }

    /// Commits (or abandons) a check's training and predicts the newest bar (engine lock held).
    private func finishTraining(_ job: TrainingJob, decision: TriggerDecision, result: Result<FittedTier, Error>,
                                record: CheckRecord, background: Bool) -> Notice {
        var record = record
        let tier = job.tier.number
        let reason = decision.reason.code.replacingOccurrences(of: "_", with: " ")
        self.background = nil
        do {
            let trained = try shell.engine.finishTraining(try result.get())
            let models = trained.records.map { record in
                let kept = record.details.promotion?.promoted ?? true
                return "\(record.model.rawValue) v\(record.version) \(Format.holdoutPhrase(record))\(kept ? "" : " (not promoted)")"
            }
            record.eventful = true
            record.parts.append("tier\(tier) trained (\(reason), \(Format.seconds(trained.seconds))): \(models.joined(separator: ", "))")
            record.fields.append(("training", .object([("tier", .int(tier)), ("reason", .string(decision.reason.code)),
                                                      ("state", .string("finished")), ("seconds", .number(trained.seconds)),
                                                      ("models", .array(trained.records.map { record in
                                                          .object([("model", .string(record.model.rawValue)), ("version", .int(record.version)),
                                                                   ("accuracy", .number(record.accuracy))])
                                                      }))])))
        } catch LoopError.trainingSuperseded {
            // Another session was loaded while this fit ran: the check belongs to the old session, so nothing of it
            // (no prediction, no command row) may reach the new one. Only the user is told.
            let notice = Notice(text: "[auto \(ISOTime.short(record.time))] " + LoopError.trainingSuperseded(tier: tier).description,
                                fields: [("event", .string("auto_check")), ("time", .time(record.time)),
                                         ("training", .object([("tier", .int(tier)), ("state", .string("superseded"))]))],
                                warning: true)
            if background { shell.notices.post(notice) }
            return notice
        } catch {
            if case .failure = result { shell.engine.abandonTraining(job, error: error) }
            let message = ShellContext.message(for: error)
            if background, isStopping {
                record.parts.append("tier\(tier)'s background training stopped because the shell is quitting; the previous models stay")
            } else if case LoopError.cancelled = error {
                record.parts.append("tier\(tier) training failed: \(message)")
            } else {
                record.parts.append("tier\(tier) training failed: \(message) — the previous models stay")
            }
            record.fields.append(("training", .object([("tier", .int(tier)), ("state", .string("failed")),
                                                      ("error", .string(ShellContext.message(for: error)))])))
            record.warning = true
        }
        predict(&record)
        return conclude(record, show: background)
    }

    /// A prediction on the newest bar, so the next check can score it.
    @discardableResult
    private func predict(_ record: inout CheckRecord) -> Bool {
        let engine = shell.engine
        guard !engine.models.isEmpty, let last = engine.series?.last, engine.pending?.barTime != last.time,
              let prediction = try? engine.predict() else { return false }
        record.parts.append("predicts \(prediction.signal.rawValue) (\(String(format: "%.3f", prediction.ensemble)))")
        record.fields.append(("prediction", .object([("signal", .string(prediction.signal.rawValue)),
                                             ("ensemble", .number(prediction.ensemble)), ("bar_time", .time(prediction.barTime))])))
        return true
    }

    /// Each check is written through like a command, so a crash loses nothing auto mode acknowledged.
    private func persist(_ notice: Notice) {
        if let problem = shell.persist("auto check", output: notice.text, ok: true) {
            shell.notices.post(Notice(text: "[auto] \(problem)", fields: [("event", .string("auto_error")), ("error", .string(problem))],
                                      warning: true))
        }
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
                shell.engineLock.withLock { nextCheck.map { $0 - shell.engine.clock.now } }
            }
            guard let delay = reading else { return }
            wake.lock()
            if stopping {
                wake.unlock()
                return
            }
            if !poked {
                if let delay {
                    if delay > 0 { _ = wake.wait(until: Date(timeIntervalSinceNow: delay)) }
                } else {
                    wake.wait()
                }
            }
            let wasPoked = poked
            poked = false
            let stop = stopping
            wake.unlock()
            if stop { return }
            if wasPoked { continue }
            guard let shell = owner else { return }
            // Still due? A command may have moved the clock or switched auto mode off meanwhile.
            let due = shell.engineLock.withLock {
                settings.enabled && (nextCheck.map { $0 <= shell.engine.clock.now } ?? false)
            }
            if due { check(background: true) }
        }
    }

    /// Stops the thread, cancelling a background LSTM training (the previous models stay), and waits for it.
    func shutdown() {
        guard thread != nil else { return }
        wake.withLock {
            stopping = true
            wake.signal()
        }
        _ = finished.wait(timeout: .now() + 30)
        _ = fits.wait(timeout: .now() + 30)
        thread = nil
    }

    // MARK: Reporting

    /// `auto` and `status`: on/off, interval, tiers, source, next and last check, a background training.
    func stateFields() -> [(String, JSON)] {
        var fields: [(String, JSON)] = [("enabled", .bool(settings.enabled)),
                                        ("check_interval_seconds", .number(shell.engine.config.checkInterval)),
                                        ("tiers", .array(settings.tiers.sorted().map { .int($0) })),
                                        ("source", settings.source.map { .string("fetch " + Commands.FetchRequest(source: $0).canonical) } ?? .null),
                                        ("next_check", nextCheck.map { .time($0) } ?? .null),
                                        ("checks_run", .int(checksRun)), ("checks_skipped", .int(checksSkipped))]
        if let lastCheck { fields.append(("last_check", .object([("time", .time(lastCheck.time)), ("summary", .string(lastCheck.summary))]))) }
        if let background {
            fields.append(("training", .object([("tier", .int(background.tier)), ("reason", .string(background.reason)),
                                               ("elapsed_seconds", .number(Date().timeIntervalSince(background.started)))])))
        }
        return fields
    }

    func stateText() -> String {
        guard settings.enabled else { return "auto mode is off — 'auto on' checks the triggers every \(DurationText.format(shell.engine.config.checkInterval))" }
        var lines = ["auto mode is on: every \(DurationText.format(shell.engine.config.checkInterval)), tiers \(settings.tiers.sorted().map(String.init).joined(separator: ","))"]
        // A demo pinned with --end is fetched the same at every check: say that no bar will come.
        let request = settings.source.map(Commands.FetchRequest.init(source:))
        let pinned = request.map { $0.demo && $0.end != nil } ?? false
        lines.append("  data        " + (request.map { "refreshed with 'fetch \($0.canonical)' at each check" + (pinned ? " (pinned: no new bars)" : "") } ?? "imported from a file: checks use what is loaded"))
        if let nextCheck {
            lines.append("  next check  \(ISOTime.short(nextCheck)) UTC (in \(DurationText.format(max(0, nextCheck - shell.engine.clock.now).rounded())))")
        }
        if let background {
            lines.append("  training    tier\(background.tier) in the background (\(background.reason.replacingOccurrences(of: "_", with: " ")), \(Format.seconds(Date().timeIntervalSince(background.started))) so far)")
        }
        if let lastCheck { lines.append("  last check  \(ISOTime.short(lastCheck.time)): \(lastCheck.summary)") }
        lines.append("  checks      \(checksRun) run, \(checksSkipped) skipped while a training ran")
        return lines.joined(separator: "\n")
    }
}
