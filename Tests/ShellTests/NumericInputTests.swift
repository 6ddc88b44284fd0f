import FeedbackLoop
import Foundation
import GRDB
import MarketData
import SessionStore
@testable import Shell
import Testing

/// Numbers, durations, times and prices from every entry — command arguments, config values, CSV files, session
/// files — are range-checked before anything converts them (issue 11: each of these crashed the shell with "Double
/// value cannot be converted to Int" or similar).
@Suite("Numeric input: range-checked at every entry")
struct NumericInputTests {
    /// A quiet shell with demo data loaded.
    func shellWithData() -> ShellContext {
        let context = quietShell()
        #expect(context.execute("fetch demo 5") == .ok)
        return context
    }

    /// What a refused command must leave alone.
    struct Snapshot: Equatable {
        let config: LoopConfig, offset: TimeInterval, bars: Int, seed: DataSource?
        init(_ shell: ShellContext) {
            config = shell.engine.config
            offset = shell.engine.clock.offset
            bars = shell.engine.series?.count ?? 0
            seed = shell.engine.config.automation.source
        }
    }

    // MARK: Each crash of issue 11, its own regression test

    @Test(arguments: [
        ("set tier1_interval 1e19", "invalid value '1e19' for tier1_interval: expected a duration from 1s to 100 years, such as 90m, 6h or 2d"),
        ("advance 1e19", "advance: invalid DURATION '1e19': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: advance DURATION"),
        ("advance 9223372036854775808", "advance: invalid DURATION '9223372036854775808': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: advance DURATION"),
        ("fetch demo 1e19", "fetch: invalid DAYS '1e19': expected a whole number from 1 to 3650 — usage: fetch ?COIN? ?SYMBOL…? ?DAYS? ?--source coingecko|demo? ?--seed N? ?--end TIME? ?--interval 1m|5m|15m|1h|4h|1d?"),
        ("replay --days inf", "replay: invalid --days 'inf': expected a number above 0 and at most 36525 — usage: replay ?--days N|--from TIME --to TIME? ?--step DURATION? ?--tiers 1,2,3? ?--baselines on|off? ?--apply|--compare KEY=V1,V2…? ?--assets NAME|all? ?--asset NAME|all?"),
    ])
    func theFuzzedCrashesAreOneLineErrors(line: String, message: String) {
        let shell = shellWithData()
        let before = Snapshot(shell)
        #expect(shell.execute(line) == .failed(message))
        #expect(Snapshot(shell) == before)
    }

    @Test(arguments: ["set tier1_interval 1e19", "advance 1e19", "advance 9223372036854775808", "fetch demo 1e19", "fetch demo 5; replay --days inf"])
    func theBuiltShellExitsOneWithOneLine(line: String) throws {
        let result = try ShellProcess.run(["-c", line])
        #expect(result.status == 1)
        let errors = result.stderr.split(separator: "\n")
        #expect(errors.count == 1 && errors[0].contains("error: "), "\(result.stderr)")
    }

    @Test func theClockStaysWithinACenturyOfSystemTime() {
        let shell = shellWithData()
        #expect(shell.execute("advance 36525d") == .ok)
        #expect(shell.execute("advance 1d") == .failed("advancing 1d would put the loop's clock more than 100 years from system time (it is 36525d ahead) — advance less, or start a new session"))
        #expect(shell.engine.clock.offset == Bounded.century)
        #expect(shell.execute("clock") == .ok)
    }

    @Test func negativeZeroReadsAsZero() throws {
        let shell = quietShell()
        #expect(shell.execute("set performance_threshold -0") == .ok)
        #expect(shell.engine.config.performanceThreshold == 0)
        #expect(shell.engine.config.performanceThreshold.sign == .plus)
    }

    @Test func aHugeStepIsOneStepAndAHugeWindowIsAllTrainings() {
        let shell = shellWithData()
        // Within bounds but beyond the data: the replay still answers in bars, never an Int overflow.
        #expect(shell.execute("replay --days 36525") != .ok)
        #expect(shell.execute("replay --step 36525d --tiers 1 --baselines off") == .ok)
    }

    @Test(arguments: [
        ("1700003600,1,1,1,1e308,1", "close '1e308' is out of range — expected a number from 1e-12 to 1e12"),
        ("1000000000000000000000000000000,1,1,1,1,1", "time '1000000000000000000000000000000' is out of range — expected a time from 1970-01-01 up to (not including) 2200-01-01, such as 2026-11-20 or 2026-11-20T10:00"),
    ])
    func extremeCSVRowsAreRefusedWithTheirLine(row: String, message: String) throws {
        let shell = shellWithData()
        let csv = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-extreme-\(UUID()).csv").path
        try "timestamp,open,high,low,close,volume\n1700000000,1,1,1,1,1\n\(row)\n".write(toFile: csv, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let before = Snapshot(shell)
        #expect(shell.execute("import \(csv)") == .failed("\(csv):3: \(message)"))
        #expect(Snapshot(shell) == before)
        #expect(shell.execute("data") == .ok)
    }

    @Test func importSaysWhatIsWrongWithAPathThatIsNoFile() throws {
        let shell = quietShell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-kinds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/pipe", empty = directory + "/empty.csv"
        #expect(mkfifo(fifo, 0o600) == 0)
        FileManager.default.createFile(atPath: empty, contents: Data())
        let advice = "not a regular file — give the path of a CSV file"
        #expect(shell.execute("import /dev/null") == .failed("cannot import '/dev/null': it is a character device, \(advice)"))
        #expect(shell.execute("import \(directory)") == .failed("cannot import '\(directory)': it is a directory, \(advice)"))
        #expect(shell.execute("import \(fifo)") == .failed("cannot import '\(fifo)': it is a FIFO (named pipe), \(advice)"))
        #expect(shell.execute("import \(empty)") == .failed("'\(empty)' holds no data rows — expected a CSV header followed by rows"))
    }

    // MARK: Odd numbers through every numeric argument

    /// Written numbers every numeric argument refuses.
    static let odd = ["nan", "-nan", "inf", "-inf", "infinity", "0x10", "1e-320", "1e19", "-1e19", "9223372036854775808",
                      "-9223372036854775809", "99999999999999999999999999", "1e400", "-1e400", "1e400h", "9999999999999999w"]

    /// Every command argument that takes a number, duration or time; X is replaced by the odd number.
    static let arguments = [
        "advance X", "fetch demo X", "fetch demo 5 --seed X", "replay --days X", "replay --step X", "replay --from X",
        "replay --to X", "auto on --every X", "use logistic X", "use logistic vX", "history X", "importance logistic --top X",
        "trend logistic --window X", "replays show X",
    ] + LoopConfig.keys.filter { $0.kind.bounds != nil }.map { "set \($0.name) X" }

    @Test(arguments: odd)
    func everyNumericArgumentRefusesOddNumbersInOneLine(number: String) throws {
        let shell = shellWithData()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-numbers-\(UUID())").path
        shell.openSession(directory: directory, persistent: false)
        defer { shell.closeSession() }
        let before = Snapshot(shell)
        for template in Self.arguments {
            let line = template.replacingOccurrences(of: "X", with: number)
            guard case .failed(let message) = shell.execute(line) else {
                Issue.record("'\(line)' was accepted")
                continue
            }
            #expect(!message.contains("\n"), "\(line): \(message)")
            #expect(message.contains(number), "\(line): the message names what was typed: \(message)")
            #expect(Snapshot(shell) == before, "\(line) changed the state")
        }
    }

    // MARK: Session files: crafted values are refused at load

    /// A session saved with data, a training, a scored and a pending prediction, in a directory of its own.
    func savedSession() throws -> (shell: ShellContext, directory: String, path: String) {
        let shell = quietShell()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-crafted-\(UUID())").path
        shell.openSession(directory: directory, persistent: false)
        for line in ["set xgboost.threads 1", "fetch demo 5", "train tier1", "predict", "log BUY", "predict", "save base"] {
            #expect(shell.execute(line) == .ok, "\(line)")
        }
        return (shell, directory, directory + "/base.lgc")
    }

    /// A copy of `base` changed by `sql`.
    func crafted(_ base: String, _ sql: String) throws -> String {
        let path = (base as NSString).deletingLastPathComponent + "/crafted-\(UUID()).lgc"
        try FileManager.default.copyItem(atPath: base, toPath: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
        return path
    }

    static let lastBar = "(SELECT max(i) FROM bars)"

    @Test(arguments: [
        ("UPDATE config SET value = json_set(value, '$.tier1Interval', 1e300) WHERE key = 'loop_config_json'", "config tier1_interval", 1e300, Bounded.duration),
        ("UPDATE config SET value = json_set(value, '$.checkInterval', -5) WHERE key = 'loop_config_json'", "config check_interval", -5, .duration),
        ("UPDATE meta SET value = 1e300 WHERE key = 'clock_offset'", "meta.clock_offset", 1e300, .clockOffset),
        ("UPDATE bars SET time = 1e30 WHERE i = \(lastBar)", "bar 120 time", 1e30, .time),
        ("UPDATE bars SET close = 0 WHERE i = 0", "bar 1 close", 0, .price),
        ("UPDATE bars SET low = -1 WHERE i = 3", "bar 4 low", -1, .price),
        ("UPDATE bars SET volume = 1e300 WHERE i = 3", "bar 4 volume", 1e300, .volume),
        ("UPDATE training_runs SET time = 1e30", "training record 1 time", 1e30, .time),
        ("UPDATE training_runs SET data_end = -1e30", "training record 1 data end", -1e30, .time),
        ("UPDATE model_versions SET time = 1e30", "model version 1 time", 1e30, .time),
        ("UPDATE tiers SET last_training = 1e30 WHERE tier = 1", "tier1 last training", 1e30, .time),
        ("UPDATE pending SET bar_time = 1e30", "the pending prediction bar time", 1e30, .time),
        ("UPDATE pending SET price = -3", "the pending prediction price", -3, .price),
        ("UPDATE outcomes SET scored_at = 1e30", "outcome #1 time scored", 1e30, .time),
        ("UPDATE outcomes SET price = 0", "outcome #1 price", 0, .price),
        ("UPDATE outcomes SET made_at = 1e30", "outcome #1 time made", 1e30, .time),
        ("UPDATE commands SET at = 1e30 WHERE id = 1", "command 1 time", 1e30, .time),
    ])
    func craftedValuesAreRefusedAtLoadAndTheSessionStays(sql: String, field: String, value: Double, bounds: Bounded) throws {
        let (shell, _, base) = try savedSession()
        defer { shell.closeSession() }
        let path = try crafted(base, sql)
        #expect(shell.execute("fetch demo 3") == .ok)
        let before = Snapshot(shell)
        let message = ShellContext.message(for: SessionError.outOfRange(path: path, field: field, value: value, bounds: bounds))
        #expect(shell.execute("load \(path)") == .failed(message))
        #expect(!message.contains("\n"))
        #expect(Snapshot(shell) == before, "the current session is intact")
        for line in ["status", "models", "clock"] { #expect(shell.execute(line) == .ok, "\(line)") }
    }

    @Test func theLoadErrorNamesTheFileAndTheValue() throws {
        let (shell, _, base) = try savedSession()
        defer { shell.closeSession() }
        let path = try crafted(base, "UPDATE config SET value = json_set(value, '$.tier2Interval', 1e300) WHERE key = 'loop_config_json'")
        #expect(shell.execute("load \(path)") == .failed("'\(path)': config tier2_interval is 1e+300, out of range (expected a duration from 1s to 100 years, such as 90m, 6h or 2d); the file was changed outside lgc-shell — load another session"))
    }

    // MARK: One bound shared by set, import and the reader

    /// Durations around the bound: `set` accepts one exactly when a session file holding it loads.
    @Test(arguments: [0.5, 1, 3600, Bounded.century, Bounded.century + 1, 1e19, 1e300])
    func setAndTheReaderShareTheDurationBound(seconds: Double) throws {
        let (shell, _, base) = try savedSession()
        defer { shell.closeSession() }
        let setAccepts = shell.execute("set tier3_interval \(seconds)") == .ok
        let path = try crafted(base, "UPDATE config SET value = json_set(value, '$.tier3Interval', \(seconds)) WHERE key = 'loop_config_json'")
        let loadAccepts = shell.execute("load \(path)") == .ok
        #expect(setAccepts == loadAccepts)
        #expect(setAccepts == Bounded.duration.contains(seconds))
    }

    /// Bar times and prices around their bounds: `import` accepts a file exactly when a session holding the value loads.
    @Test(arguments: [
        ("time", 0.0), ("time", 1), ("time", Bounded.endOfTime - 3600), ("time", Bounded.endOfTime), ("time", Bounded.endOfTime + 3600),
        ("time", 9e10), ("close", 1e-12), ("close", 1e-13), ("close", 1e12), ("close", 1.0000001e12), ("close", 0), ("close", -1),
        ("close", 1e308), ("volume", 0), ("volume", 1e18), ("volume", 1e19), ("volume", -1),
    ])
    func importAndTheReaderShareTheBarBounds(field: String, value: Double) throws {
        let (shell, directory, base) = try savedSession()
        defer { shell.closeSession() }
        let first = try #require(shell.engine.series?.first?.time)
        // The crafted value goes to the first bar when it is an early time, else to the last; time order holds.
        let early = field == "time" && value < first
        let (time, other) = field == "time" ? (value, early ? value + 3600 : value - 3600) : (1_700_000_000.0, 1_700_003_600.0)
        let close = field == "close" ? value : 100, volume = field == "volume" ? value : 1
        let rows = [(time, close, volume), (other, 100.0, 1.0)].sorted { $0.0 < $1.0 }
        let csv = directory + "/bounds.csv"
        try ("timestamp,open,high,low,close,volume\n" + rows.map { "\(Int64($0.0)),100,100,100,\($0.1),\($0.2)\n" }.joined())
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let importAccepts = shell.execute("import \(csv)") == .ok
        let row = early ? "0" : Self.lastBar
        let column = field == "close" ? "close = \(value), open = \(value), high = \(value), low = \(value)" : "\(field) = \(value)"
        let path = try crafted(base, "UPDATE bars SET \(column) WHERE i = \(row)")
        let loadAccepts = shell.execute("load \(path)") == .ok
        #expect(importAccepts == loadAccepts, "import \(importAccepts), load \(loadAccepts)")
        let bounds: Bounded = field == "time" ? .time : field == "close" ? .price : .volume
        #expect(importAccepts == bounds.contains(value))
    }
}
