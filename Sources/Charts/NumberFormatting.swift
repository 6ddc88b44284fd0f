extension YFormat {
    /// Formats a single value (bar values, reference lines) without a tick step to align to.
    public func format(_ value: Double) -> String {
        guard value.isFinite else { return NumberText.nonFinite(value) }
        switch self {
        case .fixed(let decimals):
            return NumberText.fixed(value, decimals: decimals)
        case .percent:
            let scaled = value * 100
            return NumberText.fixed(scaled, decimals: NumberText.decimalsNeeded(scaled, maximum: 1)) + "%"
        case .auto:
            let magnitude = abs(value)
            if let suffix = NumberText.suffix(forMagnitude: magnitude) {
                return NumberText.fixed(value / suffix.divisor, decimals: 1) + suffix.symbol
            }
            if magnitude >= 1 || magnitude == 0 {
                return NumberText.fixed(value, decimals: NumberText.decimalsNeeded(value, maximum: 2))
            }
            // Small magnitudes (coefficients, importances) keep about four significant digits.
            var decimals = 4
            var threshold = 0.1
            while magnitude < threshold && decimals < 10 {
                decimals += 1
                threshold /= 10
            }
            return NumberText.fixed(value, decimals: NumberText.decimalsNeeded(value, maximum: decimals))
        }
    }

    /// Formats evenly spaced tick values so that they share decimals and suffix and stay distinguishable.
    func tickLabels(_ ticks: [Double], step: Double) -> [String] {
        switch self {
        case .fixed(let decimals):
            return ticks.map { NumberText.fixed($0, decimals: decimals) }
        case .percent:
            let decimals = NumberText.decimalsForStep(step * 100)
            return ticks.map { NumberText.fixed($0 * 100, decimals: decimals) + "%" }
        case .auto:
            let largest = ticks.reduce(0.0) { max($0, abs($1)) }
            if let suffix = NumberText.suffix(forMagnitude: largest) {
                let decimals = NumberText.decimalsForStep(step / suffix.divisor)
                return ticks.map {
                    $0 == 0 ? "0" : NumberText.fixed($0 / suffix.divisor, decimals: decimals) + suffix.symbol
                }
            }
            let decimals = NumberText.decimalsForStep(step)
            return ticks.map { NumberText.fixed($0, decimals: decimals) }
        }
    }

    /// Formats a value that sits between ticks using at least the tick precision, plus up to two more decimals if needed.
    func offTickLabel(_ value: Double, step: Double) -> String {
        guard value.isFinite else { return NumberText.nonFinite(value) }
        switch self {
        case .fixed:
            return tickLabels([value], step: step)[0]
        case .percent:
            let base = NumberText.decimalsForStep(step * 100)
            let scaled = value * 100
            let decimals = max(base, NumberText.decimalsNeeded(scaled, maximum: base + 2))
            return NumberText.fixed(scaled, decimals: decimals) + "%"
        case .auto:
            let suffix = NumberText.suffix(forMagnitude: abs(value))
            let divisor = suffix?.divisor ?? 1
            let base = NumberText.decimalsForStep(step / divisor)
            let scaled = value / divisor
            let decimals = max(base, NumberText.decimalsNeeded(scaled, maximum: base + 2))
            return NumberText.fixed(scaled, decimals: decimals) + (suffix?.symbol ?? "")
        }
    }
}

/// Allocation-light number-to-text helpers; avoids Foundation's locale-dependent `String(format:)`.
enum NumberText {
    static func nonFinite(_ value: Double) -> String {
        value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf")
    }

    /// `value` rounded half away from zero to `decimals` places, e.g. fixed(-1.005, 1) == "-1.0".
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return nonFinite(value) }
        let decimals = min(max(decimals, 0), 12)
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        // Beyond 2^53 integer conversion loses meaning; such values only reach here via .fixed on absurd inputs.
        guard scaled < 9.0e15 else { return "\(value)" }
        let magnitude = UInt64(scaled)
        var digits = String(magnitude)
        if decimals > 0 {
            if digits.count <= decimals {
                digits = String(repeating: "0", count: decimals + 1 - digits.count) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (value < 0 && magnitude != 0) ? "-" + digits : digits
    }

    /// Fewest decimals (0...10) at which `step` is an integer, so every multiple of it prints exactly.
    static func decimalsForStep(_ step: Double) -> Int {
        guard step.isFinite, step > 0 else { return 0 }
        var scaled = step
        for decimals in 0...10 {
            if abs(scaled - scaled.rounded()) <= 1e-6 * max(1, scaled) { return decimals }
            scaled *= 10
        }
        return 10
    }

    /// Fewest decimals (0...maximum) that represent `value` exactly to 1e-9, capped at `maximum`.
    static func decimalsNeeded(_ value: Double, maximum: Int) -> Int {
        var scaled = value
        for decimals in 0..<max(maximum, 0) {
            if abs(scaled - scaled.rounded()) <= 1e-9 * max(1, abs(scaled)) { return decimals }
            scaled *= 10
        }
        return max(maximum, 0)
    }

    static func suffix(forMagnitude magnitude: Double) -> (divisor: Double, symbol: String)? {
        if magnitude >= 1e12 { return (1e12, "T") }
        if magnitude >= 1e9 { return (1e9, "B") }
        if magnitude >= 1e6 { return (1e6, "M") }
        if magnitude >= 1e4 { return (1e3, "k") }
        return nil
    }

    /// Smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) that is at least `raw`.
    static func niceStep(atLeast raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        // Below the normal range, dividing by 10 reaches 0 and multiplying 0 never grows: no step is finer than this.
        guard raw >= Double.leastNormalMagnitude else { return Double.leastNormalMagnitude }
        var power = 1.0
        while power > raw { power /= 10 }
        while power * 10 <= raw { power *= 10 }
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where factor * power >= raw * (1 - 1e-12) {
            return factor * power
        }
        return 10 * power
    }
}
