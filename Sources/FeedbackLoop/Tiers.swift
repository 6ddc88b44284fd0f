import Foundation
import MarketData

/// A training tier: a named set of models and the config key holding its interval.
public struct Tier: Sendable, Equatable {
    public let number: Int
    public let name: String
    public let models: [ModelKind]

    public static let all: [Tier] = [
        Tier(number: 1, name: "Basic", models: [.logistic]),
        Tier(number: 2, name: "Intermediate", models: [.logistic, .xgboost]),
        Tier(number: 3, name: "Advanced", models: [.logistic, .xgboost, .lstm]),
    ]

    public var label: String { "tier\(number)" }

    /// `tier1`, `1` or `t1`.
    public static func parse(_ text: String) throws -> Tier {
        let lowered = text.lowercased()
        let digits = lowered.hasPrefix("tier") ? String(lowered.dropFirst(4))
            : lowered.hasPrefix("t") ? String(lowered.dropFirst()) : lowered
        guard let number = Int(digits), let tier = all.first(where: { $0.number == number }) else {
            throw LoopError.unknownTier(text)
        }
        return tier
    }
}

/// Why a policy retrained a tier: the trigger that fired, or a baseline policy's rule. `rawValue` is the code
/// reports carry (`retrains.tier1.interval_elapsed`).
public enum RetrainCause: String, Sendable, Codable, CaseIterable, Comparable {
    case neverTrained = "never_trained"
    case intervalElapsed = "interval_elapsed"
    case performanceBelowThreshold = "performance_below_threshold"
    case performanceBelowBaseline = "performance_below_baseline"
    case driftDetected = "drift_detected"
    case coveredByHigherTier = "covered_by_higher_tier"
    /// The never-retrain baseline's one training.
    case firstTraining = "first_training"
    /// The retrain-every-step baseline.
    case everyStep = "every_step"

    public static func < (a: RetrainCause, b: RetrainCause) -> Bool { a.rawValue < b.rawValue }
}

/// Why a tier is or is not due for training.
public enum TriggerReason: Sendable, Equatable {
    case neverTrained
    case intervalElapsed(elapsed: TimeInterval, interval: TimeInterval)
    /// The live score over the window is below `performance_threshold` (above `brier_threshold` for Brier).
    case performanceBelowThreshold(metric: PerformanceMetric, score: Double, threshold: Double, window: Int)
    /// With `performance_vs_baseline on`: the live score is worse than its naive baseline's on the same steps.
    case performanceBelowBaseline(metric: PerformanceMetric, score: Double, baseline: NaiveBaseline, baselineScore: Double,
                                  window: Int)
    case driftDetected(detector: DriftDetector, outcomes: Int)
    case notDue(nextIn: TimeInterval)
    case trainingInProgress
    case coveredByTier(Int)

    /// The cause a training for this reason is counted under; nil for reasons that do not train.
    public var retrainCause: RetrainCause? {
        switch self {
        case .neverTrained: return .neverTrained
        case .intervalElapsed: return .intervalElapsed
        case .performanceBelowThreshold: return .performanceBelowThreshold
        case .performanceBelowBaseline: return .performanceBelowBaseline
        case .driftDetected: return .driftDetected
        case .coveredByTier: return .coveredByHigherTier
        case .notDue, .trainingInProgress: return nil
        }
    }

    /// A stable machine-readable code for JSON.
    public var code: String {
        switch self {
        case .neverTrained: return "never_trained"
        case .intervalElapsed: return "interval_elapsed"
        case .performanceBelowThreshold: return "performance_below_threshold"
        case .performanceBelowBaseline: return "performance_below_baseline"
        case .driftDetected: return "drift_detected"
        case .notDue: return "not_due"
        case .trainingInProgress: return "training_in_progress"
        case .coveredByTier: return "covered_by_higher_tier"
        }
    }

    /// One line for people.
    public var explanation: String {
        switch self {
        case .neverTrained:
            return "never trained"
        case .intervalElapsed(let elapsed, let interval):
            return "interval elapsed (\(DurationText.format(elapsed)) since last training ≥ \(DurationText.format(interval)))"
        case .driftDetected(let detector, let outcomes):
            return "drift detected (\(detector.rawValue) on the \(outcomes) outcomes since the last training)"
        case .performanceBelowThreshold(let metric, let score, let threshold, let window):
            if metric == .brier {
                return String(format: "performance below threshold (Brier %.3f over the last %d > %.3f)", score, window, threshold)
            }
            return String(format: "performance below threshold (%@ %.1f%% over the last %d < %.1f%%)",
                          metric.label, score * 100, window, threshold * 100)
        case .performanceBelowBaseline(let metric, let score, let baseline, let baselineScore, let window):
            if metric == .brier {
                return String(format: "performance below baseline (Brier %.3f over the last %d > %@ %.3f)",
                              score, window, baseline.rawValue, baselineScore)
            }
            return String(format: "performance below baseline (%@ %.1f%% over the last %d < %@ %.1f%%)",
                          metric.label, score * 100, window, baseline.rawValue, baselineScore * 100)
        case .notDue(let nextIn):
            return "not due (next in \(DurationText.format(nextIn)))"
        case .trainingInProgress:
            return "a training is in progress"
        case .coveredByTier(let tier):
            return "retrained as part of tier\(tier)"
        }
    }
}

/// A trigger's answer for one tier: due or not, and why.
public struct TriggerDecision: Sendable, Equatable {
    public let tier: Int
    public let due: Bool
    public let reason: TriggerReason

    public init(tier: Int, due: Bool, reason: TriggerReason) {
        self.tier = tier
        self.due = due
        self.reason = reason
    }
}
