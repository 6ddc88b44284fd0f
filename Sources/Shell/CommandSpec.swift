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

/// A `--flag` a command accepts: a switch, or an option whose value has a kind (see `Option`).
public struct FlagSpec: Sendable {
    public let name: String
    /// nil for a switch without a value.
    public let valueName: String?
    public let summary: String
    /// The synopsis shows this instead of `valueName` when the kind names its values (`1,2,3`).
    let placeholder: String?
    let parse: (@Sendable (String) throws(ArgumentProblem) -> any Sendable)?
    let candidates: (@Sendable (CompletionContext) -> [String])?

    /// A switch: `--force`.
    public init(_ name: String, _ summary: String) {
        self.init(name: name, valueName: nil, placeholder: nil, summary: summary, parse: nil, candidates: nil)
    }

    /// An option declared with its kind.
    public init<V>(_ option: Option<V>) { self = option.flag }

    /// A switch declared for `args.has(_:)`.
    public init(_ flag: Switch) { self = flag.flag }

    init(name: String, valueName: String?, placeholder: String?, summary: String,
         parse: (@Sendable (String) throws(ArgumentProblem) -> any Sendable)?,
         candidates: (@Sendable (CompletionContext) -> [String])?) {
        self.name = name
        self.valueName = valueName
        self.placeholder = placeholder
        self.summary = summary
        self.parse = parse
        self.candidates = candidates
    }
}

/// What the completer knows about the word being completed.
public struct CompletionContext {
    /// Complete words before the one being completed, verb first, flags and their values left out.
    public let words: [String]
    public let partial: String
    public let shell: ShellContext
}

/// One command: the single source for dispatch, help, usage lines and completion. Its synopsis is generated from
/// its declared positionals, subcommands and flags, so the usage line cannot disagree with what is parsed.
public struct CommandSpec: Sendable {
    public let name: String
    public let aliases: [String]
    public let group: CommandGroup
    /// `train tier1|tier2|tier3` — `?OPTIONAL?` marks optional parts.
    public let synopsis: String
    public let abstract: String
    public let discussion: String
    public let examples: [String]
    public let arguments: [PositionalSpec]
    public let subcommands: [Subcommand]
    /// Whether the command also runs with no subcommand (`replays` lists).
    public let subcommandOptional: Bool
    public let flags: [FlagSpec]
    /// Groups of alternatives, each a list of flags that go together: `[["days"], ["from", "to"]]`.
    public let exclusive: [[[String]]]
    public let run: @Sendable (ShellContext, Arguments) throws -> CommandOutput

    public init(_ name: String, aliases: [String] = [], group: CommandGroup, abstract: String,
                discussion: String = "", examples: [String] = [], arguments: [PositionalSpec] = [],
                subcommands: [Subcommand] = [], subcommandOptional: Bool = false,
                flags: [FlagSpec] = [], exclusive: [[[String]]] = [], assetScoped: Bool = false,
                run: @escaping @Sendable (ShellContext, Arguments) throws -> CommandOutput) {
        // `--asset NAME|all` (see `Commands.assetScoped`): one declaration gives every such command the same option.
        let flags = assetScoped ? flags + [FlagSpec(Commands.assetOption)] : flags
        let run = assetScoped ? Commands.assetScoped(run) : run
        precondition(arguments.isEmpty || subcommands.isEmpty, "a command has positionals or subcommands, not both")
        // Typed values are stored by positional name and flag name: a clash would hand one the other's value.
        for specs in [arguments] + subcommands.map(\.positionals) {
            precondition(Set(specs.map(\.name)).count == specs.count, "\(name): two positionals share a name")
        }
        precondition(Set(flags.map(\.name)).count == flags.count, "\(name): two flags share a name")
        self.name = name
        self.aliases = aliases
        self.group = group
        self.abstract = abstract
        self.discussion = discussion
        self.examples = examples
        self.arguments = arguments
        self.subcommands = subcommands
        self.subcommandOptional = subcommandOptional
        self.flags = flags
        self.exclusive = exclusive
        self.run = run
        synopsis = Synopsis.generate(name: name, positionals: arguments, subcommands: subcommands,
                                     subcommandOptional: subcommandOptional, flags: flags, exclusive: exclusive)
    }

    /// Matches words against the declaration: known flags and their values' kinds, the subcommand, each
    /// positional's kind and count, and groups of flags that exclude each other.
    func bind(_ words: ArraySlice<String>) throws -> Arguments {
        var arguments = Arguments()
        var positionals: [String] = []
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
                throw ShellError.binding(command: self,
                                         problem: .unknownOption(name, suggestion: Suggest.closest(to: name, in: flags.map(\.name))))
            }
            guard let valueName = flag.valueName, let parse = flag.parse else {
                arguments.switches.insert(name)
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < words.endIndex {
                value = words[index]
                index += 1
            } else {
                throw ShellError.binding(command: self, problem: .missingValue(option: name, valueName: valueName))
            }
            do {
                let parsed = try parse(value)
                arguments.values["--" + name] = parsed
                arguments.repeated["--" + name, default: []].append(parsed)
            } catch {
                throw ShellError.argument(command: self, argument: "--" + name, problem: error)
            }
            arguments.options[name] = value
        }
        arguments.positionals = positionals
        try bindPositionals(positionals[...], into: &arguments)
        for group in exclusive {
            let given = group.filter { names in names.contains { arguments.has($0) } }
            if given.count > 1 {
                throw ShellError.binding(command: self,
                                         problem: .conflicting(given.map { $0.map { "--" + $0 }.joined(separator: "/") }))
            }
        }
        return arguments
    }

    private func bindPositionals(_ words: ArraySlice<String>, into arguments: inout Arguments) throws {
        guard !subcommands.isEmpty else {
            try bind(words, to: self.arguments, subcommand: nil, into: &arguments)
            return
        }
        guard let verb = words.first else {
            if subcommandOptional { return }
            throw ShellError.binding(command: self, problem: .missingArgument)
        }
        guard let sub = subcommands.first(where: { $0.name == verb.lowercased() }) else {
            throw ShellError.binding(command: self, problem: .unknownSubcommand(verb, expected: subcommands.map(\.synopsis)))
        }
        arguments.subcommand = sub.name
        try bind(words.dropFirst(), to: sub.positionals, subcommand: sub.name, into: &arguments)
    }

    private func bind(_ words: ArraySlice<String>, to specs: [PositionalSpec], subcommand: String?,
                      into arguments: inout Arguments) throws {
        for word in words {
            // The first positional with room that takes this shape of word, so optional ones may come in either
            // order (`fetch 90 bitcoin`); when none does, the first with room, whose kind then says what is wrong.
            let open = specs.filter { (arguments.lists[$0.name]?.count ?? 0) < $0.maxCount }
            guard let spec = open.first(where: { $0.admits(word) }) ?? open.first else {
                throw ShellError.binding(command: self,
                                         problem: .extraArgument(word, takesNone: specs.isEmpty, subcommand: subcommand))
            }
            do {
                let earlier = specs.prefix { $0.name != spec.name }.flatMap { arguments.lists[$0.name] ?? [] }
                arguments.lists[spec.name, default: []].append(try spec.parse(word, earlier))
            } catch {
                throw ShellError.argument(command: self, argument: spec.label, problem: error)
            }
        }
        let missing = specs.filter { !$0.isOptional && arguments.lists[$0.name] == nil }
        guard !missing.isEmpty else { return }
        guard let subcommand else { throw ShellError.binding(command: self, problem: .missingArgument) }
        throw ShellError.binding(command: self, problem: .missingSubcommandArgument(
            subcommand: subcommand, takes: Synopsis.fragments(specs).joined(separator: " "), missing: missing.map(\.fragment)))
    }
}

extension CommandSpec {
    /// How many positional words the command takes, subcommand included (for fuzzing and listings).
    public var positionals: ClosedRange<Int> {
        func range(_ specs: [PositionalSpec]) -> ClosedRange<Int> {
            specs.filter { !$0.isOptional }.count...specs.map(\.maxCount).reduce(0, +)
        }
        guard !subcommands.isEmpty else { return range(arguments) }
        let ranges = subcommands.map { range($0.positionals) }
        return (subcommandOptional ? 0 : 1 + ranges.map(\.lowerBound).min()!)...(1 + ranges.map(\.upperBound).max()!)
    }

    /// A value its kind accepted that is outside a bound only known at run time (a replay step of at least one bar).
    func outOfRange(_ argument: String, _ text: String, _ bounds: Bounded) -> ShellError {
        .argument(command: self, argument: argument, problem: .outOfRange(text: text, bounds: bounds))
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
    /// Words that do not fit the command's declaration.
    case binding(command: CommandSpec, problem: BindingProblem)
    /// A word a kind refused; `argument` names it (`--days`, `DAYS`), nil for a choice.
    case argument(command: CommandSpec, argument: String?, problem: ArgumentProblem)
    case invalid(String)

    public var description: String {
        switch self {
        case .unknownCommand(let name, let suggestion):
            if let suggestion { return "unknown command '\(name)' — did you mean '\(suggestion)'?" }
            return "unknown command '\(name)' — type 'help' for the list of commands"
        case .usage(let command, let message):
            return "\(command.name): \(message) — usage: \(command.synopsis)"
        case .binding(let command, let problem):
            return "\(command.name): \(problem.message) — usage: \(command.synopsis)"
        case .argument(let command, let argument, let problem):
            // A refused setting reads as the loop words it wherever it comes from (set, --compare, a session
            // file): the same mistake reads the same, and the message names the key already.
            if case .invalidSetting = problem { return problem.message(argument: argument) }
            return "\(command.name): \(problem.message(argument: argument)) — usage: \(command.synopsis)"
        case .invalid(let message):
            return message
        }
    }
}
