/// Rendering style shared by every chart: glyph set and optional ANSI colour.
public struct ChartStyle: Sendable, Equatable {
    /// Box-drawing and block glyphs when true; a pure ASCII fallback (`- | + * o #`) when false.
    public var unicode: Bool
    /// Wrap each series' glyphs and legend key in an ANSI colour; only set when the terminal supports it.
    public var color: Bool

    /// Creates a style; defaults to Unicode glyphs without colour.
    public init(unicode: Bool = true, color: Bool = false) {
        self.unicode = unicode
        self.color = color
    }
}

/// One (x, y) sample of a chart series.
public struct ChartPoint: Sendable, Equatable {
    /// Position on the x axis: seconds since 1970 UTC for `.time`, a plain number for `.index`.
    public var x: Double
    /// Value; non-finite values are skipped when drawing.
    public var y: Double

    /// Creates a point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A named sequence of points, x ascending.
public struct ChartSeries: Sendable, Equatable {
    /// Legend name.
    public var name: String
    /// Samples sorted by ascending x.
    public var points: [ChartPoint]

    /// Creates a series; `points` should be sorted by ascending x.
    public init(name: String, points: [ChartPoint]) {
        self.name = name
        self.points = points
    }
}

/// How x values are interpreted and labelled.
public enum XAxisKind: Sendable, Equatable {
    /// Seconds since 1970 UTC; tick labels are dates/times chosen by span ("11-25 14:00", "11-25", "2026-11", "2026").
    case time
    /// Plain numbers such as a training number 1, 2, 3…
    case index
}

/// Number format for y-axis ticks and values.
public enum YFormat: Sendable, Equatable {
    /// Price-like: decimals fitted to the tick step, large values shortened with k/M/B/T suffixes.
    case auto
    /// Fractions as percentages: 0.55 -> "55%".
    case percent
    /// A fixed number of decimals.
    case fixed(Int)
}

/// Layout and labelling options for `LineChart.render`.
public struct LineChartOptions: Sendable {
    /// Total width in terminal columns, including axis labels and legend.
    public var width: Int = 80
    /// Number of plot rows (excluding title, x axis and legend).
    public var height: Int = 12
    /// Optional title shown above the plot.
    public var title: String? = nil
    /// Optional unit shown above the y axis, e.g. "accuracy" or "USD".
    public var yLabel: String? = nil
    /// Fixed y range (e.g. 0...1 for accuracy); when nil the range is fitted to the data with a little padding.
    public var yRange: ClosedRange<Double>? = nil
    /// Format of the y tick labels.
    public var yFormat: YFormat = .auto
    /// Interpretation of x values.
    public var xAxis: XAxisKind = .index
    /// Optional horizontal reference line (e.g. a 0.55 performance threshold), drawn dotted and listed in the legend.
    public var referenceLine: (value: Double, label: String)? = nil

    /// Creates options with defaults: 80×12, index axis, auto y format.
    public init() {}
}
