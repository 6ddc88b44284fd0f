import FeedbackLoop
import Foundation
import SessionStore
@testable import Shell
import Testing

/// `replay` reports stored in the session, `replays`, and `replay --apply`, in process against a real session file.
@Suite struct StoredReplays {
    /// A shell writing through to its own session file, with a trained tier 1, one scored and one pending prediction.
    func shell() throws -> ShellContext {
        let context = quietShell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-replays-\(UUID())").path
        context.openSession(directory: directory, persistent: false)
        for line in ["set xgboost.threads 1", "fetch demo 10", "train tier1", "predict", "log BUY", "predict"] {
            #expect(context.execute(line) == .ok, "\(line)")
        }
        return context
    }

    /// What the session file holds now, read and validated as `load` reads it.
    func stored(_ context: ShellContext) throws -> SessionState {
        try SessionDatabase.readValidated(path: try #require(context.session).database.path)
    }

    /// The state without the notebook and the replay reports: what a replay without --apply must leave alone.
    func loopState(_ state: SessionState) -> SessionState {
        var state = state
        state.commands = []
        state.replays = []
        return state
    }

    @Test func aReplayStoresItsReportAndLeavesTheLoopByteForByte() throws {
        let context = try shell()
        defer { context.closeSession() }
        let before = try stored(context)
        let history = context.engine.history, log = context.engine.log
        #expect(context.execute("replay --days 2 --tiers 1") == .ok)
        let after = try stored(context)
        #expect(loopState(after) == loopState(before), "models (their blobs), history, log, tiers, pending untouched")
        #expect(context.engine.history == history && context.engine.log == log)
        let entry = try #require(after.replays.first)
        #expect(after.replays.count == 1)
        #expect(entry.id == 1 && entry.command == "replay --days 2 --tiers 1" && entry.tiers == [1])
        #expect(entry.steps == 48 && entry.scored == 47 && entry.retrains == 48 && entry.policy == "triggers")
        #expect(entry.neverRetrainAccuracy != nil && entry.everyStepAccuracy != nil && !entry.applied && !entry.cancelled)
        #expect(entry.at == context.engine.clock.now)
        // The stored text is what was printed, less the line that points at it.
        let printed = try #require(after.commands.last?.output)
        #expect(printed == entry.reportText + "\nstored as replay #1 — 'replays show 1' prints it again")
        #expect(entry.reportJSON.hasPrefix(#"{"command":"replay","ok":true,"replay_id":1,"accuracy":"#))
    }

    @Test func failedOrEmptyReplaysWriteNoRow() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replay --days 100") != .ok)
        // Ctrl-C before the first step: nothing ran, so nothing is stored.
        context.engine.isCancelled = { true }
        #expect(context.execute("replay --days 2 --tiers 1") == .ok)
        #expect(try stored(context).replays.isEmpty)
        #expect(context.execute("replays show 1") == .failed("no replay '1' — none is stored yet; 'replay' runs one"))
    }

    @Test func replaysListsAndShowsWithExactErrors() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replays") == .ok)
        #expect(try stored(context).commands.last?.output == "no replays stored yet — 'replay' runs one and stores its report")
        #expect(context.execute("replay --days 1 --tiers 1") == .ok)
        #expect(context.execute("replay --days 1 --tiers 1 --compare tier1_interval=1h,4h") == .ok)
        let state = try stored(context)
        #expect(state.replays.map(\.id) == [1, 2, 3])
        #expect(state.replays.map(\.compareValue) == [nil, "1h", "4h"])
        #expect(state.replays.map(\.retrains) == [24, 24, 6])
        #expect(state.commands.last?.output.hasSuffix("stored as replays #2…#3 — 'replays show ID' prints each") == true)
        #expect(context.execute("replays") == .ok)
        let listing = try #require(try stored(context).commands.last?.output)
        #expect(listing.contains("tier1_interval=4h") && listing.split(separator: "\n").count == 6)
        #expect(context.execute("replays show 3") == .ok)
        #expect(try stored(context).commands.last?.output == state.replays[2].reportText)
        #expect(state.replays[2].reportText.hasPrefix("replay with tier1_interval = 4h\n"))
        #expect(context.execute("replays show 4") == .failed("no replay '4' — stored replays are 1…3"))
        #expect(context.execute("replays show x") == .failed("replays: invalid ID 'x': expected a replay number such as 3 or #3 — usage: replays ?show ID|diff A B?"))
        #expect(context.execute("replays show") == .failed("replays: 'show' takes ID: missing ID — usage: replays ?show ID|diff A B?"))
        #expect(context.execute("replays list") == .failed("replays: unknown subcommand 'list' — expected 'show ID' or 'diff A B' — usage: replays ?show ID|diff A B?"))
        #expect(Completion.complete("replays ", shell: context).candidates == ["show", "diff"])
        #expect(Completion.complete("replays show ", shell: context).candidates == ["1", "2", "3"])
    }

    @Test func applyInstallsTheReplayedLoopAndASavedSessionKeepsIt() throws {
        let context = try shell()
        defer { context.closeSession() }
        let before = try stored(context)
        #expect(context.execute("replay --days 2 --tiers 1 --apply") == .ok)
        let after = try stored(context)
        // Tier 1 retrains at every hourly step: 48 trainings, numbered after the session's v1.
        #expect(after.assets[0].history.count == before.assets[0].history.count + 48)
        #expect(after.assets[0].history.dropFirst().map(\.version) == Array(2...49))
        #expect(after.assets[0].currentVersions == [.logistic: 49])
        #expect(after.assets[0].models.map(\.record.version) == [1, 49], "the weights of the final model are stored")
        // The replay's 47 scored predictions follow the session's own, at their virtual times.
        #expect(after.assets[0].outcomes.map(\.sequence) == Array(1...48))
        #expect(Array(after.assets[0].outcomes.prefix(1)) == before.assets[0].outcomes)
        let bars = try #require(context.engine.series?.bars)
        #expect(after.assets[0].outcomes.dropFirst().allSatisfy { outcome in bars.contains { $0.time == outcome.scoredAt } })
        // Tier 1 last trained at the replay's last step, after 47 of its outcomes.
        #expect(after.assets[0].lastTraining[1] == bars.last?.time && after.assets[0].logMarks[1] == 48)
        #expect(after.assets[0].pending == before.assets[0].pending && after.assets[0].predictions == before.assets[0].predictions)
        #expect(after.assets[0].series == before.assets[0].series && after.config == before.config)
        #expect(after.replays.map(\.applied) == [true])
        let output = try #require(after.commands.last?.output)
        #expect(output.contains("applied to the session: logistic v49 now current; 48 trainings and 47 scored predictions added"))

        // A fresh shell loading the saved session predicts exactly as this one.
        #expect(context.execute("save applied-\(UUID().uuidString.prefix(8))") == .ok)
        let path = try #require(context.session).database.path
        let fresh = quietShell()
        fresh.openSession(directory: FileManager.default.temporaryDirectory.appendingPathComponent("lgc-replays-\(UUID())").path,
                              persistent: false)
        defer { fresh.closeSession() }
        #expect(fresh.execute("load \(path)") == .ok)
        #expect(fresh.engine.lastTraining == context.engine.lastTraining)
        #expect(fresh.engine.logMarkAtTraining == context.engine.logMarkAtTraining)
        #expect(fresh.engine.history == context.engine.history)
        #expect(try fresh.engine.predict() == context.engine.predict())
        #expect(try SessionDatabase.readValidated(path: path).replays == after.replays)
    }

    @Test func applyRefusesConflictsAndAppliesNothingWhenStopped() throws {
        let context = try shell()
        defer { context.closeSession() }
        #expect(context.execute("replay --apply --compare tier1_interval=1h,2h")
                == .failed("replay: give --apply or --compare, not both — usage: \(Commands.replay.synopsis)"))
        // Ctrl-C part-way: the report of the steps that ran is stored; nothing is applied. In lockstep on this
        // thread the replay polls once per step.
        context.replayExecution = .shared
        let before = try stored(context)
        var polls = 0
        context.engine.isCancelled = {
            polls += 1
            return polls > 30
        }
        #expect(context.execute("replay --days 2 --tiers 1 --baselines off --apply") == .ok)
        let after = try stored(context)
        #expect(loopState(after) == loopState(before))
        let entry = try #require(after.replays.first)
        #expect(entry.cancelled && !entry.applied && entry.steps == 30, "one poll per step: stopped before the 31st")
        #expect(after.commands.last?.output.hasPrefix("stopped by Ctrl-C — the report covers the steps that ran; nothing was applied\n") == true)
    }
}

/// The stored JSON report from the command line: `replays show ID` gives back the object `replay` printed.
@Suite struct StoredReplayJSON {
    @Test func showGivesBackThePrintedObject() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c",
                                           "set xgboost.threads 1; fetch demo 10; replay --days 1 --tiers 1; replays; replays show 1"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutLines
        let printed = try #require(try result.jsonObjects().dropLast(2).last)
        let listing = try #require(try result.jsonObjects().dropLast().last?["replays"] as? [[String: Any]])
        let shown = try #require(try result.jsonObjects().last)
        #expect(printed["replay_id"] as? Int == 1)
        #expect(listing.count == 1 && listing[0]["id"] as? Int == 1 && listing[0]["applied"] as? Bool == false)
        #expect(listing[0]["command"] as? String == "replay --days 1 --tiers 1")
        #expect(shown["command"] as? String == "replays" && shown["id"] as? Int == 1)
        // Key order is kept, so the stored object prints as the same text.
        #expect(lines.last == #"{"command":"replays","ok":true,"id":1,"report":"# + lines[lines.count - 3] + "}")
    }
}
