import Foundation

/// The one place for the ranges of numbers lgc-shell takes from outside — command arguments, config values, market
/// data sources and session files — with their syntax and their wording. Every entry checks a value here before it
/// converts it (to `Int`, `time_t`, a bar count) or keeps it, so no later arithmetic can trap on it.
///
/// The limits:
/// - times from 1970-01-01 up to (not including) 2200-01-01 UTC (`Bounded.time`);
/// - prices from 1e-12 to 1e12 (`Bounded.price`), volumes from 0 to 1e18 (`Bounded.volume`);
/// - durations from 1 second to 100 years (`Bounded.duration`); the loop's clock at most 100 years from system
///   time either way (`Bounded.clockOffset`);
/// - whole numbers at most 2^53 − 1, so every accepted one is exact as a `Double`.
///
/// Written numbers are plain decimals: `inf`, `nan`, hex (`0x10`) and the like are refused; `-0` reads as 0; subnormal
/// numbers (`1e-320`) are refused wherever they come from.
///
/// ```swift
/// Bounded.duration.parse("6h")       // 21600
/// Bounded.duration.parse("1e19")     // nil: above 100 years
/// Bounded.whole(1...3650).parse("1e19")   // nil: not a whole number
/// Bounded.price.contains(1e308)      // false
/// ```
public struct Bounded: Sendable, Equatable, CustomStringConvertible {
    /// How a value is written.
    public enum Syntax: Sendable, Equatable {
        /// A plain decimal such as `0.55`, `-3` or `2.5e-3`.
        case decimal
        /// Digits with an optional sign, such as `42`.
        case whole
        /// `90m`, `6h`, `2d`, `1h30m`, `1.5h` or plain seconds; units s, m, h, d, w.
        case duration
        /// ISO-8601 (`2026-11-20`, `2026-11-20T10:00Z`, offsets) or epoch seconds, milliseconds or microseconds.
        case time
    }

    public let syntax: Syntax
    public let lower: Double
    public let upper: Double
    /// Whether `lower` itself is refused ("above 0").
    public let excludesLower: Bool
    /// Whether `upper` itself is refused ("up to, not including, 1").
    public let excludesUpper: Bool

    public init(_ syntax: Syntax, _ lower: Double, _ upper: Double, excludesLower: Bool = false, excludesUpper: Bool = false) {
        precondition(lower.isFinite && upper.isFinite && lower <= upper, "a bound needs finite ends in order")
        precondition(syntax != .whole || (Swift.abs(lower) <= Self.largestWhole && Swift.abs(upper) <= Self.largestWhole),
                     "whole-number bounds must be exact as Double")
        self.syntax = syntax
        self.lower = lower
        self.upper = upper
        self.excludesLower = excludesLower
        self.excludesUpper = excludesUpper
    }

    // MARK: The limits

    /// 2200-01-01T00:00:00Z: times are refused from here on.
    public static let endOfTime: TimeInterval = 7_258_118_400
    /// 100 years of 365.25 days, in seconds.
    public static let century: TimeInterval = 3_155_760_000
    /// 2^53 − 1: the largest whole number a `Double` holds exactly (and its negative).
    public static let largestWhole: Double = 9_007_199_254_740_991

    /// A bar, training, prediction or clock time.
    public static let time = Bounded(.time, 0, endOfTime, excludesUpper: true)
    /// A price (open, high, low, close, a prediction's price).
    public static let price = Bounded(.decimal, 1e-12, 1e12)
    /// A bar's traded volume.
    public static let volume = Bounded(.decimal, 0, 1e18)
    /// A duration typed or stored: config intervals, `advance`, `--every`, `--step`.
    public static let duration = Bounded(.duration, 1, century)
    /// How far the loop's clock may be from system time.
    public static let clockOffset = Bounded(.duration, -century, century)

    /// Whole numbers in `range`.
    public static func whole(_ range: ClosedRange<Int>) -> Bounded {
        Bounded(.whole, Double(range.lowerBound), Double(range.upperBound))
    }

    /// Decimals in `range`.
    public static func number(_ range: ClosedRange<Double>) -> Bounded {
        Bounded(.decimal, range.lowerBound, range.upperBound)
    }

    /// Decimals above 0 and at most `maximum`.
    public static func positive(maximum: Double) -> Bounded {
        Bounded(.decimal, 0, maximum, excludesLower: true)
    }

    /// Decimals from 0 up to, not including, `limit`.
    public static func fraction(below limit: Double) -> Bounded {
        Bounded(.decimal, 0, limit, excludesUpper: true)
    }

    /// The same bound with a higher floor (e.g. a replay step of at least one bar).
    public func atLeast(_ floor: Double) -> Bounded {
        floor <= lower ? self : Bounded(syntax, Swift.min(floor, upper), upper, excludesUpper: excludesUpper)
    }

    // MARK: Checking

    /// Whether `value` is finite, not subnormal, and within the bound.
    public func contains(_ value: Double) -> Bool {
        // Subnormals (below about 2.2e-308) carry no precision and turn into infinity when divided into.
        guard value.isFinite, value == 0 || value.isNormal else { return false }
        guard excludesLower ? value > lower : value >= lower else { return false }
        guard excludesUpper ? value < upper : value <= upper else { return false }
        return syntax != .whole || value == value.rounded()
    }

    /// The value `text` writes, when it is well formed and within the bound; nil otherwise. `-0` reads as 0.
    public func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value: Double?
        switch syntax {
        case .decimal: value = NumberText.decimal(trimmed)
        case .whole: value = NumberText.whole(trimmed)
        case .duration: value = DurationText.seconds(trimmed)
        case .time: value = TimeText.unbounded(trimmed)
        }
        guard let value, contains(value) else { return nil }
        return value + 0  // turns -0 into 0
    }

    /// Whether `text` is written as a plain decimal number at all, whatever its size (`fetch` tells DAYS from a
    /// coin id this way: `1e19` is a number out of range, `1inch` a coin).
    public static func writesNumber(_ text: String) -> Bool {
        NumberText.decimal(text.trimmingCharacters(in: .whitespaces)) != nil
    }

    /// `parse` for whole numbers, as an `Int` (exact: the bound keeps it within 2^53).
    public func parseWhole(_ text: String) -> Int? {
        precondition(syntax == .whole, "parseWhole is for whole-number bounds")
        return parse(text).map { Int($0) }
    }

    // MARK: Wording

    /// What an accepted value looks like, for "expected …" in errors: `a whole number from 1 to 3650`.
    public var expected: String {
        let noun: String
        switch syntax {
        case .decimal: noun = "a number"
        case .whole: noun = "a whole number"
        case .duration: noun = "a duration"
        case .time: noun = "a time"
        }
        let from = show(lower), to = show(upper)
        var text: String
        switch (excludesLower, excludesUpper) {
        case (false, false): text = "\(noun) from \(from) to \(to)"
        case (true, false): text = "\(noun) above \(from) and at most \(to)"
        case (false, true): text = "\(noun) from \(from) up to (not including) \(to)"
        case (true, true): text = "\(noun) between \(from) and \(to), both excluded"
        }
        if syntax == .duration, lower <= 60 { text += ", such as 90m, 6h or 2d" }
        if syntax == .time { text += ", such as 2026-11-20 or 2026-11-20T10:00" }
        return text
    }

    public var description: String { expected }

    /// The upper limit as people read it (`100 years`, `2200-01-01`, `1e12`).
    public var upperText: String { show(upper) }

    /// A limit as people read it: `100 years`, `2200-01-01`, `1e12`, `0.5`.
    private func show(_ value: Double) -> String {
        switch syntax {
        case .time:
            return String(CivilDate.iso(value).prefix(10))
        case .duration:
            let year = Self.century / 100
            if value != 0, value.truncatingRemainder(dividingBy: year) == 0 {
                let years = Int(value / year)
                return Swift.abs(years) == 1 ? "\(years) year" : "\(years) years"
            }
            return DurationText.format(value)
        case .whole:
            return String(Int(value))
        case .decimal:
            if value != 0, Swift.abs(value) >= 1e6 || Swift.abs(value) < 1e-4 {
                let exponent = Int(log10(Swift.abs(value)).rounded())
                if value == (value < 0 ? -1 : 1) * pow(10, Double(exponent)) { return (value < 0 ? "-" : "") + "1e\(exponent)" }
            }
            return value == value.rounded() && Swift.abs(value) < 1e15 ? String(Int(value)) : String(value)
        }
    }
}

/// The syntax of written numbers, before any bound. Use `Bounded.parse`, which also checks the range.
enum NumberText {
    /// A plain decimal (`-12.5`, `3e-4`, `+7`); nil for `inf`, `nan`, hex, blanks or anything else. May be infinite
    /// when the exponent overflows (`1e400`); `Bounded` refuses that.
    static func decimal(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { CSVNumber.parse($0, 0, $0.count) }
    }

    /// Digits with an optional sign (`42`, `-3`); nil otherwise. Longer numbers than 2^53 come back inexact, which
    /// `Bounded` then refuses as out of range.
    static func whole(_ text: String) -> Double? {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ CSVByte.isDigit($0) }) else { return nil }
        return decimal(text)
    }
}
