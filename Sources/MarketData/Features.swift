import Foundation

/// A dense, row-major matrix of model features with the bar each row belongs to.
public struct FeatureMatrix: Sendable, Equatable {
    /// Column names, in model column order.
    public let names: [String]
    /// For each row, the index of its bar in the series.
    public let barIndices: [Int]
    /// For each row, its bar's time (seconds since 1970).
    public let times: [TimeInterval]
    /// Row-major values, `rows * cols` of them.
    public let values: [Double]

    /// Creates a matrix; `values` must hold `barIndices.count * names.count` row-major values.
    public init(names: [String], barIndices: [Int], times: [TimeInterval], values: [Double]) {
        precondition(times.count == barIndices.count, "one time per row")
        precondition(values.count == barIndices.count * names.count, "values must be rows * cols")
        self.names = names
        self.barIndices = barIndices
        self.times = times
        self.values = values
    }

    public var rows: Int { barIndices.count }
    public var cols: Int { names.count }

    public subscript(row: Int, col: Int) -> Double {
        values[row * names.count + col]
    }

    /// The values of row `r`, in column order.
    public func row(_ r: Int) -> ArraySlice<Double> {
        values[(r * names.count)..<((r + 1) * names.count)]
    }

    /// Rows `0..<count`. Features are causal, so the first rows of a series' matrix are the matrix of the series
    /// cut after those rows' bars.
    public func prefix(rows count: Int) -> FeatureMatrix {
        FeatureMatrix(names: names, barIndices: Array(barIndices[..<count]), times: Array(times[..<count]),
                      values: Array(values[..<(count * names.count)]))
    }

    /// Row `r` alone, as a one-row matrix (bar index and time kept).
    public func single(row r: Int) -> FeatureMatrix {
        FeatureMatrix(names: names, barIndices: [barIndices[r]], times: [times[r]], values: Array(row(r)))
    }
}

/// Builds the causal, scale-free feature matrix the models train on.
public enum FeatureBuilder {
    /// Column names in model order. Every column is a ratio, return, or bounded score, so
    /// models trained at one price level still apply at another.
    public static let names: [String] = [
        "sma_7_ratio", "sma_25_ratio", "sma_99_ratio",
        "ema_12_ratio", "ema_26_ratio",
        "macd", "macd_signal", "macd_hist",
        "rsi_14",
        "bb_position", "bb_width",
        "volatility_24",
        "volume_ratio",
        "vwap_14_ratio",
        "return_1", "return_24",
        "quarter_end",
        "support_48", "resistance_48",
    ]

    /// The first bar index that gets a row: before it the 24-bar return and volatility
    /// windows are not yet full.
    public static let warmup: Int = 24

    /// One row per bar from `warmup` to the last bar (the last row is the latest bar, which
    /// has no target yet); empty when the series has `warmup` bars or fewer.
    ///
    /// Every value at bar `t` uses bars `0...t` only.
    public static func features(for series: PriceSeries) -> FeatureMatrix {
        let bars = series.bars
        let count = bars.count
        let rowCount = max(0, count - warmup)
        guard rowCount > 0 else {
            return FeatureMatrix(names: names, barIndices: [], times: [], values: [])
        }

        var close = [Double](); close.reserveCapacity(count)
        var high = [Double](); high.reserveCapacity(count)
        var low = [Double](); low.reserveCapacity(count)
        var volume = [Double](); volume.reserveCapacity(count)
        var time = [Double](); time.reserveCapacity(count)
        for bar in bars {
            close.append(bar.close)
            high.append(bar.high)
            low.append(bar.low)
            volume.append(bar.volume)
            time.append(bar.time)
        }

        let sma7 = Indicators.sma(close, period: 7)
        let sma25 = Indicators.sma(close, period: 25)
        let sma99 = Indicators.sma(close, period: 99)
        let ema12 = Indicators.ema(close, span: 12)
        let ema26 = Indicators.ema(close, span: 26)
        let macd = Indicators.macd(close)
        let rsi = Indicators.rsi(close, period: 14)
        let bands = Indicators.bollinger(close, period: 20, width: 2)
        let volatility = Indicators.volatility(close, period: 24)
        let volumeMean = Indicators.sma(volume, period: 20)
        let vwap = Indicators.vwap(high: high, low: low, close: close, volume: volume, period: 14)
        let return1 = Indicators.returns(close, periods: 1)
        let return24 = Indicators.returns(close, periods: 24)
        let support = Indicators.support(low: low, period: 48)
        let resistance = Indicators.resistance(high: high, period: 48)

        var values = [Double]()
        values.reserveCapacity(rowCount * names.count)
        var barIndices = [Int]()
        barIndices.reserveCapacity(rowCount)
        var times = [TimeInterval]()
        times.reserveCapacity(rowCount)

        for t in warmup..<count {
            let c = close[t]
            let bandWidth = bands.upper[t] - bands.lower[t]
            values.append(c / sma7[t] - 1)
            values.append(c / sma25[t] - 1)
            values.append(c / sma99[t] - 1)
            values.append(c / ema12[t] - 1)
            values.append(c / ema26[t] - 1)
            values.append(macd.macd[t] / c)
            values.append(macd.signal[t] / c)
            values.append(macd.histogram[t] / c)
            values.append(rsi[t] / 100)
            values.append(bandWidth > 0 ? (c - bands.lower[t]) / bandWidth : 0.5)
            values.append(bandWidth / bands.middle[t])
            values.append(volatility[t])
            // Sources without volume (CoinGecko closes, price-only CSVs) read as "normal volume".
            values.append(volumeMean[t] > 0 ? volume[t] / volumeMean[t] : 1)
            values.append(c / vwap[t] - 1)
            values.append(return1[t])
            values.append(return24[t])
            values.append(Indicators.isQuarterEnd(time[t]) ? 1 : 0)
            values.append(c / support[t] - 1)
            values.append(c / resistance[t] - 1)
            barIndices.append(t)
            times.append(time[t])
        }
        return FeatureMatrix(names: names, barIndices: barIndices, times: times, values: values)
    }
}

/// Features with next-bar-direction labels and a chronological train/test split.
public struct Dataset: Sendable {
    /// All rows, including the latest (unlabelled) one.
    public let features: FeatureMatrix
    /// Per row except the latest: 1 if the next bar closes above this bar's close, else 0.
    public let labels: [Double]
    /// Rows `0..<trainCount` train; rows `trainCount..<labels.count` test.
    public let trainCount: Int
    /// Other assets' rows that train beside this asset's own (`training_pool all`); never tested on.
    public private(set) var pool: PooledRows?

    /// Labelled rows after the training rows.
    public var testCount: Int { labels.count - trainCount }

    /// The time of the first test row's bar: a row of another asset may train beside this asset's own only when
    /// its label (the next bar's close) was known by then (see `PooledRows`).
    public var testStart: TimeInterval { features.times[trainCount] }

    /// This dataset with other assets' rows labelled by `testStart` added to its training part.
    public func pooled(with pool: [PooledSource]) -> Dataset {
        var copy = self
        copy.pool = pool.isEmpty ? nil : PooledRows(pool, labelledBy: testStart)
        return copy
    }

    /// Wraps already-built features; `labels` covers every row but the latest, and
    /// `trainCount` must leave at least one test row.
    public init(features: FeatureMatrix, labels: [Double], trainCount: Int) {
        precondition(labels.count == features.rows - 1, "one label per row except the latest")
        precondition(trainCount >= 1 && trainCount < labels.count, "both train and test need a row")
        self.features = features
        self.labels = labels
        self.trainCount = trainCount
    }

    /// Builds features and labels for `series` and splits the labelled rows chronologically,
    /// the last `testFraction` of them for testing (each part gets at least one row).
    ///
    /// Throws `MarketDataError.tooFewRows` (counted in bars, as the user sees them) when
    /// fewer than `max(minimumRows, 2)` labelled rows exist, and `invalidArgument` when
    /// `testFraction` is not strictly between 0 and 1.
    public static func make(from series: PriceSeries, testFraction: Double = 0.2, minimumRows: Int = 30) throws -> Dataset {
        try make(from: series, features: { FeatureBuilder.features(for: series) }, testFraction: testFraction,
                 minimumRows: minimumRows)
    }

    /// `make(from:testFraction:minimumRows:)` with the feature matrix supplied by the caller: it must equal
    /// `FeatureBuilder.features(for: series)` (e.g. the first rows of a longer series' matrix — features are causal).
    /// Lets a replay build the matrix once for the whole series instead of once per step.
    public static func make(from series: PriceSeries, features makeFeatures: () -> FeatureMatrix,
                            testFraction: Double = 0.2, minimumRows: Int = 30) throws -> Dataset {
        guard testFraction > 0, testFraction < 1 else {
            throw MarketDataError.invalidArgument("test fraction must be between 0 and 1 (exclusive), got \(testFraction)")
        }
        // Two labelled rows are the least that gives both a train and a test row.
        let neededLabelled = max(minimumRows, 2)
        // Bars needed: the warm-up bars, one per labelled row, plus the latest unlabelled bar.
        let neededBars = FeatureBuilder.warmup + neededLabelled + 1
        guard series.count >= neededBars else {
            throw MarketDataError.tooFewRows(have: series.count, need: neededBars)
        }

        let features = makeFeatures()
        precondition(features.rows == series.count - FeatureBuilder.warmup, "features must be built from this series")
        let labelledCount = features.rows - 1
        var labels = [Double]()
        labels.reserveCapacity(labelledCount)
        let bars = series.bars
        for r in 0..<labelledCount {
            let t = features.barIndices[r]
            labels.append(bars[t + 1].close > bars[t].close ? 1 : 0)
        }

        let split = Int((Double(labelledCount) * (1 - testFraction)).rounded(.down))
        let trainCount = min(max(split, 1), labelledCount - 1)
        return Dataset(features: features, labels: labels, trainCount: trainCount)
    }
}

/// One other asset whose rows may join a training: its series and that series' feature matrix (built once; features
/// are causal, so the matrix of the whole series serves every cut).
public struct PooledSource: Sendable {
    public let series: PriceSeries
    public let features: FeatureMatrix

    public init(series: PriceSeries, features: FeatureMatrix? = nil) {
        self.series = series
        self.features = features ?? FeatureBuilder.features(for: series)
    }
}

/// Other assets' labelled rows for a pooled training, cut chronologically: a row at bar t joins only when its label
/// — whether bar t+1 closed above bar t — was known by `cut` (bar t+1's time ≤ `cut`, the asset's first test bar),
/// so no pooled row is later than the asset's test rows and none peeks into the period it is tested on.
public struct PooledRows: Sendable, Equatable {
    /// Row-major feature values, `FeatureBuilder.names.count` per row.
    public let values: [Double]
    public let labels: [Double]
    /// For each row, its label's time (the next bar's): all ≤ `cut`.
    public let labelTimes: [TimeInterval]
    public let cut: TimeInterval

    public var rows: Int { labels.count }

    public init(_ sources: [PooledSource], labelledBy cut: TimeInterval) {
        var values: [Double] = [], labels: [Double] = [], labelTimes: [TimeInterval] = []
        for source in sources {
            let bars = source.series.bars, features = source.features
            for row in 0..<features.rows {
                let t = features.barIndices[row]
                guard t + 1 < bars.count, bars[t + 1].time <= cut else { break }
                values += features.row(row)
                labels.append(bars[t + 1].close > bars[t].close ? 1 : 0)
                labelTimes.append(bars[t + 1].time)
            }
        }
        self.values = values
        self.labels = labels
        self.labelTimes = labelTimes
        self.cut = cut
    }
}
