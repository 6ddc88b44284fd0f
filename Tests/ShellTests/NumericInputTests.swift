import FeedbackLoop
import Foundation
import MarketData
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
        let config: LoopConfig, offset: TimeInterval, bars: Int, seed: String?
        init(_ shell: ShellContext) {
            config = shell.engine.config
            offset = shell.engine.clock.offset
            bars = shell.engine.series?.count ?? 0
            seed = shell.engine.config.automation.refetch
        }
    }

    // MARK: Each crash of issue 11, its own regression test

    @Test(arguments: [
        ("set tier1_interval 1e19", "invalid value '1e19' for tier1_interval: expected a duration from 1s to 100 years, such as 90m, 6h or 2d"),
        ("advance 1e19", "advance: invalid DURATION '1e19': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: advance DURATION"),
        ("advance 9223372036854775808", "advance: invalid DURATION '9223372036854775808': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: advance DURATION"),
        ("fetch demo 1e19", "fetch: invalid DAYS '1e19': expected a whole number from 1 to 3650 — usage: fetch ?COIN? ?DAYS? ?--source coingecko|demo? ?--seed N?"),
        ("replay --days inf", "replay: invalid --days 'inf': expected a number above 0 and at most 36525 — usage: replay ?--days N|--from T --to T? ?--step DURATION? ?--tiers 1,2,3? ?--baselines on|off? ?--apply|--compare KEY=V1,V2…?"),
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
        try shell.openSession(directory: directory, persistent: false)
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
}
