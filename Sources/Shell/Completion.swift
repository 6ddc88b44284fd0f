import Foundation

/// Tab completion over the command table: command names, then each command's own arguments.
public enum Completion {
    /// Candidates for the word that ends at the end of `lineBeforeCursor`, and that word's start offset.
    public static func complete(_ lineBeforeCursor: String, shell: ShellContext) -> (candidates: [String], partial: String) {
        // Complete the current statement only (after the last `;`).
        let statement = lineBeforeCursor.split(separator: ";", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let endsWithSpace = statement.last?.isWhitespace ?? false
        var words = statement.split(whereSeparator: \.isWhitespace).map(String.init)
        let partial = endsWithSpace || words.isEmpty ? "" : words.removeLast()
        let unquotedPartial = partial.hasPrefix("\"") ? String(partial.dropFirst()) : partial
        let candidates: [String]
        if words.isEmpty {
            candidates = Commands.all.map(\.name)
        } else if let command = Commands.find(words[0]) {
            if unquotedPartial.hasPrefix("--") {
                candidates = command.flags.map { "--" + $0.name }
            } else if words.count >= 2, words.last!.hasPrefix("--"),
                      let flag = command.flags.first(where: { "--" + $0.name == words.last! }), flag.valueName != nil {
                candidates = flag.values.isEmpty ? [] : flag.values
            } else {
                let positional = words.filter { !$0.hasPrefix("--") }
                candidates = command.complete?(CompletionContext(words: positional, partial: unquotedPartial, shell: shell)) ?? []
            }
        } else {
            candidates = []
        }
        let lowered = unquotedPartial.lowercased()
        let matches = candidates.filter { $0.lowercased().hasPrefix(lowered) }
        return (Array(NSOrderedSet(array: matches)) as? [String] ?? matches, unquotedPartial)
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
