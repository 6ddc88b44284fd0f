import FeedbackLoop
import Foundation
import LoopApp
import MarketData
@testable import Shell
import Testing

/// Auto mode in virtual time: `advance` runs the checks it passes over, in order, so these are deterministic.
@Suite struct AutoModeInVirtualTime {
    /// The caller shuts the shell's scheduler down.
    func shell() -> ShellContext { quietShell() }

    func run(_ shell: ShellContext, _ lines: String) {
        for line in lines.split(separator: ";") {
            let result = shell.execute(String(line))
            #expect(result == .ok, "\(line): \(result)")
        }
    }

    @Test func eachCheckRefreshesScoresTrainsWhatIsDueAndPredicts() throws {
        let result = try ShellProcess.run(["--format", "json", "-c",
                                           "set xgboost.threads 1; fetch demo 20; auto on --tiers 1,2; advance 3h; auto"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let advance = try #require(objects.first { $0["command"] as? String == "advance" })
        let checks = try #require(advance["auto_checks"] as? [[String: Any]])
        #expect(checks.count == 3)
        let trainings = checks.map { $0["training"] as? [String: Any] }
        // First check: nothing trained yet, so tier 2 (which covers tier 1); then tier 1 at its hourly interval.
        #expect(trainings[0]?["tier"] as? Int == 2 && trainings[0]?["reason"] as? String == "never_trained")
        #expect(trainings[1]?["tier"] as? Int == 1 && trainings[1]?["reason"] as? String == "interval_elapsed")
        #expect(trainings[2]?["tier"] as? Int == 1)
        for check in checks {
            #expect(check["bars_added"] as? Int == 1, "each hourly check brings the next demo bar")
            #expect((check["prediction"] as? [String: Any])?["signal"] != nil, "each check predicts the newest bar")
        }
        // The first check had nothing pending; every later one scores the previous prediction.
        #expect(checks[0]["resolved"] == nil)
        #expect(checks.dropFirst().allSatisfy { $0["resolved"] is [String: Any] })
        let auto = try #require(objects.last)
        #expect(auto["enabled"] as? Bool == true)
        #expect(auto["checks_run"] as? Int == 3)
    }

    @Test func aTierThatIsNotDueIsNotTrained() {
        let shell = shell()
        defer { shell.auto.shutdown() }
        run(shell, "set xgboost.threads 1; fetch demo 20; set tier1_interval 3h; auto on --tiers 1; advance 2h")
        #expect(shell.engine.history.count == 1, "trained at the first check only")
        #expect(shell.auto.lastCheck?.summary.contains("no tier due") == true, "\(String(describing: shell.auto.lastCheck))")
        run(shell, "advance 2h")
        #expect(shell.engine.history.count == 2, "due again three hours after the first training")
        #expect(shell.auto.checksRun == 4)
    }

    @Test func aCheckWhileATrainingRunsIsSkippedWithAWarning() throws {
        let shell = shell()
        defer { shell.auto.shutdown() }
        run(shell, "fetch demo 20; auto on --tiers 1")
        // A training in flight, as when the background worker is fitting.
        let job = try shell.engine.beginTraining(Tier.all[0], announce: false)
        run(shell, "advance 1h")
        #expect(shell.auto.checksSkipped == 1)
        #expect(shell.auto.lastCheck?.summary.contains("skipped") == true)
        #expect(shell.auto.lastCheck?.skipped == .trainingInProgress(tier: nil), "not auto mode's training: no tier to name")
        #expect(shell.engine.history.isEmpty, "no second training started")
        try shell.engine.finishTraining(try LoopEngine.fit(job))
        #expect(shell.engine.history.count == 1)
        run(shell, "advance 1h")
        #expect(shell.auto.checksSkipped == 1)
        #expect(shell.engine.history.count == 2, "the next check trains again")
    }

    @Test func aCheckReportsWhatItDidAsTypedValues() throws {
        let shell = shell()
        defer { shell.auto.shutdown() }
        run(shell, "set xgboost.threads 1; fetch demo 20; auto on --tiers 1,2; advance 1h")
        // A due tier: the new bar was loaded, tier 2 (never trained, covering tier 1) trained, the newest bar predicted.
        let due = try #require(shell.auto.lastCheck)
        #expect(due.skipped == nil && !due.noData && !due.warning && due.eventful)
        guard case .loaded(barsAdded: 1, lastClose: let close?, fate: .none)? = due.refresh else {
            Issue.record("expected one new bar loaded, got \(String(describing: due.refresh))")
            return
        }
        #expect(close == shell.engine.series?.last?.close)
        guard case .finished(let trained, reason: .neverTrained)? = due.training else {
            Issue.record("expected a finished training, got \(String(describing: due.training))")
            return
        }
        #expect(trained.tier == 2 && trained.records.count == shell.engine.history.count)
        #expect(due.prediction?.barTime == shell.engine.series?.last?.time)

        // A source that cannot serve (a demo window before 2010): the check goes on with what is loaded.
        try shell.engine.updateConfig { $0.automation.source = .demo(days: 20, seed: 42, end: 0) }
        run(shell, "advance 1h")
        let failed = try #require(shell.auto.lastCheck)
        guard case .failed(let error)? = failed.refresh else {
            Issue.record("expected a failed refresh, got \(String(describing: failed.refresh))")
            return
        }
        #expect(error is MarketDataError, "the data layer's own error, not text: \(error)")
        #expect(failed.warning)
        guard case .finished(let retrained, reason: .intervalElapsed)? = failed.training else {
            Issue.record("expected tier 1 retrained on its interval, got \(String(describing: failed.training))")
            return
        }
        #expect(retrained.tier == 1)
        // The words come from the report alone.
        let notice = Notice(failed)
        #expect(notice.warning)
        #expect(notice.text.contains("could not refresh the data ("), "\(notice.text)")
        #expect(notice.fields.contains { $0.0 == "fetch_error" })
        #expect(failed.summary == shell.auto.stateFields().compactMap { field -> String? in
            guard field.0 == "last_check", case .object(let check) = field.1,
                  case .string(let summary)? = check.first(where: { $0.0 == "summary" })?.1 else { return nil }
            return summary
        }.first)
    }

    @Test func theSameScriptGivesTheSameChecks() {
        func summaries() -> [String] {
            let shell = shell()
            defer { shell.auto.shutdown() }
            run(shell, "set xgboost.threads 1; fetch demo 20 --seed 7; auto on --tiers 1,2 --every 2h; advance 12h")
            return shell.engine.history.map { "\($0.model.rawValue) v\($0.version) \($0.time) \($0.accuracy)" }
                + shell.engine.log.entries.map { "\($0.predicted.rawValue)→\($0.actual.rawValue)" }
        }
        let first = summaries()
        #expect(first.count > 6)
        #expect(first == summaries())
    }

    @Test func aCheckScoresThePendingPredictionWithTheHoldBand() {
        let shell = shell()
        defer { shell.auto.shutdown() }
        run(shell, "fetch demo 20; set hold_band 0.1; auto on --tiers 1; advance 3h")
        // Hourly demo moves are far inside ±10 %: every scored outcome is HOLD.
        #expect(shell.engine.log.entries.count == 2)
        #expect(shell.engine.log.entries.allSatisfy { $0.actual == .hold })
    }

    @Test(arguments: [
        ("auto on", "auto mode needs data to watch — run 'fetch demo' (offline), 'fetch bitcoin' or 'import FILE.csv' first"),
        ("fetch demo 5; auto off --every 1h", "auto: --every and --tiers go with 'auto on', not 'auto off' — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("fetch demo 5; auto maybe", "auto: expected 'on' or 'off', got 'maybe' — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("fetch demo 5; auto on --every 0s", "auto: invalid --every '0s': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("fetch demo 5; auto on --tiers 4", "auto: unknown tier '4' — expected tier1, tier2 or tier3 — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("fetch demo 5; auto --every 1h", "auto: --every and --tiers go with 'auto on' — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
    ])
    func badInputIsOneClearLineAndChangesNothing(commands: String, message: String) throws {
        let result = try ShellProcess.run(["-c", commands + "; auto"], environment: ["NO_COLOR": "1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: \(message)"), "\(result.stderr)")
    }

    @Test func autoModeIsSavedWithTheSessionAndResumesOnLoad() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let environment = ["LGC_SESSIONS": directory.path, "NO_COLOR": "1"]
        let saved = try ShellProcess.run(["-c", "fetch demo 10; auto on --every 2h --tiers 1; save watched"], environment: environment)
        #expect(saved.status == 0, "\(saved.stderr)")
        let loaded = try ShellProcess.run(["--format", "json", "-c", "load watched; auto"], environment: environment)
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let objects = try loaded.jsonObjects()
        #expect(objects.contains { $0["event"] as? String == "auto_resumed" }, "\(loaded.stdout)")
        let state = try #require(objects.last)
        #expect(state["enabled"] as? Bool == true)
        #expect(state["check_interval_seconds"] as? Double == 7200)
        #expect(state["tiers"] as? [Int] == [1])
        #expect(state["source"] as? String == "fetch demo 10 --seed 42")
    }
}

/// Auto mode as a person sees it: notices above the prompt, and a shell that answers while a tier trains.
@Suite struct AutoModeInteractive {
    func start(_ arguments: [String] = []) throws -> TerminalSession {
        let history = try ShellProcess.temporaryDirectory().appendingPathComponent("history")
        let session = try TerminalSession(arguments: arguments, environment: ["LGC_HISTORY": history.path], columns: 200)
        #expect(session.waitFor("lgc> "), "no prompt: \(session.screen)")
        return session
    }

    @Test func aNoticeAppearsAboveTheLineBeingTypedWhichIsKept() throws {
        let session = try start(["--demo"])
        var mark = session.mark
        session.type("auto on --every 1s --tiers 1\r")
        #expect(session.waitForPrompt(after: "auto mode is on", since: mark), "\(session.screen)")
        mark = session.mark
        session.type("stat")
        #expect(session.waitFor("[auto ", since: mark), "no notice: \(session.screen)")
        // After the notice the editor draws the prompt and the half-typed line again.
        let notice = try #require(session.screen.range(of: "[auto ", range: session.screen.index(session.screen.startIndex, offsetBy: mark)..<session.screen.endIndex))
        let afterNotice = session.screen.distance(from: session.screen.startIndex, to: notice.upperBound)
        #expect(session.waitFor("lgc> stat", since: afterNotice), "line not redrawn: \(session.screen)")
        mark = session.mark
        session.type("us\r")
        #expect(session.waitForPrompt(after: "auto      on, every 1s", since: mark), "the completed line ran: \(session.screen)")
        #expect(session.quit() == 0)
    }

    @Test func commandsAnswerWhileATierTrainsInTheBackground() throws {
        // The default LSTM trains for minutes in a debug build: long enough to type while it runs.
        let session = try start(["--demo"])
        var mark = session.mark
        session.type("auto on --every 1s --tiers 3\r")
        #expect(session.waitFor("training in the background", since: mark, timeout: 20), "\(session.screen)")
        #expect(session.waitFor("lgc> ", since: mark))
        mark = session.mark
        session.type("status\r")
        #expect(session.waitForPrompt(after: "tier3 in the background (auto mode)", since: mark, timeout: 5), "\(session.screen)")
        mark = session.mark
        session.type("train tier1\r")
        #expect(session.waitForPrompt(after: "a training is already in progress", since: mark, timeout: 5), "\(session.screen)")
        // Quitting stops the background training; the shell exits promptly.
        #expect(session.quit() == 0)
    }
}

/// The edges of auto mode a careless or hostile user reaches: huge simulated spans, a `load` mid-training.
@Suite struct AutoModeEdges {
    func run(_ shell: ShellContext, _ lines: String) {
        for line in lines.split(separator: ";") {
            let result = shell.execute(String(line))
            #expect(result == .ok, "\(line): \(result)")
        }
    }

    @Test func advanceCountsTheChecksItWouldRun() {
        let shell = quietShell()
        defer { shell.auto.shutdown() }
        run(shell, "fetch demo 5; auto on --every 1h --tiers 1")
        #expect(shell.auto.checksDuring(advance: 30 * 60) == 0)
        #expect(shell.auto.checksDuring(advance: 3600) == 1)
        #expect(shell.auto.checksDuring(advance: 86_400) == 24)
        #expect(shell.auto.checksDuring(advance: 1e15) == AutoScheduler.maxChecksPerAdvance + 1, "clamped, not overflowed")
        run(shell, "auto off")
        #expect(shell.auto.checksDuring(advance: 86_400) == 0)
    }

    @Test func anAdvanceThatWouldRunTooManyChecksIsRefusedAndMovesNothing() {
        let shell = quietShell()
        defer { shell.auto.shutdown() }
        run(shell, "fetch demo 5; auto on --every 1s --tiers 1")
        let before = shell.engine.clock.offset
        let result = shell.execute("advance 1d")
        #expect(result == .failed("advancing 1d would run more than 10000 auto checks (one every 1s) — advance less at a time, use a longer 'auto on --every', or 'auto off' first"))
        #expect(shell.engine.clock.offset == before)
        #expect(shell.auto.checksRun == 0)
        #expect(shell.engine.history.isEmpty)
    }

    @Test func aShellFreedWithAutoModeOnEndsItsSchedulerInsteadOfCrashingIt() throws {
        weak var freed: ShellContext?
        do {
            let shell = quietShell()
            run(shell, "fetch demo 5; auto on --every 1s --tiers 1")
            freed = shell
        }
        // No shutdown(): the scheduler's thread wakes within a second to a shell that is gone, and must simply end
        // (an unowned reference crashed the whole test process here).
        // The thread holds the shell only while it reads the schedule, for microseconds: it must let go.
        let deadline = Date().addingTimeInterval(5)
        while freed != nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(freed == nil, "the scheduler's thread must not keep the shell alive while it waits")
        Thread.sleep(forTimeInterval: 1.5)
    }

    /// A clock the test moves by hand, read by the background scheduler's thread.
    final class ManualTime: @unchecked Sendable {
        private let lock = NSLock()
        private var value: TimeInterval = 1_790_000_000
        var now: TimeInterval { lock.withLock { value } }
        func move(by seconds: TimeInterval) { lock.withLock { value += seconds } }
    }

    @Test func aBackgroundTrainingThatOutlivesItsSessionWritesNothingIntoTheLoadedOne() throws {
        let directory = try ShellProcess.temporaryDirectory()
        // The session that will be loaded mid-training: trained, so a stray check could predict with its models.
        let saved = try ShellProcess.run(["-q", "-c", "fetch demo 10 --seed 3; train tier1; save other"],
                                         environment: ["LGC_SESSIONS": directory.path])
        #expect(saved.status == 0, "\(saved.stderr)")

        let time = ManualTime()
        let shell = ShellContext(engine: LoopEngine(clock: LoopClock { time.now }), format: .text,
                                 terminal: TerminalInfo.detect(environment: [:], stdoutIsTTY: false),
                                 logger: Logger(color: false, quiet: true), environment: [:])
        shell.printsOutput = false
        shell.openSession(directory: directory.path, persistent: false)
        defer {
            shell.auto.shutdown()
            shell.closeSession()
        }
        run(shell, "set xgboost.threads 1; set lstm.epochs 3; fetch demo 20; auto on --every 1s --tiers 3")
        time.move(by: 5)
        func waitUntil(_ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if shell.live.serially(condition) { return true }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return false
        }
        #expect(waitUntil { shell.auto.background != nil }, "the background check never started a training")
        run(shell, "load other")
        #expect(waitUntil { shell.auto.background == nil && !shell.engine.trainingInProgress }, "the training never ended")
        // The loaded session is exactly as saved: no prediction, no training, no auto check row from the old one.
        #expect(shell.engine.pending == nil)
        #expect(shell.engine.history.count == 1)
        let state = try #require(try shell.session?.database.read())
        #expect(state.assets[0].pending == nil)
        #expect(state.assets[0].predictions.isEmpty)
        let notices = shell.notices.drain()
        #expect(notices.contains { $0.text.contains("tier3's background training finished after another session was loaded") },
                "\(notices.map(\.text))")
    }
}

/// Auto mode with several assets: every asset's loop is checked in turn, each from its own source.
@Suite struct AutoModeAssets {
    @Test func everyAssetIsCheckedTrainedAndPredictedOnItsOwn() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let csv = directory.appendingPathComponent("ETHUSDT.csv")
        var text = "timestamp,open,high,low,close,volume\n"
        let end = (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600
        for index in 0..<(20 * 24) {
            let price = 100 + sin(Double(index) / 5) * 3 + cos(Double(index) / 2.3)
            text += "\(Int(end) - (20 * 24 - 1 - index) * 3600),\(price),\(price + 1),\(price - 1),\(price),10\n"
        }
        try text.write(to: csv, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(["--format", "json", "-c",
                                           "fetch demo 20; import \(csv.path); auto on --tiers 1; advance 2h; assets"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let advance = try #require(objects.first { $0["command"] as? String == "advance" })
        let checks = try #require(advance["auto_checks"] as? [[String: Any]])
        // Two checks, each of both assets: the demo refreshed from its source, the file's asset checked on what is loaded.
        #expect(checks.map { $0["asset"] as? String } == ["DEMO", "ETHUSDT", "DEMO", "ETHUSDT"])
        // A prediction on each new bar: the file's asset has none after the first check (its bar is predicted).
        #expect(checks.map { ($0["prediction"] as? [String: Any]) != nil } == [true, true, true, false], "\(checks)")
        let listed = try #require(objects.last?["assets"] as? [[String: Any]])
        // Each asset trained tier 1 at the first check and again an hour later: its own versions.
        #expect(listed.map { ($0["models"] as? [String: Any])?["logistic"] as? Int } == [2, 2])
        #expect(listed.map { $0["scored"] as? Int } == [1, 0], "the demo's new bar scored its prediction; the file has no new bar")
    }
}

extension AutoModeAssets {
    /// In the background one fit runs at a time: the second asset's due tier waits on the same worker, then trains.
    @Test func backgroundFitsOfSeveralAssetsRunOneAfterAnother() throws {
        let time = AutoModeEdges.ManualTime()
        let shell = ShellContext(engine: LoopEngine(clock: LoopClock { time.now }), format: .text,
                                 terminal: TerminalInfo.detect(environment: [:], stdoutIsTTY: false),
                                 logger: Logger(color: false, quiet: true), environment: [:])
        shell.printsOutput = false
        defer { shell.auto.shutdown() }
        let other = PriceSeries(symbol: "OTHER", source: "test",
                                bars: try DemoMarket.generate(days: 20, seed: 9, endingAt: time.now).bars)
        for line in ["set xgboost.threads 1", "fetch demo 20"] { #expect(shell.execute(line) == .ok) }
        shell.live.serially { _ = shell.engine.load(other) }
        #expect(shell.execute("auto on --every 1s --tiers 2") == .ok)
        time.move(by: 5)
        let deadline = Date().addingTimeInterval(20)
        var trained = false
        while Date() < deadline, !trained {
            trained = shell.live.serially { shell.engine.assets.allSatisfy { $0.models[.xgboost] != nil } }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(trained, "both assets' tier 2 trained in the background")
        #expect(shell.execute("auto off") == .ok)
        let notices = shell.notices.drain().map(\.text)
        #expect(notices.contains { $0.contains("DEMO: ") } && notices.contains { $0.contains("OTHER: ") }, "\(notices)")
    }
}
