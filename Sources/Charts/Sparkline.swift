/// One-line sparklines such as `▁▂▄▆█▇▅`.
public enum Sparkline {
    private static let unicodeLevels: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    private static let asciiLevels: [Unicode.Scalar] = [" ", ".", "-", ":", "=", "+", "*", "#"]

    /// ▁▂▃▄▅▆▇█ scaled to the values' own range; resampled (bucket means) to at most `width` characters; ASCII fallback uses " .-:=+*#".
    ///
    /// Non-finite values are ignored within a bucket; a bucket with none left is drawn as a space.
    /// Equal values are drawn at mid height. Trailing blanks are trimmed.
    public static func render(_ values: [Double], width: Int, style: ChartStyle) -> String {
        guard width > 0, !values.isEmpty else { return "" }
        let levels = style.unicode ? unicodeLevels : asciiLevels
        let count = min(width, values.count)
        var means = [Double](repeating: .nan, count: count)
        for bucket in 0..<count {
            // Bucket b covers [b·n/w, (b+1)·n/w): every value lands in exactly one bucket.
            let start = bucket * values.count / count
            let end = (bucket + 1) * values.count / count
            var finite = 0
            for value in values[start..<end] where value.isFinite { finite += 1 }
            guard finite > 0 else { continue }
            // Each value is divided before it is added, so the sum stays finite even near ±Double.greatestFiniteMagnitude.
            var mean = 0.0
            for value in values[start..<end] where value.isFinite { mean += value / Double(finite) }
            means[bucket] = mean
        }
        var low = Double.infinity
        var high = -Double.infinity
        for mean in means where !mean.isNaN {
            low = min(low, mean)
            high = max(high, mean)
        }
        guard low <= high else { return "" }
        var scalars = String.UnicodeScalarView()
        for mean in means {
            if mean.isNaN {
                scalars.append(" ")
            } else if high == low {
                scalars.append(levels[levels.count / 2 - 1])
            } else {
                // Halving first keeps the differences finite even for values near ±Double.greatestFiniteMagnitude.
                let fraction = (mean / 2 - low / 2) / (high / 2 - low / 2)
                // A range so small that it underflows gives a non-finite fraction: draw it at mid height.
                let level = fraction.isFinite ? Int((fraction * Double(levels.count - 1)).rounded()) : levels.count / 2 - 1
                scalars.append(levels[min(max(level, 0), levels.count - 1)])
            }
        }
        var line = String(scalars)
        while line.last == " " { line.removeLast() }
        return ANSIPalette.wrap(line, ANSIPalette.seriesColor(0), enabled: style.color)
    }
}
