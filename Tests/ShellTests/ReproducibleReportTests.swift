import FeedbackLoop
import Foundation
import MarketData
import SessionStore
@testable import Shell
import Testing

/// `fetch demo --end` pins the demo market, so a script gives the same numbers at any hour.
@Suite struct PinnedDemo {
    @Test func endPinsTheLastBarWhateverTheClock() throws {
        let context = quietShell()
        #expect(context.execute("fetch demo 2 --end 2026-09-01T10:30") == .ok)
        let series = try #require(context.engine.series)
        #expect(series.bars.last?.time == TimeText.parse("2026-09-01T10:00") && series.count == 48)
        #expect(context.engine.config.automation.source == .demo(days: 2, seed: 42, end: TimeText.parse("2026-09-01T10:00")))
        // The loop's clock moves; the pinned market does not.
        #expect(context.execute("advance 5h") == .ok)
        #expect(context.execute("fetch demo 2 --end 2026-09-01T10:59:59") == .ok)
        #expect(context.engine.series == series)
        // The stored source fetches the same bars again (auto mode refetches it).
        let request = Commands.FetchRequest(source: try #require(context.engine.config.automation.source))
        #expect(try request.fetch(shell: context, endingAt: context.engine.clock.now + 86_400) { _, _, _ in } == series)
        #expect(context.execute("auto on --tiers 1") == .ok)
        defer { context.auto.shutdown() }
        #expect(context.auto.stateText().contains("refreshed with 'fetch demo 2 --seed 42 --end 2026-09-01T10:00:00Z' at each check (pinned: no new bars)"))
    }

    @Test func badEndIsOneLineAndChangesNothing() throws {
        let context = quietShell()
        #expect(context.execute("fetch demo 2 --end 2026-09-01") == .ok)
        let series = context.engine.series, config = context.engine.config
        let usage = Commands.fetch.synopsis
        #expect(context.execute("fetch demo --end yesterday-ish")
                == .failed("fetch: invalid --end 'yesterday-ish': expected a time from 1970-01-01 up to (not including) 2200-01-01, such as 2026-11-20 or 2026-11-20T10:00 — usage: \(usage)"))
        #expect(context.execute("fetch bitcoin 3 --end 2026-09-01")
                == .failed("fetch: --end applies to the demo market only — usage: \(usage)"))
        #expect(context.execute("fetch demo 30 --end 2010-01-10")
                == .failed("the demo market begins on 2010-01-01: at most 9 days end at this time"))
        #expect(context.engine.series == series && context.engine.config == config)
    }

    /// The same script in two processes, the second with its clock three hours later: the replay's JSON is the same
    /// byte for byte but for its measured training times.
    @Test func aPinnedReplayIsReproducedInAnotherProcess() throws {
        func replayLine(_ prefix: String) throws -> String {
            let result = try ShellProcess.run(["--json", "-q", "-c",
                                               prefix + "set xgboost.threads 1; fetch demo 10 --end 2026-11-20T06:00; replay --days 1 --tiers 1,2"])
            #expect(result.status == 0, "\(result.stderr)")
            let line = try #require(result.stdoutLines.last { $0.hasPrefix(#"{"command":"replay","#) })
            return line.replacingOccurrences(of: #""training_seconds":[-+0-9.eE]+"#, with: #""training_seconds":_"#,
                                             options: .regularExpression)
        }
        let first = try replayLine(""), second = try replayLine("advance 3h; ")
        #expect(first == second)
        #expect(first.contains(#""data_fingerprint":""#) && first.contains(#""version":"\#(ShellMain.version)""#))
        #expect(first.contains(#""fetch":"fetch demo 10 --seed 42 --end 2026-11-20T06:00:00Z""#))
    }
}

/// What a stored report keeps, `replays`' settings column and `replays diff`.
@Suite struct ReportSettings {
    func shell() throws -> ShellContext {
        let context = quietShell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-settings-\(UUID())").path
        context.openSession(directory: directory, persistent: false)
        #expect(context.execute("fetch demo 10 --end 2026-09-01") == .ok)
        return context
    }

    func state(_ context: ShellContext) throws -> SessionState {
        let session = try #require(context.session)
        return try SessionDatabase.readValidated(path: session.database.path)
    }

    func reports(_ context: ShellContext) throws -> [JSON] {
        try state(context).replays.map { try JSONText.parse($0.reportJSON) }
    }

    func lastOutput(_ context: ShellContext) throws -> String {
        try #require(try state(context).commands.last?.output)
    }

    @Test func aReportKeepsItsSettingsFingerprintAndVersion() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replay --days 1 --tiers 1 --step 2h") == .ok)
        #expect(context.execute("set performance_threshold 0.6") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1 --step 2h") == .ok)
        #expect(context.execute("fetch demo 10 --seed 7 --end 2026-09-01") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1 --step 2h") == .ok)
        let stored = try reports(context)
        #expect(stored.count == 3)
        let settings = try #require(stored[0]["settings"])
        #expect(settings["config"]?["performance_threshold"] == .double(0.55))
        #expect(settings["tiers"] == .array([.int(1)]) && settings["step_bars"] == .int(2) && settings["step_seconds"] == .double(7200))
        #expect(settings["baselines"] == .bool(true) && settings["compare"] == .null)
        #expect(settings["span"]?["bars"] == .int(24) && settings["span"]?["end"] == .time(TimeText.parse("2026-09-01")!))
        #expect(settings["seeds"] == .object([("demo", .int(42)), ("xgboost", .int(42)), ("lstm", .int(42))]))
        #expect(settings["data"]?["fetch"] == .string("fetch demo 10 --seed 42 --end 2026-09-01T00:00:00Z"))
        #expect(stored.allSatisfy { $0["version"] == .string(ShellMain.version) })
        guard case .string(let fingerprint)? = stored[0]["data_fingerprint"] else { Issue.record("no fingerprint"); return }
        #expect(fingerprint.count == 64 && fingerprint.allSatisfy(\.isHexDigit))
        // Another config: other settings, the same data. Another seed: other data.
        #expect(stored[1]["settings"] != settings && stored[1]["settings"]?["config"]?["performance_threshold"] == .double(0.6))
        #expect(stored[1]["data_fingerprint"] == stored[0]["data_fingerprint"])
        #expect(stored[2]["data_fingerprint"] != stored[0]["data_fingerprint"])
        #expect(stored[2]["settings"]?["seeds"]?["demo"] == .int(7))
        // The fingerprint is SHA-256 of the bars' bit patterns up to the replay's last bar.
        let series = try #require(context.engine.series)
        #expect(stored[2]["data_fingerprint"] == .string(Commands.dataFingerprint(series, through: series.count - 1)))
        #expect(Commands.dataFingerprint(series, through: series.count - 2) != Commands.dataFingerprint(series, through: series.count - 1))
    }

    @Test func replaysShowsTheSettingsThatDifferFromTheDefaults() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replay --days 1 --tiers 1") == .ok)
        #expect(context.execute("set performance_threshold 0.6") == .ok)
        #expect(context.execute("set tier1_interval 2h") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1 --step 3h --baselines off") == .ok)
        #expect(context.execute("replays") == .ok)
        let lines = try lastOutput(context).split(separator: "\n").map(String.init)
        #expect(lines[0].hasSuffix("settings changed"))
        #expect(lines[2].hasSuffix(" defaults"))
        #expect(lines[3].hasSuffix(" tier1_interval=2h performance_threshold=0.6 step_seconds=3h baselines=off"), "\(lines[3])")
    }

    @Test func diffListsSettingsAndResultsAndRefusesMissingIDs() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replay --days 1 --tiers 1") == .ok)
        #expect(context.execute("set tier1_interval 4h") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1") == .ok)
        #expect(context.execute("replays diff 1 2") == .ok)
        let entries = try state(context).replays
        let text = try lastOutput(context)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0] == "settings that differ:")
        #expect(lines.contains { $0.hasPrefix("tier1_interval") && $0.hasSuffix("1h  4h") }, "\(text)")
        #expect(!text.contains("data_fingerprint"), "the same data")
        let retrains = try #require(lines.first { $0.hasPrefix("retrains") })
        #expect(retrains.split(separator: " ") == ["retrains", "\(entries[0].retrains)", "\(entries[1].retrains)",
                                                    "\(String(format: "%+d", entries[1].retrains - entries[0].retrains))"], "\(retrains)")
        #expect(lines.contains { $0.hasPrefix("accuracy ") })
        // The honest scores and the P&L compare too, from the stored reports.
        let reports = try self.reports(context)
        for (name, path) in [("brier", ["brier"]), ("pnl.strategy_return", ["pnl", "strategy_return"]), ("pnl.trades", ["pnl", "trades"])] {
            var a: JSON? = reports[0], b: JSON? = reports[1]
            for key in path { a = a?[key]; b = b?[key] }
            let row = try #require(lines.first { $0.hasPrefix(name + " ") }, "\(name) in \(text)")
            if name == "brier", let x = a?.doubleValue, let y = b?.doubleValue {
                #expect(row.hasSuffix(String(format: "%+.3f", y - x)), "\(row)")
            }
            if name == "pnl.trades", let x = a?.doubleValue, let y = b?.doubleValue {
                #expect(row.hasSuffix(String(format: "%+d", Int(y - x))), "\(row)")
            }
        }
        // The hindsight constant says what it chose.
        let constant = try #require(reports[0]["naive"]?["constant"])
        #expect(constant["hindsight"] == .bool(true))
        #expect([JSON.string("BUY"), .string("SELL"), .string("HOLD")].contains(constant["signal"] ?? .null))
        #expect(constant["probability_up"]?.doubleValue.map { (0...1).contains($0) } == true)
        // Two reports of the same settings on other data differ in their fingerprint only.
        #expect(context.execute("fetch demo 10 --end 2026-09-02") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1") == .ok)
        #expect(context.execute("replays diff 2 3") == .ok)
        let other = try lastOutput(context)
        #expect(other.contains("data_fingerprint") && other.contains("span.end") && !other.contains("tier1_interval"), "\(other)")

        let stored = entries.count + 1
        #expect(context.execute("replays diff 1 99") == .failed("no replay '99' — stored replays are 1…\(stored)"))
        #expect(context.execute("replays diff \"#x\" 1") == .failed("replays: invalid A '#x': expected a replay number such as 3 or #3 — usage: replays ?show ID|diff A B?"))
        #expect(context.execute("replays diff 1")
                == .failed("replays: 'diff' takes A B: missing B — usage: replays ?show ID|diff A B?"))
        #expect(Completion.complete("replays diff 1 ", shell: context).candidates == ["1", "2", "3"])
    }
}
