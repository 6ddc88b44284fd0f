import Foundation
import Testing

/// A small LSTM, so tier 3 trains in moments in the debug build (the default network is benchmarked instead),
/// and one XGBoost thread: tests run in parallel, and OpenMP threads spinning on a busy machine slow down tenfold.
let smallLSTM = "set lstm.epochs 2; set lstm.units 8; set lstm.sequence_length 16; set xgboost.threads 1; "

/// The built executable in script mode: exit codes, error lines, JSON.
@Suite struct ScriptMode {
    @Test func versionAndHelpExitZero() throws {
        let version = try ShellProcess.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("lgc-shell "))
        let help = try ShellProcess.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("usage: lgc-shell"))
        let bad = try ShellProcess.run(["--jsno"])
        #expect(bad.status == 2)
        #expect(bad.stderr == "lgc-shell: unknown option '--jsno' — did you mean '--json'?\n")
    }

    @Test func firstErrorStopsTheScriptWithItsLineNumber() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let script = directory.appendingPathComponent("script.lgc")
        try "# a comment\n\nfetch demo 10\ntrian tier1\ntrain tier1\n".write(to: script, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run([script.path], environment: ["NO_COLOR": "1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("\(script.path):4: error: unknown command 'trian' — did you mean 'train'?\n"))
        #expect(!result.stdout.contains("tier1 trained"), "commands after the error must not run")

        let keepGoing = try ShellProcess.run(["--keep-going", script.path])
        #expect(keepGoing.status == 1)
        #expect(keepGoing.stdout.contains("tier1 trained"))
    }

    @Test func scriptOnStdinIsNamedAfterTheFile() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let script = directory.appendingPathComponent("bad.lgc")
        try "fetch demo 5\nset performance_threshold 1.5\n".write(to: script, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(stdinFile: script.path, directory: directory)
        #expect(result.status == 1)
        #expect(result.stderr.hasSuffix("bad.lgc:2: error: invalid value '1.5' for performance_threshold: expected a number from 0 to 1\n"))
        let piped = try ShellProcess.run(stdin: "status\nbogus\n")
        #expect(piped.status == 1)
        #expect(piped.stderr.hasSuffix("<stdin>:2: error: unknown command 'bogus' — type 'help' for the list of commands\n"))
        #expect(!piped.stdout.contains("lgc>"), "no prompt when stdin is not a terminal")
    }

    @Test func successExitsZeroAndCommandLineCommandsRun() throws {
        let result = try ShellProcess.run(["-c", "fetch demo 20; train tier1; predict; log BUY; perf"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tier1 trained"))
        #expect(result.stderr.contains("[INFO] Starting Tier 1 (Basic) training..."))
        #expect(result.stderr.contains("[SUCCESS] Tier 1 training complete: logistic="))
        #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is a pipe")
        let failing = try ShellProcess.run(["-c", "fetch demo 20; train tier9"])
        #expect(failing.status == 1)
        #expect(failing.stderr.hasSuffix("-c:2: error: train: unknown tier 'tier9' — expected tier1, tier2 or tier3 — usage: train tier1|tier2|tier3 ?--asset NAME|all?\n"))
    }

    @Test func jsonModeGivesOneObjectPerCommand() throws {
        let commands = "fetch demo 30; data; train tier1; cycle; predict; log BUY; perf; trend logistic; status; get evaluation_window; advance 2h; cycle; clock"
        let result = try ShellProcess.run(["--format", "json", "-c", smallLSTM + commands])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = Array(try result.jsonObjects().dropFirst(4))
        #expect(objects.count == 13)
        #expect(objects.map { $0["command"] as? String } ==
            ["fetch", "data", "train", "cycle", "predict", "log", "perf", "trend", "status", "get", "advance", "cycle", "clock"])
        #expect(objects.allSatisfy { $0["ok"] as? Bool == true })

        #expect(objects[0]["rows"] as? Int == 720)
        let train = objects[2]
        #expect(train["tier"] as? String == "tier1")
        #expect((train["seconds"] as? Double ?? -1) >= 0)
        let logistic = try #require((train["results"] as? [String: Any])?["logistic"] as? [String: Any])
        for key in ["accuracy", "baseline_accuracy", "seconds"] { #expect(logistic[key] is Double, "\(key)") }
        #expect(logistic["version"] as? Int == 1)
        #expect(logistic["train_rows"] as? Int == 556)
        #expect(logistic["test_rows"] as? Int == 139)

        // tier3 was never trained, so the cycle trains it; that retrains tier 1's and tier 2's models too.
        #expect(objects[3]["status"] as? String == "success")
        let cycleTiers = try #require(objects[3]["tiers"] as? [String: Any])
        #expect((cycleTiers["tier3"] as? [String: Any])?["reason"] as? String == "never_trained")
        #expect((cycleTiers["tier3"] as? [String: Any])?["trained"] as? Bool == true)
        #expect((cycleTiers["tier2"] as? [String: Any])?["reason"] as? String == "covered_by_higher_tier")
        #expect((cycleTiers["tier1"] as? [String: Any])?["reason"] as? String == "covered_by_higher_tier")

        let predict = objects[4]
        #expect(["BUY", "SELL", "HOLD"].contains(predict["signal"] as? String ?? ""))
        let ensemble = try #require(predict["ensemble"] as? Double)
        let models = try predictedProbabilities(predict)
        #expect(models.keys.sorted() == ["logistic", "lstm", "xgboost"])
        // All three trained: the configured weights 0.3, 0.5 and 0.2 as they are.
        let weighted = 0.3 * models["logistic"]! + 0.5 * models["xgboost"]! + 0.2 * models["lstm"]!
        #expect(abs(weighted - ensemble) < 1e-12)
        #expect(predict["price"] is Double && predict["at"] is String)

        let log = objects[5]
        #expect(log["actual"] as? String == "BUY")
        #expect(log["predicted"] as? String == predict["signal"] as? String)
        #expect(log["correct"] as? Bool == (predict["signal"] as? String == "BUY"))
        #expect(log["log_size"] as? Int == 1)

        let perf = objects[6]
        #expect(perf["accuracy"] is NSNull)
        #expect(perf["total_predictions"] as? Int == 1)
        #expect(perf["evaluation_window"] as? Int == 10)

        // Two trainings on the same data: the same accuracy twice.
        #expect(objects[7]["trend"] as? String == "stable")

        let status = objects[8]
        for key in ["training_in_progress", "recent_performance", "prediction_log_size", "last_training", "config",
                    "model_performance_trends", "should_retrain", "clock"] {
            #expect(status[key] != nil, "status lacks \(key)")
        }
        #expect(status["training_in_progress"] as? Bool == false)
        let lastTraining = try #require(status["last_training"] as? [String: Any])
        #expect(lastTraining["tier1"] is String && lastTraining["tier2"] is String && lastTraining["tier3"] is String)
        let config = try #require(status["config"] as? [String: Any])
        #expect(config["performance_threshold"] as? Double == 0.55)
        #expect(config["tier1_interval"] as? Double == 3600)
        let due = try #require((status["should_retrain"] as? [String: Any])?["tier3"] as? [String: Any])
        #expect(due["reason"] as? String == "not_due")
        let versions = try #require(status["model_versions"] as? [String: Any])
        #expect(versions["logistic"] as? Int == 2 && versions["xgboost"] as? Int == 1 && versions["lstm"] as? Int == 1)

        #expect(objects[9]["value"] as? Int == 10)
        #expect(objects[11]["status"] as? String == "success")
        let retrained = try #require((objects[11]["tiers"] as? [String: Any])?["tier1"] as? [String: Any])
        #expect(retrained["reason"] as? String == "interval_elapsed")
        #expect(objects[12]["offset_seconds"] as? Double == 7200)
    }

    @Test func jsonErrorsAreObjectsToo() throws {
        let result = try ShellProcess.run(["--json", "--keep-going", "-c", "train tier1; set evaluation_window 2.5; trian; fetch demo 10; train tier4"])
        #expect(result.status == 1)
        let objects = try result.jsonObjects()
        #expect(objects.count == 5)
        #expect(objects.map { $0["ok"] as? Bool } == [false, false, false, true, false])
        #expect(objects[0]["error"] as? String == "no market data loaded — run 'fetch demo' (offline) or 'import FILE.csv' first")
        #expect(objects[1]["error"] as? String == "invalid value '2.5' for evaluation_window: expected a whole number from 1 to 100000")
        #expect(objects[2]["error"] as? String == "unknown command 'trian' — did you mean 'train'?")
        #expect(objects[4]["error"] as? String == "train: unknown tier 'tier4' — expected tier1, tier2 or tier3 — usage: train tier1|tier2|tier3 ?--asset NAME|all?")
        #expect(result.stderr.contains("-c:3: error: unknown command 'trian'"))
    }

    @Test func setFormatJsonSwitchesLive() throws {
        let result = try ShellProcess.run(["-c", "set format json; get performance_threshold; set format text; get performance_threshold"])
        #expect(result.stdoutLines == [#"{"command":"set","ok":true,"key":"format","value":"json"}"#,
                                       #"{"command":"get","ok":true,"key":"performance_threshold","value":0.55}"#,
                                       "format = text", "0.55"])
    }

    @Test func liveTuningAndRangeChecks() throws {
        let result = try ShellProcess.run(["--keep-going", "-c", """
        set performance_threshold 0.6; get performance_threshold; set tier1_interval 0; set tier1_interval 30m; \
        get tier1_interval; set evaluation_window ten; set performance_treshold 0.5; reset performance_threshold; \
        get performance_threshold
        """])
        #expect(result.status == 1)
        #expect(result.stdoutLines == ["performance_threshold = 0.6", "0.6", "tier1_interval = 1800", "1800",
                                       "performance_threshold = 0.55 (default)", "0.55"])
        #expect(result.stderr.contains("-c:3: error: invalid value '0' for tier1_interval: expected a duration from 1s to 100 years, such as 90m, 6h or 2d"))
        #expect(result.stderr.contains("-c:6: error: invalid value 'ten' for evaluation_window"))
        #expect(result.stderr.contains("-c:7: error: set: unknown config key 'performance_treshold' — did you mean 'performance_threshold'?"))
    }

    @Test func csvErrorsNameTheLineAndKeepLoadedData() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let bad = directory.appendingPathComponent("bad.csv")
        try "timestamp,open,high,low,close,volume\n1700000000,1,1,1,1,1\n1700003600,1,1,1,-5,1\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(["--keep-going", "-c", "fetch demo 10; import \(bad.path); import /nonexistent/x.csv; data"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("-c:2: error: \(bad.path):3:"))
        #expect(result.stderr.contains("-c:3: error: no such file '/nonexistent/x.csv'"))
        #expect(result.stdout.contains("240 1h bars of DEMO"), "the demo data stays loaded after failed imports")
    }

    @Test func hundredDailyRowsTrainTier1() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let csv = directory.appendingPathComponent("daily.csv")
        var text = "Date,Open,High,Low,Close,Adj Close,Volume\n"
        var price = 100.0
        for day in 0..<100 {
            let date = Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86_400)
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withFullDate]
            price *= 1 + 0.02 * sin(Double(day) * 0.7) + 0.005 * cos(Double(day) * 2.3)
            text += "\(formatter.string(from: date)),\(price),\(price * 1.01),\(price * 0.99),\(price),\(price),\(1000 + day)\n"
        }
        try text.write(to: csv, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(["--json", "-c", "import \(csv.path); train tier1"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        #expect(objects[0]["rows"] as? Int == 100)
        let logistic = try #require((objects[1]["results"] as? [String: Any])?["logistic"] as? [String: Any])
        #expect(logistic["train_rows"] as? Int == 60)
        #expect(logistic["test_rows"] as? Int == 15)
    }

    @Test func deadNetworkSuggestsOfflineSources() throws {
        // Port 9 on loopback: nothing listens, so every try is refused at once.
        let result = try ShellProcess.run(["--keep-going", "-c", "fetch demo 5; fetch bitcoin 30; data"],
                                          environment: ["LGC_COINGECKO_URL": "http://127.0.0.1:9"])
        #expect(result.status == 1)
        let line = try #require(result.stderr.split(separator: "\n").first { $0.hasPrefix("-c:2: error:") })
        #expect(line.contains("fetch demo") && line.contains("import"))
        #expect(result.stdout.contains("120 1h bars of DEMO"), "the loaded data survives the failed fetch")
    }

    @Test func helpForEveryCommand() throws {
        let overview = try ShellProcess.run(["-c", "help"])
        #expect(overview.status == 0)
        for name in ["fetch", "import", "train", "cycle", "predict", "log", "perf", "trend", "chart", "status", "set", "advance"] {
            #expect(overview.stdout.contains("  \(name) "), "\(name) missing from help")
            let detail = try ShellProcess.run(["-c", "help \(name)"])
            #expect(detail.status == 0)
            #expect(detail.stdout.hasPrefix("usage: \(name)"))
            #expect(detail.stdout.contains("examples:"))
        }
        let unknown = try ShellProcess.run(["-c", "help trian"])
        #expect(unknown.stderr.hasSuffix("-c:1: error: unknown command 'trian' — did you mean 'train'?\n"))
    }

    @Test func chartsFitTheWidthAndFallBackToASCII() throws {
        let commands = smallLSTM + "fetch demo 30; train tier1; advance 2h; cycle; chart accuracy; chart price; chart accuracy logistic"
        // Only the charts' lines: everything from the first chart's title on.
        func chartLines(_ result: ShellProcess.Result) -> [String] {
            let lines = result.stdoutLines
            return Array(lines.drop { !$0.contains("holdout accuracy per training") })
        }
        let unicode = try ShellProcess.run(["-q", "-c", commands], environment: ["COLUMNS": "72", "LANG": "C.UTF-8"])
        #expect(unicode.status == 0, "\(unicode.stderr)")
        let unicodeLines = chartLines(unicode)
        #expect(unicodeLines.count > 20)
        #expect(unicodeLines.allSatisfy { $0.count <= 72 })
        #expect(unicode.stdout.contains("┤"))
        let ascii = try ShellProcess.run(["-q", "-c", commands], environment: ["TERM": "dumb", "COLUMNS": "60"])
        #expect(ascii.status == 0)
        let asciiLines = chartLines(ascii)
        #expect(asciiLines.count > 20)
        #expect(asciiLines.allSatisfy { $0.unicodeScalars.allSatisfy(\.isASCII) }, "TERM=dumb charts must be plain ASCII")
        #expect(asciiLines.allSatisfy { $0.count <= 60 })
    }
}

/// Tier 2 from the command line: XGBoost beside logistic regression, its importance and exports.
@Suite struct TierTwo {
    @Test func trainTier2ReportsBothModelsInJSON() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 30; set xgboost.n_estimators 20; train tier2; importance xgboost --top 3; trend xgboost; chart accuracy xgboost logistic"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let train = objects[2]
        #expect(train["tier"] as? String == "tier2")
        let results = try #require(train["results"] as? [String: [String: Any]])
        #expect(results.keys.sorted() == ["logistic", "xgboost"])
        for (model, fields) in results {
            for key in ["accuracy", "baseline_accuracy", "seconds"] { #expect(fields[key] is Double, "\(model).\(key)") }
            #expect(fields["version"] as? Int == 1)
            #expect(fields["train_rows"] as? Int == 556 && fields["test_rows"] as? Int == 139)
        }
        let importance = objects[3]
        #expect(importance["importance_type"] as? String == "gain")
        let features = try #require(importance["features"] as? [[String: Any]])
        #expect(features.count == 3)
        let gains = features.compactMap { $0["value"] as? Double }
        #expect(gains == gains.sorted(by: >) && gains.allSatisfy { $0 > 0 })
        #expect(objects[4]["trend"] as? String == "insufficient_data")
        let series = try #require(objects[5]["series"] as? [[String: Any]])
        #expect(series.compactMap { $0["name"] as? String } == ["xgboost", "logistic"])
    }

    @Test func exportsFeaturesAndTheXGBoostModel() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let csv = directory.appendingPathComponent("features.csv").path
        let model = directory.appendingPathComponent("model.json").path
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 10; set xgboost.n_estimators 5; train tier2; export features \(csv); export model xgboost \(model); predict"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(header.first == "timestamp" && header.last == "target" && header.count == 21)
        #expect(lines.count == 1 + 240 - 24)
        let last = lines.last!.split(separator: ",", omittingEmptySubsequences: false)
        #expect(last.last == "", "the latest bar has no target yet")
        let objects = try result.jsonObjects()
        #expect(last.first.map(String.init) == objects[5]["at"] as? String, "the last row is the bar predict scores")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.hasSuffix(",0") || $0.hasSuffix(",1") })
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any]
        #expect(json?["learner"] != nil && json?["version"] != nil)
    }

    @Test func badParametersAndPathsKeepTheModels() throws {
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", """
        fetch demo 10; set xgboost.n_estimators 5; train tier2; set xgboost.max_depth 0; set xgboost.learning_rate -0.1; \
        set xgboost.foo 1; export model xgboost /nonexistent/dir/m.json; importance lstm; get xgboost.max_depth; status
        """])
        #expect(result.status == 1)
        #expect(result.stderr.contains("-c:4: error: invalid value '0' for xgboost.max_depth: expected a whole number from 1 to 20"))
        #expect(result.stderr.contains("-c:5: error: invalid value '-0.1' for xgboost.learning_rate: expected a number above 0 and at most 1"))
        #expect(result.stderr.contains("-c:6: error: set: unknown config key 'xgboost.foo'"))
        #expect(result.stderr.contains("-c:7: error: cannot write '/nonexistent/dir/m.json': there is no folder '/nonexistent/dir' — create it first"))
        #expect(result.stderr.contains("-c:8: error: importance: expected 'xgboost' or 'logistic', got 'lstm'"))
        #expect(result.stdout.contains("6\n"), "max_depth keeps its default")
        #expect(result.stdout.contains("xgboost   v1"), "the trained model is untouched")
    }
}

/// Tier 3 from the command line: the LSTM beside the other two, its metrics and its bad inputs.
@Suite struct TierThree {
    @Test func trainTier3ReportsTheLSTMsMetricsInJSON() throws {
        let result = try ShellProcess.run(["--json", "-c", smallLSTM + "fetch demo 30; train tier3; predict; trend lstm"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = Array(try result.jsonObjects().dropFirst(4))
        let results = try #require(objects[1]["results"] as? [String: [String: Any]])
        #expect(results.keys.sorted() == ["logistic", "lstm", "xgboost"])
        let lstm = try #require(results["lstm"])
        for key in ["accuracy", "baseline_accuracy", "val_mse", "naive_val_mse", "seconds"] {
            #expect(lstm[key] is Double, "lstm.\(key)")
        }
        #expect(lstm["epochs"] as? Int == 2)
        // 720 closes give 704 sequences of 16 (each with its next close); the last 20 % (140) validate.
        #expect(lstm["train_rows"] as? Int == 564 && lstm["test_rows"] as? Int == 140)
        let models = try predictedProbabilities(objects[2])
        #expect(models["lstm"] != nil && models["lstm"] != 0.5)
        #expect(objects[3]["trend"] as? String == "insufficient_data")
        // JSON mode keeps stdout for JSON: progress goes to stderr as plain lines.
        #expect(result.stderr.contains("[INFO] lstm epoch 2/2"))
    }

    @Test func badLSTMSettingsAndTooFewPrices() throws {
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", """
        set lstm.units 0; set lstm.dropout 1; set lstm.learning_rate 0; set lstm.sequence_length 1; \
        set lstm.epochs 2.5; fetch demo 3; set lstm.sequence_length 70; train tier3; status
        """])
        #expect(result.status == 1)
        #expect(result.stderr.contains("-c:1: error: invalid value '0' for lstm.units: expected a whole number from 1 to 1024"))
        #expect(result.stderr.contains("-c:2: error: invalid value '1' for lstm.dropout: expected a number from 0 up to (not including) 1"))
        #expect(result.stderr.contains("-c:3: error: invalid value '0' for lstm.learning_rate"))
        #expect(result.stderr.contains("-c:4: error: invalid value '1' for lstm.sequence_length"))
        #expect(result.stderr.contains("-c:5: error: invalid value '2.5' for lstm.epochs"))
        #expect(result.stderr.contains("-c:8: error: Only 72 prices, the LSTM needs at least"))
        #expect(result.stdout.contains("lstm      -"), "no half-trained model: \(result.stdout)")
    }
}

/// Outcomes scored automatically when the next bar arrives (issue 6's first piece).
@Suite struct AutomaticOutcomes {
    @Test func fetchingTheNextBarScoresThePendingPrediction() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 30; train tier2; predict; advance 1h; fetch demo 30; perf; status"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        let resolved = try #require(objects[4]["resolved"] as? [String: Any])
        #expect(resolved["predicted"] as? String == objects[2]["signal"] as? String)
        let realised = try #require(resolved["realised_return"] as? Double)
        let expected = realised > 0.001 ? "BUY" : realised < -0.001 ? "SELL" : "HOLD"
        #expect(resolved["actual"] as? String == expected)
        #expect(objects[5]["total_predictions"] as? Int == 1)
        let models = try #require(objects[5]["models"] as? [String: [String: Any]])
        #expect(models.keys.sorted() == ["logistic", "xgboost"])
        #expect(models["logistic"]?["scored"] as? Int == 1)
        #expect(objects[6]["pending_prediction"] is NSNull)
    }
}

/// `replay` from the command line: its JSON report and its bad inputs.
@Suite struct ReplayCommand {
    @Test func replayReportsThePolicyAndBothBaselines() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 10; replay --days 2 --tiers 1"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try result.jsonObjects().last)
        #expect(report["command"] as? String == "replay")
        #expect(report["steps"] as? Int == 48 && report["scored"] as? Int == 47)
        #expect(report["accuracy"] is Double && report["training_seconds"] is Double)
        // One point per scored prediction once the window is full, where the window has a BUY or SELL to judge.
        #expect(report["rolling_metric"] as? String == "directional_accuracy")
        let rolling = try #require(report["rolling_score"] as? [[Any]])
        #expect((1...38).contains(rolling.count))
        #expect(rolling.allSatisfy { ($0.last as? Double).map { (0...1).contains($0) } == true })
        // The flag agrees with the numbers beside it: beaten only by a rule one could have followed.
        let naive = try #require(report["naive"] as? [String: [String: Any]])
        let beats = try #require(report["beats_naive"] as? [String: Any])
        if let direction = report["directional_accuracy"] as? Double {
            let rules = ["persistence", "always_up"].compactMap { naive[$0]?["directional_accuracy"] as? Double }
            #expect(beats["directional_accuracy"] as? Bool == (direction > rules.max()!))
        }
        if let brier = report["brier"] as? Double, let climatology = naive["climatology"]?["brier"] as? Double {
            #expect(beats["brier"] as? Bool == (brier < climatology))
        }
        let tier1 = try #require((report["retrains"] as? [String: Any])?["tier1"] as? [String: Any])
        #expect(tier1["count"] as? Int == 48 && tier1["never_trained"] as? Int == 1)
        let baselines = try #require(report["baselines"] as? [String: [String: Any]])
        #expect(baselines["never_retrain"]?["retrains"] as? Int == 1)
        #expect(baselines["retrain_every_step"]?["retrains"] as? Int == 48)
    }

    @Test func badReplayInputs() throws {
        let result = try ShellProcess.run(["--keep-going", "-q", "-c",
                                           "replay; fetch demo 10; replay --days 100; replay --tiers 5; replay --step 10m; replay --baselines maybe"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("-c:1: error: no market data loaded"))
        #expect(result.stderr.contains("-c:3: error: --days 100 reaches before the loaded data (240 bars)"))
        #expect(result.stderr.contains("-c:4: error: replay: unknown tier '5'"))
        #expect(result.stderr.contains("-c:5: error: replay: invalid --step '10m'"))
        #expect(result.stderr.contains("-c:6: error: replay: invalid --baselines 'maybe': expected 'on' or 'off'"))
    }
}

@Suite struct ReplayComparison {
    @Test func compareRunsOneReplayPerValue() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 10; replay --days 2 --tiers 1 --compare tier1_interval=1h,4h"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try result.jsonObjects().last)
        #expect(report["compare"] as? String == "tier1_interval")
        let runs = try #require(report["runs"] as? [[String: Any]])
        #expect(runs.compactMap { $0["value"] as? String } == ["1h", "4h"])
        #expect(runs.compactMap { $0["retrains"] as? Int } == [48, 12], "hourly vs every fourth hour")
        let bad = try ShellProcess.run(["-q", "-c", "fetch demo 10; replay --compare performance_threshold=0.5,7"])
        #expect(bad.stderr.contains("invalid value '7' for performance_threshold"))
    }
}

@Suite struct ReplayRange {
    @Test func fromAndToChooseTheBars() throws {
        // The demo is pinned, so the range is the same whatever the hour this runs.
        let from = "2026-09-08T00:00:00Z", to = "2026-09-09T00:00:00Z"
        let result = try ShellProcess.run(["--json", "-q", "-c", "fetch demo 10 --end 2026-09-10; replay --from \(from) --to \(to) --tiers 1 --baselines off"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try result.jsonObjects().last)
        #expect(report["start"] as? String == from && report["end"] as? String == to)
        #expect(report["steps"] as? Int == 25)
        let conflict = try ShellProcess.run(["-q", "-c", "fetch demo 10 --end 2026-09-10; replay --days 1 --from \(from)"])
        #expect(conflict.stderr.contains("give --days or --from/--to, not both"))
    }
}
