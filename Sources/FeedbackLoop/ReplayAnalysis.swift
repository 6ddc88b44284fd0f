import Foundation

/// What a replay's scored steps say, beyond hit rates: the honest scores, the naive baselines on the same steps,
/// paired comparisons between policies with block-bootstrap intervals, and the P&L of acting on the signals beside
/// buy-and-hold (research and education only — never trading advice).
public enum ReplayAnalysis {
    /// The metrics policies are compared on; coverage is a property of a policy, not better or worse.
    public static let comparedMetrics: [MetricName] = [.accuracy, .directionalAccuracy, .brier, .logLoss]

    /// One policy's scores and P&L over its scored steps.
    public struct PolicyScores: Sendable, Equatable {
        public let metrics: MetricSet
        /// Nil without scored steps (a replay's steps always carry their returns).
        public let pnl: SignalPnL?

        public init(_ steps: [ScoredStep], pnl settings: PnLSettings) {
            metrics = HonestMetrics.score(steps)
            pnl = steps.isEmpty ? nil : try? SignalPnL(steps, settings: settings)
        }
    }

    /// Policy `a` against policy `b` on one metric, over the bars both scored. Positive `interval.mean` means `a`
    /// did better (for Brier and log loss too: the sign convention of `HonestMetrics.pairedDifferences`).
    public struct Comparison: Sendable, Equatable {
        public let a: String
        public let b: String
        public let metric: MetricName
        public let interval: BootstrapInterval
        /// Every paired difference is zero: the two policies scored the same on each paired step (often the same
        /// calls), which an interval of +0…+0 alone does not tell.
        public let identical: Bool
    }

    /// The steps of `a` and `b` at the bars both scored, in bar order: policies can start predicting at different
    /// bars (a failed first training), and a comparison must pair the same bars.
    static func aligned(_ a: [ScoredStep], _ b: [ScoredStep]) -> ([ScoredStep], [ScoredStep]) {
        let byTime = Dictionary(b.map { ($0.barTime, $0) }, uniquingKeysWith: { first, _ in first })
        var left: [ScoredStep] = [], right: [ScoredStep] = []
        for step in a {
            guard let other = byTime[step.barTime] else { continue }
            left.append(step)
            right.append(other)
        }
        return (left, right)
    }

    /// `a` against `b` on each compared metric. The block length is about one day of the steps' own spacing, and at
    /// least n^(1/3) of the common steps: on daily bars "one day" is a single bar, which would resample as if the
    /// steps were independent. Metrics neither policy has a value for on any common bar are left out.
    public static func compare(_ a: (name: String, steps: [ScoredStep]), _ b: (name: String, steps: [ScoredStep]),
                               seed: UInt64 = BlockBootstrap.defaultSeed) -> [Comparison] {
        let (left, right) = aligned(a.steps, b.steps)
        guard !left.isEmpty else { return [] }
        let spacing = BlockBootstrap.medianBarInterval(left.map(\.barTime))
        let block = max(spacing.map { BlockBootstrap.blockLength(barInterval: $0) } ?? 1, BlockBootstrap.blockLength(count: left.count))
        return comparedMetrics.compactMap { metric in
            guard let differences = try? HonestMetrics.pairedDifferences(metric, a: left, b: right), !differences.isEmpty,
                  let interval = try? BlockBootstrap.interval(of: differences, blockLength: block, seed: seed) else { return nil }
            return Comparison(a: a.name, b: b.name, metric: metric, interval: interval,
                              identical: differences.allSatisfy { $0 == 0 })
        }
    }

    /// `a` against `b` over several assets at once ("over all"): each asset's two runs are paired on the bars both
    /// scored; at each bar time the paired differences are averaged over the assets that scored it (each time weighs
    /// the same), and that series is block-bootstrapped in time order — a resampled stretch of time carries every
    /// asset's differences together, because markets move together and their differences are not independent.
    /// `interval.n` counts bar times.
    public static func comparePanel(_ a: String, _ b: String, assets: [(a: [ScoredStep], b: [ScoredStep])],
                                    seed: UInt64 = BlockBootstrap.defaultSeed) -> [Comparison] {
        let pairs = assets.map { aligned($0.a, $0.b) }.filter { !$0.0.isEmpty }
        guard !pairs.isEmpty else { return [] }
        return comparedMetrics.compactMap { metric in
            var byTime: [TimeInterval: (sum: Double, count: Int)] = [:]
            var identical = true
            for (left, right) in pairs {
                let x = HonestMetrics.contributions(metric, of: left), y = HonestMetrics.contributions(metric, of: right)
                for index in left.indices {
                    guard let p = x[index], let q = y[index] else { continue }
                    let difference = metric.higherIsBetter ? p - q : q - p
                    if difference != 0 { identical = false }
                    byTime[left[index].barTime, default: (0, 0)].sum += difference
                    byTime[left[index].barTime, default: (0, 0)].count += 1
                }
            }
            let times = byTime.keys.sorted()
            guard !times.isEmpty else { return nil }
            let series = times.map { byTime[$0]!.sum / Double(byTime[$0]!.count) }
            let spacing = BlockBootstrap.medianBarInterval(times)
            let block = max(spacing.map { BlockBootstrap.blockLength(barInterval: $0) } ?? 1, BlockBootstrap.blockLength(count: series.count))
            guard let interval = try? BlockBootstrap.interval(of: series, blockLength: block, seed: seed) else { return nil }
            return Comparison(a: a, b: b, metric: metric, interval: interval, identical: identical)
        }
    }
}
