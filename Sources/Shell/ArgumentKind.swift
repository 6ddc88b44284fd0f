import FeedbackLoop
import Foundation
import MarketData

/// Why one word is not a valid argument. Kinds raise these; `message(argument:)` words them — the one place an
/// argument's error is written — and `ShellError.argument` adds the command and its usage line.
public enum ArgumentProblem: Error, Equatable, Sendable {
    /// A number, duration or time that is malformed or outside `bounds`.
    case outOfRange(text: String, bounds: Bounded)
    /// A word that is none of `choices`.
    case notAChoice(text: String, choices: [String])
    case unknownTier(String)
    case noTiers
    case unknownModel(String, choices: [String], suggestion: String?)
    case unknownConfigKey(String, suggestion: String?)
    /// `--compare` text that is not `KEY=V1,V2…`.
    case notKeyValues(String)
    case notReplayID(String)
    /// `--windows` text that is not COUNTxDURATION.
    case notWindows(String)
    /// A value that `key` can never take, whatever the rest of the config (`expected` is the key's own wording).
    case invalidSetting(key: String, text: String, expected: String)

    /// The problem in words; `argument` names what was given (`--days`, `DURATION`), nil for a choice whose words
    /// are its own name (`on|off`).
    func message(argument: String?) -> String {
        switch self {
        case .outOfRange(let text, let bounds):
            return "invalid \(argument ?? "value") '\(text)': expected \(bounds.expected)"
        case .notAChoice(let text, let choices):
            // A flag's value is named like a number's; a positional choice's own words name it.
            guard let argument else { return "expected \(Self.list(choices, quoted: true)), got '\(text)'" }
            return "invalid \(argument) '\(text)': expected \(Self.list(choices, quoted: true))"
        case .unknownTier(let text):
            return "unknown tier '\(text)' — expected tier1, tier2 or tier3"
        case .noTiers:
            return "\(argument ?? "the tier list") needs at least one tier, e.g. 1,2"
        case .unknownModel(let name, let choices, let suggestion):
            if let suggestion { return "unknown model '\(name)' — did you mean '\(suggestion)'?" }
            return "unknown model '\(name)' — expected \(Self.list(choices, quoted: false))"
        case .unknownConfigKey(let key, let suggestion):
            if let suggestion { return "unknown config key '\(key)' — did you mean '\(suggestion)'?" }
            return "unknown config key '\(key)' — 'config' lists every key"
        case .notKeyValues(let text):
            return "invalid \(argument ?? "value") '\(text)': expected KEY=V1,V2 such as performance_threshold=0.5,0.6"
        case .invalidSetting(let key, let text, let expected):
            return "invalid value '\(text)' for \(key): expected \(expected)"
        case .notReplayID(let text):
            return "invalid \(argument ?? "ID") '\(text)': expected a replay number such as 3 or #3"
        case .notWindows(let text):
            return "invalid \(argument ?? "windows") '\(text)': expected COUNTxDURATION such as 4x90d (2…1000 windows of at least an hour)"
        }
    }
}

extension ArgumentProblem {
    /// `'a', 'b' or 'c'` (or unquoted).
    static func list(_ words: [String], quoted: Bool) -> String {
        let items = quoted ? words.map { "'\($0)'" } : words
        return items.count <= 2 ? items.joined(separator: " or ")
            : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }
}

/// Why a command's words do not fit its declaration as a whole (as opposed to one word its kind refused).
public enum BindingProblem: Error, Equatable, Sendable {
    case unknownOption(String, suggestion: String?)
    case missingValue(option: String, valueName: String)
    /// A word after the last positional; `subcommand` when it is a sub-verb's.
    case extraArgument(String, takesNone: Bool, subcommand: String?)
    case missingArgument
    /// A sub-verb without all of its positionals: `takes` is its synopsis (`A B`), `missing` the absent ones.
    case missingSubcommandArgument(subcommand: String, takes: String, missing: [String])
    case unknownSubcommand(String, expected: [String])
    /// Alternatives of an exclusive group, each written `--from/--to`.
    case conflicting([String])

    var message: String {
        switch self {
        case .unknownOption(let name, let suggestion):
            return "unknown option '--\(name)'" + (suggestion.map { " — did you mean '--\($0)'?" } ?? "")
        case .missingValue(let option, let valueName):
            return "option '--\(option)' needs a value (\(valueName))"
        case .extraArgument(let word, let takesNone, let subcommand):
            guard takesNone else { return "too many arguments ('\(word)' is extra)" }
            return subcommand.map { "'\($0)' takes no arguments ('\(word)' is extra)" } ?? "takes no arguments"
        case .missingArgument:
            return "missing argument"
        case .missingSubcommandArgument(let subcommand, let takes, let missing):
            return "'\(subcommand)' takes \(takes): missing \(missing.joined(separator: " and "))"
        case .unknownSubcommand(let word, let expected):
            return "unknown subcommand '\(word)' — expected \(ArgumentProblem.list(expected, quoted: true))"
        case .conflicting(let alternatives):
            return "give \(alternatives.joined(separator: " or ")), not both"
        }
    }
}

/// How one word of a command is read: it parses and validates the word into a typed value, completes it, and
/// writes its part of the synopsis. Positional arguments and flag values are declared with a kind, so dispatch,
/// usage lines, errors and Tab completion all come from the declaration.
public protocol ArgumentKind<Value>: Sendable {
    associatedtype Value: Sendable
    /// The synopsis fragment when the kind names its own values (`tier1|tier2|tier3`, `1,2,3`, `on|off`); nil
    /// shows the declared name (`DAYS`, `PATH`).
    var placeholder: String? { get }
    /// Whether an error should name the argument (a choice's words already say what it is).
    var namedInErrors: Bool { get }
    func parse(_ word: String) throws(ArgumentProblem) -> Value
    /// `parse` for a positional whose reading depends on those before it (`set KEY VALUE`); `earlier` holds their
    /// values in order. By default the same as `parse(word)`.
    func parse(_ word: String, after earlier: [any Sendable]) throws(ArgumentProblem) -> Value
    /// Whether `word` has this kind's shape at all: an optional positional that does not admit a word is skipped
    /// (`fetch 90` gives DAYS, not COIN).
    func admits(_ word: String) -> Bool
    /// Candidates for a word being completed; `context.words` are the words before it, verb first, flags left out.
    func candidates(_ context: CompletionContext) -> [String]
}

extension ArgumentKind {
    public var placeholder: String? { nil }
    public var namedInErrors: Bool { true }
    public func parse(_ word: String, after earlier: [any Sendable]) throws(ArgumentProblem) -> Value { try parse(word) }
    public func admits(_ word: String) -> Bool { true }
    public func candidates(_ context: CompletionContext) -> [String] { [] }
}

// MARK: The kinds

/// A number within a `Bounded` range — whole (integer range) or decimal (real range). Reads through
/// `Bounded.parse`, the one place numbers are range-checked.
public struct NumberKind: ArgumentKind {
    public let bounds: Bounded

    public init(_ bounds: Bounded) { self.bounds = bounds }

    public func parse(_ word: String) throws(ArgumentProblem) -> Double {
        guard let value = bounds.parse(word) else { throw .outOfRange(text: word, bounds: bounds) }
        return value
    }

    public func admits(_ word: String) -> Bool { Bounded.writesNumber(word) }
}

/// A whole number within a range, as an `Int` (exact: `Bounded` keeps it within 2^53).
public struct WholeKind: ArgumentKind {
    public let bounds: Bounded
    /// Lets `v3` stand for 3 (model versions).
    public let versionPrefix: Bool

    public init(_ range: ClosedRange<Int>, versionPrefix: Bool = false) {
        bounds = .whole(range)
        self.versionPrefix = versionPrefix
    }

    public func parse(_ word: String) throws(ArgumentProblem) -> Int {
        let lowered = word.lowercased()
        let digits = versionPrefix && lowered.hasPrefix("v") ? String(lowered.dropFirst()) : lowered
        guard let value = bounds.parseWhole(digits) else { throw .outOfRange(text: versionPrefix ? digits : word, bounds: bounds) }
        return value
    }

    public func admits(_ word: String) -> Bool { Bounded.writesNumber(word) }
}

/// A duration (`90m`, `6h`, `2d`, `1h30m`, seconds) within `bounds`, in seconds.
public struct DurationKind: ArgumentKind {
    public let bounds: Bounded

    public init(_ bounds: Bounded = .duration) {
        precondition(bounds.syntax == .duration, "a duration kind needs duration bounds")
        self.bounds = bounds
    }

    public func parse(_ word: String) throws(ArgumentProblem) -> TimeInterval {
        guard let value = bounds.parse(word) else { throw .outOfRange(text: word, bounds: bounds) }
        return value
    }

    public func candidates(_ context: CompletionContext) -> [String] { ["30m", "1h", "6h", "1d"] }
}

/// A time: ISO-8601 date or date-time (UTC unless an offset is given) or epoch seconds, as seconds since 1970.
public struct TimeKind: ArgumentKind {
    public init() {}

    public func parse(_ word: String) throws(ArgumentProblem) -> TimeInterval {
        guard let value = Bounded.time.parse(word) else { throw .outOfRange(text: word, bounds: .time) }
        return value
    }
}

/// A list of tiers: `1,2,3`, `tier1` or `t1,t2`; sorted, each once, at least one.
public struct TierListKind: ArgumentKind {
    public init() {}
    public var placeholder: String? { "1,2,3" }

    public func parse(_ word: String) throws(ArgumentProblem) -> [Int] {
        var numbers = Set<Int>()
        for part in word.split(separator: ",") {
            // Tier.parse is the loop's reading of a tier name; its error becomes this kind's.
            guard let tier = try? Tier.parse(String(part)) else { throw .unknownTier(String(part)) }
            numbers.insert(tier.number)
        }
        guard !numbers.isEmpty else { throw .noTiers }
        return numbers.sorted()
    }

    /// The tiers not yet in the list being typed, after what is typed so far.
    public func candidates(_ context: CompletionContext) -> [String] {
        let all = Tier.all.map { String($0.number) }
        guard let comma = context.partial.lastIndex(of: ",") else { return all + ["1,2", "1,2,3"] }
        let typed = context.partial[...comma]
        let used = Set(typed.split(separator: ",").map(String.init))
        return all.filter { !used.contains($0) }.map { typed + $0 }
    }
}

/// One tier: `tier1|tier2|tier3` (also `1`, `t1`).
public struct TierKind: ArgumentKind {
    public init() {}
    public var placeholder: String? { Tier.all.map(\.label).joined(separator: "|") }

    public func parse(_ word: String) throws(ArgumentProblem) -> Tier {
        guard let tier = try? Tier.parse(word) else { throw .unknownTier(word) }
        return tier
    }

    public func candidates(_ context: CompletionContext) -> [String] { Tier.all.map(\.label) }
}

/// One of a few fixed words, case-insensitive, as the value they name.
public struct ChoiceKind<Value: Sendable>: ArgumentKind {
    public let words: [String]
    let values: [Value]

    /// Words that stand for themselves (lowercased).
    public init(_ words: [String]) where Value == String {
        self.words = words
        values = words.map { $0.lowercased() }
    }

    /// The cases of an enum, written as their raw values.
    public init(_ cases: [Value]) where Value: RawRepresentable, Value.RawValue == String {
        words = cases.map(\.rawValue)
        values = cases
    }

    public var placeholder: String? { words.joined(separator: "|") }
    public var namedInErrors: Bool { false }

    public func parse(_ word: String) throws(ArgumentProblem) -> Value {
        guard let index = words.firstIndex(where: { $0.lowercased() == word.lowercased() }) else {
            throw .notAChoice(text: word, choices: words)
        }
        return values[index]
    }

    public func candidates(_ context: CompletionContext) -> [String] { words }
}

/// A model name (`logistic`, `xgboost`, `lstm`, or those of `models`), with a did-you-mean.
public struct ModelNameKind: ArgumentKind {
    public let models: [ModelKind]

    public init(_ models: [ModelKind] = ModelKind.allCases) { self.models = models }

    /// A subset is a choice and shows its names; all models show as MODEL.
    public var placeholder: String? {
        models == ModelKind.allCases ? nil : models.map(\.rawValue).joined(separator: "|")
    }

    public var namedInErrors: Bool { models == ModelKind.allCases }

    public func parse(_ word: String) throws(ArgumentProblem) -> ModelKind {
        guard let model = ModelKind(rawValue: word.lowercased()) else {
            throw .unknownModel(word, choices: models.map(\.rawValue),
                                suggestion: Suggest.closest(to: word, in: models.map(\.rawValue)))
        }
        // A real model this command does not take (lstm has no importance or export): say which it does take.
        guard models.contains(model) else { throw .notAChoice(text: word, choices: models.map(\.rawValue)) }
        return model
    }

    public func candidates(_ context: CompletionContext) -> [String] { models.map(\.rawValue) }
}

/// A file path, kept as typed: each reader or writer expands `~` its own way and words its own errors about the
/// file (an empty name, a folder), which know more than the word does. Completes from the file system.
public struct PathKind: ArgumentKind {
    public init() {}

    public func parse(_ word: String) throws(ArgumentProblem) -> String { word }

    public func candidates(_ context: CompletionContext) -> [String] { PathCompletion.candidates(for: context.partial) }
}

/// A free word (a coin id, a session name) with candidates the shell knows.
public struct WordKind: ArgumentKind {
    let suggest: @Sendable (CompletionContext) -> [String]
    let shape: @Sendable (String) -> Bool

    public init(admits shape: @escaping @Sendable (String) -> Bool = { _ in true },
                candidates suggest: @escaping @Sendable (CompletionContext) -> [String] = { _ in [] }) {
        self.shape = shape
        self.suggest = suggest
    }

    public func parse(_ word: String) throws(ArgumentProblem) -> String { word }
    public func admits(_ word: String) -> Bool { shape(word) }
    public func candidates(_ context: CompletionContext) -> [String] { suggest(context) }
}

/// A setting's name: a loop config key or a shell setting (`format`), lowercased.
public struct ConfigKeyKind: ArgumentKind {
    public init() {}

    public func parse(_ word: String) throws(ArgumentProblem) -> String {
        let name = word.lowercased()
        guard Commands.configKeyNames.contains(name) else {
            throw .unknownConfigKey(name, suggestion: Suggest.closest(to: name, in: Commands.configKeyNames))
        }
        return name
    }

    public func candidates(_ context: CompletionContext) -> [String] { Commands.configKeyNames }
}

/// A setting's value: what it may be depends on the key before it (a duration, a number in range, a choice,
/// `auto`…), checked here and completed from the key's kind. Whether it fits the rest of the config (sell below
/// buy…) only the live config can say: the loop checks that when it is set.
public struct ConfigValueKind: ArgumentKind {
    public init() {}

    /// Without its key (a flag value, say) any word; see `parse(_:after:)`.
    public func parse(_ word: String) throws(ArgumentProblem) -> String { word }

    public func parse(_ word: String, after earlier: [any Sendable]) throws(ArgumentProblem) -> String {
        if let key = earlier.last as? String { try Self.check(word, for: key) }
        return word
    }

    /// Refuses `text` when `key` can never take it. The loop's own reading decides (on a scratch default config);
    /// a value refused only for clashing with the defaults is left to the live config.
    static func check(_ text: String, for key: String) throws(ArgumentProblem) {
        if key == ShellSetting.format.rawValue {
            guard OutputFormat(rawValue: text.lowercased()) != nil else {
                throw .invalidSetting(key: key, text: text, expected: OutputFormat.allCases.map(\.rawValue).joined(separator: " or "))
            }
            return
        }
        var scratch = LoopConfig()
        do {
            try scratch.set(key, to: text)
        } catch ConfigError.invalidValue(let name, _, let expected) {
            throw .invalidSetting(key: name, text: text, expected: expected)
        } catch {
            // Inconsistent with the other defaults only (e.g. sell_threshold above the default buy_threshold).
        }
    }

    public func candidates(_ context: CompletionContext) -> [String] {
        guard let name = context.words.last?.lowercased() else { return [] }
        if name == ShellSetting.format.rawValue { return OutputFormat.allCases.map(\.rawValue) }
        guard let key = LoopConfig.key(named: name) else { return [] }
        return Self.candidates(for: key.kind)
    }

    /// Words a value of `kind` can be: a choice's words, `auto`, `0` for never, a few durations.
    static func candidates(for kind: FeedbackLoop.ConfigValueKind) -> [String] {
        switch kind {
        case .choice(let words): return words
        case .ageLimit: return ["auto", "0", "1d", "7d"]
        case .autoOrReal: return ["auto"]
        case .duration: return ["30m", "1h", "6h", "1d"]
        case .real, .positive, .below, .integer: return []
        }
    }
}

/// A stored replay's number (`3` or `#3`); whether it exists is the session's to say.
public struct ReplayIDKind: ArgumentKind {
    public init() {}

    public func parse(_ word: String) throws(ArgumentProblem) -> Int {
        let digits = word.hasPrefix("#") ? String(word.dropFirst()) : word
        guard let id = Bounded.whole(1...Int(Bounded.largestWhole)).parseWhole(digits) else { throw .notReplayID(word) }
        return id
    }

    public func candidates(_ context: CompletionContext) -> [String] {
        guard let next = context.shell.session?.nextReplayID, next > 1 else { return [] }
        return (1..<next).map(String.init)
    }
}

/// `KEY=V1,V2…`: a config key and the values to try it at (`--compare`). The key is checked here; the values are
/// the loop's to validate, one config at a time.
public struct KeyValuesKind: ArgumentKind {
    public struct Value: Sendable, Equatable {
        public let key: String
        public let values: [String]
    }

    public init() {}
    public var placeholder: String? { "KEY=V1,V2…" }

    public func parse(_ word: String) throws(ArgumentProblem) -> Value {
        guard let equals = word.firstIndex(of: "=") else { throw .notKeyValues(word) }
        let key = String(word[..<equals])
        let values = word[word.index(after: equals)...].split(separator: ",").map(String.init)
        guard !key.isEmpty, !values.isEmpty else { throw .notKeyValues(word) }
        guard let config = LoopConfig.key(named: key) else {
            throw .unknownConfigKey(key, suggestion: Suggest.closest(to: key, in: LoopConfig.keys.map(\.name)))
        }
        // Every value is checked before any replay runs.
        for value in values { try ConfigValueKind.check(value, for: config.name) }
        return Value(key: config.name, values: values)
    }

    /// `KEY=` for each config key, then the key's candidate values after the `=`.
    public func candidates(_ context: CompletionContext) -> [String] {
        guard let equals = context.partial.firstIndex(of: "=") else { return LoopConfig.keys.map { $0.name + "=" } }
        let key = context.partial[..<equals].lowercased()
        guard let config = LoopConfig.key(named: key) else { return [] }
        let typed = context.partial[...equals]
        return ConfigValueKind.candidates(for: config.kind).map { typed + $0 }
    }
}
