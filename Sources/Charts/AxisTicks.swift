/// A tick on the x axis: its value and label.
struct XTick {
    var value: Double
    var label: String
}

/// UTC calendar arithmetic without Foundation (days-from-civil after H. Hinnant), so labels never depend on the local time zone.
enum UTCCalendar {
    struct Civil {
        var year: Int
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
    }

    static func civil(fromUnix seconds: Double) -> Civil {
        let whole = Int64(seconds.rounded(.down))
        let days = floorDiv(whole, 86_400)
        let secondOfDay = Int(whole - days * 86_400)
        let (year, month, day) = civilFromDays(days)
        return Civil(year: year, month: month, day: day, hour: secondOfDay / 3600, minute: (secondOfDay % 3600) / 60)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? quotient - 1 : quotient
    }

    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

enum TimeLabelFormat {
    case dateTime, day, month, year

    /// Label width in cells, used to space ticks before any label is built.
    var width: Int {
        switch self {
        case .dateTime: 11
        case .day: 5
        case .month: 7
        case .year: 4
        }
    }

    func label(_ seconds: Double) -> String {
        let c = UTCCalendar.civil(fromUnix: seconds)
        switch self {
        case .dateTime: return "\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute))"
        case .day: return "\(two(c.month))-\(two(c.day))"
        case .month: return "\(c.year)-\(two(c.month))"
        case .year: return "\(c.year)"
        }
    }

    private func two(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

enum XTicks {
    /// Minimum blank cells between neighbouring x labels.
    static let labelGap = 2

    /// Ticks for a time axis over [minX, maxX] drawn across `columns` plot columns.
    static func time(minX: Double, maxX: Double, columns: Int) -> [XTick] {
        // Beyond a million years calendar labels mean nothing (and Int64 seconds would overflow); number the axis instead.
        guard abs(minX) < 3e13, abs(maxX) < 3e13 else { return index(minX: minX, maxX: maxX, columns: columns) }
        let span = maxX - minX
        guard span > 0, columns > 1 else {
            return [XTick(value: minX, label: TimeLabelFormat.dateTime.label(minX))]
        }
        let columnsPerSecond = Double(columns - 1) / span
        for candidate in timeCandidates {
            let label = candidate.format.width + labelGap
            // Months are spaced by their shortest length (28 days) so February never crowds labels.
            let shortestStep = candidate.months > 0 ? Double(candidate.months) * 28 * 86_400 : Double(candidate.seconds)
            guard shortestStep * columnsPerSecond >= Double(label) else { continue }
            let values = candidate.months > 0
                ? monthTicks(minX: minX, maxX: maxX, months: candidate.months)
                : secondTicks(minX: minX, maxX: maxX, step: candidate.seconds, offset: candidate.offset)
            if values.isEmpty { break }
            return values.map { XTick(value: $0, label: candidate.format.label($0)) }
        }
        return [XTick(value: minX, label: TimeLabelFormat.dateTime.label(minX))]
    }

    /// Ticks at "nice" multiples (1, 2, 5 × 10^k, at least 1) for an index axis.
    static func index(minX: Double, maxX: Double, columns: Int) -> [XTick] {
        let span = maxX - minX
        guard span > 0, span.isFinite, columns > 1 else { return [XTick(value: minX, label: indexLabel(minX))] }
        let widest = max(indexLabel(minX).count, indexLabel(maxX).count) + labelGap
        let columnsPerUnit = Double(columns - 1) / span
        var step = 1.0
        while step * columnsPerUnit < Double(widest) {
            step = NumberText.niceStep(atLeast: step * 1.000001)
        }
        var ticks: [XTick] = []
        var k = (minX / step).rounded(.up)
        // Past 2^53 `k += 1` no longer moves k: a span tiny beside its values stops rather than loops for ever.
        while k * step <= maxX + step * 1e-9, k + 1 != k, ticks.count <= columns {
            ticks.append(XTick(value: k * step, label: indexLabel(k * step)))
            k += 1
        }
        return ticks.isEmpty ? [XTick(value: minX, label: indexLabel(minX))] : ticks
    }

    static func indexLabel(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return NumberText.fixed(value, decimals: 2)
    }

    private struct Candidate {
        var seconds: Int64 = 0
        var months: Int = 0
        /// Shifts the grid so weekly ticks land on Mondays (1970-01-01 was a Thursday).
        var offset: Int64 = 0
        var format: TimeLabelFormat
    }

    private static let timeCandidates: [Candidate] = {
        var list: [Candidate] = []
        for minutes: Int64 in [1, 5, 10, 15, 30, 60, 120, 180, 360, 720] {
            list.append(Candidate(seconds: minutes * 60, format: .dateTime))
        }
        for days: Int64 in [1, 2] {
            list.append(Candidate(seconds: days * 86_400, format: .day))
        }
        for days: Int64 in [7, 14] {
            list.append(Candidate(seconds: days * 86_400, offset: 3 * 86_400, format: .day))
        }
        for months in [1, 2, 3, 6] {
            list.append(Candidate(months: months, format: .month))
        }
        for years in [1, 2, 5, 10, 20, 50, 100] {
            list.append(Candidate(months: years * 12, format: .year))
        }
        return list
    }()

    private static func secondTicks(minX: Double, maxX: Double, step: Int64, offset: Int64) -> [Double] {
        let first = UTCCalendar.floorDiv(Int64(minX.rounded(.up)) + offset + step - 1, step) * step - offset
        var ticks: [Double] = []
        var t = first
        while Double(t) <= maxX {
            ticks.append(Double(t))
            t += step
        }
        return ticks
    }

    private static func monthTicks(minX: Double, maxX: Double, months: Int) -> [Double] {
        let start = UTCCalendar.civil(fromUnix: minX)
        // Month number since year 0, so multi-month steps align to Jan/Apr/Jul/Oct and years to January.
        var monthIndex = start.year * 12 + (start.month - 1)
        let remainder = ((monthIndex % months) + months) % months
        if remainder != 0 { monthIndex += months - remainder }
        var ticks: [Double] = []
        while true {
            let year = monthIndex >= 0 ? monthIndex / 12 : (monthIndex - 11) / 12
            let month = monthIndex - year * 12 + 1
            let t = Double(UTCCalendar.daysFromCivil(year: year, month: month, day: 1) * 86_400)
            if t > maxX { break }
            if t >= minX { ticks.append(t) }
            monthIndex += months
        }
        return ticks
    }
}

enum YTicks {
    /// The y range after padding/alignment, the tick values and their step.
    struct Scale {
        var low: Double
        var high: Double
        var ticks: [Double]
        var step: Double
    }

    /// Fits a scale to [minY, maxY]; a fixed range is kept exactly, a fitted one is padded by 5% of the span on each side.
    static func scale(minY: Double, maxY: Double, fixed: ClosedRange<Double>?, rows: Int) -> Scale {
        var low: Double
        var high: Double
        if let fixed, fixed.lowerBound.isFinite, fixed.upperBound.isFinite, fixed.upperBound > fixed.lowerBound {
            low = fixed.lowerBound
            high = fixed.upperBound
            return fittedTicks(low: low, high: high, rows: rows)
        }
        if maxY > minY {
            let pad = (maxY - minY) * 0.05
            low = minY - pad
            high = maxY + pad
        } else {
            // A flat series gets a symmetric band so its line sits in the middle rows.
            // A subnormal value's 5 % is 0, so such a band falls back to ±1 like 0's.
            let pad = abs(minY) * 0.05 > 0 ? abs(minY) * 0.05 : 1
            low = minY - pad
            high = minY + pad
        }
        // Ticks are nice values inside the padded range; widening the range to whole steps would waste up to a third of the rows.
        return fittedTicks(low: low, high: high, rows: rows)
    }

    /// About one labelled row in three: the coarsest nice step giving that many ticks while keeping a blank row between labels.
    private static func fittedTicks(low: Double, high: Double, rows: Int) -> Scale {
        let wanted = max(2, rows / 3)
        let span = high - low
        var best: Scale?
        for divisions in wanted...(wanted + 3) {
            let step = NumberText.niceStep(atLeast: span / Double(divisions))
            let rowsPerStep = step / span * Double(rows - 1)
            if best != nil && rowsPerStep < 2 { break }
            let scale = Scale(low: low, high: high, ticks: multiples(of: step, from: low, to: high), step: step)
            best = scale
            if scale.ticks.count >= wanted { break }
        }
        return best!
    }

    private static func multiples(of step: Double, from low: Double, to high: Double) -> [Double] {
        var ticks: [Double] = []
        var k = (low / step - 1e-9).rounded(.up)
        // Past 2^53 `k += 1` no longer moves k: a range tiny beside its values stops rather than loops for ever.
        while k * step <= high + step * 1e-9, k + 1 != k, ticks.count < 1000 {
            // Snap tiny float residue (e.g. 0.30000000000000004) so labels and rows stay exact.
            let value = k * step
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            k += 1
        }
        return ticks
    }
}
