import FeedbackLoop
import Foundation
import SessionStore
import Testing
@testable import Shell

/// Persistence is a journal of typed changes: after each command the store writes that command's changes, in one
/// transaction, before the command reports success — and nothing else (issue 13).
@Suite struct ChangeJournal {
    let directory: URL
    init() throws { directory = try ShellProcess.temporaryDirectory() }

    func shell() -> ShellContext {
        let shell = quietShell()
        shell.openSession(directory: directory.path, persistent: true, wallClock: { 1_790_000_000 })
        return shell
    }

    /// Runs `line` and returns the rows its one transaction changed.
    func rows(_ shell: ShellContext, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let session = try #require(shell.session)
        let before = session.transactions
        #expect(shell.execute(line) == .ok, "\(line)", sourceLocation: sourceLocation)
        #expect(session.transactions == before + 1, "\(line) commits exactly one transaction", sourceLocation: sourceLocation)
        #expect(shell.engine.unstoredChanges.isEmpty, "\(line) left changes unstored", sourceLocation: sourceLocation)
        return session.lastTransactionRows
    }

    @Test func eachCommandWritesOnlyItsOwnRowsInOneTransaction() throws {
        let shell = shell()
        _ = try rows(shell, "fetch demo 5 --seed 3 --end 2026-11-20")
        // A command that changes nothing: its line in the notebook, nothing more.
        #expect(try rows(shell, "status") == 1)
        // An outcome logged by hand: its row, the asset's running totals (one `assets` row), the command.
        #expect(try rows(shell, "log BUY --predicted SELL") == 3)
        // …whatever the log holds already: the journal appends, it never rewrites the log.
        for _ in 0..<50 { _ = try rows(shell, "log SELL --predicted SELL") }
        #expect(try rows(shell, "log HOLD --predicted BUY") == 3)
        // A training: one history row and one stored model version, the current version (1 row), each tier's clock
        // and log mark (tier 1: 1 row), the command.
        #expect(try rows(shell, "train tier1") == 5)
        // A prediction: the predictions row, the pending row, the command.
        #expect(try rows(shell, "predict") == 3)
        // Scoring it: the outcome, the totals, clearing the pending row, the command.
        #expect(try rows(shell, "log BUY") == 4)
        // Setting a value to what it is changes nothing in the loop.
        let unchanged = try rows(shell, "set buy_threshold \(shell.engine.config.buyThreshold)")
        #expect(unchanged == 1)
    }

    @Test func replayApplyKeepsEveryScoredPredictionBeyondLogWindow() throws {
        let shell = shell()
        for line in ["set xgboost.threads 1", "set evaluation_window 10", "set log_window 20"] { _ = try rows(shell, line) }
        _ = try rows(shell, "fetch demo 12 --seed 5 --end 2026-11-20")
        _ = try rows(shell, "replay --days 2 --tiers 1 --baselines off --apply")
        let engine = shell.engine
        #expect(engine.log.totalLogged == 47, "two days of hourly steps score 47 predictions")
        #expect(engine.log.entries.count == 20, "memory keeps log_window of them")
        let path = try #require(shell.session?.workingFile)
        let stored = try SessionDatabase.readValidated(path: path)
        #expect(stored.assets[0].outcomes.count == 47, "the file keeps every one")
        #expect(stored.assets[0].outcomes.map(\.sequence) == Array(1...47))
        #expect(stored.assets[0].outcomes.allSatisfy { $0.realisedReturn != nil && $0.prediction != nil })
        #expect(stored.assets[0].outcomes.suffix(20).map(\.sequence) == engine.log.entries.map(\.sequence))
        #expect(stored.assets[0].outcomes.suffix(20) == engine.log.entries[...], "memory holds the file's last 20")
        #expect(stored.assets[0].history == engine.history)
    }

    /// A named session killed between commands has every acknowledged command, over a pipe as on a terminal.
    @Test func aNamedSessionKilledThroughAPipeLosesNothingAcknowledged() throws {
        let path = directory.appendingPathComponent("journal.lgc").path
        // A saved session to open: `--session` writes every change through to it.
        let saved = try ShellProcess.run(["-q", "-c", "save \(path)"], environment: ["LGC_SESSIONS": directory.path])
        #expect(saved.status == 0, "\(saved.stderr)")
        let lines = ["fetch demo 6 --seed 4 --end 2026-11-20", "set xgboost.threads 1", "set buy_threshold 0.56",
                     "train tier1", "predict", "log BUY --predicted SELL", "replay --days 1 --tiers 1 --baselines off --apply",
                     "predict", "perf", "data", "models"]
        let seen = try ShellProcess.killed(["--format", "json", "-q", "--session", path],
                                           environment: ["LGC_SESSIONS": directory.path], lines: lines,
                                           after: "\"command\":\"models\"").stdout
        let before = try objects(seen)
        #expect(before.count == lines.count + 1, "the session's load, then every line: \(seen)")
        #expect(before.allSatisfy { $0["ok"] as? Bool == true }, "\(seen)")

        let reopened = try ShellProcess.run(["--format", "json", "-q", "--session", path, "-c", "perf; data; models; get buy_threshold"],
                                            environment: ["LGC_SESSIONS": directory.path])
        #expect(reopened.status == 0, "\(reopened.stderr)")
        let after = try reopened.jsonObjects()
        for name in ["perf", "data", "models"] {
            let was = try #require(before.first { $0["command"] as? String == name })
            let now = try #require(after.first { $0["command"] as? String == name })
            #expect(NSDictionary(dictionary: was) == NSDictionary(dictionary: now), "\(name) after SIGKILL")
        }
        #expect("\(after.last ?? [:])".contains("0.56"))
    }

    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }
}
