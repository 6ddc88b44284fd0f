import Foundation
import Testing

/// The interactive shell on a real pseudo-terminal: prompt, Tab completion, Ctrl-C, history, Ctrl-D.
@Suite struct Interactive {
    let directory: URL
    let historyFile: URL

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
        historyFile = directory.appendingPathComponent("history")
    }

    func start(_ arguments: [String] = []) throws -> TerminalSession {
        let session = try TerminalSession(arguments: arguments, environment: ["LGC_HISTORY": historyFile.path])
        #expect(session.waitFor("lgc> "), "no prompt: \(session.screen)")
        return session
    }

    // The pty shows raw echo (typed "he", then the completion's "lp "), so each check runs the completed line
    // and looks at what the command printed.
    @Test func tabCompletesCommandsArgumentsAndConfigKeys() throws {
        let session = try start()
        var mark = session.mark
        session.type("he\t\r")
        #expect(session.waitForPrompt(after: "More with 'help COMMAND'", since: mark), "command name: \(session.screen)")
        mark = session.mark
        session.type("train ti\t\t")   // tier1/tier2/tier3 are ambiguous: the second Tab lists them
        #expect(session.waitFor("tier1  tier2  tier3", since: mark), "candidates listed: \(session.screen)")
        session.type("\u{15}")   // Ctrl-U clears the line
        mark = session.mark
        session.type("set performance_t\t0.6\r")
        #expect(session.waitForPrompt(after: "performance_threshold = 0.6", since: mark), "config key: \(session.screen)")
        mark = session.mark
        session.type("trend lo\t\r")
        #expect(session.waitForPrompt(after: "logistic: insufficient data", since: mark), "model name: \(session.screen)")
        mark = session.mark
        session.type("fetch de\t10\r")
        #expect(session.waitForPrompt(after: "240 1h bars of DEMO", since: mark), "argument: \(session.screen)")
        // Ctrl-D leaves; with unsaved changes the first one warns and the second confirms.
        mark = session.mark
        session.type("\u{04}")
        #expect(session.waitForPrompt(after: "This session is not saved", since: mark))
        session.type("\u{04}")
        #expect(session.exitStatus() == 0)
    }

    @Test func pathCompletionAfterImport() throws {
        let csv = directory.appendingPathComponent("prices-unique.csv")
        try "snapped_at,price,market_cap,total_volume\n".write(to: csv, atomically: true, encoding: .utf8)
        let session = try start()
        let mark = session.mark
        session.type("import \(directory.path)/prices-u\t\r")
        // The completed path reaches the importer, which reads the (empty) file.
        #expect(session.waitForPrompt(after: "prices-unique.csv' holds no data rows", since: mark), "\(session.screen)")
        session.type("\u{04}")
        #expect(session.exitStatus() == 0)
    }

    @Test func tabCompletesLoadedAssetNames() throws {
        let csv = directory.appendingPathComponent("ETHUSDT.csv")
        var text = "timestamp,open,high,low,close,volume\n"
        for index in 0..<200 {
            let price = 100 + sin(Double(index) / 5) * 3
            text += "\(1_790_000_000 + index * 3600),\(price),\(price + 1),\(price - 1),\(price),10\n"
        }
        try text.write(to: csv, atomically: true, encoding: .utf8)
        let session = try start(["--demo"])
        var mark = session.mark
        session.type("import \(csv.path)\r")
        #expect(session.waitForPrompt(after: "ETHUSDT", since: mark), "\(session.screen)")
        mark = session.mark
        session.type("asset \t\t")   // two assets: the second Tab lists them
        #expect(session.waitFor("DEMO     ETHUSDT", since: mark), "asset names listed: \(session.screen)")
        session.type("\u{15}")
        mark = session.mark
        session.type("asset D\t\r")
        #expect(session.waitForPrompt(after: "focus: DEMO", since: mark), "\(session.screen)")
        mark = session.mark
        session.type("status --asset E\t\r")
        #expect(session.waitForPrompt(after: "tier3", since: mark), "\(session.screen)")
        #expect(session.quit() == 0)
    }

    @Test func ctrlCAbandonsTheLineAndTheShellKeepsRunning() throws {
        let session = try start(["--demo"])
        var mark = session.mark
        session.type("train tier1")
        session.type("\u{03}")   // Ctrl-C: the typed command must not run
        #expect(session.waitFor("^C", since: mark), "\(session.screen)")
        #expect(session.waitFor("lgc> ", since: mark), "\(session.screen)")
        mark = session.mark
        session.type("status\r")
        #expect(session.waitForPrompt(after: "tier3", since: mark))
        #expect(!session.screen.contains("tier1 trained"), "Ctrl-C'd line ran: \(session.screen)")
        mark = session.mark
        session.type("trian tier1\r")
        #expect(session.waitForPrompt(after: "did you mean 'train'?", since: mark), "errors keep the shell running")
        mark = session.mark
        session.type("train tier1\r")
        #expect(session.waitForPrompt(after: "tier1 trained", since: mark))
        #expect(session.quit() == 0)
    }

    @Test func historyPersistsAcrossSessions() throws {
        let first = try start()
        var mark = first.mark
        first.type("get evaluation_window\r")
        #expect(first.waitForPrompt(after: "10\r\n", since: mark))
        first.type("\u{04}")
        #expect(first.exitStatus() == 0, "\(first.processState) \(first.screen.debugDescription)")
        let saved = try String(contentsOf: historyFile, encoding: .utf8)
        #expect(saved.contains("get") && saved.contains("evaluation_window"))

        let second = try start()
        mark = second.mark
        second.type("\u{1B}[A")   // Up arrow recalls the previous session's command
        #expect(second.waitFor("evaluation_window", since: mark), "\(second.screen)")
        second.type("\r")
        #expect(second.waitForPrompt(after: "10\r\n", since: mark))
        mark = second.mark
        second.type("history\r")
        #expect(second.waitForPrompt(after: "2  get evaluation_window", since: mark), "\(second.screen)")
        second.type("\u{04}")
        #expect(second.exitStatus() == 0, "\(second.processState) \(second.screen.debugDescription)")
    }
}

/// Ctrl-C during a long training, as a person at a terminal would press it.
@Suite struct CancelTraining {
    @Test func ctrlCCancelsTier3AndKeepsThePreviousModels() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let session = try TerminalSession(environment: ["LGC_HISTORY": directory.appendingPathComponent("h").path])
        #expect(session.waitFor("lgc> "))
        var mark = session.mark
        session.type(smallLSTM + "fetch demo 30; train tier3\r")
        #expect(session.waitForPrompt(after: "tier3 trained", since: mark, timeout: 30), "\(session.screen)")
        mark = session.mark
        session.type("set lstm.epochs 5000; train tier3\r")
        #expect(session.waitFor("lstm epoch", since: mark, timeout: 30), "a live progress bar: \(session.screen)")
        session.type("\u{03}")
        #expect(session.waitForPrompt(after: "training cancelled — the previous models are kept", since: mark), "\(session.screen)")
        mark = session.mark
        session.type("status\r")
        #expect(session.waitForPrompt(after: "lstm      v1", since: mark), "the first LSTM stays: \(session.screen)")
        #expect(session.quit() == 0)
    }

    @Test func ctrlCStopsAScriptDuringTraining() throws {
        let session = try TerminalSession(arguments: ["-c", "fetch demo 30; set xgboost.threads 1; set lstm.epochs 5000; set lstm.units 8; train tier3; status"],
                                          environment: [:])
        #expect(session.waitFor("lstm epoch", timeout: 30), "\(session.screen)")
        session.type("\u{03}")
        #expect(session.exitStatus(timeout: 30) == 130, "\(session.screen)")
        #expect(session.screen.contains("-c:5: error: training cancelled"))
        #expect(session.screen.contains("-c:5: interrupted"))
        #expect(!session.screen.contains("tier   models"), "the script stops after the interrupted command")
    }
}
