import Foundation
import MarketData

/// Why a bootstrap gave a point estimate only.
public enum NoIntervalReason: Sendable, Equatable, Codable {
    /// No steps at all: not even a point estimate.
    case noSteps
    /// Fewer than two blocks' worth of steps (n < 2L): blocks that long cannot be resampled meaningfully.
    case tooFewSteps(n: Int, blockLength: Int)
}

/// A paired difference with its moving-block bootstrap interval (`BlockBootstrap.interval(of:…)`).
public struct BootstrapInterval: Sendable, Equatable, Codable {
    /// Mean of the differences (nil only with no steps).
    public let mean: Double?
    /// The percentile interval's ends (nil when `noInterval` says why).
    public let low: Double?
    public let high: Double?
    public let confidence: Double
    public let n: Int
    public let blockLength: Int
    public let resamples: Int
    public let seed: UInt64
    public let noInterval: NoIntervalReason?

    /// True when the interval excludes 0; false when it contains 0 ("no detectable difference") or is absent.
    public var significant: Bool {
        guard let low, let high else { return false }
        return low > 0 || high < 0
    }
}

/// The moving-block bootstrap (Künsch 1989) of the mean of per-step differences d_t.
///
/// Neighbouring bars' outcomes are dependent, so resampling single steps would understate the noise; each of
/// `resamples` replicates concatenates ⌈n / L⌉ blocks of L consecutive d_t, starting at uniformly drawn offsets
/// in 0…n−L, truncated to n, and takes its mean. The interval is the percentile interval of those means
/// (linear interpolation between order statistics). One seed gives the same interval on every run.
///
/// ```swift
/// let d = try HonestMetrics.pairedDifferences(.accuracy, a: loop, b: never)
/// let ci = try BlockBootstrap.interval(of: d, blockLength: BlockBootstrap.blockLength(barInterval: 3600), seed: 42)
/// ci.significant   // false → "no detectable difference"
/// ```
public enum BlockBootstrap {
    public static let defaultResamples = 2000
    public static let defaultSeed: UInt64 = 0x1C_2026

    /// About one day of bars: round(86,400 s / `barInterval`), at least 1 (24 for hourly bars, 1 for daily).
    public static func blockLength(barInterval: TimeInterval) -> Int {
        guard barInterval.isFinite, barInterval > 0 else { return 1 }
        return max(1, Int((86_400 / barInterval).rounded()))
    }

    /// About n^(1/3) (rounded), at least 1: the rate-optimal order for the variance of a mean.
    public static func blockLength(count: Int) -> Int {
        max(1, Int(cbrt(Double(max(0, count))).rounded()))
    }

    /// The median spacing of `times` (sorted or not), nil with fewer than two.
    public static func medianBarInterval(_ times: [TimeInterval]) -> TimeInterval? {
        guard times.count >= 2 else { return nil }
        let sorted = times.sorted()
        let gaps = zip(sorted.dropFirst(), sorted).map { $0 - $1 }.sorted()
        let middle = gaps.count / 2
        return gaps.count % 2 == 1 ? gaps[middle] : (gaps[middle - 1] + gaps[middle]) / 2
    }

    /// The mean of `differences` with its percentile interval. `blockLength` nil: n^(1/3). With n < 2L the
    /// result carries the point estimate and `noInterval` instead of an interval.
    public static func interval(of differences: [Double], blockLength: Int? = nil, resamples: Int = defaultResamples,
                                confidence: Double = 0.95, seed: UInt64 = defaultSeed) throws -> BootstrapInterval {
        for (index, d) in differences.enumerated() where !d.isFinite {
            throw HonestMetricsError.nonFiniteDifference(index: index)
        }
        let n = differences.count
        let length = blockLength ?? Self.blockLength(count: n)
        guard length >= 1 else { throw HonestMetricsError.invalidBlockLength(length) }
        guard resamples >= 1 else { throw HonestMetricsError.invalidResamples(resamples) }
        guard confidence > 0, confidence < 1 else { throw HonestMetricsError.invalidConfidence(confidence) }
        func pointOnly(_ reason: NoIntervalReason) -> BootstrapInterval {
            BootstrapInterval(mean: n > 0 ? differences.reduce(0, +) / Double(n) : nil, low: nil, high: nil,
                              confidence: confidence, n: n, blockLength: length, resamples: resamples, seed: seed,
                              noInterval: reason)
        }
        guard n > 0 else { return pointOnly(.noSteps) }
        guard n >= 2 * length else { return pointOnly(.tooFewSteps(n: n, blockLength: length)) }

        // Prefix sums make each block's sum O(1): a replicate costs ⌈n / L⌉ draws.
        var prefix = [Double](repeating: 0, count: n + 1)
        for index in 0..<n { prefix[index + 1] = prefix[index] + differences[index] }
        let starts = UInt64(n - length + 1)
        let fullBlocks = n / length, remainder = n % length
        var random = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for replicate in 0..<resamples {
            var sum = 0.0
            for _ in 0..<fullBlocks {
                let start = Int(random.next().multipliedFullWidth(by: starts).high)
                sum += prefix[start + length] - prefix[start]
            }
            if remainder > 0 {
                let start = Int(random.next().multipliedFullWidth(by: starts).high)
                sum += prefix[start + remainder] - prefix[start]
            }
            means[replicate] = sum / Double(n)
        }
        means.sort()
        let tail = (1 - confidence) / 2
        return BootstrapInterval(mean: prefix[n] / Double(n), low: quantile(means, tail), high: quantile(means, 1 - tail),
                                 confidence: confidence, n: n, blockLength: length, resamples: resamples, seed: seed,
                                 noInterval: nil)
    }

    /// The q-quantile of sorted values, interpolating linearly between order statistics (Hyndman & Fan type 7).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        return sorted[below] + (sorted[above] - sorted[below]) * (position - Double(below))
    }
}
