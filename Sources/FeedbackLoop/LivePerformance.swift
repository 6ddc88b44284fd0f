import Foundation
import MarketData

/// What the performance trigger judges (`performance_metric`).
public enum PerformanceMetric: String, Sendable, Codable, CaseIterable {
    /// Three-class accuracy against the outcomes (with `hold_band auto`, chance is about 1/3).
    case accuracy
    /// Directional accuracy of BUY and SELL signals (chance is about 1/2: the seed's 0.55 means "better than a coin").
    case directional
    /// The Brier score of the ensemble's P(up) (lower is better; 0.25 is a constant 0.5).
    case brier

    /// Its name in sentences.
    public var label: String {
        switch self {
        case .accuracy: return "accuracy"
        case .directional: return "directional accuracy"
        case .brier: return "Brier"
        }
    }

    /// The score it reads.
    public var metric: MetricName {
        switch self {
        case .accuracy: return .accuracy
        case .directional: return .directionalAccuracy
        case .brier: return .brier
        }
    }

    /// The naive baseline `performance_vs_baseline on` holds the live score to: a rule one could have followed on
    /// the same steps (never the hindsight constant) — persistence for accuracy, always up for direction,
    /// climatology for Brier.
    public var baseline: NaiveBaseline {
        switch self {
        case .accuracy: return .persistence
        case .directional: return .alwaysUp
        case .brier: return .climatology
        }
    }
}

/// The honest scores of a stretch of the prediction log, with every naive baseline on the same steps.
public struct LiveScores: Sendable, Equatable {
    /// The log entries scored, in order.
    public let window: ArraySlice<ScoredPrediction>
    /// The scored steps (one per log entry, in order).
    public let steps: [ScoredStep]
    public let metrics: MetricSet
    /// In `NaiveBaseline.allCases` order.
    public let baselines: [BaselineScores]

    /// `prior`: the moves known before the first step, for climatology (`UpCount(series:through:)`).
    public init(_ entries: ArraySlice<ScoredPrediction>, prior: UpCount = .none) {
        window = entries
        steps = entries.compactMap(\.step)
        metrics = HonestMetrics.score(steps)
        baselines = HonestMetrics.baselines(steps, prior: prior)
    }

    /// The climatology prior for `entries` on `series`: its moves up to the first entry's bar.
    public static func prior(for entries: ArraySlice<ScoredPrediction>, series: PriceSeries?) -> UpCount {
        guard let series, let first = entries.first?.step else { return .none }
        return UpCount(series: series, through: first.barTime)
    }

    public func baseline(_ baseline: NaiveBaseline) -> MetricSet? {
        baselines.first { $0.baseline == baseline }?.metrics
    }

    /// Whether the live score of `metric` is no better than every baseline one could have followed (the hindsight
    /// constant is left out: it is an upper bound, not a rule). Nil when the score or every such baseline is absent.
    public func failsToBeatBaselines(_ metric: MetricName) -> Bool? {
        HonestMetrics.failsToBeat(metrics, baselines, on: metric)
    }
}

extension HonestMetrics {
    /// Whether `scores` on `metric` is no better than every baseline one could have followed (the hindsight constant
    /// is left out: it is an upper bound, not a rule). Nil when the score or every such baseline is absent, and for
    /// coverage, which measures activity, not skill.
    public static func failsToBeat(_ scores: MetricSet, _ baselines: [BaselineScores], on metric: MetricName) -> Bool? {
        guard metric != .coverage, let value = scores[metric]?.value else { return nil }
        let rivals = baselines.filter { !$0.isHindsightUpperBound }.compactMap { $0.metrics[metric]?.value }
        guard let best = metric.higherIsBetter ? rivals.max() : rivals.min() else { return nil }
        return metric.higherIsBetter ? value <= best : value >= best
    }
}

/// The performance trigger's reading of the live log since a tier last trained.
public enum PerformanceVerdict: Sendable, Equatable {
    /// Fewer than `evaluation_window` outcomes since the training, or none the metric counts.
    case notEnoughOutcomes(scored: Int, window: Int)
    case fine(metric: PerformanceMetric, score: Double, n: Int)
    case belowThreshold(metric: PerformanceMetric, score: Double, threshold: Double, window: Int)
    case belowBaseline(metric: PerformanceMetric, score: Double, baseline: NaiveBaseline, baselineScore: Double, window: Int)

    /// Judges the last `config.evaluationWindow` entries of `entries` (the log after a tier's training).
    /// `series`: the loaded data, whose history before the window is climatology's prior.
    public static func judge(_ entries: ArraySlice<ScoredPrediction>, config: LoopConfig, series: PriceSeries?) -> PerformanceVerdict {
        let window = config.evaluationWindow
        guard entries.count >= window else { return .notEnoughOutcomes(scored: entries.count, window: window) }
        let metric = config.performanceMetric
        let recent = entries.suffix(window)
        // Only the Brier baseline (climatology) reads the history: skip the scan otherwise.
        let needsPrior = config.performanceVsBaseline == .on && metric.baseline == .climatology
        let live = LiveScores(recent, prior: needsPrior ? LiveScores.prior(for: recent, series: series) : .none)
        guard let score = live.metrics[metric.metric] else { return .notEnoughOutcomes(scored: entries.count, window: window) }
        if config.performanceVsBaseline == .on {
            guard let baseline = live.baseline(metric.baseline)?[metric.metric] else {
                return .fine(metric: metric, score: score.value, n: score.n)
            }
            let worse = metric.metric.higherIsBetter ? score.value < baseline.value : score.value > baseline.value
            return worse ? .belowBaseline(metric: metric, score: score.value, baseline: metric.baseline,
                                          baselineScore: baseline.value, window: window)
                : .fine(metric: metric, score: score.value, n: score.n)
        }
        switch metric {
        case .accuracy, .directional:
            return score.value < config.performanceThreshold
                ? .belowThreshold(metric: metric, score: score.value, threshold: config.performanceThreshold, window: window)
                : .fine(metric: metric, score: score.value, n: score.n)
        case .brier:
            return score.value > config.brierThreshold
                ? .belowThreshold(metric: metric, score: score.value, threshold: config.brierThreshold, window: window)
                : .fine(metric: metric, score: score.value, n: score.n)
        }
    }
}
