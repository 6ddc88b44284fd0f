import FeedbackLoop
import Foundation
import MarketData

/// The command table: one place that dispatch, help, usage lines and completion all read.
public enum Commands {
    public static let all: [CommandSpec] = [
        fetch, importCSV, data, assets, asset, export,
        train, cycle, replay, replays, sweep, auto, advance, clock,
        predict, log, perf,
        trend, chart, status, importance, check,
        save, load, sessions, recover, models, use,
        config, get, set, reset,
        help, history, quit,
    ]

    /// Every name and alias, for completion and did-you-mean.
    public static var names: [String] { all.flatMap { [$0.name] + $0.aliases } }

    public static func find(_ name: String) -> CommandSpec? {
        let lowered = name.lowercased()
        return all.first { $0.name == lowered || $0.aliases.contains(lowered) }
    }

    static let help: CommandSpec = CommandSpec(
        "help", aliases: ["?"], group: .shell,
        abstract: "List commands, or show one command's usage, description and examples",
        examples: ["help", "help train"],
        arguments: [helpCommand.spec],
        run: { shell, args in
            if let name = args.value(of: helpCommand) {
                guard let command = find(name) else {
                    throw ShellError.unknownCommand(name, suggestion: Suggest.closest(to: name, in: names))
                }
                return helpFor(command, shell: shell)
            }
            return overview(shell)
        })

    /// A command name; an unknown one is refused by `help` itself, with a did-you-mean over names and aliases.
    static let helpCommand = Positional("COMMAND", WordKind(candidates: { _ in all.map(\.name) }), optional: true)

    static func overview(_ shell: ShellContext) -> CommandOutput {
        let paint = shell.paint
        let width = all.map(\.name.count).max()! + 2
        var lines = ["lgc-shell — a research shell for market-prediction models that retrain themselves.",
                     "For research and education only; never trading advice.", ""]
        for group in CommandGroup.allCases {
            let members = all.filter { $0.group == group }
            guard !members.isEmpty else { continue }
            lines.append(paint.bold(group.rawValue))
            for command in members {
                lines.append("  " + command.name.padding(toLength: width, withPad: " ", startingAt: 0) + command.abstract)
            }
        }
        lines += ["", "More with 'help COMMAND'. Tab completes commands, keys and paths; '#' starts a comment.",
                  "Every command prints one JSON object instead of text with 'set format json' or --format json."]
        let json: [(String, JSON)] = [("commands", .array(all.map { command in
            .object([("name", .string(command.name)), ("group", .string(command.group.rawValue)),
                     ("synopsis", .string(command.synopsis)), ("abstract", .string(command.abstract))])
        }))]
        return CommandOutput(fields: json, text: lines.joined(separator: "\n"))
    }

    static func helpFor(_ command: CommandSpec, shell: ShellContext) -> CommandOutput {
        let paint = shell.paint
        // An abstract that ends in its own punctuation (a question) takes no full stop.
        let abstract = command.abstract.last.map { ".?!".contains($0) } == true ? command.abstract : command.abstract + "."
        var lines = [paint.bold("usage: ") + command.synopsis, "", abstract]
        if !command.discussion.isEmpty { lines += ["", wrap(command.discussion, width: min(shell.terminal.width, 100))] }
        // One line per sub-verb: the synopsis joins them with `|`, which is hard to read for long ones (export).
        if !command.subcommands.isEmpty {
            lines += ["", paint.bold("subcommands:")] + command.subcommands.map { "  \(command.name) \($0.synopsis)" }
        }
        if !command.flags.isEmpty {
            lines += ["", paint.bold("options:")] + optionLines(command.flags)
        }
        if !command.aliases.isEmpty { lines += ["", "aliases: " + command.aliases.joined(separator: ", ")] }
        if !command.examples.isEmpty {
            lines += ["", paint.bold("examples:")] + command.examples.map { "  " + $0 }
        }
        let json: [(String, JSON)] = [
            ("name", .string(command.name)), ("synopsis", .string(command.synopsis)),
            ("abstract", .string(command.abstract)), ("description", .string(command.discussion)),
            ("subcommands", .array(command.subcommands.map { .string("\(command.name) \($0.synopsis)") })),
            ("examples", .array(command.examples.map(JSON.string))),
        ]
        return CommandOutput(fields: json, text: lines.joined(separator: "\n"))
    }

    /// The widest option name that shares its line with its description; a longer one puts it on the next line.
    static let optionColumnLimit = 28

    /// `help`'s option lines: each name padded to the widest one's width plus two spaces (at most
    /// `optionColumnLimit`), so no name ever runs into its description.
    static func optionLines(_ flags: [FlagSpec]) -> [String] {
        let names = flags.map { "--\($0.name)" + ($0.valueName.map { " \($0)" } ?? "") }
        let fitting = names.map(\.count).filter { $0 + 2 <= optionColumnLimit }
        let column = (fitting.max() ?? 0) + 2
        var lines: [String] = []
        for (name, flag) in zip(names, flags) {
            if name.count + 2 <= column {
                lines.append("  " + name + String(repeating: " ", count: column - name.count) + flag.summary)
            } else {
                lines += ["  " + name, "  " + String(repeating: " ", count: column) + flag.summary]
            }
        }
        return lines
    }

    /// Greedy word wrap for help text.
    static func wrap(_ text: String, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    static let history: CommandSpec = CommandSpec(
        "history", group: .shell,
        abstract: "Show the commands entered (the last N, default 20)",
        examples: ["history", "history 100"],
        arguments: [historyCount.spec],
        run: { shell, args in
            let count = args.value(of: historyCount) ?? 20
            let all = shell.commandHistory
            let shown = all.suffix(count)
            let first = all.count - shown.count + 1
            let lines = shown.enumerated().map { String(format: "%5d  ", first + $0.offset) + $0.element }
            return CommandOutput(fields: [("history", .array(shown.map(JSON.string)))], text: lines.joined(separator: "\n"))
        })

    static let historyCount = Positional("N", WholeKind(1...Int(Bounded.largestWhole)), optional: true)

    static let quit: CommandSpec = CommandSpec(
        "quit", aliases: ["exit"], group: .shell,
        abstract: "Leave the shell (Ctrl-D too)",
        examples: ["quit"],
        run: { shell, _ in
            shell.quitRequested = true
            return CommandOutput()
        })
}
