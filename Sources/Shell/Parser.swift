import Foundation

/// A command line split into words: `verb arg "quoted arg" --flag value`.
public struct ParsedLine: Sendable, Equatable {
    public var words: [String]
    public var verb: String? { words.first?.lowercased() }
    public var arguments: ArraySlice<String> { words.dropFirst() }
}

public enum ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case unterminatedQuote(Character)

    public var description: String {
        switch self {
        case .unterminatedQuote(let quote): return "unterminated \(quote) quote — close it or escape it with \\"
        }
    }
}

/// Splitting of command text: words, quotes, `#` comments and `;` separators.
public enum LineParser {
    /// Words of one command. `#` at the start of a word begins a comment; single quotes are literal;
    /// double quotes allow `\"` and `\\`; a backslash outside quotes escapes the next character.
    public static func parse(_ line: String) throws -> ParsedLine {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaping = false
        for ch in line {
            if escaping {
                current.append(ch)
                escaping = false
                continue
            }
            if let open = quote {
                if ch == open {
                    quote = nil
                } else if ch == "\\" && open == "\"" {
                    escaping = true
                } else {
                    current.append(ch)
                }
                continue
            }
            switch ch {
            case "\"", "'":
                quote = ch
                inWord = true
            case "\\":
                escaping = true
                inWord = true
            case "#" where !inWord:
                return finish(words, current, inWord)
            case _ where ch.isWhitespace:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(ch)
                inWord = true
            }
        }
        if let quote { throw ParseError.unterminatedQuote(quote) }
        if escaping { current.append("\\") }
        return finish(words, current, inWord)
    }

    private static func finish(_ words: [String], _ current: String, _ inWord: Bool) -> ParsedLine {
        ParsedLine(words: inWord ? words + [current] : words)
    }

    /// Splits `-c` text on `;` outside quotes and comments.
    public static func splitCommands(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var escaping = false
        for ch in text {
            if escaping {
                current.append(ch)
                escaping = false
                continue
            }
            if ch == "\\" && quote != "'" {
                escaping = true
                current.append(ch)
                continue
            }
            if let open = quote {
                if ch == open { quote = nil }
                current.append(ch)
                continue
            }
            if ch == "\"" || ch == "'" {
                quote = ch
            } else if ch == ";" {
                parts.append(current)
                current = ""
                continue
            } else if ch == "\n" {
                parts.append(current)
                current = ""
                continue
            }
            current.append(ch)
        }
        parts.append(current)
        return parts
    }
}

