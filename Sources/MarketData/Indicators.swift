import Foundation

/// MACD line, its signal line and their difference, one value per input bar.
public struct MACD: Sendable, Equatable {
    /// Fast EMA minus slow EMA.
    public let macd: [Double]
    /// EMA of the MACD line.
    public let signal: [Double]
    /// MACD minus signal.
    public let histogram: [Double]
}

/// Bollinger bands (middle SMA ± width sample standard deviations), one value per input bar.
public struct BollingerBands: Sendable, Equatable {
    public let upper: [Double]
    public let middle: [Double]
    public let lower: [Double]
}

/// Technical indicators as pure, strictly causal functions: the value at index `t` uses
/// inputs `0...t` only, and every result has the same length as its input.
///
/// Warm-up policy: rolling windows expand until they are full (like pandas `min_periods=1`),
/// so the first values are means/extremes of the bars seen so far; a rolling standard
/// deviation needs two values and is 0 before that; EMAs follow pandas
/// `ewm(span:, adjust: false)` seeded with the first value.
public enum Indicators {

    /// Simple moving average over the last `period` values (fewer during warm-up).
    public static func sma(_ x: [Double], period: Int) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        var out = [Double](repeating: 0, count: x.count)
        var sum = RollingSum()
        for t in 0..<x.count {
            sum.add(x[t])
            if t >= period { sum.remove(x[t - period]) }
            out[t] = sum.value / Double(min(t + 1, period))
        }
        return out
    }

    /// Exponential moving average with `alpha = 2 / (span + 1)`, seeded with the first value
    /// (pandas `ewm(span: span, adjust: false).mean()`).
    public static func ema(_ x: [Double], span: Int) -> [Double] {
        precondition(span >= 1, "span must be at least 1")
        guard let first = x.first else { return [] }
        let alpha = 2.0 / (Double(span) + 1.0)
        var out = [Double](repeating: 0, count: x.count)
        var value = first
        out[0] = value
        for t in x.indices.dropFirst() {
            value = (1 - alpha) * value + alpha * x[t]
            out[t] = value
        }
        return out
    }

    /// Rolling sample standard deviation (ddof = 1, like pandas `rolling().std()`) over the
    /// last `period` values; 0 while fewer than two values are available.
    public static func rollingStd(_ x: [Double], period: Int) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        return rollingStd(x, period: period, firstValid: 0)
    }

    /// Rolling minimum over the last `period` values (fewer during warm-up).
    public static func rollingMin(_ x: [Double], period: Int) -> [Double] {
        rollingExtreme(x, period: period, keepsNewer: { newer, older in newer <= older })
    }

    /// Rolling maximum over the last `period` values (fewer during warm-up).
    public static func rollingMax(_ x: [Double], period: Int) -> [Double] {
        rollingExtreme(x, period: period, keepsNewer: { newer, older in newer >= older })
    }

    /// MACD (EMA `fast` − EMA `slow`), its `signal`-span EMA and the histogram.
    public static func macd(_ close: [Double], fast: Int = 12, slow: Int = 26, signal: Int = 9) -> MACD {
        let fastEMA = ema(close, span: fast)
        let slowEMA = ema(close, span: slow)
        var line = [Double](repeating: 0, count: close.count)
        for t in 0..<close.count { line[t] = fastEMA[t] - slowEMA[t] }
        let signalLine = ema(line, span: signal)
        var histogram = [Double](repeating: 0, count: close.count)
        for t in 0..<close.count { histogram[t] = line[t] - signalLine[t] }
        return MACD(macd: line, signal: signalLine, histogram: histogram)
    }

    /// Relative strength index from simple means of gains and losses over the last `period`
    /// one-bar changes: `100 − 100 / (1 + avgGain / avgLoss)`.
    ///
    /// 100 when the window has gains but no losses, 50 when it has neither (including the
    /// first bar, which has no change yet). During warm-up the window holds the `t` changes seen.
    public static func rsi(_ close: [Double], period: Int = 14) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        var out = [Double](repeating: 50, count: close.count)
        var gains = RollingSum()
        var losses = RollingSum()
        for t in close.indices.dropFirst() {
            let change = close[t] - close[t - 1]
            gains.add(max(change, 0))
            losses.add(max(-change, 0))
            let leaving = t - period
            if leaving >= 1 {
                let old = close[leaving] - close[leaving - 1]
                gains.remove(max(old, 0))
                losses.remove(max(-old, 0))
            }
            let count = Double(min(t, period))
            let avgGain = gains.value / count
            let avgLoss = losses.value / count
            if avgLoss > 0 {
                out[t] = 100 - 100 / (1 + avgGain / avgLoss)
            } else {
                out[t] = avgGain > 0 ? 100 : 50
            }
        }
        return out
    }

    /// Bollinger bands: `period` SMA ± `width` rolling sample standard deviations.
    public static func bollinger(_ close: [Double], period: Int = 20, width: Double = 2) -> BollingerBands {
        let middle = sma(close, period: period)
        let std = rollingStd(close, period: period)
        var upper = [Double](repeating: 0, count: close.count)
        var lower = [Double](repeating: 0, count: close.count)
        for t in 0..<close.count {
            upper[t] = middle[t] + width * std[t]
            lower[t] = middle[t] - width * std[t]
        }
        return BollingerBands(upper: upper, middle: middle, lower: lower)
    }

    /// Rolling sample standard deviation of one-bar returns over the last `period` returns.
    ///
    /// The first bar has no return, so the window at `t` holds returns `max(1, t−period+1)...t`;
    /// the value is 0 until two returns exist (t < 2).
    public static func volatility(_ close: [Double], period: Int = 24) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        var oneBar = [Double](repeating: 0, count: close.count)
        for t in close.indices.dropFirst() {
            oneBar[t] = close[t] / close[t - 1] - 1
        }
        return rollingStd(oneBar, period: period, firstValid: 1)
    }

    /// Volume-weighted average of the typical price `(high + low + close) / 3` over the last
    /// `period` bars; the plain mean typical price when the window traded no volume.
    public static func vwap(high: [Double], low: [Double], close: [Double], volume: [Double], period: Int = 14) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        precondition(high.count == close.count && low.count == close.count && volume.count == close.count,
                     "high, low, close and volume must have the same length")
        var out = [Double](repeating: 0, count: close.count)
        var typical = [Double](repeating: 0, count: close.count)
        var weightedSum = RollingSum()
        var volumeSum = RollingSum()
        var typicalSum = RollingSum()
        for t in 0..<close.count {
            let price = (high[t] + low[t] + close[t]) / 3
            typical[t] = price
            weightedSum.add(price * volume[t])
            volumeSum.add(volume[t])
            typicalSum.add(price)
            if t >= period {
                let old = t - period
                weightedSum.remove(typical[old] * volume[old])
                volumeSum.remove(volume[old])
                typicalSum.remove(typical[old])
            }
            let traded = volumeSum.value
            out[t] = traded > 0 ? weightedSum.value / traded : typicalSum.value / Double(min(t + 1, period))
        }
        return out
    }

    /// Return over `periods` bars, `close[t] / close[t − periods] − 1`; before `periods` bars
    /// exist the first bar is the base (`close[t] / close[0] − 1`).
    public static func returns(_ close: [Double], periods: Int) -> [Double] {
        precondition(periods >= 1, "periods must be at least 1")
        var out = [Double](repeating: 0, count: close.count)
        for t in 0..<close.count {
            out[t] = close[t] / close[max(t - periods, 0)] - 1
        }
        return out
    }

    /// 1 for bars whose UTC date lies in the last week of a calendar quarter, else 0.
    ///
    /// "Last week" means March, June, September or December, day 24 or later — the days
    /// around quarterly futures/options expiries and fund rebalancing.
    public static func quarterEnd(_ times: [TimeInterval]) -> [Double] {
        var out = [Double](repeating: 0, count: times.count)
        for t in 0..<times.count where isQuarterEnd(times[t]) { out[t] = 1 }
        return out
    }

    /// Whether `time` (seconds since 1970) falls on day 24 or later of March, June, September
    /// or December, in UTC.
    public static func isQuarterEnd(_ time: TimeInterval) -> Bool {
        guard time.isFinite, abs(time) < 1e15 else { return false }
        let (_, month, day) = CivilDate.date(days: Int((time / 86_400).rounded(.down)))
        return month % 3 == 0 && day >= 24
    }

    /// Support: rolling minimum of the lows over the last `period` bars.
    public static func support(low: [Double], period: Int = 48) -> [Double] {
        rollingMin(low, period: period)
    }

    /// Resistance: rolling maximum of the highs over the last `period` bars.
    public static func resistance(high: [Double], period: Int = 48) -> [Double] {
        rollingMax(high, period: period)
    }

    // MARK: - Internals

    /// Rolling sample std over indices `max(firstValid, t − period + 1)...t`.
    ///
    /// O(period) per value rather than running sums of squares: subtracting squares of
    /// 30,000-sized prices cancels catastrophically, while deviations from the window's own
    /// latest value (the shifted-data formula) stay exact, and a flat window gives exactly 0.
    static func rollingStd(_ x: [Double], period: Int, firstValid: Int) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { values in
            for t in 0..<values.count {
                let start = max(firstValid, t - period + 1)
                let count = t - start + 1
                guard count >= 2 else { continue }
                let shift = values[t]
                var sum = 0.0
                var sumSquares = 0.0
                for j in start...t {
                    let d = values[j] - shift
                    sum += d
                    sumSquares += d * d
                }
                let n = Double(count)
                let variance = (sumSquares - sum * sum / n) / (n - 1)
                out[t] = variance > 0 ? variance.squareRoot() : 0
            }
        }
        return out
    }

    /// Sliding-window extreme with a monotonic deque of indices: O(n) overall.
    /// `keepsNewer(newer, older)` is true when `newer` makes `older` irrelevant.
    private static func rollingExtreme(_ x: [Double], period: Int, keepsNewer: (Double, Double) -> Bool) -> [Double] {
        precondition(period >= 1, "period must be at least 1")
        var out = [Double](repeating: 0, count: x.count)
        // Each index enters once, so a buffer of x.count slots never wraps.
        var deque = [Int](repeating: 0, count: x.count)
        var head = 0
        var tail = 0
        for t in 0..<x.count {
            while tail > head && keepsNewer(x[t], x[deque[tail - 1]]) { tail -= 1 }
            deque[tail] = t
            tail += 1
            if deque[head] <= t - period { head += 1 }
            out[t] = x[deque[head]]
        }
        return out
    }
}

/// A sliding-window sum with Neumaier compensation, so adding and removing values for
/// thousands of bars does not drift from the window's true sum.
///
/// It also counts the non-zero values in the window and snaps to exactly 0 when there are
/// none: "no losses" (RSI) and "no volume" (VWAP, volume ratio) must test as exactly 0, not
/// as a rounding residue.
struct RollingSum {
    private var sum = 0.0
    private var compensation = 0.0
    private var nonZero = 0

    var value: Double { sum + compensation }

    mutating func add(_ x: Double) {
        guard x != 0 else { return }
        nonZero += 1
        accumulate(x)
    }

    mutating func remove(_ x: Double) {
        guard x != 0 else { return }
        nonZero -= 1
        if nonZero == 0 {
            sum = 0
            compensation = 0
        } else {
            accumulate(-x)
        }
    }

    private mutating func accumulate(_ x: Double) {
        let total = sum + x
        if abs(sum) >= abs(x) {
            compensation += (sum - total) + x
        } else {
            compensation += (x - total) + sum
        }
        sum = total
    }
}
