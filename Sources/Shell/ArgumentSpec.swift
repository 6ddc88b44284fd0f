import Foundation

/// A positional argument as the command table keeps it: the kind's type erased, so one command can mix kinds.
public struct PositionalSpec: Sendable {
    public let name: String
    public let isOptional: Bool
    /// How many words it takes at most (`MODEL…` takes several); at least one when given.
    public let maxCount: Int
    let placeholder: String?
    let namedInErrors: Bool
    /// Reads a word given the values of the positionals before it (a setting's value depends on its key).
    let parse: @Sendable (String, [any Sendable]) throws(ArgumentProblem) -> any Sendable
    let admits: @Sendable (String) -> Bool
    let candidates: @Sendable (CompletionContext) -> [String]

    /// `DAYS`, `tier1|tier2|tier3`, `MODEL…`, without the `?…?` of an optional one.
    var fragment: String { (placeholder ?? name) + (maxCount > 1 ? "…" : "") }
    /// What errors call it: `DAYS`; nil for a choice (its words say it).
    var label: String? { namedInErrors ? name : nil }
}

/// A positional argument of kind `K`, declared once; handlers read its typed value with `args.value(of:)`.
public struct Positional<Value: Sendable>: Sendable {
    public let spec: PositionalSpec

    public init<K: ArgumentKind>(_ name: String, _ kind: K, optional: Bool = false, upTo maxCount: Int = 1)
    where K.Value == Value {
        spec = PositionalSpec(name: name, isOptional: optional, maxCount: maxCount, placeholder: kind.placeholder,
                              namedInErrors: kind.namedInErrors,
                              parse: { word, earlier throws(ArgumentProblem) in try kind.parse(word, after: earlier) },
                              admits: { kind.admits($0) }, candidates: { kind.candidates($0) })
    }
}

/// A `--flag VALUE` of kind `K`; `FlagSpec(option)` puts it in a command's table.
public struct Option<Value: Sendable>: Sendable {
    public let name: String
    public let flag: FlagSpec

    /// `valueName` is the value in `help`'s option list and in "needs a value (N)"; the synopsis shows the kind's
    /// own placeholder where it has one (`--tiers 1,2,3`, `--source coingecko|demo`).
    public init<K: ArgumentKind>(_ name: String, _ valueName: String, _ kind: K, _ summary: String) where K.Value == Value {
        self.name = name
        flag = FlagSpec(name: name, valueName: valueName, placeholder: kind.placeholder, summary: summary,
                        parse: { word throws(ArgumentProblem) in try kind.parse(word) },
                        candidates: { kind.candidates($0) })
    }
}

/// A `--switch` without a value, declared once so the handler asks `args.has(force)`, not a spelling.
public struct Switch: Sendable {
    public let name: String
    public let flag: FlagSpec

    public init(_ name: String, _ summary: String) {
        self.name = name
        flag = FlagSpec(name, summary)
    }
}

/// A sub-verb (`replays show ID`, `export model MODEL PATH`) with its own positionals.
public struct Subcommand: Sendable {
    public let name: String
    public let positionals: [PositionalSpec]

    public init(_ name: String, _ positionals: [PositionalSpec] = []) {
        self.name = name
        self.positionals = positionals
    }

    /// A sub-verb named by an enum case, so the handler switches over the enum, exhaustively.
    public init<Verb: RawRepresentable>(_ verb: Verb, _ positionals: [PositionalSpec] = []) where Verb.RawValue == String {
        self.init(verb.rawValue, positionals)
    }

    /// `diff A B`, `accuracy ?MODEL…?`.
    var synopsis: String { ([name] + Synopsis.fragments(positionals)).joined(separator: " ") }
}

/// Arguments matched against a command's declaration: the words as typed, and their typed values.
public struct Arguments: Sendable {
    public var positionals: [String]
    public var options: [String: String]
    public var switches: Set<String>
    /// The sub-verb given, lowercased (`show`), for a command that declares them.
    public var subcommand: String?
    var values: [String: any Sendable] = [:]
    var lists: [String: [any Sendable]] = [:]
    /// Every value of an option given more than once (`--grid A=1,2 --grid B=3,4`), in order.
    var repeated: [String: [any Sendable]] = [:]

    public init(positionals: [String] = [], options: [String: String] = [:], switches: Set<String> = [],
                subcommand: String? = nil) {
        self.positionals = positionals
        self.options = options
        self.switches = switches
        self.subcommand = subcommand
    }

    /// By spelling, for binding itself; handlers ask by declaration (`has(force)`, `value(of:)`).
    func option(_ name: String) -> String? { options[name] }
    func has(_ name: String) -> Bool { switches.contains(name) || options[name] != nil }

    public func has(_ flag: Switch) -> Bool { switches.contains(flag.name) }
    public func has<V>(_ option: Option<V>) -> Bool { options[option.name] != nil }
    /// The value of `--name` as it was typed, for messages that quote it.
    public func written<V>(_ option: Option<V>) -> String? { options[option.name] }

    /// The sub-verb given as the enum its `Subcommand`s were declared with; nil when none was given.
    public func subcommand<Verb: RawRepresentable>(as verb: Verb.Type) -> Verb? where Verb.RawValue == String {
        subcommand.flatMap(Verb.init(rawValue:))
    }

    /// The typed value of `--name`, or nil when it was not given.
    public func value<V>(of option: Option<V>) -> V? { values["--" + option.name] as? V }
    /// Every value given for `option`, in order (an option given once: one; not given: none).
    public func values<V>(of option: Option<V>) -> [V] { repeated["--" + option.name]?.compactMap { $0 as? V } ?? [] }
    /// The typed value of a positional, or nil when an optional one was not given.
    public func value<V>(of positional: Positional<V>) -> V? { lists[positional.spec.name]?.first as? V }
    /// Every value of a positional that takes several words (`MODEL…`), in order.
    public func values<V>(of positional: Positional<V>) -> [V] { lists[positional.spec.name]?.compactMap { $0 as? V } ?? [] }
    /// The value of a required positional (binding has checked it is there).
    public subscript<V>(_ positional: Positional<V>) -> V { value(of: positional)! }
}

/// Builds a synopsis from a declaration: `train tier1|tier2|tier3`, `fetch ?COIN? ?DAYS? ?--source coingecko|demo?`.
enum Synopsis {
    static func fragments(_ positionals: [PositionalSpec]) -> [String] {
        positionals.map { $0.isOptional ? "?\($0.fragment)?" : $0.fragment }
    }

    static func flag(_ flag: FlagSpec) -> String {
        "--" + flag.name + (flag.valueName.map { " " + (flag.placeholder ?? $0) } ?? "")
    }

    static func generate(name: String, positionals: [PositionalSpec], subcommands: [Subcommand], subcommandOptional: Bool,
                         flags: [FlagSpec], exclusive: [[[String]]]) -> String {
        var parts = [name] + fragments(positionals)
        if !subcommands.isEmpty {
            let alternatives = subcommands.map(\.synopsis).joined(separator: "|")
            parts.append(subcommandOptional ? "?\(alternatives)?" : alternatives)
        }
        var shown = Set<String>()
        for flag in flags where !shown.contains(flag.name) {
            // A flag in a group of alternatives shows the whole group where its first member is declared.
            if let group = exclusive.first(where: { $0.joined().contains(flag.name) }) {
                let text = group.map { names in
                    names.compactMap { name in flags.first { $0.name == name }.map(Self.flag) }.joined(separator: " ")
                }.joined(separator: "|")
                group.joined().forEach { shown.insert($0) }
                parts.append("?\(text)?")
            } else {
                shown.insert(flag.name)
                parts.append("?\(Self.flag(flag))?")
            }
        }
        return parts.joined(separator: " ")
    }
}
