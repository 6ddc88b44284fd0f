/// Text from outside (a server's answer, a file, what the user typed) made safe to print on one line.
///
/// Control characters — C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F) — and the Unicode line and
/// paragraph separators are written as escapes: `\n`, `\r`, `\t`, otherwise Swift's `\u{1B}` form. What comes
/// out holds no control character, so escaping it again changes nothing. Backslashes are left as they are.
///
/// ```swift
/// SafeText.escaped("bad\r\n\u{1B}[2Jcoin")   // "bad\\r\\n\\u{1B}[2Jcoin"
/// SafeText.oneLine(String(repeating: "x", count: 500), limit: 10)   // "xxxxxxxxx…"
/// ```
public enum SafeText {
    /// Whether the scalar is escaped by `escaped(_:)`.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// The text with every control character escaped.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { append(scalar, to: &out) }
        return String(out)
    }

    /// The text escaped and, when longer than `limit` characters, cut to fit with a trailing `…`.
    /// An escape is never cut in half.
    public static func oneLine(_ text: String, limit: Int) -> String {
        let limit = max(1, limit)
        let whole = escaped(text)
        guard whole.unicodeScalars.count > limit else { return whole }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            var piece = String.UnicodeScalarView()
            append(scalar, to: &piece)
            if out.count + piece.count > limit - 1 { break }
            out.append(contentsOf: piece)
        }
        return String(out) + "…"
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String.UnicodeScalarView) {
        guard needsEscape(scalar) else {
            out.append(scalar)
            return
        }
        switch scalar {
        case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
        case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
        case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
        default:
            out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
        }
    }
}
