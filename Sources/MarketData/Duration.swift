import Foundation

/// Parsing and formatting of durations such as `90m`, `6h`, `2d`, `1h30m` or plain seconds.
public enum DurationText {
    /// Seconds for `text`, when it is a duration within `Bounded.duration` (1 second to 100 years); nil otherwise.
    /// Units: s, m, h, d, w; a bare number is seconds.
    public static func parse(_ text: String) -> TimeInterval? {
        Bounded.duration.parse(text)
    }

    /// The seconds `text` writes, before any bound (see `Bounded`); nil when it is not a duration.
    static func seconds(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty else { return nil }
        if let seconds = NumberText.decimal(trimmed) { return seconds }
        var total: TimeInterval = 0
        var number = ""
        var sawUnit = false
        for ch in trimmed {
            if ch.isASCII, ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            let unit: TimeInterval
            switch ch {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            case "w": unit = 604_800
            default: return nil
            }
            guard let value = NumberText.decimal(number) else { return nil }
            total += value * unit
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }

    /// A compact rendering: `1h`, `6h`, `1d`, `1h30m`, `45s`.
    public static func format(_ seconds: TimeInterval) -> String {
        guard seconds.isFinite else { return "∞" }
        // Beyond what an Int counts in seconds (far past any bound), the number itself.
        guard Swift.abs(seconds) < 1e15 else { return "\(seconds)s" }
        var rest = Int(seconds.rounded())
        let negative = rest < 0
        rest = abs(rest)
        if rest == 0 { return "0s" }
        var parts = ""
        for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")] where rest >= unit {
            parts += "\(rest / unit)\(name)"
            rest %= unit
        }
        return negative ? "-" + parts : parts
    }
}

/// ISO-8601 UTC timestamps (`2026-11-25T07:00:00Z`) without DateFormatter's cost.
public enum ISOTime {
    public static func format(_ time: TimeInterval) -> String {
        // time_t cannot hold every Double: far outside `Bounded.time`, show the number.
        guard time.isFinite, Swift.abs(time) < 1e15 else { return "\(time)" }
        var seconds = time_t(time.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// `2026-11-25 07:00` — for human text.
    public static func short(_ time: TimeInterval) -> String {
        let iso = format(time)
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }
}
