/// Measuring and fitting text in terminal cells.
public enum TerminalText {
    /// Width of `text` in terminal cells: ANSI escape sequences count 0, combining marks 0, East Asian wide and emoji 2, everything else 1.
    public static func displayWidth(_ text: String) -> Int {
        var width = 0
        var escape = EscapeState.none
        for scalar in text.unicodeScalars {
            switch escape {
            case .none:
                if scalar.value == 0x1B {
                    escape = .started
                } else {
                    width += cellWidth(scalar)
                }
            case .started:
                // ESC [ opens a CSI sequence; any other byte ends a two-character escape.
                escape = scalar == "[" ? .csi : .none
            case .csi:
                // CSI parameters run until a final byte in 0x40...0x7E (e.g. the "m" of a colour code).
                if (0x40...0x7E).contains(scalar.value) { escape = .none }
            }
        }
        return width
    }

    /// Removes ANSI escape sequences, leaving only visible text.
    public static func strippingANSI(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value == 0x1B }) else { return text }
        var result = String.UnicodeScalarView()
        var escape = EscapeState.none
        for scalar in text.unicodeScalars {
            switch escape {
            case .none:
                if scalar.value == 0x1B { escape = .started } else { result.append(scalar) }
            case .started:
                escape = scalar == "[" ? .csi : .none
            case .csi:
                if (0x40...0x7E).contains(scalar.value) { escape = .none }
            }
        }
        return String(result)
    }

    private enum EscapeState { case none, started, csi }

    static func cellWidth(_ scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return 0 }
        if value < 0x300 { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0xFE00...0xFE0F).contains(value) { return 0 }
        if isWide(value) { return 2 }
        return 1
    }

    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// Cuts `text` to at most `width` cells, marking the cut with "…" (or "~" in ASCII).
    static func truncate(_ text: String, toWidth width: Int, unicode: Bool) -> String {
        guard width > 0 else { return "" }
        if displayWidth(text) <= width { return text }
        var result = ""
        var used = 0
        for character in text {
            let cells = displayWidth(String(character))
            if used + cells > width - 1 { break }
            result.append(character)
            used += cells
        }
        return result + (unicode ? "…" : "~")
    }

    /// `text` followed by spaces up to `width` cells.
    static func padRight(_ text: String, to width: Int) -> String {
        let missing = width - displayWidth(text)
        return missing > 0 ? text + String(repeating: " ", count: missing) : text
    }

    /// Spaces up to `width` cells followed by `text`.
    static func padLeft(_ text: String, to width: Int) -> String {
        let missing = width - displayWidth(text)
        return missing > 0 ? String(repeating: " ", count: missing) + text : text
    }
}

/// The fixed ANSI palette used for series colours.
enum ANSIPalette {
    static let reset = "\u{1B}[0m"
    static let dim = "\u{1B}[2m"
    /// Cyan, yellow, magenta, green, blue, red: distinguishable on both dark and light backgrounds.
    private static let series = ["\u{1B}[36m", "\u{1B}[33m", "\u{1B}[35m", "\u{1B}[32m", "\u{1B}[34m", "\u{1B}[31m"]

    static func seriesColor(_ index: Int) -> String {
        series[index % series.count]
    }

    static func wrap(_ text: String, _ code: String?, enabled: Bool) -> String {
        guard enabled, let code, !text.isEmpty else { return text }
        return code + text + reset
    }
}
