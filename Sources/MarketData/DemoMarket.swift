import Foundation

/// The market regimes the demo market switches between.
public enum DemoRegime: String, Sendable, CaseIterable {
    /// Upward drift; dips below the day's average price are bought back (moderate reversion).
    case trendingUp = "trending-up"
    /// Downward drift; rallies above the day's average price fade (moderate reversion).
    case trendingDown = "trending-down"
    /// Short bursts (1–4 days) where hourly moves continue and the pull to the average is gone.
    case momentum
    /// Prices snap back strongly towards the day's average price.
    case meanReverting = "mean-reverting"
    /// Low volatility, range-bound: strong reversion towards the day's average price.
    case calm
    /// High volatility, news-driven: only a weak pull towards the day's average price.
    case volatile
}

/// A deterministic synthetic hourly market for offline use and tests, with structure that
/// models can learn and whose strength changes with the regime.
///
/// Each hour's log return is
/// `drift + φ·previous return − κ·(log price − anchor) + σₜ·shock − (weak pull to the start)`:
///
/// - **Reversion to the day's average.** `anchor` is a 24-hour EMA of the log price. Liquidity
///   providers lean against overreactions, so the price closes a fraction κ of its gap to the
///   anchor every hour. The anchor follows the price, so this is short-horizon mean reversion
///   on top of a random walk, not a fixed range. The features see it directly: price below
///   its EMA/SMA, a low Bollinger position or RSI point to a rise next hour. κ is 0.30 in
///   mean-reverting, 0.25 in calm, 0.15 in trending, 0.06 in volatile regimes and 0 in momentum
///   bursts; a fixed "price below its 26-hour EMA → up" rule is right about 60% of the time in
///   calm and mean-reverting regimes, 56% in trending, 53% in volatile ones.
/// - **Momentum bursts.** For 1–4 days at a time the reversion stops and returns get lag-1
///   autocorrelation φ = 0.22, so the same rule is right only about 47% of the time: a model
///   fitted before the burst loses its edge, then regains it.
/// - **Trends.** Trending regimes add a drift of ±0.1 base volatilities per hour.
/// - **Volatility.** σₜ is a GARCH(1,1)-style volatility (hourly log-return std about 0.5%)
///   scaled by the regime (calm 0.55×, volatile 1.9×).
///
/// Regimes other than momentum last 3–21 days, and each switch picks a different regime,
/// so a logistic regression on `FeatureBuilder` features typically scores 54–60% on a
/// chronological holdout against a ~50% majority baseline, and a fixed model's rolling
/// accuracy drifts as regimes change. A weak pull towards the starting level keeps
/// decade-long paths in a plausible range.
public enum DemoMarket {
    /// The seed `fetch demo` uses when none is given.
    public static let defaultSeed: UInt64 = 42
    /// The demo market's symbol: the asset it loads.
    public static let symbol = "DEMO"
    /// The first bar opens here.
    public static let startPrice: Double = 30_000
    /// Longest accepted history.
    public static let maximumDays = 3650
    /// 2010-01-01T00:00:00Z: every seed's path starts here, one bar per hour, so the market is one
    /// timeline — a window fetched later shares its earlier bars exactly with one fetched before.
    public static let epoch: TimeInterval = 1_262_304_000

    /// A deterministic synthetic hourly market: the `days * 24` bars of the seed's path that end at
    /// `endingAt` floored to the hour.
    ///
    /// Bar `k` of the path is at `epoch + k` hours and depends only on `seed` and `k`, so two windows
    /// agree wherever they overlap (the loop's clock can move and fetch again). Throws
    /// `invalidArgument` for `days` outside 1...3650, a non-finite `endingAt`, or a window that would
    /// begin before 2010.
    public static func generate(days: Int, seed: UInt64 = defaultSeed, endingAt: TimeInterval) throws -> PriceSeries {
        let (firstIndex, lastIndex) = try window(days: days, endingAt: endingAt)
        let count = lastIndex - firstIndex + 1

        var regimes = RegimeChain(seed: seed)
        var shocks = Xoshiro256StarStar(seed: seed)
        var bars = [Bar]()
        bars.reserveCapacity(count)

        let baseSigma = 0.0045
        let garchOmega = 0.03, garchAlpha = 0.07, garchBeta = 0.90
        let levelPull = 3e-5
        let startLog = log(startPrice)

        var logPrice = startLog
        // Opens reuse the previous close exactly, so the first opens at exactly `startPrice`.
        var open = startPrice
        var previousReturn = 0.0
        var previousShock = 0.0
        var variance = 1.0
        // The anchor is updated after each close, so the pull at bar i uses bars 0..<i only.
        var anchor = startLog
        let anchorWeight = 2.0 / (anchorSpan + 1)
        for i in 0...lastIndex {
            let regime = regimes.next()
            let p = parameters(regime)
            // GARCH(1,1) on the standardised shock (ω/(1−α−β) = 1), clamped so no path explodes.
            variance = min(max(garchOmega + garchAlpha * previousShock * previousShock + garchBeta * variance, 0.2), 12)
            let deviation = variance.squareRoot()
            let sigma = baseSigma * p.volatility * deviation
            let shock = deviation * shocks.nextGaussian()
            let logReturn = p.drift * baseSigma + p.autocorrelation * previousReturn
                - p.reversion * (logPrice - anchor)
                + baseSigma * p.volatility * shock - levelPull * (logPrice - startLog)

            logPrice += logReturn
            anchor += anchorWeight * (logPrice - anchor)
            let close = exp(logPrice)
            let high = max(open, close) * exp(0.4 * sigma * abs(shocks.nextGaussian()))
            let low = min(open, close) * exp(-0.4 * sigma * abs(shocks.nextGaussian()))

            let time = epoch + Double(i) * 3600
            let activity = 0.6 + 0.8 * abs(logReturn) / baseSigma
            let volume = 800 * intradayVolume(time: time) * activity * exp(0.25 * shocks.nextGaussian())

            if i >= firstIndex {
                bars.append(Bar(time: time, open: open, high: high, low: low, close: close, volume: volume))
            }
            previousReturn = logReturn
            open = close
            previousShock = shock
        }
        return PriceSeries(symbol: symbol, source: "demo", bars: bars)
    }

    /// The regime of each bar that `generate(days:seed:endingAt:)` makes.
    public static func regimes(days: Int, seed: UInt64 = defaultSeed, endingAt: TimeInterval) throws -> [DemoRegime] {
        let (firstIndex, lastIndex) = try window(days: days, endingAt: endingAt)
        var chain = RegimeChain(seed: seed)
        var out = [DemoRegime]()
        out.reserveCapacity(lastIndex - firstIndex + 1)
        for i in 0...lastIndex {
            let regime = chain.next()
            if i >= firstIndex { out.append(regime) }
        }
        return out
    }

    /// Path indices of the first and last bar of the window of `days` ending at `endingAt`.
    private static func window(days: Int, endingAt: TimeInterval) throws -> (first: Int, last: Int) {
        guard (1...maximumDays).contains(days) else {
            throw MarketDataError.invalidArgument("demo days must be between 1 and \(maximumDays), got \(days)")
        }
        guard Bounded.time.contains(endingAt) else {
            throw MarketDataError.invalidArgument("demo end time must be \(Bounded.time.expected), got \(ISOTime.format(endingAt))")
        }
        let last = Int(((endingAt - epoch) / 3600).rounded(.down))
        let first = last - days * 24 + 1
        guard first >= 0 else {
            throw MarketDataError.invalidArgument("the demo market begins on 2010-01-01: at most \(max(0, (last + 1) / 24)) days end at this time")
        }
        return (first, last)
    }

    private struct RegimeParameters {
        /// Mean log return per hour, in units of the base hourly volatility.
        var drift: Double
        /// Lag-1 autocorrelation coefficient of log returns.
        var autocorrelation: Double
        /// Multiplier on the base hourly volatility.
        var volatility: Double
        /// Fraction κ of the log gap between price and anchor closed per hour.
        var reversion: Double
    }

    /// Span in hours of the EMA of the log price that returns revert towards.
    private static let anchorSpan = 24.0

    private static func parameters(_ regime: DemoRegime) -> RegimeParameters {
        switch regime {
        case .trendingUp: return RegimeParameters(drift: 0.1, autocorrelation: 0, volatility: 0.9, reversion: 0.15)
        case .trendingDown: return RegimeParameters(drift: -0.1, autocorrelation: 0, volatility: 1.0, reversion: 0.15)
        case .momentum: return RegimeParameters(drift: 0, autocorrelation: 0.22, volatility: 1.0, reversion: 0)
        case .meanReverting: return RegimeParameters(drift: 0, autocorrelation: 0, volatility: 1.0, reversion: 0.3)
        case .calm: return RegimeParameters(drift: 0, autocorrelation: 0, volatility: 0.55, reversion: 0.25)
        case .volatile: return RegimeParameters(drift: 0, autocorrelation: 0, volatility: 1.9, reversion: 0.06)
        }
    }

    /// Volume multiplier by UTC hour: busiest around 15:00 (Europe/US overlap), quietest at 03:00.
    private static func intradayVolume(time: TimeInterval) -> Double {
        let hour = Int((time / 3600).rounded(.down)) % 24
        let hourOfDay = hour < 0 ? hour + 24 : hour
        return intradayPattern[hourOfDay]
    }

    private static let intradayPattern: [Double] = (0..<24).map { hour in
        1 + 0.45 * cos(2 * Double.pi * Double(hour - 15) / 24)
    }
}

/// A semi-Markov chain over regimes: momentum bursts last 1–4 days, the others 3–21 days,
/// then a different regime follows.
/// It has its own random stream so the regime path does not depend on the price shocks.
private struct RegimeChain {
    private var random: Xoshiro256StarStar
    private var current: DemoRegime
    private var remaining: Int

    init(seed: UInt64) {
        random = Xoshiro256StarStar(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
        let all = DemoRegime.allCases
        current = all[random.nextInt(below: all.count)]
        remaining = 0
        remaining = drawDuration()
    }

    mutating func next() -> DemoRegime {
        if remaining == 0 {
            let all = DemoRegime.allCases
            // Pick among the other regimes so every switch is a real change.
            let offset = 1 + random.nextInt(below: all.count - 1)
            current = all[(all.firstIndex(of: current)! + offset) % all.count]
            remaining = drawDuration()
        }
        remaining -= 1
        return current
    }

    private mutating func drawDuration() -> Int {
        // Momentum is kept brief so it interrupts, rather than dominates, the reverting market.
        let range = current == .momentum ? 24...96 : 72...504
        return range.lowerBound + random.nextInt(below: range.count)
    }
}

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64: fast, and identical on every
/// platform, unlike the system generator.
struct Xoshiro256StarStar {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64
    private var spareGaussian: Double?

    init(seed: UInt64) {
        var splitMix = SplitMix64(seed: seed)
        s0 = splitMix.next()
        s1 = splitMix.next()
        s2 = splitMix.next()
        s3 = splitMix.next()
    }

    mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in 0..<bound (bound ≥ 1); the modulo bias is below 2⁻⁵⁰ for small bounds.
    mutating func nextInt(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// Standard normal by Box–Muller, which yields two values per pair of uniforms.
    mutating func nextGaussian() -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return spare
        }
        let u1 = 1 - nextUnit()  // (0, 1], so the log is finite
        let u2 = nextUnit()
        let radius = (-2 * log(u1)).squareRoot()
        let angle = 2 * Double.pi * u2
        spareGaussian = radius * sin(angle)
        return radius * cos(angle)
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
