// Release-build benchmarks with JSON output: `swift run -c release lgc-bench [--runs N] [--quick] [--only SECTION]`.
import CTestPTY
import FeedbackLoop
import Foundation
import Learning
import MarketData
import Shell
import ZIPFoundation

struct Measurement {
    let name: String
    let samples: [Double]   // seconds
    let targetMilliseconds: Double?
    let note: String
    /// The `lgc-shell` measured, for start-up entries (several with `--shell`).
    var binary: String? = nil

    var median: Double { let s = samples.sorted(); return s[s.count / 2] }
    var json: JSON {
        .object([
            ("name", .string(name)),
            ("median_ms", .number(median * 1000)),
            ("min_ms", .number(samples.min()! * 1000)),
            ("max_ms", .number(samples.max()! * 1000)),
            ("runs", .int(samples.count)),
            ("target_ms", .number(targetMilliseconds)),
            ("within_target", targetMilliseconds.map { .bool(median * 1000 < $0) } ?? .null),
            ("note", .string(note)),
        ] + (binary.map { [("binary", JSON.string($0))] } ?? []))
    }
}

func time(_ runs: Int, warmup: Int = 2, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    return try (0..<runs).map { _ in
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

let arguments = CommandLine.arguments
let runs = arguments.firstIndex(of: "--runs").flatMap { Int(arguments[$0 + 1]) } ?? 30
let fixedNow: TimeInterval = 1_790_000_000
var results: [Measurement] = []
var memory = JSON.null
/// `--only PREFIX` runs the sections (tier1, tier2, tier3, replay, metrics, sessions, binance, kline, shell, sweep) or replay entries whose name
/// starts with it, e.g. `--only replay_30d`.
let only = arguments.firstIndex(of: "--only").map { arguments[$0 + 1] }
func wanted(_ section: String) -> Bool { only.map { section.hasPrefix($0) || $0.hasPrefix(section) } ?? true }
func wantedEntry(_ name: String) -> Bool { only.map { name.hasPrefix($0) } ?? true }

for (days, target) in [(30, 5.0), (365, 50.0)] where wanted("tier1") {
    let series = try DemoMarket.generate(days: days, endingAt: fixedNow)
    results.append(Measurement(
        name: "features_\(series.count)", samples: time(runs) { _ = FeatureBuilder.features(for: series) },
        targetMilliseconds: nil, note: "causal feature matrix for \(series.count) hourly demo bars"))
    let samples = try time(runs) {
        let engine = LoopEngine(clock: LoopClock { fixedNow })
        engine.load(series)
        try engine.train(Tier.all[0])
    }
    results.append(Measurement(
        name: "tier1_\(series.count)", samples: samples, targetMilliseconds: target,
        note: "train tier1: features + chronological split + scaler + logistic fit + holdout evaluation"))
}

// Tier 2, and XGBoost's fit alone on the same training matrix Python's xgboost is timed on (python_reference.py).
for (days, target) in [(30, 200.0), (365, 1500.0)] where wanted("tier2") {
    let series = try DemoMarket.generate(days: days, endingAt: fixedNow)
    let samples = try time(max(5, runs / 4)) {
        let engine = LoopEngine(clock: LoopClock { fixedNow })
        engine.load(series)
        try engine.train(Tier.all[1])
    }
    results.append(Measurement(name: "tier2_\(series.count)", samples: samples, targetMilliseconds: target,
                               note: "train tier2: features, split, logistic regression and XGBoost (100 rounds, depth 6, hist, 2 threads), holdout evaluation"))
    let dataset = try Dataset.make(from: series)
    let features = dataset.features
    let train = try XGBoostMatrix(rows: dataset.trainCount, cols: features.cols,
                                  values: features.values[0..<(dataset.trainCount * features.cols)],
                                  labels: Array(dataset.labels[0..<dataset.trainCount]))
    let fit = try time(max(5, runs / 4)) { _ = try XGBoostBooster.train(train, parameters: XGBoostParameters(), featureNames: features.names) }
    results.append(Measurement(name: "xgboost_fit_\(dataset.trainCount)x\(features.cols)", samples: fit, targetMilliseconds: nil,
                               note: "XGBoosterUpdateOneIter x100 on the training part only (compare python_reference.py)"))
    // What loading a stored model adds before libxgboost sees it, and the library's own load for scale.
    let booster = try XGBoostBooster.train(train, parameters: XGBoostParameters(), featureNames: features.names)
    let blob = try booster.serialized(format: .ubjson)
    let summary = try XGBoostModelCheck.validate(blob, ModelCodec.xgboostRequirements)
    let check = try time(runs * 10) { _ = try XGBoostModelCheck.validate(blob, ModelCodec.xgboostRequirements) }
    results.append(Measurement(name: "xgboost_validate_\(dataset.trainCount)x\(features.cols)", samples: check, targetMilliseconds: 1,
                               note: "XGBoostModelCheck.validate of a 100-round depth-6 model (\(summary.trees) trees, \(summary.nodes) nodes, \(blob.count) bytes)"))
    let load = try time(runs) { _ = try ModelCodec.decode(format: ModelCodec.xgboostFormat, data: blob, as: .xgboost) }
    results.append(Measurement(name: "xgboost_decode_\(dataset.trainCount)x\(features.cols)", samples: load, targetMilliseconds: nil,
                               note: "ModelCodec.decode of the same model: validation, then XGBoosterLoadModelFromBuffer"))
}

// Tier 3 with the seed app's default network (LSTM 50/50, dense 25, sequences of 60, 50 epochs) on 720 bars.
if !arguments.contains("--quick") && wanted("tier3") {
    let series = try DemoMarket.generate(days: 30, endingAt: fixedNow)
    var lstmSeconds: [Double] = []
    var ratio = Double.nan
    let samples = try time(3, warmup: 0) {
        let engine = LoopEngine(clock: LoopClock { fixedNow })
        engine.load(series)
        let result = try engine.train(Tier.all[2])
        if let lstm = result.records.last {
            lstmSeconds.append(lstm.seconds)
            ratio = lstm.details.sequenceValidation.map { $0.mse / $0.naiveMSE } ?? .nan
        }
    }
    results.append(Measurement(name: "tier3_720", samples: samples, targetMilliseconds: nil,
                               note: String(format: "train tier3, default LSTM, 50 epochs; LSTM alone median %.2f s; val MSE / persistence %.3f (target: >= 3x faster than Keras, ratio <= 1.1x Keras's)",
                                            lstmSeconds.sorted()[lstmSeconds.count / 2], ratio)))
}

// Replays: the loop walked forward hour by hour over demo history, tiers 1 and 2 at their default intervals (1 h, 6 h),
// with the settings `replay` uses (XGBoost on one thread per fit, two fits at once) unless the name says otherwise.
// Long entries run once.
func replayMeasurement(_ name: String, days: Int, replayDays: Int, policies: [ReplayPolicy], tiers: Set<Int> = [1, 2],
                       stepBars: Int = 1, execution: ReplayExecution = .concurrent, threadsAsConfigured: Bool = false,
                       settings: [(String, String)] = [],
                       runs count: Int, target: Double?, note: String) throws -> (Measurement, [ReplayReport])? {
    guard wantedEntry(name) else { return nil }
    let series = try DemoMarket.generate(days: days, endingAt: fixedNow)
    let engine = LoopEngine(clock: LoopClock { fixedNow })
    engine.load(series)
    for (key, value) in settings { try engine.setConfig(key, value) }
    let start = series.count - replayDays * 24
    var reports: [ReplayReport] = []
    let samples = try time(count, warmup: 0) {
        let configuration = threadsAsConfigured ? engine.config : engine.config.forReplay
        reports = try engine.replay(policies.map { ReplayRun(policy: $0, configuration: configuration) }, from: start,
                                    stepBars: stepBars, tiers: tiers, execution: execution).map(\.report)
    }
    let fits = reports.map { report in
        "\(report.policy.rawValue): \(report.retrains.sorted { $0.key < $1.key }.map { "tier\($0.key) \($0.value.values.reduce(0, +))" }.joined(separator: ", "))"
    }
    let fitTime = reports.map { String(format: "%@ %.1f s", $0.policy.rawValue, $0.trainingSeconds) }
    return (Measurement(name: name, samples: samples, targetMilliseconds: target,
                        note: note + "; retrains — " + fits.joined(separator: "; ")
                            + "; fit time as measured per fit — " + fitTime.joined(separator: ", ")), reports)
}

if !arguments.contains("--quick") && wanted("replay") {
    func add(_ entry: (Measurement, [ReplayReport])?) { if let entry { results.append(entry.0) } }
    let loop30 = "60 demo days loaded, the last 30 replayed (720 hourly steps)"
    add(try replayMeasurement("replay_30d_tiers12_loop", days: 60, replayDays: 30, policies: [.triggers],
                              runs: 3, target: 5000, note: "\(loop30), the loop's policy only (--baselines off)"))
    add(try replayMeasurement("replay_30d_tiers12_loop_threads_all", days: 60, replayDays: 30, policies: [.triggers],
                              threadsAsConfigured: true, runs: 3, target: nil,
                              note: "\(loop30), loop only, XGBoost on every core per fit (the live loop's default), one fit at a time"))
    add(try replayMeasurement("replay_30d_tiers12_loop_plain", days: 60, replayDays: 30, policies: [.triggers],
                              execution: .plain, threadsAsConfigured: true, runs: 1, target: nil,
                              note: "\(loop30), loop only, the reference path (features rebuilt each step, no sharing, one thread)"))
    add(try replayMeasurement("replay_30d_tiers12_baselines", days: 60, replayDays: 30, policies: ReplayPolicy.allCases,
                              runs: 1, target: 5000,
                              note: "\(loop30), the loop and both baselines (never retrain; retrain tier 2 at every step) sharing fits"))
    add(try replayMeasurement("replay_365d_tiers12_loop", days: 366, replayDays: 365, policies: [.triggers],
                              runs: 1, target: 60_000,
                              note: "366 demo days loaded, the last 365 replayed (8,760 steps), the loop's policy only"))
    // Tier 3: the default LSTM (50/50 units, sequences of 60, 50 epochs) retrains every 24 h.
    if let (tier3, reports) = try replayMeasurement("replay_tier3_per_retrain", days: 30, replayDays: 2, policies: [.triggers],
                                                 tiers: [1, 2, 3], stepBars: 6, runs: 1, target: nil,
                                                 note: "30 demo days loaded, the last 2 replayed in 6 h steps with tiers 1,2,3, loop only") {
        let retrains = Double(reports[0].retrains[3]?.values.reduce(0, +) ?? 0)
        results.append(Measurement(name: tier3.name, samples: tier3.samples.map { $0 / max(1, retrains) }, targetMilliseconds: nil,
                                   note: tier3.note + String(format: "; whole replay %.1f s / %.0f tier-3 retrains",
                                                             tier3.samples[0], retrains)))
    }
}

// Honest metrics: the moving-block bootstrap of a year of hourly paired differences (8,760 steps, blocks of one
// day, 2,000 resamples), what each replay comparison costs.
if wanted("metrics") {
    var random = SplitMix64(seed: 7)
    let differences = (0..<8760).map { _ in Double(Int(random.next() % 3)) - 1 }
    let samples = try time(max(5, runs / 3)) { _ = try BlockBootstrap.interval(of: differences, blockLength: 24, resamples: 2000, seed: 1) }
    results.append(Measurement(name: "bootstrap_8760x2000", samples: samples, targetMilliseconds: 100,
                               note: "moving-block bootstrap of 8,760 paired differences, L = 24, B = 2,000, percentile interval"))
}

// Binance: a year of hourly klines, as 9 pages of up to 1000 rows in Binance's JSON, parsed and checked.
if wanted("binance") {
    let step: Int64 = 3_600_000
    let (first, last) = BinanceClient.span(days: 365, interval: .oneHour, endingAt: fixedNow)
    let expected = Int((last - first) / step) + 1   // 8,760, or 8,759 when the end falls inside an hour
    var pages: [Data] = []
    var open = first
    while open <= last {
        var rows: [String] = []
        while open <= last, rows.count < BinanceClient.pageLimit {
            let price = 60_000 + Double(open / step % 5000)
            rows.append(#"[\#(open),"\#(price)","\#(price + 12.5)","\#(price - 12.5)","\#(price + 3.25)","123.456",\#(open + step - 1),"7406172.1",5120,"61.2","3703086.0","0"]"#)
            open += step
        }
        pages.append(Data(("[" + rows.joined(separator: ",") + "]").utf8))
    }
    let samples = try time(max(5, runs / 3)) {
        var bars: [Bar] = []
        var start = first
        for (index, page) in pages.enumerated() {
            try BinanceClient.parse(page: page, number: index + 1, interval: .oneHour, from: start, through: last, into: &bars)
            start = Int64((bars.last!.time * 1000).rounded())
        }
        precondition(bars.count == expected)
    }
    results.append(Measurement(name: "binance_klines_365d", samples: samples, targetMilliseconds: 200,
                               note: "parse and check 9 pages of Binance klines JSON (\(expected) hourly bars), without the HTTP"))
}

// Sessions: a year of bars, all three models, 10,000 scored predictions written through one by one, then save and load.
if wanted("sessions") {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-sessions-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let shell = ShellContext(engine: LoopEngine(clock: LoopClock { fixedNow }), format: .text,
                             terminal: TerminalInfo.detect(), logger: Logger(color: false, quiet: true), environment: [:])
    shell.printsOutput = false
    shell.openSession(directory: directory, persistent: true)
    defer { shell.closeSession() }
    // The default LSTM's size (its weights are what a session stores), trained for one epoch only.
    for line in ["fetch demo 365", "set lstm.epochs 1", "train tier3"] where shell.execute(line) != .ok {
        throw POSIXError(.EINVAL)
    }
    var writes: [Double] = []
    for index in 0..<10_000 {
        writes += time(1, warmup: 0) { _ = shell.execute(index % 3 == 0 ? "log BUY --predicted BUY" : "log SELL --predicted BUY") }
    }
    results.append(Measurement(name: "session_log_write_through", samples: writes, targetMilliseconds: 1,
                               note: "`log` of one outcome: parse, score, and its committed transaction (WAL); median of 10,000"))
    // Constant cost per command: the last thousand writes (9,000+ commands stored) cost what the first thousand did.
    results.append(Measurement(name: "session_log_write_first_1000", samples: Array(writes.prefix(1000)), targetMilliseconds: 1,
                               note: "the same, the first 1,000 of them (few commands stored)"))
    results.append(Measurement(name: "session_log_write_last_1000", samples: Array(writes.suffix(1000)), targetMilliseconds: 1,
                               note: "the same, the last 1,000 (9,000+ commands and outcomes stored): within noise of the first"))
    var saves: [Double] = [], loads: [Double] = []
    for run in 0..<5 {
        saves += time(1, warmup: 0) { _ = shell.execute("save bench-\(run)") }
        loads += time(1, warmup: 0) { _ = shell.execute("load bench-\(run)") }
    }
    results.append(Measurement(name: "session_save", samples: saves, targetMilliseconds: 100,
                               note: "save: 8,760 bars, 10,000 scored predictions, 3 model versions incl. the default-size LSTM"))
    results.append(Measurement(name: "session_load", samples: loads, targetMilliseconds: 100,
                               note: "load: full validation (integrity, checksums, bounds), decoding all three models, restoring the loop"))
}

// Several assets: three markets of a year of hourly bars each, every one with all three models; then load.
if wanted("sessions") {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-assets-\(getpid())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // Two more markets as CSV files (the demo generator under other seeds and symbols).
    var paths: [String] = []
    for (symbol, seed) in [("ETHUSDT", UInt64(7)), ("SOLUSDT", UInt64(11))] {
        let series = try DemoMarket.generate(days: 365, seed: seed, endingAt: fixedNow)
        var text = "timestamp,open,high,low,close,volume\n"
        for bar in series.bars { text += "\(Int(bar.time)),\(bar.open),\(bar.high),\(bar.low),\(bar.close),\(bar.volume)\n" }
        let path = directory + "/\(symbol).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        paths.append(path)
    }
    let shell = ShellContext(engine: LoopEngine(clock: LoopClock { fixedNow }), format: .text,
                             terminal: TerminalInfo.detect(), logger: Logger(color: false, quiet: true), environment: [:])
    shell.printsOutput = false
    shell.openSession(directory: directory + "/sessions", persistent: true)
    defer { shell.closeSession() }
    for line in ["fetch demo 365", "import \(paths.joined(separator: " "))", "set lstm.epochs 1", "train tier3 --asset all",
                 "save three"] where shell.execute(line) != .ok {
        throw POSIXError(.EINVAL)
    }
    precondition(shell.engine.assets.count == 3 && shell.engine.assets.allSatisfy { $0.models.count == 3 })
    let loads = try time(5) { if shell.execute("load three") != .ok { throw POSIXError(.EINVAL) } }
    results.append(Measurement(name: "session_load_three_assets", samples: loads, targetMilliseconds: 150,
                               note: "load: 3 assets × 8,760 hourly bars, each with its logistic, XGBoost and default-size LSTM; full validation and decoding"))
}

// Binance kline files: a zipped month of 1-minute bars, and a year of them (twelve zips by glob), generated first.
var klineMemory = JSON.null
if wanted("kline") {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-klines-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    /// `NAME.zip` holding `NAME.csv` with `count` 1-minute rows opening at `start` (ms).
    func writeMonth(_ name: String, start: Int64, count: Int) throws {
        var text = ""
        text.reserveCapacity(count * 110)
        var random = SplitMix64(seed: UInt64(start))
        var price = 40_000.0
        for k in 0..<count {
            let open = start + Int64(k) * 60_000
            let next = price * (1 + (Double(random.next() % 2001) - 1000) * 1e-6)
            text += "\(open),\(price),\(max(price, next) + 1),\(min(price, next) - 1),\(next),\(Double(random.next() % 100_000) / 1000),"
                + "\(open + 59_999),123456.78,100,1.5,60000.0,0\n"
            price = next
        }
        let data = Data(text.utf8)
        let archive = try Archive(url: folder.appendingPathComponent(name + ".zip"), accessMode: .create)
        try archive.addEntry(with: name + ".csv", type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) {
            position, size in data.subdata(in: Int(position)..<Int(position) + size)
        }
    }
    let january2023: Int64 = 1_672_531_200_000
    var start = january2023
    for (month, days) in [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31].enumerated().map({ ($0 + 1, $1) }) {
        try writeMonth(String(format: "BTCUSDT-1m-2023-%02d", month), start: start, count: days * 1440)
        start += Int64(days) * 86_400_000
    }
    let january = folder.appendingPathComponent("BTCUSDT-1m-2023-01.zip").path
    results.append(Measurement(
        name: "kline_import_zip_month_1m",
        samples: try time(max(5, runs / 3)) {
            let count = try KlineFiles.load(january).series.count
            precondition(count == 44_640)
        },
        targetMilliseconds: 200, note: "one zipped month of 1-minute Binance klines (44,640 rows), inflated and parsed as a stream"))
    let year = folder.path + "/BTCUSDT-1m-2023-*.zip"
    results.append(Measurement(
        name: "kline_import_year_1m",
        samples: try time(3, warmup: 1) {
            let count = try KlineFiles.load(year).series.count
            precondition(count == 525_600)
        },
        targetMilliseconds: 2000, note: "a year of 1-minute klines (525,600 rows) from twelve zips by glob"))
    // The shell beside this binary (`shellPath` below is not yet set: top-level code runs in order).
    let shell = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lgc-shell").path
    if FileManager.default.isExecutableFile(atPath: shell) {
        let peak = try maxResidentKilobytes(shell, ["-q", "-c", "import \"\(year)\""])
        klineMemory = .object([("name", .string("kline_import_year_1m_max_resident")),
                               ("max_resident_mb", .number(Double(peak) / 1024)), ("target_mb", .number(300)),
                               ("within_target", .bool(Double(peak) / 1024 < 300)),
                               ("note", .string("peak RSS of `lgc-shell -c 'import BTCUSDT-1m-2023-*.zip'` (525,600 rows)"))])
    }
}

// Shell start-up: the real executable beside this one, and each `--shell PATH` (another build, e.g. the base commit's,
// to compare in one run: their runs are interleaved, so every binary sees the same machine load).
let shellPath = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lgc-shell").path
let otherShells = arguments.indices.filter { arguments[$0] == "--shell" && $0 + 1 < arguments.count }.map { arguments[$0 + 1] }
let shells = ([shellPath] + otherShells).filter { FileManager.default.isExecutableFile(atPath: $0) }
if wanted("shell") && !shells.isEmpty {
    // A sessions folder of the benchmark's own, emptied after every start: each start finds the same folder. The
    // temporary folder too (TMPDIR): every start reads it for killed scripts' files, and a shared /tmp with
    // thousands of files would measure the machine's litter (--shared-tmp keeps the real one).
    let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-sessions-\(getpid())").path
    try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: sessions) }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-tmp-\(getpid())").path
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let tmpdir = arguments.contains("--shared-tmp") ? [] : ["TMPDIR=\(scratch)"]
    let environment = tmpdir + ["TERM=xterm", "HOME=/tmp", "LGC_SESSIONS=\(sessions)",
                       "LGC_HISTORY=" + FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-history").path]
    func emptied<T>(_ body: () throws -> T) rethrows -> T {
        defer { for name in (try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? [] { unlink(sessions + "/" + name) } }
        return try body()
    }
    let count = max(10, runs / 2)
    var help = [[Double]](repeating: [], count: shells.count), prompt = help
    for run in -2..<count {   // two warm-up rounds
        for (index, shell) in shells.enumerated() {
            let helpSeconds = try emptied { try time(1, warmup: 0) { try runToExit(shell, ["-c", "help"], environment: environment) } }
            let promptSeconds = try emptied { [try timeToPrompt(shell, environment: environment)] }
            if run >= 0 {
                help[index] += helpSeconds
                prompt[index] += promptSeconds
            }
        }
    }
    for (index, shell) in shells.enumerated() {
        results.append(Measurement(name: "shell_start_help", samples: help[index], targetMilliseconds: 20,
                                   note: "process start to exit of `lgc-shell -c help`", binary: shell))
        results.append(Measurement(name: "shell_start_to_prompt", samples: prompt[index], targetMilliseconds: 20,
                                   note: "interactive start on a pseudo-terminal until `lgc> ` is shown", binary: shell))
    }
    if !arguments.contains("--quick") {
        let peak = try maxResidentKilobytes(shellPath, ["-q", "-c", "fetch demo 365; set lstm.epochs 2; train tier3"])
        memory = .object([("name", .string("tier3_8760_max_resident")), ("max_resident_mb", .number(Double(peak) / 1024)),
                          ("target_mb", .number(500)), ("within_target", .bool(Double(peak) / 1024 < 500)),
                          ("note", .string("peak RSS of `lgc-shell -c 'fetch demo 365; set lstm.epochs 2; train tier3'`; memory does not grow with epochs"))])
    }
}

// Sweeps (issue 15): a task's own overhead beyond its replay, and the local engine's wall time against the sum of its
// tasks' own times. Separate processes of the real executable, on a sessions folder of the benchmark's own.
var sweepFigures = JSON.null
if wanted("sweep") && FileManager.default.isExecutableFile(atPath: shellPath) {
    let sessions = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-bench-sweeps-\(getpid())").path
    try FileManager.default.createDirectory(atPath: sessions, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: sessions) }
    let environment = ["LGC_SESSIONS": sessions, "HOME": "/tmp", "LGC_SHELL": shellPath]
    /// `lgc-shell --format json -c COMMANDS`: one object per command.
    func shellJSON(_ commands: String) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: shellPath)
        process.arguments = ["--format", "json", "-q", "-c", commands]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "lgc-shell -c '\(commands)' failed")
        return String(decoding: output, as: UTF8.self).split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
    }
    _ = try shellJSON("fetch demo 60 --end 2026-11-20; "
                      + "sweep new quick --grid tier1_interval=1h,2h,3h,4h,5h,6h,7h,8h,9h,10h --days 1 --tiers 1; "
                      + "sweep new four --grid tier2_interval=3h,6h,12h,24h --days 14 --tiers 1,2")
    let quick = sessions + "/sweeps/quick"
    var overhead: [Double] = []
    for _ in 0..<max(2, runs / 10) {
        for task in 0..<10 {
            try? FileManager.default.removeItem(atPath: quick + "/reports/task-\(task).json")
            let wall = try time(1, warmup: 0) {
                try runToExit(shellPath, ["sweep", "task", quick, String(task)],
                              environment: environment.map { "\($0.key)=\($0.value)" })
            }[0]
            let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quick + "/reports/task-\(task).json")))
            overhead.append(wall - ((report as? [String: Any])?["replay_seconds"] as? Double ?? 0))
        }
    }
    results.append(Measurement(name: "sweep_task_overhead", samples: overhead, targetMilliseconds: 100,
                               note: "`lgc-shell sweep task FOLDER ID` from process start to exit, less its replay: start, manifest (checksum), bars (fingerprint), report written and renamed"))
    let local = try shellJSON("sweep run four --engine local")[0]
    let wall = local["seconds"] as? Double ?? 0, taskSeconds = local["task_seconds"] as? Double ?? 0
    results.append(Measurement(name: "sweep_local_4_tasks", samples: [wall], targetMilliseconds: nil,
                               note: String(format: "4 tasks (14 days, tiers 1,2) with --engine local on %d cores: %.2f× the tasks' own %.1f s (target ≤ 0.6×)",
                                            ProcessInfo.processInfo.activeProcessorCount, wall / max(taskSeconds, 1e-9), taskSeconds)))
    var figures: [(String, JSON)] = [("local", .object([("wall_seconds", .number(wall)), ("task_seconds", .number(taskSeconds)),
                                                        ("ratio", .number(wall / max(taskSeconds, 1e-9))), ("target_ratio", .number(0.6))]))]
    // The same four tasks through Slurm, when a cluster answers (`scripts/slurm-local.sh start`): a copy of the
    // sweep declared alike, so both engines run the same work one after the other in this run.
    let sinfo = Process()
    sinfo.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    sinfo.arguments = ["sinfo", "-h", "-o", "%t"]
    sinfo.standardOutput = FileHandle.nullDevice
    sinfo.standardError = FileHandle.nullDevice
    if (try? sinfo.run()) != nil, ({ sinfo.waitUntilExit(); return sinfo.terminationStatus == 0 })() {
        let slurm = try shellJSON("fetch demo 60 --end 2026-11-20; sweep new four-slurm --grid tier2_interval=3h,6h,12h,24h --days 14 --tiers 1,2; "
                                  + "sweep run four-slurm --engine slurm --wait").last ?? [:]
        let slurmWall = slurm["seconds"] as? Double ?? 0, slurmTasks = slurm["task_seconds"] as? Double ?? 0
        let delay = slurm["scheduling_delay_seconds"] as? Double
        results.append(Measurement(name: "sweep_slurm_4_tasks", samples: [slurmWall], targetMilliseconds: nil,
                                   note: String(format: "the same 4 tasks with --engine slurm on the local single-node cluster: %.2f× the tasks' own %.1f s, scheduling delay %.2f s (target ≤ 0.6× plus the delay)",
                                                slurmWall / max(slurmTasks, 1e-9), slurmTasks, delay ?? .nan)))
        figures.append(("slurm", .object([("wall_seconds", .number(slurmWall)), ("task_seconds", .number(slurmTasks)),
                                          ("ratio", .number(slurmWall / max(slurmTasks, 1e-9))),
                                          ("scheduling_delay_seconds", .number(delay))])))
    }
    sweepFigures = .object(figures)
}

/// Runs the shell with `arguments` (stdout and stderr to /dev/null) until it exits. posix_spawn + waitpid:
/// Foundation's Process.waitUntilExit polls and would add tens of milliseconds.
func runToExit(_ path: String, _ arguments: [String], environment: [String]) throws {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, nil, argv, envp) == 0 else { throw POSIXError(.ECHILD) }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
}

/// Runs the shell with `arguments` and returns its peak resident set size in kilobytes (wait4's rusage).
func maxResidentKilobytes(_ path: String, _ arguments: [String]) throws -> Int {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw POSIXError(.ECHILD) }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    return usage.ru_maxrss
}

/// Starts the shell on a pseudo-terminal and returns the seconds until its first prompt was written. The shell is
/// killed afterwards, outside the measured time (the caller empties the sessions folder, so nothing it left
/// behind slows the next start).
func timeToPrompt(_ path: String, environment: [String]) throws -> Double {
    let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var master: Int32 = -1
    let start = ContinuousClock.now
    let pid = lgc_spawn_on_pty(path, argv, envp, 80, &master)
    guard pid > 0 else { throw POSIXError(.ECHILD) }
    defer {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(master)
    }
    var seen = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    let deadline = start + .seconds(5)
    while !seen.contains("lgc> ") && ContinuousClock.now < deadline {
        let count = read(master, &buffer, buffer.count)
        if count <= 0 { break }
        seen += String(decoding: buffer[0..<count], as: UTF8.self)
    }
    let elapsed = ContinuousClock.now - start
    guard seen.contains("lgc> ") else { throw POSIXError(.ETIMEDOUT) }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

let report = JSON.object([
    ("benchmarks", .array(results.map(\.json))),
    ("memory", memory),
    ("kline_memory", klineMemory),
    ("sweeps", sweepFigures),
    ("cores", .int(ProcessInfo.processInfo.activeProcessorCount)),
    ("build", .string("release")),
])
print(report.serialized())
