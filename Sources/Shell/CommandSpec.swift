import FeedbackLoop
import Foundation
import MarketData

/// Groups in `help`'s overview, in display order.
public enum CommandGroup: String, CaseIterable, Sendable {
    case data = "Data"
    case training = "Training and the loop"
    case predictions = "Predictions"
    case insight = "Performance and charts"
    case sessions = "Sessions and model versions"
    case config = "Configuration"
    case shell = "Shell"
}

/// A `--flag` a command accepts; `valueName` nil means a switch without a value.
public struct FlagSpec: Sendable {
    public let name: String
    public let valueName: String?
    public let values: [String]
    public let summary: String

    public init(_ name: String, value valueName: String? = nil, values: [String] = [], _ summary: String) {
        self.name = name
        self.valueName = valueName
        self.values = values
        self.summary = summary
    }
}

/// What the completer knows about the word being completed.
public struct CompletionContext {
    /// Complete words before the one being completed, verb first.
    public let words: [String]
    public let partial: String
    public let shell: ShellContext
}

/// One command: the single source for dispatch, help, usage lines and completion.
public struct CommandSpec: Sendable {
    public let name: String
    public let aliases: [String]
    public let group: CommandGroup
    /// `train tier1|tier2|tier3` — `?OPTIONAL?` marks optional parts.
    public let synopsis: String
    public let abstract: String
    public let discussion: String
    public let examples: [String]
    public let positionals: ClosedRange<Int>
    public let flags: [FlagSpec]
    /// Candidates for the argument at position `words.count - 1` (0 = first argument).
    public let complete: (@Sendable (CompletionContext) -> [String])?
    public let run: @Sendable (ShellContext, Arguments) throws -> CommandOutput

    public init(_ name: String, aliases: [String] = [], group: CommandGroup, synopsis: String, abstract: String,
                discussion: String = "", examples: [String] = [], positionals: ClosedRange<Int> = 0...0,
                flags: [FlagSpec] = [],
                complete: (@Sendable (CompletionContext) -> [String])? = nil,
                run: @escaping @Sendable (ShellContext, Arguments) throws -> CommandOutput) {
        self.name = name
        self.aliases = aliases
        self.group = group
        self.synopsis = synopsis
        self.abstract = abstract
        self.discussion = discussion
        self.examples = examples
        self.positionals = positionals
        self.flags = flags
        self.complete = complete
        self.run = run
    }

    /// Matches words against the spec: known flags, value presence, the number of positionals.
    func bind(_ words: ArraySlice<String>) throws -> Arguments {
        var positionals: [String] = []
        var options: [String: String] = [:]
        var switches = Set<String>()
        var index = words.startIndex
        while index < words.endIndex {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--"), word.count > 2 else {
                positionals.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let flag = flags.first(where: { $0.name == name }) else {
                let suggestion = Suggest.closest(to: name, in: flags.map(\.name)).map { " — did you mean '--\($0)'?" } ?? ""
                throw ShellError.usage(command: self, message: "unknown option '--\(name)'\(suggestion)")
            }
            if flag.valueName == nil {
                switches.insert(name)
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < words.endIndex {
                value = words[index]
                index += 1
            } else {
                throw ShellError.usage(command: self, message: "option '--\(name)' needs a value (\(flag.valueName!))")
            }
            if !flag.values.isEmpty, !flag.values.contains(value.lowercased()) {
                throw ShellError.usage(command: self,
                                       message: "invalid value '\(value)' for --\(name): expected \(flag.values.joined(separator: ", "))")
            }
            options[name] = flag.values.isEmpty ? value : value.lowercased()
        }
        if positionals.count > self.positionals.upperBound {
            let message = self.positionals.upperBound == 0
                ? "takes no arguments"
                : "too many arguments ('\(positionals[self.positionals.upperBound])' is extra)"
            throw ShellError.usage(command: self, message: message)
        }
        if positionals.count < self.positionals.lowerBound {
            throw ShellError.usage(command: self, message: "missing argument")
        }
        return Arguments(positionals: positionals, options: options, switches: switches)
    }
}

extension CommandSpec {
    /// `text`, the argument named `argument`, read within `bounds` (the one place numbers are range-checked, see
    /// `Bounded`); a usage error that states the range otherwise.
    func bounded(_ text: String, argument: String, _ bounds: Bounded) throws -> Double {
        guard let value = bounds.parse(text) else {
            throw ShellError.outOfRange(command: self, argument: argument, text: text, bounds: bounds)
        }
        return value
    }

    /// The value of `--name` within `bounds`, or nil when the option is not given.
    func bounded(_ args: Arguments, option name: String, _ bounds: Bounded) throws -> Double? {
        try args.option(name).map { try bounded($0, argument: "--\(name)", bounds) }
    }

    /// A whole-number argument within `bounds` (see `bounded`), as an Int.
    func boundedWhole(_ text: String, argument: String, _ bounds: Bounded) throws -> Int {
        guard let value = bounds.parseWhole(text) else {
            throw ShellError.outOfRange(command: self, argument: argument, text: text, bounds: bounds)
        }
        return value
    }
}

/// What a command returns: JSON fields (after `command` and `ok`) and human text.
public struct CommandOutput {
    public var fields: [(String, JSON)]
    public var text: String

    public init(fields: [(String, JSON)] = [], text: String = "") {
        self.fields = fields
        self.text = text
    }
}

/// Errors the shell itself raises. Wording lives here.
public enum ShellError: Error, CustomStringConvertible {
    case unknownCommand(String, suggestion: String?)
    case usage(command: CommandSpec, message: String)
    /// A number, duration or time argument that is malformed or outside `bounds`; `argument` names it (`--days`, `DAYS`).
    case outOfRange(command: CommandSpec, argument: String, text: String, bounds: Bounded)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownCommand(let name, let suggestion):
            if let suggestion { return "unknown command '\(name)' — did you mean '\(suggestion)'?" }
            return "unknown command '\(name)' — type 'help' for the list of commands"
        case .usage(let command, let message):
            return "\(command.name): \(message) — usage: \(command.synopsis)"
        case .outOfRange(let command, let argument, let text, let bounds):
            return "\(command.name): invalid \(argument) '\(text)': expected \(bounds.expected) — usage: \(command.synopsis)"
        case .invalid(let message):
            return message
        }
    }
}
