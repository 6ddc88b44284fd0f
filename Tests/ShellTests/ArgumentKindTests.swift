import FeedbackLoop
import Foundation
@testable import Shell
import Testing

/// The typed argument kinds: each one's parse, its exact error wording, its completion and its synopsis fragment.
@Suite struct ArgumentKinds {
    func message(_ line: String) -> String {
        guard let parsed = try? LineParser.parse(line), let command = Commands.find(parsed.words[0]) else { return "no command" }
        do {
            _ = try command.bind(parsed.words.dropFirst())
            return "ok"
        } catch {
            return "\(error)"
        }
    }

    @Test("each kind's errors, worded in one place", arguments: [
        // Duration, integer range, real range, time.
        ("advance soon", "advance: invalid DURATION 'soon': expected a duration from 1s to 100 years, such as 90m, 6h or 2d — usage: advance DURATION"),
        ("history 0", "history: invalid N '0': expected a whole number from 1 to 9007199254740991 — usage: history ?N?"),
        ("replay --days -1", "replay: invalid --days '-1': expected a number above 0 and at most 36525 — usage: \(Commands.replay.synopsis)"),
        ("replay --from yesterday", "replay: invalid --from 'yesterday': expected a time from 1970-01-01 up to (not including) 2200-01-01, such as 2026-11-20 or 2026-11-20T10:00 — usage: \(Commands.replay.synopsis)"),
        // Tier, tier list.
        ("train tier9", "train: unknown tier 'tier9' — expected tier1, tier2 or tier3 — usage: train tier1|tier2|tier3 ?--asset NAME|all?"),
        ("auto on --tiers 1,4", "auto: unknown tier '4' — expected tier1, tier2 or tier3 — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("auto on --tiers ,", "auto: --tiers needs at least one tier, e.g. 1,2 — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        // Choices: positional (named by their words) and flag values.
        ("auto maybe", "auto: expected 'on' or 'off', got 'maybe' — usage: auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("log UP", "log: expected 'BUY', 'SELL' or 'HOLD', got 'UP' — usage: log BUY|SELL|HOLD ?--predicted BUY|SELL|HOLD?"),
        ("replay --baselines maybe", "replay: invalid --baselines 'maybe': expected 'on' or 'off' — usage: \(Commands.replay.synopsis)"),
        // Models: unknown, and a real model the command does not take.
        ("trend lgstic", "trend: unknown model 'lgstic' — did you mean 'logistic'? — usage: trend MODEL ?--window N?"),
        ("importance lstm", "importance: expected 'xgboost' or 'logistic', got 'lstm' — usage: importance xgboost|logistic ?--top N?"),
        ("use lstm v0", "use: invalid VERSION '0': expected a whole number from 1 to 9007199254740991 — usage: use MODEL VERSION"),
        // Config key, KEY=V1,V2, replay ID.
        ("get performance_treshold", "get: unknown config key 'performance_treshold' — did you mean 'performance_threshold'? — usage: get KEY"),
        ("replay --compare performance_threshold", "replay: invalid --compare 'performance_threshold': expected KEY=V1,V2 such as performance_threshold=0.5,0.6 — usage: \(Commands.replay.synopsis)"),
        ("replay --compare nosuch=1,2", "replay: unknown config key 'nosuch' — 'config' lists every key — usage: \(Commands.replay.synopsis)"),
        ("set tier1_interval 0", "invalid value '0' for tier1_interval: expected a duration from 1s to 100 years, such as 90m, 6h or 2d"),
        ("set format yaml", "invalid value 'yaml' for format: expected text or json"),
        ("replay --compare performance_threshold=0.5,2", "invalid value '2' for performance_threshold: expected a number from 0 to 1"),
        ("replays show x", "replays: invalid ID 'x': expected a replay number such as 3 or #3 — usage: replays ?show ID|diff A B?"),
        // Subcommands and groups of flags that exclude each other.
        ("replays diff 1", "replays: 'diff' takes A B: missing B — usage: replays ?show ID|diff A B?"),
        ("export chart x.csv", "export: unknown subcommand 'chart' — expected 'features PATH.csv', 'model xgboost|logistic PATH.json', 'notebook PATH.md', 'log PATH.csv' or 'perf PATH.csv' — usage: \(Commands.export.synopsis)"),
        ("chart price logistic", "chart: 'price' takes no arguments ('logistic' is extra) — usage: chart accuracy ?MODEL…?|price|live|sweep NAME KEY1 ?KEY2? ?--metric accuracy|directional_accuracy|brier|log_loss? ?--at KEY=VALUE? ?--asset NAME|all?"),
        ("replay --from 2026-11-01 --days 3", "replay: give --days or --from/--to, not both — usage: \(Commands.replay.synopsis)"),
    ])
    func errors(line: String, expected: String) {
        #expect(message(line) == expected)
    }

    @Test("typed values reach the handler", arguments: [
        ("fetch 90 bitcoin", "bitcoin", 90), ("fetch demo", "demo", nil), ("fetch 7", nil, 7),
    ] as [(String, String?, Int?)])
    func fetchOrder(line: String, coin: String?, days: Int?) throws {
        let args = try Commands.fetch.bind(try LineParser.parse(line).words.dropFirst())
        #expect(args.value(of: Commands.FetchRequest.coin) == coin)
        #expect(args.value(of: Commands.FetchRequest.days) == days)
    }

    /// The kind of each error is a value (what was wrong, with its data); only `description` words it.
    @Test("errors carry their kind and data", arguments: [
        ("replay --days 3 --to 2026-11-01", .conflicting(["--days", "--from/--to"])),
        ("replays diff 1", .missingSubcommandArgument(subcommand: "diff", takes: "A B", missing: ["B"])),
        ("check sideways", .unknownSubcommand("sideways", expected: ["lookahead", "warmup"])),
        ("fetch --sauce demo", .unknownOption("sauce", suggestion: "source")),
        ("fetch --seed", .missingValue(option: "seed", valueName: "N")),
        ("status now", .extraArgument("now", takesNone: true, subcommand: nil)),
        ("train", .missingArgument),
    ] as [(String, BindingProblem)])
    func bindingProblems(line: String, expected: BindingProblem) throws {
        let words = try LineParser.parse(line).words
        do {
            _ = try #require(Commands.find(words[0])).bind(words.dropFirst())
            Issue.record("\(line) was accepted")
        } catch ShellError.binding(_, let problem) {
            #expect(problem == expected)
        }
    }

    @Test func argumentProblemsAreTyped() throws {
        do {
            _ = try Commands.auto.bind(["on", "--tiers", "1,9"])
            Issue.record("accepted")
        } catch ShellError.argument(_, let argument, let problem) {
            #expect(argument == "--tiers" && problem == .unknownTier("9"))
        }
    }

    @Test func kindsParseTypedValues() throws {
        #expect(try TierListKind().parse("tier3,1,t1") == [1, 3])
        #expect(try DurationKind().parse("1h30m") == 5400)
        #expect(try WholeKind(1...10, versionPrefix: true).parse("v3") == 3)
        #expect(try ReplayIDKind().parse("#12") == 12)
        #expect(try KeyValuesKind().parse("Performance_Threshold=0.5,0.6") == .init(key: "performance_threshold", values: ["0.5", "0.6"]))
        #expect(try ChoiceKind(Signal.allCases).parse("sell") == .sell)
        #expect(throws: ArgumentProblem.outOfRange(text: "0", bounds: .whole(1...10))) { try WholeKind(1...10).parse("0") }
        let args = try Commands.replay.bind(["--tiers", "2,1", "--step", "6h", "--baselines", "OFF"])
        #expect(args.value(of: Commands.ReplayArguments.tiers) == [1, 2])
        #expect(args.value(of: Commands.ReplayArguments.step) == 21_600)
        #expect(args.value(of: Commands.ReplayArguments.baselines) == .off)
    }

    /// Today's usage lines, now generated from the declarations: the visible format is kept.
    @Test("every command's synopsis is generated from its declaration", arguments: [
        ("fetch", "fetch ?COIN? ?SYMBOL…? ?DAYS? ?--source coingecko|demo? ?--seed N? ?--end TIME? ?--interval 1m|5m|15m|1h|4h|1d?"),
        ("import", "import PATH… ?--symbol NAME?"),
        ("export", "export features PATH.csv|model xgboost|logistic PATH.json|notebook PATH.md|log PATH.csv|perf PATH.csv ?--asset NAME|all?"),
        ("train", "train tier1|tier2|tier3 ?--asset NAME|all?"),
        ("cycle", "cycle ?--force? ?--asset NAME|all?"),
        ("replay", "replay ?--days N|--from TIME --to TIME? ?--step DURATION? ?--tiers 1,2,3? ?--baselines on|off? ?--apply|--compare KEY=V1,V2…? ?--assets NAME|all? ?--asset NAME|all?"),
        ("replays", "replays ?show ID|diff A B?"),
        ("auto", "auto ?on|off? ?--every DURATION? ?--tiers 1,2,3?"),
        ("advance", "advance DURATION"),
        ("log", "log BUY|SELL|HOLD ?--predicted BUY|SELL|HOLD?"),
        ("trend", "trend MODEL ?--window N?"),
        ("chart", "chart accuracy ?MODEL…?|price|live|sweep NAME KEY1 ?KEY2? ?--metric accuracy|directional_accuracy|brier|log_loss? ?--at KEY=VALUE? ?--asset NAME|all?"),
        ("importance", "importance xgboost|logistic ?--top N?"),
        ("check", "check lookahead|warmup ?--samples N?"),
        ("save", "save ?NAME? ?--force?"),
        ("load", "load NAME|PATH ?--in-place?"),
        ("use", "use MODEL VERSION"),
        ("set", "set KEY VALUE"),
        ("help", "help ?COMMAND?"),
        ("history", "history ?N?"),
    ])
    func synopsis(name: String, expected: String) throws {
        #expect(try #require(Commands.find(name)).synopsis == expected)
    }

    @Test("every command's synopsis matches its arguments", arguments: Commands.all.map(\.name))
    func synopsisMatchesDeclaration(name: String) throws {
        let command = try #require(Commands.find(name))
        #expect(command.synopsis == Synopsis.generate(name: command.name, positionals: command.arguments,
                                                      subcommands: command.subcommands,
                                                      subcommandOptional: command.subcommandOptional,
                                                      flags: command.flags, exclusive: command.exclusive))
        // Every declared part shows, and every flag the synopsis shows is declared.
        for fragment in Synopsis.fragments(command.arguments) { #expect(command.synopsis.contains(fragment)) }
        for sub in command.subcommands { #expect(command.synopsis.contains(sub.synopsis)) }
        for flag in command.flags { #expect(command.synopsis.contains(Synopsis.flag(flag)), "\(name) --\(flag.name)") }
        let shown = command.synopsis.split(separator: " ").compactMap { word -> String? in
            let trimmed = word.trimmingCharacters(in: CharacterSet(charactersIn: "?"))
            return trimmed.hasPrefix("--") ? String(trimmed.dropFirst(2).split(separator: "|")[0]) : nil
        }
        #expect(Set(shown).isSubset(of: Set(command.flags.map(\.name))), "\(name): \(shown)")
        // Each group of exclusive flags names declared flags.
        for name in command.exclusive.joined().joined() { #expect(command.flags.contains { $0.name == name }) }
    }

    @Test func helpListsSubcommandsOnePerLine() throws {
        let text = Commands.helpFor(Commands.export, shell: quietShell()).text
        #expect(text.contains("""
        subcommands:
          export features PATH.csv
          export model xgboost|logistic PATH.json
          export notebook PATH.md
          export log PATH.csv
          export perf PATH.csv
        """))
        #expect(!Commands.helpFor(Commands.train, shell: quietShell()).text.contains("subcommands:"))
    }

    /// `Commands.all` is a hand list: a command declared but left out of it would silently not exist.
    @Test func everyDeclaredCommandIsInTheTable() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Shell").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        let pattern = try NSRegularExpression(pattern: #"static let (\w+): CommandSpec = CommandSpec\(\s*"([^"]+)""#)
        var declared: [String] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.append(String(text[Range(match.range(at: 2), in: text)!]))
            }
        }
        #expect(declared.count >= 30, "the scan found the declarations: \(declared)")
        let missing = declared.filter { name in !Commands.all.contains { $0.name == name } }
        #expect(missing.isEmpty, "declared as CommandSpec but missing from Commands.all: \(missing)")
        #expect(Set(Commands.all.map(\.name)).count == Commands.all.count, "a command listed twice")
    }
}

/// Tab completion from the kinds: after flags, flag values, config values, subcommands.
@Suite struct KindCompletion {
    @Test(arguments: [
        ("fetch --seed 7 ", ["demo", "binance", "bitcoin", "ethereum", "solana"]),
        ("fetch --seed=7 bi", ["binance", "bitcoin"]),
        ("fetch binance ", ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT"]),
        ("fetch binance E", ["ETHUSDT"]),
        ("fetch binance BTCUSDT 365 --interval ", ["1m", "5m", "15m", "1h", "4h", "1d"]),
        ("fetch binance BTCUSDT --interval=1", ["--interval=1m", "--interval=15m", "--interval=1h", "--interval=1d"]),
        ("auto on --tiers ", ["1", "2", "3", "1,2", "1,2,3"]),
        ("auto on --tiers 1,", ["1,2", "1,3"]),
        ("replay --baselines ", ["on", "off"]),
        ("replay --baselines=o", ["--baselines=on", "--baselines=off"]),
        ("log --predicted S", ["SELL"]),
        ("set performance_vs_baseline ", ["off", "on"]),
        ("set max_model_age a", ["auto"]),
        ("set tier1_interval ", ["30m", "1h", "6h", "1d"]),
        ("set performance_metric ", PerformanceMetric.allCases.map(\.rawValue)),
        ("replay --compare performance_m", ["performance_metric="]),
        ("replay --compare adaptive_intervals=", ["adaptive_intervals=off", "adaptive_intervals=on"]),
        ("export ", ["features", "model", "notebook", "log", "perf"]),
        ("export model ", ["xgboost", "logistic"]),
        ("check ", ["lookahead", "warmup"]),
        ("chart accuracy logistic ", ["logistic", "xgboost", "lstm"]),
        ("chart price ", []),
        ("use xgboost ", []),
        ("train --nosuch t", ["tier1", "tier2", "tier3"]),
        ("help tr", ["train", "trend"]),
        ("replay --days 3 --", ["--step", "--tiers", "--baselines", "--apply", "--compare", "--assets", "--asset"]),
        ("replay --apply --from 2026-11-01 --", ["--to", "--step", "--tiers", "--baselines", "--assets", "--asset"]),
        ("save \"my run\" --", ["--force"]),
        // Words before the cursor are read as the command reads them: quotes removed.
        ("set \"performance_vs_baseline\" ", ["off", "on"]),
    ])
    func candidates(line: String, expected: [String]) {
        #expect(Completion.complete(line, shell: quietShell()).candidates == expected)
    }
}

/// The same completions on a real pseudo-terminal, through libedit's Tab.
@Suite struct KindCompletionOnATerminal {
    @Test func tabCompletesAfterFlagsAndConfigValues() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let session = try TerminalSession(environment: ["LGC_HISTORY": directory.appendingPathComponent("history").path])
        #expect(session.waitFor("lgc> "), "no prompt: \(session.screen)")
        var mark = session.mark
        // After a flag and its value the next positional still completes: COIN.
        session.type("fetch --seed 7 de\t10\r")
        #expect(session.waitForPrompt(after: "240 1h bars of DEMO", since: mark), "after a flag: \(session.screen)")
        mark = session.mark
        session.type("set adaptive_intervals o\t\t")   // off/on are ambiguous: the second Tab lists them
        #expect(session.waitFor("off  on", since: mark), "config values listed: \(session.screen)")
        session.type("\u{15}")   // Ctrl-U clears the line
        mark = session.mark
        session.type("set adaptive_intervals of\t\r")
        #expect(session.waitForPrompt(after: "adaptive_intervals = off", since: mark), "config value: \(session.screen)")
        mark = session.mark
        session.type("\u{04}")
        #expect(session.waitForPrompt(after: "This session is not saved", since: mark))
        session.type("\u{04}")
        #expect(session.exitStatus() == 0)
    }
}
