import Foundation
import Testing

/// Sessions from the command line: exact save and load across processes, bad files, rollback, crash recovery.
@Suite struct Sessions {
    let directory: URL
    var environment: [String: String] { ["LGC_SESSIONS": directory.path] }

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
    }

    func json(_ arguments: [String], _ commands: String) throws -> [[String: Any]] {
        let result = try ShellProcess.run(["--json", "-q"] + arguments + ["-c", commands], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        return try result.jsonObjects()
    }

    @Test func saveAndLoadInAFreshProcessIsExact() throws {
        let setup = smallLSTM + "fetch demo 30; train tier3; predict; log BUY; set performance_threshold 0.6; advance 3h; "
            + "log SELL --predicted HOLD; set xgboost.max_depth 4; train tier2; predict; "
        let probe = "predict; perf; trend logistic; config; models; status"
        let first = try ShellProcess.run(["--json", "-q", "-c", setup + probe + "; save exact"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try ShellProcess.run(["--json", "-q", "--session", "exact", "-c", probe], environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        // Our JSON keeps key order, so identical state prints identical lines.
        let before = Array(first.stdoutLines.suffix(7).dropLast()), after = Array(second.stdoutLines.dropFirst())
        #expect(after.count == 6)
        // made_at and each model's age follow the wall clock between the two processes.
        func withoutMadeAt(_ line: String) -> String {
            line.replacingOccurrences(of: #","made_at":"[^"]*""#, with: "", options: .regularExpression)
                .replacingOccurrences(of: #""age_seconds":[-0-9.e+]*,"#, with: "", options: .regularExpression)
        }
        // predict: every model's probability bit for bit (shortest round-trip decimals), signal and ensemble.
        #expect(withoutMadeAt(before[0]) == withoutMadeAt(after[0]))
        for index in 1...4 { #expect(before[index] == after[index]) }   // perf, trend, config, models
        let statusBefore = try #require(try first.jsonObjects().suffix(2).first)
        let statusAfter = try #require(try second.jsonObjects().last)
        for key in ["last_training", "model_versions", "recent_performance", "prediction_log_size", "config",
                    "pending_prediction", "model_performance_trends"] {
            let left = try JSONSerialization.data(withJSONObject: [key: statusBefore[key] ?? NSNull()], options: .sortedKeys)
            let right = try JSONSerialization.data(withJSONObject: [key: statusAfter[key] ?? NSNull()], options: .sortedKeys)
            #expect(left == right, "status.\(key)")
        }
        #expect((statusAfter["clock"] as? [String: Any])?["offset_seconds"] as? Double == 10_800)
    }

    @Test func theFullPredictionLogSurvivesNotOnlyTheInMemoryWindow() throws {
        let logs = (0..<15).map { $0 % 3 == 0 ? "log BUY --predicted BUY" : "log SELL --predicted BUY" }.joined(separator: "; ")
        _ = try json([], "fetch demo 5; set log_window 10; " + logs + "; save window")
        let csv = directory.appendingPathComponent("log.csv").path
        let objects = try json(["--session", "window"], "perf; status; export log \(csv)")
        #expect(objects[1]["total_predictions"] as? Int == 15)
        #expect(objects[2]["prediction_log_size"] as? Int == 10)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 16)
        #expect(lines[1].hasPrefix("1,"))
    }

    @Test func saveRefusesToOverwriteAndSessionsListsThem() throws {
        _ = try json([], "fetch demo 5; save one")
        let again = try ShellProcess.run(["-q", "-c", "fetch demo 6; save one"], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists — use 'save NAME --force' to overwrite"), "\(again.stderr)")
        _ = try json([], "fetch demo 7; save one --force")
        let list = try json([], "sessions")
        let sessions = try #require(list[0]["sessions"] as? [[String: Any]])
        #expect(sessions.count == 1)
        #expect(sessions[0]["name"] as? String == "one" && sessions[0]["rows"] as? Int == 168)
        // Every asset's symbol; `symbol` (the first) stays for tools written before several assets.
        #expect(sessions[0]["symbols"] as? [String] == ["DEMO"] && sessions[0]["symbol"] as? String == "DEMO")
    }

    @Test func badFilesAreRefusedAndTheCurrentSessionStays() throws {
        let text = directory.appendingPathComponent("notes.lgc")
        try "just some notes\n".write(to: text, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", "fetch demo 5; load nothere; load \(text.path); data"],
                                          environment: environment)
        #expect(result.status == 1)
        #expect(result.stderr.contains("-c:2: error: no session file"))
        #expect(result.stderr.contains("-c:3: error: '\(text.path)' is not an lgc-shell session"))
        #expect(result.stdout.contains("120 1h bars of DEMO"), "the current session is untouched")
        let start = try ShellProcess.run(["--session", "nothere", "-c", "data"], environment: environment)
        #expect(start.status == 1)
    }

    @Test func useRollsBackToAnEarlierVersion() throws {
        let objects = try json([], "fetch demo 30; train tier1; predict; fetch demo 30 --seed 9; train tier1; models logistic; use logistic 1; fetch demo 30; predict; models logistic")
        let first = try predictedProbabilities(objects[2])
        let rolledBack = try predictedProbabilities(objects[8])
        #expect(first["logistic"] == rolledBack["logistic"], "v1 predicts as it did on the same data")
        let listed = try #require(objects[9]["models"] as? [[String: Any]])
        #expect(listed.map { $0["version"] as? Int } == [1, 2])
        #expect(listed.map { $0["current"] as? Bool } == [true, false])
        let bad = try ShellProcess.run(["-q", "-c", "fetch demo 30; train tier1; use logistic 7"], environment: environment)
        #expect(bad.stderr.contains("logistic has no version 7 — stored: v1"))
    }

    @Test func notebookHasEveryCommandAndItsOutput() throws {
        let path = directory.appendingPathComponent("notebook.md").path
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", "fetch demo 5; get evaluation_window; trian; export notebook \(path)"],
                                          environment: environment)
        #expect(result.status == 1, "trian fails, and the notebook records it")
        let notebook = try String(contentsOfFile: path, encoding: .utf8)
        #expect(notebook.contains("lgc> fetch demo 5"))
        #expect(notebook.contains("lgc> get evaluation_window\n10\n"))
        #expect(notebook.contains("lgc> trian\nerror: unknown command 'trian'"))
    }
}

/// SIGKILL at any moment loses nothing acknowledged (real child processes on a pty).
@Suite struct CrashRecovery {
    let directory: URL
    init() throws { directory = try ShellProcess.temporaryDirectory() }

    func start() throws -> TerminalSession {
        let session = try TerminalSession(environment: ["LGC_SESSIONS": directory.path,
                                                        "LGC_HISTORY": directory.appendingPathComponent("h").path])
        #expect(session.waitFor("lgc> "))
        return session
    }

    func run(_ session: TerminalSession, _ line: String, until text: String) {
        let mark = session.mark
        session.type(line + "\r")
        #expect(session.waitForPrompt(after: text, since: mark), "\(session.screen)")
    }

    @Test func aNamedSessionReopensAfterSIGKILL() throws {
        let first = try start()
        run(first, "fetch demo 5", until: "bars of DEMO")
        run(first, "save crash", until: "saved session 'crash'")
        run(first, "log BUY --predicted BUY", until: "(#1)")
        run(first, "log SELL --predicted BUY", until: "(#2)")
        kill(first.pid, SIGKILL)
        #expect(first.exitStatus() == -1)

        let second = try start()
        #expect(second.screen.contains("reopening"), "\(second.screen)")
        run(second, "perf", until: "all time 1/2 correct")
        #expect(second.quit() == 0)
    }

    @Test func anUnsavedSessionCanBeRecoveredAfterSIGKILL() throws {
        let first = try start()
        run(first, "fetch demo 5", until: "bars of DEMO")
        run(first, "log BUY --predicted BUY", until: "(#1)")
        kill(first.pid, SIGKILL)
        #expect(first.exitStatus() == -1)

        let second = try start()
        #expect(second.screen.contains("type 'recover'"), "\(second.screen)")
        run(second, "recover", until: "recovered the unsaved session (1 scored predictions")
        run(second, "data", until: "120 1h bars of DEMO")
        second.type("quit\r")
        #expect(second.waitFor("This session is not saved"))
        second.type("quit\r")
        #expect(second.exitStatus() == 0)
    }
}

/// A rejected challenger is stored with its weights, so it can still be made current.
@Suite struct ChallengersInSessions {
    @Test func aRejectedChallengerCanBeUsed() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let result = try ShellProcess.run(["--json", "-q", "-c", """
        set promotion better; set improvement_threshold 1; fetch demo 30; train tier1; train tier1; models logistic; \
        use logistic 2; save challengers
        """], environment: ["LGC_SESSIONS": directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let second = try #require((objects[4]["results"] as? [String: [String: Any]])?["logistic"])
        #expect(second["promoted"] as? Bool == false)
        let listed = try #require(objects[5]["models"] as? [[String: Any]])
        #expect(listed.map { $0["current"] as? Bool } == [true, false])
        #expect(objects[6]["version"] as? Int == 2)
        let reloaded = try ShellProcess.run(["--json", "-q", "--session", "challengers", "-c", "models logistic"],
                                            environment: ["LGC_SESSIONS": directory.path])
        let versions = try #require(try reloaded.jsonObjects().last?["models"] as? [[String: Any]])
        #expect(versions.map { $0["current"] as? Bool } == [false, true])
    }
}
