import FeedbackLoop
import Foundation
import Learning
import MarketData
import SessionStore
import Testing
@testable import Shell

/// Each model's P(up) from a `predict` JSON object (`models.NAME.probability`).
func predictedProbabilities(_ object: [String: Any]) throws -> [String: Double] {
    let models = try #require(object["models"] as? [String: [String: Any]])
    return try models.mapValues { try #require($0["probability"] as? Double) }
}

/// Runs one line's command in `shell` (not through the executor: nothing is persisted or printed) and returns the JSON object it would print (without `command`/`ok`).
func fields(_ shell: ShellContext, _ line: String) throws -> [String: Any] {
    let parsed = try LineParser.parse(line)
    let verb = try #require(parsed.verb)
    let command = try #require(Commands.find(verb))
    let output = try command.run(shell, try command.bind(parsed.arguments))
    let text = JSON.object(output.fields).serialized()
    return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

func text(_ shell: ShellContext, _ line: String) throws -> String {
    let parsed = try LineParser.parse(line)
    let verb = try #require(parsed.verb)
    let command = try #require(Commands.find(verb))
    return try command.run(shell, try command.bind(parsed.arguments)).text
}

/// A daily CSV of `days` rows (Yahoo's columns), for another market or bar interval than the demo's hourly bars.
private func dailyCSV(days: Int = 100) throws -> String {
    let directory = try ShellProcess.temporaryDirectory()
    let path = directory.appendingPathComponent("daily.csv").path
    var text = "Date,Open,High,Low,Close,Adj Close,Volume\n"
    var price = 100.0
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    for day in 0..<days {
        let date = Date(timeIntervalSince1970: 1_700_000_000 + Double(day) * 86_400)
        price *= 1 + 0.02 * sin(Double(day) * 0.7) + 0.005 * cos(Double(day) * 2.3)
        text += "\(formatter.string(from: date)),\(price),\(price * 1.01),\(price * 0.99),\(price),\(price),\(1000 + day)\n"
    }
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

private func foreignError(trained: String, loaded: String, tier: Int = 1, command: String) -> LineResult {
    .failed("the models were trained on \(trained); the loaded data is \(loaded) — train on it first ('train tier\(tier)') or '\(command) --force'")
}

@Suite struct StalePredictions {
    @Test("predict gives each model's age; past max_model_age it is stale, with a warning in JSON and text")
    func staleAfterMaxAge() throws {
        let shell = quietShell()
        for line in ["fetch demo 30 --seed 7", "train tier1"] { #expect(shell.execute(line) == .ok, "\(line)") }
        let fresh = try fields(shell, "predict")
        let logistic = try #require((fresh["models"] as? [String: Any])?["logistic"] as? [String: Any])
        #expect(logistic["age_seconds"] as? Double == 0)
        #expect(logistic["max_age_seconds"] as? Double == 7200)
        #expect(logistic["stale"] as? Bool == false)
        #expect((logistic["warnings"] as? [String]) == [])
        #expect(logistic["probability"] is Double && logistic["weight"] as? Double == 1)
        #expect(fresh["stale"] as? Bool == false && (fresh["warnings"] as? [String]) == [])
        for key in ["signal", "ensemble", "weights", "price", "at", "made_at"] { #expect(fresh[key] != nil, "\(key) kept") }

        #expect(shell.execute("advance 2h1s") == .ok)
        let warning = "logistic is stale: trained 2h1s ago, past max_model_age 2h — retrain it ('train tier1') or raise max_model_age"
        let stale = try fields(shell, "predict")
        let old = try #require((stale["models"] as? [String: Any])?["logistic"] as? [String: Any])
        #expect(old["age_seconds"] as? Double == 7201)
        #expect(old["stale"] as? Bool == true)
        #expect((old["warnings"] as? [String]) == [warning])
        #expect(stale["stale"] as? Bool == true && (stale["warnings"] as? [String]) == [warning])
        let table = try text(shell, "predict")
        #expect(table.contains("age"))
        #expect(table.contains("2h1s stale"))

        #expect(shell.execute("set max_model_age 0") == .ok)
        let never = try fields(shell, "predict")
        let kept = try #require((never["models"] as? [String: Any])?["logistic"] as? [String: Any])
        #expect(kept["stale"] as? Bool == false && kept["max_age_seconds"] is NSNull)
        #expect((never["warnings"] as? [String]) == [])
    }

    @Test("the stale warning reaches stderr as a [WARNING] line")
    func warningLine() throws {
        let result = try ShellProcess.run(["-c", "fetch demo 30; train tier1; set max_model_age 1s; advance 1h; predict"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("[WARNING] logistic is stale: trained 1h"))
        #expect(result.stdout.contains("stale"))
    }
}

@Suite struct ForeignDataPredictions {
    @Test("import of the same symbol at another interval: predict and cycle refuse, --force predicts, a training lifts it")
    func importRefusedUntilTrained() throws {
        let shell = quietShell()
        let csv = try dailyCSV()
        // A small LSTM and few trees: 'cycle --force' trains every never-trained tier.
        for line in ["set lstm.epochs 1", "set lstm.units 4", "set lstm.sequence_length 8", "set xgboost.threads 1",
                     "set xgboost.n_estimators 10", "fetch demo 30 --seed 7", "train tier1", "predict",
                     "import \(csv) --symbol DEMO"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        let history = shell.engine.history.count
        #expect(shell.execute("predict") == foreignError(trained: "DEMO 1h bars", loaded: "DEMO 1d bars", command: "predict"))
        #expect(shell.execute("cycle") == foreignError(trained: "DEMO 1h bars", loaded: "DEMO 1d bars", command: "cycle"))
        #expect(shell.engine.pending == nil && shell.engine.history.count == history, "refused: nothing changed")

        let forced = try fields(shell, "predict --force")
        #expect((forced["warnings"] as? [String])
                == ["forced: the models were trained on DEMO 1h bars; the loaded data is DEMO 1d bars — train on it before trusting this ('train tier1')"])
        // The forced cycle trains the never-trained tier 3, which covers tiers 1 and 2, on the new data.
        #expect(shell.execute("cycle --force") == .ok)
        #expect(shell.engine.foreignData() == nil)
        #expect(shell.execute("predict") == .ok)
    }

    @Test("a training on the new data lifts the guard; fetch back to the demo brings it back")
    func fetchIsChecked() throws {
        let shell = quietShell()
        let csv = try dailyCSV()
        for line in ["fetch demo 30", "train tier1", "import \(csv) --symbol DEMO", "train tier1", "predict",
                     "fetch demo 30"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        #expect(shell.execute("predict") == foreignError(trained: "DEMO 1d bars", loaded: "DEMO 1h bars", command: "predict"))
    }

    @Test("another symbol is another asset: it never inherits the models, the first asset keeps them")
    func anotherSymbolIsAnotherAsset() throws {
        let shell = quietShell()
        let csv = try dailyCSV()
        for line in ["fetch demo 30", "train tier1", "import \(csv) --symbol BTCUSDT"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        #expect(shell.execute("predict") == .failed("no trained model yet — run 'train tier1' first"))
        #expect(shell.execute("predict --asset DEMO") == .ok)
        #expect(shell.engine.assetNames == ["DEMO", "BTCUSDT"])
    }

    @Test("same symbol, another bar interval is foreign too")
    func intervalAlone() throws {
        let shell = quietShell()
        let csv = try dailyCSV()
        for line in ["fetch demo 30", "train tier1", "import \(csv) --symbol DEMO"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        #expect(shell.execute("predict") == foreignError(trained: "DEMO 1h bars", loaded: "DEMO 1d bars", command: "predict"))
    }

    @Test("the identity survives save and load; a session without it is not checked")
    func survivesSaveAndLoad() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let environment = ["LGC_SESSIONS": directory.path]
        let csv = try dailyCSV()
        let setup = try ShellProcess.run(["-q", "-c", "fetch demo 30; train tier1; import \(csv) --symbol DEMO; save s"],
                                         environment: environment)
        #expect(setup.status == 0, "\(setup.stderr)")
        let refused = try ShellProcess.run(["-q", "-c", "load s; predict"], environment: environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("-c:2: error: the models were trained on DEMO 1h bars; the loaded data is DEMO 1d bars — train on it first ('train tier1') or 'predict --force'"))

        // The same session as a file from before format 3 reads it: no identity recorded, so nothing to refuse.
        var state = try SessionDatabase.readValidated(path: directory.appendingPathComponent("s.lgc").path)
        #expect(state.assets[0].history.map(\.dataSymbol) == ["DEMO"])
        func forget(_ r: TrainingRecord) -> TrainingRecord {
            TrainingRecord(time: r.time, model: r.model, version: r.version, tier: r.tier, accuracy: r.accuracy,
                           baselineAccuracy: r.baselineAccuracy, trainRows: r.trainRows, testRows: r.testRows,
                           seconds: r.seconds, details: r.details, dataStart: r.dataStart, dataEnd: r.dataEnd)
        }
        state.assets[0].history = state.assets[0].history.map(forget)
        for index in state.assets[0].models.indices { state.assets[0].models[index].record = forget(state.assets[0].models[index].record) }
        let old = try SessionDatabase.create(at: directory.appendingPathComponent("old.lgc").path, createdAt: 1_790_000_000)
        try old.replaceAll(with: state)
        old.close()
        let unchecked = try ShellProcess.run(["-q", "-c", "load old; predict"], environment: environment)
        #expect(unchecked.status == 0, "\(unchecked.stderr)")
    }
}

/// The layers below say what failed; the shell's one table of advice says what to type, matched on types.
@Suite struct AdviceTable {
    @Test func eachErrorGetsItsAdviceOnceAndOthersNone() {
        let foreign = LoopError.foreignData(trained: DataIdentity(symbol: "DEMO", interval: 3600),
                                            loaded: DataIdentity(symbol: "BTCUSDT", interval: 86_400), tier: 2, command: .predict)
        #expect(ShellContext.message(for: foreign)
                == "the models were trained on DEMO 1h bars; the loaded data is BTCUSDT 1d bars — train on it first ('train tier2') or 'predict --force'")
        #expect(ShellContext.message(for: LoopError.noData) == "no market data loaded — run 'fetch demo' (offline) or 'import FILE.csv' first")
        #expect(ShellContext.message(for: ReplayError.noModelTrained)
                == "no model could be trained in the replay range — start it later (fewer --days) or fetch more history")
        #expect(ShellContext.message(for: MarketDataError.fileNotFound(path: "x.csv")) == "no such file 'x.csv' — check the path (Tab completes it)")
        #expect(Advice.line(for: LoopError.cancelled) == nil)
        for error: any Error in [LoopError.noData, LoopError.noTrainedModel, LoopError.noPendingPrediction, foreign,
                                 ReplayError.noModelTrained, MarketDataError.fileNotFound(path: "x")] {
            #expect(!"\(error)".contains(" — run") && !"\(error)".contains("Tab"), "no advice below the shell: \(error)")
        }
    }

    /// Lines users saw before their advice moved out of the data layer, the store, the loop and the learners:
    /// each is unchanged, and the layer below now holds only the part before the advice.
    static let movedAdvice: [(error: any Error, line: String)] = [
        (MarketDataError.tooFewRows(have: 5, need: 40), "only 5 rows of data; at least 40 are needed — fetch more days"),
        (MarketDataError.notRegularFile(path: "/dev/null", kind: "a character device"),
         "cannot import '/dev/null': it is a character device, not a regular file — give the path of a CSV file"),
        (MarketDataError.network("could not reach 127.0.0.1 after 3 tries: connection refused"),
         "network error: could not reach 127.0.0.1 after 3 tries: connection refused — try 'fetch demo' (offline) or 'import FILE.csv'"),
        (MarketDataError.http(status: 500, body: "upstream down"),
         "CoinGecko answered HTTP 500: upstream down — try 'fetch demo' (offline) or 'import FILE.csv'"),
        (MarketDataError.http(status: 429, body: "You've exceeded the Rate Limit."),
         "CoinGecko answered HTTP 429: You've exceeded the Rate Limit. — rate limited: wait a minute, set COINGECKO_API_KEY, or try 'fetch demo' (offline) or 'import FILE.csv'"),
        (MarketDataError.http(status: 401, body: "API key missing"),
         "CoinGecko answered HTTP 401: API key missing — check COINGECKO_API_KEY (free keys reach only the past 365 days), or try 'fetch demo' (offline) or 'import FILE.csv'"),
        (MarketDataError.badResponse("prices[0] is not a [time, price] pair"),
         "unexpected CoinGecko response: prices[0] is not a [time, price] pair — try 'fetch demo' (offline) or 'import FILE.csv'"),
        (MarketDataError.unknownCoin("bitcoim"),
         "CoinGecko does not know the coin id 'bitcoim' (HTTP 404) — use its API id, e.g. bitcoin, ethereum or solana"),
        // Reworded: "— refused; ask for …" became "and was refused — ask for …", so the advice follows the one dash.
        (MarketDataError.responseTooLarge(limit: 32 << 20),
         "CoinGecko's answer is larger than 32 MiB and was refused — ask for fewer days, or try 'fetch demo' (offline) or 'import FILE.csv'"),
        (SessionError.missing(path: "/nonexistent/x.lgc"), "no session file '/nonexistent/x.lgc' — 'sessions' lists the saved ones"),
        (SessionError.inUse(path: "s.lgc", pid: 42), "'s.lgc' is in use by process 42 — quit that shell first or save under another name"),
        (SessionError.notRegularFile(path: "d"), "cannot write 'd': it is not a regular file — give a path ending in NAME.lgc"),
        // Reworded: "— the file was changed outside lgc-shell; load another session" swapped its two separators, so
        // the advice follows the one dash as everywhere else.
        (SessionError.outOfRange(path: "s.lgc", field: "config tier2_interval", value: 1e300, bounds: .duration),
         "'s.lgc': config tier2_interval is 1e+300, out of range (expected \(Bounded.duration.expected)); the file was changed outside lgc-shell — load another session"),
        (ConfigError.unknownKey("nosuch", suggestion: nil), "unknown config key 'nosuch' — 'config' lists every key"),
        (ConfigError.unknownKey("tier1_intervl", suggestion: "tier1_interval"), "unknown config key 'tier1_intervl' — did you mean 'tier1_interval'?"),
        (LoopError.trainingInProgress, "a training is already in progress — wait for it to finish"),
        (LoopError.clockOutOfRange(offset: 3_155_760_000, seconds: 86_400),
         "advancing 1d would put the loop's clock more than 100 years from system time (it is 36525d ahead) — advance less, or start a new session"),
        (LearningError.singleClass(label: 1), "The training part has only one class (all up) — fetch more data or use a longer training window."),
        (LearningError.tooFewRows(have: 1, need: 2), "Only 1 training rows, at least 2 needed — fetch more data or use shorter feature windows."),
        (LSTMError.tooFewPrices(have: 72, need: 80),
         "Only 72 prices, the LSTM needs at least 80 (one sequence plus a validation part) — fetch more data or lower lstm.sequence_length."),
        (LSTMError.diverged(epoch: 7), "Training diverged (loss became NaN at epoch 7) — lower lstm.learning_rate."),
        // A replay reports a tier's failure as the tier's own error, advice included.
        (ReplayError.tierFailed(tier: 3, error: LSTMError.diverged(epoch: 7)),
         "Training diverged (loss became NaN at epoch 7) — lower lstm.learning_rate."),
    ]

    @Test func movedAdviceReadsAsBefore() {
        for (error, line) in Self.movedAdvice {
            #expect(ShellContext.message(for: error) == line)
            let wording = "\(error)"
            #expect(line.hasPrefix(wording + " — "), "the layer below says what failed: \(wording)")
        }
    }

    @Test func predictionWarningsReadAsBefore() {
        let age = ModelAge(model: .logistic, tier: 1, seconds: 7201, limit: 7200)
        #expect(ShellContext.message(for: PredictionWarning.stale(age))
                == "logistic is stale: trained 2h1s ago, past max_model_age 2h — retrain it ('train tier1') or raise max_model_age")
        let forced = PredictionWarning.forcedOnForeignData(trained: DataIdentity(symbol: "DEMO", interval: 3600),
                                                           loaded: DataIdentity(symbol: "BTCUSDT", interval: 86_400), tier: 1)
        #expect(ShellContext.message(for: forced)
                == "forced: the models were trained on DEMO 1h bars; the loaded data is BTCUSDT 1d bars — train on it before trusting this ('train tier1')")
    }
}
