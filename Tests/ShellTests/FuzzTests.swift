import FeedbackLoop
import Foundation
import MarketData
@testable import Shell
import Testing

/// Seeded fuzzing of the command language, as the most careless and most hostile users type it: lines built from
/// the command table (every verb, its synopsis words, its flags) with wrong arity, extreme and malformed numbers,
/// durations and times, odd paths and control characters, run through script mode and `-c`, in text and JSON.
///
/// Whatever the line, the shell must end every run with 0 or 1 (never a crash, a signal or a hang), every error
/// must be exactly one `error:` line on stderr with control characters escaped, and in JSON mode every stdout line
/// must be one object, one per command, with one stderr error line per failed command.
@Suite(.serialized) struct CommandLineFuzz {
    /// Lines per script-mode run, and runs; `-c` runs take fewer lines each.
    static let linesPerScript = 60
    /// `LGC_FUZZ_SCALE=4` runs four times as many (about 10,000 lines) for a deeper search by hand.
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["LGC_FUZZ_SCALE"] ?? "") ?? 1)
    static let scripts = 40 * scale
    static let commandRuns = 16 * scale
    static let linesPerCommandRun = 15

    @Test func thousandsOfMutatedLinesNeverCrashHangOrSpillAnError() throws {
        let directory = try ShellProcess.temporaryDirectory()
        try FuzzFiles.write(into: directory)
        // `LGC_FUZZ_SEED=N` explores other lines by hand; the suite always runs the same ones.
        let seed = UInt64(ProcessInfo.processInfo.environment["LGC_FUZZ_SEED"] ?? "") ?? 0x5EED_F022
        var generator = LineGenerator(seed: seed, directory: directory)
        var failures: [String] = []
        var linesRun = 0
        for run in 0..<(Self.scripts + Self.commandRuns) {
            let viaScript = run < Self.scripts
            let json = run % 2 == 1
            let count = viaScript ? Self.linesPerScript : Self.linesPerCommandRun
            let lines = (0..<count).map { _ in generator.line() }
            linesRun += lines.count
            // Small data and short trainings: the fuzz is after crashes and wording, not after long fits.
            let preamble = ["set xgboost.threads 1", "set lstm.epochs 2", "fetch demo 3 --seed \(run)"]
            var arguments = ["--keep-going"] + (json ? ["--format", "json"] : [])
            var stdin: String?
            if viaScript {
                let script = directory.appendingPathComponent("fuzz-\(run).lgc")
                try (preamble + lines).joined(separator: "\n").appending("\n").write(to: script, atomically: true, encoding: .utf8)
                arguments.append(script.path)
            } else {
                // `-c` splits on ';': a line's own ';' makes more commands, which is fine (they are fuzz too).
                arguments += ["-c", (preamble + lines).joined(separator: "; ")]
                stdin = ""
            }
            let result = try ShellProcess.run(arguments, stdin: stdin, environment: generator.environment,
                                              directory: directory, timeout: 180)
            let problems = Self.problems(in: result, json: json)
            if !problems.isEmpty {
                let shown = (viaScript ? lines : [lines.joined(separator: "; ")]).enumerated()
                    .map { "  \($0.offset + preamble.count + 1): \(Self.visible(String($0.element.prefix(300))))" }
                failures.append("run \(run) (\(viaScript ? "script" : "-c"), \(json ? "json" : "text")): "
                                + problems.map { String($0.prefix(300)) }.joined(separator: "; ") + "\n" + shown.joined(separator: "\n")
                                + "\n  stderr:\n" + result.stderr)
            }
        }
        #expect(linesRun >= 2_500 * Self.scale)
        // The whole story goes to a file; the expectation shows the first failing run.
        let report = directory.appendingPathComponent("fuzz-report.txt")
        try failures.joined(separator: "\n\n").write(to: report, atomically: true, encoding: .utf8)
        #expect(failures.count == 0, "\(failures.first.map { String($0.prefix(4000)) } ?? "") — every failing run: \(report.path)")
    }

    /// What is wrong with one run's result; empty when it held every rule.
    static func problems(in result: ShellProcess.Result, json: Bool) -> [String] {
        var problems: [String] = []
        if result.timedOut { problems.append("hung (killed after the timeout)") }
        if result.signalled && !result.timedOut { problems.append("crashed with signal \(result.status)") }
        if !result.signalled, result.status != 0, result.status != 1 { problems.append("exit status \(result.status)") }
        let stderrLines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        var errorLines = 0
        for line in stderrLines {
            if line.unicodeScalars.contains(where: { isControl($0) }) {
                problems.append("raw control character on stderr: \(visible(String(line.prefix(200))))")
                break
            }
            if line.contains(": error: ") || line.hasPrefix("error: ") {
                errorLines += 1
            } else if !allowedPrefixes.contains(where: { line.hasPrefix($0) }) {
                problems.append("stderr line that is neither a log nor an error (a multi-line error?): \(visible(String(line.prefix(200))))")
                break
            }
        }
        if json {
            var failed = 0
            for line in result.stdout.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      object["ok"] is Bool || object["event"] is String else {
                    problems.append("stdout line that is not one JSON object: \(visible(String(line.prefix(200))))")
                    break
                }
                if object["ok"] as? Bool == false { failed += 1 }
            }
            if problems.isEmpty, !result.signalled, failed != errorLines {
                problems.append("\(failed) failed commands in JSON but \(errorLines) error lines on stderr")
            }
        }
        return problems
    }

    static let allowedPrefixes = ["[INFO] ", "[SUCCESS] ", "[WARNING] ", "[ERROR] "]

    /// C0 controls but tab, DEL and C1 controls: what can move a terminal's cursor or change its state.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }

    /// A line as a failure message can show it.
    static func visible(_ text: String) -> String {
        text.unicodeScalars.map { isControl($0) ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }
}

/// Files the fuzzed `import` lines point at: extreme values, garbage, empty, a folder.
enum FuzzFiles {
    static func write(into directory: URL) throws {
        func file(_ name: String, _ text: String) throws {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        var ok = "timestamp,open,high,low,close,volume\n"
        for hour in 0..<72 {
            let price = 100 + Double(hour % 7)
            ok += "\(1_700_000_000 + hour * 3600),\(price),\(price + 1),\(price - 1),\(price + 0.5),10\n"
        }
        try file("ok.csv", ok)
        try file("huge.csv", ok.replacingOccurrences(of: ",103.5,", with: ",1e308,"))
        try file("times.csv", ok.replacingOccurrences(of: "1700007200,", with: "1e30,"))
        try file("negative.csv", ok.replacingOccurrences(of: ",102.5,", with: ",-5,"))
        try file("empty.csv", "")
        try file("header.csv", "timestamp,open,high,low,close,volume\n")
        try Data([0x00, 0xFF, 0x1B, 0x5B, 0x32, 0x4A, 0x0A, 0x0D, 0x80]).write(to: directory.appendingPathComponent("garbage.csv"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("folder.csv"), withIntermediateDirectories: true)
    }
}

/// Builds command lines from the command table with a seeded generator, so a failure reproduces exactly.
struct LineGenerator {
    private var random: SplitMix64
    let environment: [String: String]

    init(seed: UInt64, directory: URL) {
        random = SplitMix64(seed: seed)
        environment = ["LGC_SESSIONS": directory.appendingPathComponent("sessions").path,
                       "HOME": directory.path, "NO_COLOR": "1",
                       // A dead network: CoinGecko on a port nothing listens on.
                       "LGC_COINGECKO_URL": "http://127.0.0.1:9", "COLUMNS": "80"]
    }

    static let numbers = ["0", "-0", "1", "2", "3", "-1", "1.5", "1e19", "-1e19", "9223372036854775808",
                          "-9223372036854775809", "1e308", "1e309", "inf", "-inf", "nan", "NaN", "1e-320", "0x10",
                          "1_000", "", "1e", "++1", "\u{0663}", "\u{FF11}", "99999999999999999999999999", "4.9e-324"]
    static let durations = ["1h", "90m", "0s", "-5m", "1e400h", "9999999999999999w", "1e19", "1h30", "h", "1.5d",
                            "inf", "nan", "2d", "1e-9s", "1w", "6h", "1e19s", "9223372036854775807s", "3h2h"]
    static let times = ["2010-01-01", "2010-01-02T05:00:00Z", "2026-13-45T99:00:00Z", "1e30", "-1", "0",
                        "9999-12-31", "yesterday", "1970-01-01T00:00:00Z", "2200-01-01"]
    static let paths = [".", "./", "/", "..", "a/", "-", "x", "out.csv", "''", "\"\"", "nothere/x.csv", "\"a b.csv\"",
                        "~", "~/x", "ok.csv", "huge.csv", "times.csv", "negative.csv", "empty.csv", "header.csv",
                        "garbage.csv", "folder.csv", "/dev/null", "sessions", "x.lgc", "a/b/", "*.csv"]
    static let hostile = ["\u{1B}[31mred", "a\u{07}b", "tab\there", "\u{7F}", "\u{9B}31m", "cr\rhere", "é",
                          "🙂", String(repeating: "A", count: 3000), "\"unclosed", "--", "-", "--=", "a;b", "#x",
                          "\u{1B}]0;title\u{07}", "\u{2028}", "%s%n", "$(id)", "`id`"]

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
    private mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }

    /// A hostile value of any kind.
    private mutating func anyValue() -> String {
        switch random.next() % 5 {
        case 0: return pick(Self.numbers)
        case 1: return pick(Self.durations)
        case 2: return pick(Self.times)
        case 3: return pick(Self.paths)
        default: return pick(Self.hostile)
        }
    }

    /// The words a synopsis offers: `train tier1|tier2|tier3` → tier1, tier2, tier3.
    private static func synopsisWords(_ spec: CommandSpec) -> [String] {
        spec.synopsis.split(whereSeparator: { " |?…".contains($0) }).dropFirst()
            .map(String.init).filter { !$0.hasPrefix("--") && $0.uppercased() != $0 }
    }

    /// The kinds of a synopsis's positionals, in order: `use MODEL VERSION` → MODEL, VERSION (flag values skipped).
    private static func placeholders(_ spec: CommandSpec) -> [String] {
        var kinds: [String] = []
        var afterFlag = false
        for token in spec.synopsis.split(separator: " ").dropFirst() {
            let word = token.trimmingCharacters(in: CharacterSet(charactersIn: "?…"))
            if word.hasPrefix("--") {
                afterFlag = true
                continue
            }
            defer { afterFlag = false }
            guard !afterFlag, let first = word.split(separator: "|").first.map(String.init),
                  first.uppercased() == first, first.first?.isLetter == true else { continue }
            kinds.append(first)
        }
        return kinds
    }

    /// A value of the kind a placeholder names, usually; anything now and then.
    private mutating func value(ofKind kind: String) -> String {
        guard chance(75) else { return anyValue() }
        switch kind {
        case "DURATION": return pick(Self.durations)
        case "N", "DAYS", "ID", "VERSION", "COUNT": return pick(Self.numbers)
        case "T", "TIME": return pick(Self.times)
        case "PATH", "NAME", "FILE": return pick(Self.paths)
        case "MODEL": return pick(["logistic", "xgboost", "lstm", "LSTM", "xgb"])
        case "COIN": return pick(["demo", "bitcoin", "demo", "ethereum"])
        case "SIGNAL", "BUY": return pick(["BUY", "SELL", "HOLD", "buy", "B"])
        default: return anyValue()
        }
    }

    /// A value for `flag`: one of its choices, a value of the kind its name suggests, or anything.
    private mutating func value(for flag: FlagSpec) -> String {
        let values = flag.placeholder.map { $0.split(separator: "|").map(String.init) } ?? []
        if values.count > 1, chance(50) { return pick(values) }
        switch flag.valueName?.uppercased() ?? "" {
        case "DURATION": return chance(70) ? pick(Self.durations) : anyValue()
        case "T", "TIME": return chance(70) ? pick(Self.times) : anyValue()
        case "N", "ID", "DAYS", "LIST": return chance(70) ? pick(Self.numbers + ["1,2", "1,2,3", "4", "1,,2", "0"]) : anyValue()
        default: return anyValue()
        }
    }

    mutating func line() -> String {
        // A third of the lines start from a documented example and break one thing in it.
        let spec = pick(Commands.all.filter { $0.name != "quit" })
        var words: [String]
        if chance(33), !spec.examples.isEmpty {
            words = pick(spec.examples).split(separator: " ").map(String.init)
            let index = Int(random.next() % UInt64(words.count))
            switch random.next() % 4 {
            case 0: words[index] = anyValue()
            case 1: if words.count > 1 { words.remove(at: index) }
            case 2: words.insert(anyValue(), at: index + 1)
            default: words.append(contentsOf: [anyValue(), anyValue()])
            }
        } else {
            words = [chance(90) ? spec.name : typo(spec.name)]
            words += arguments(for: spec)
        }
        return tame(words).joined(separator: chance(5) ? "  \t " : " ")
    }

    private mutating func typo(_ name: String) -> String {
        var characters = Array(name)
        switch random.next() % 3 {
        case 0: characters.swapAt(0, characters.count - 1)
        case 1: characters.removeLast()
        default: return name.uppercased()
        }
        return String(characters)
    }

    private mutating func arguments(for spec: CommandSpec) -> [String] {
        var words: [String] = []
        switch spec.name {
        case "set", "get", "reset":
            let key = pick(LoopConfig.keys).name
            words.append(chance(90) ? key : key + "x")
            if spec.name == "set" || chance(10) {
                words.append(chance(40) ? pick(Self.numbers) : chance(60) ? pick(Self.durations) : anyValue())
            }
            return words
        default:
            break
        }
        let choices = Self.synopsisWords(spec)
        // Wrong arity on purpose: from one fewer to two more than the command takes.
        let lower = max(0, spec.positionals.lowerBound - 1)
        let count = lower + Int(random.next() % UInt64(spec.positionals.upperBound - lower + 3))
        let kinds = Self.placeholders(spec)
        for position in 0..<count {
            if !choices.isEmpty, chance(40) {
                words.append(pick(choices))
            } else {
                words.append(value(ofKind: position < kinds.count ? kinds[position] : ""))
            }
        }
        for _ in 0..<Int(random.next() % 3) where !spec.flags.isEmpty {
            let flag = pick(spec.flags)
            guard flag.valueName != nil else {
                words.append("--" + flag.name)
                continue
            }
            switch random.next() % 6 {
            case 0: words.append("--\(flag.name)=\(value(for: flag))")
            case 1: words.append("--" + flag.name)   // its value missing
            default: words += ["--" + flag.name, value(for: flag)]
            }
        }
        if chance(5) { words.append("--" + pick(["nosuch", "forc", "seeed", ""])) }
        return words
    }

    /// Keeps a line inside what a test run can afford without losing what it tests: no auto check every second over
    /// long spans (refused above 10,000 checks, but 9,999 real checks would take minutes), no quitting.
    private mutating func tame(_ words: [String]) -> [String] {
        guard let verb = words.first?.lowercased() else { return words }
        var words = words
        if verb == "auto", let every = words.firstIndex(where: { $0.hasPrefix("--every") }) {
            let safe = pick(["1h", "6h", "0s", "-1h", "1e400h", "nan", "1d"])
            if words[every].contains("=") { words[every] = "--every=" + safe } else if every + 1 < words.count { words[every + 1] = safe }
        }
        if verb == "set", words.count > 2, words[1] == "check_interval" { words[2] = pick(["1h", "6h", "0", "-1", "1e19", "nan"]) }
        if verb == "quit" || verb == "exit" { words[0] = "clock" }
        // A replay with its every-step baseline over 30 days is minutes of fits in a debug build.
        if verb == "replay" {
            if !words.contains(where: { $0.hasPrefix("--baselines") }) { words += ["--baselines", "off"] }
            if !words.contains(where: { $0.hasPrefix("--tiers") }) { words += ["--tiers", "1"] }
        }
        return words
    }
}
