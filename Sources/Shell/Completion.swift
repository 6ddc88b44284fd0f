import Foundation

/// Tab completion over the command table: command names, then each command's own arguments.
public enum Completion {
    /// Candidates for the word that ends at the end of `lineBeforeCursor`, and that word's start offset.
    public static func complete(_ lineBeforeCursor: String, shell: ShellContext) -> (candidates: [String], partial: String) {
        // Complete the current statement only (after the last `;`).
        let statement = lineBeforeCursor.split(separator: ";", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let endsWithSpace = statement.last?.isWhitespace ?? false
        var split = statement.split(whereSeparator: \.isWhitespace).map(String.init)
        let partial = endsWithSpace || split.isEmpty ? "" : split.removeLast()
        // The words before it as the command will read them (quotes, escapes); whitespace split while a quote is
        // still open.
        let before = String(statement.dropLast(partial.count))
        let words = (try? LineParser.parse(before).words) ?? split
        let unquotedPartial = partial.hasPrefix("\"") ? String(partial.dropFirst()) : partial
        var candidates: [String] = []
        if words.isEmpty {
            candidates = Commands.all.map(\.name)
        } else if let command = Commands.find(words[0]) {
            candidates = Self.candidates(command, after: Array(words.dropFirst()), partial: unquotedPartial, shell: shell)
        }
        let lowered = unquotedPartial.lowercased()
        let matches = candidates.filter { $0.lowercased().hasPrefix(lowered) }
        return (Array(NSOrderedSet(array: matches)) as? [String] ?? matches, unquotedPartial)
    }

    /// Candidates for `partial` after `words` (the verb left out), from the command's declaration: flag names, a
    /// flag's value by its kind, or the kind of the positional the word would be bound to.
    static func candidates(_ command: CommandSpec, after words: [String], partial: String, shell: ShellContext) -> [String] {
        var positionals: [String] = []
        var pending: FlagSpec?
        for word in words {
            if pending != nil {
                pending = nil
            } else if word.hasPrefix("--"), word.count > 2 {
                // `--name value` takes the next word; `--name=value` and switches take none.
                pending = command.flags.first { "--" + $0.name == word && $0.valueName != nil }
            } else {
                positionals.append(word)
            }
        }
        let context = CompletionContext(words: [command.name] + positionals, partial: partial, shell: shell)
        if partial.hasPrefix("--") {
            if let equals = partial.firstIndex(of: "="),
               let flag = command.flags.first(where: { "--" + $0.name == partial[..<equals] }) {
                let value = CompletionContext(words: context.words, partial: String(partial[partial.index(after: equals)...]),
                                              shell: shell)
                return (flag.candidates?(value) ?? []).map { partial[...equals] + $0 }
            }
            // Flags not given yet, and not the alternatives of one given (replay --days excludes --from/--to).
            let given = Set(words.filter { $0.hasPrefix("--") }.map { String($0.dropFirst(2).prefix { $0 != "=" }) })
            let excluded = command.exclusive.flatMap { group in
                group.contains { !given.isDisjoint(with: $0) } ? Array(group.filter { given.isDisjoint(with: $0) }.joined()) : []
            }
            return command.flags.filter { !given.contains($0.name) && !excluded.contains($0.name) }.map { "--" + $0.name }
        }
        if let pending { return pending.candidates?(context) ?? [] }
        var specs = command.arguments
        var bound = positionals[...]
        if !command.subcommands.isEmpty {
            guard let verb = bound.popFirst() else { return command.subcommands.map(\.name) }
            guard let sub = command.subcommands.first(where: { $0.name == verb.lowercased() }) else { return [] }
            specs = sub.positionals
        }
        // Fill the positionals as binding would, then offer what the next open one takes (and the ones after it
        // while those before may be skipped).
        var counts: [String: Int] = [:]
        for word in bound {
            let open = specs.filter { counts[$0.name, default: 0] < $0.maxCount }
            guard let spec = open.first(where: { $0.admits(word) }) ?? open.first else { return [] }
            counts[spec.name, default: 0] += 1
        }
        var result: [String] = []
        for spec in specs where counts[spec.name, default: 0] < spec.maxCount {
            result += spec.candidates(context)
            if !spec.isOptional { break }
        }
        return result
    }

    /// The longest prefix all candidates share.
    public static func commonPrefix(_ candidates: [String]) -> String {
        guard var prefix = candidates.first else { return "" }
        for candidate in candidates.dropFirst() {
            while !candidate.hasPrefix(prefix) { prefix.removeLast() }
        }
        return prefix
    }
}
