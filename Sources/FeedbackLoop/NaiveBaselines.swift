import Foundation
import MarketData

/// The naive baselines every score is reported beside, computed on exactly the same steps and outcomes.
public enum NaiveBaseline: String, Sendable, Codable, CaseIterable {
    /// The single signal (and the single probability) that scores best over the steps, **chosen in hindsight**:
    /// an upper bound for any constant rule, not a rule one could have followed. Accuracy takes the best of
    /// BUY/SELL/HOLD; directional accuracy the better of BUY/SELL; coverage is that of the accuracy's signal;
    /// Brier and log loss use p = the share of up moves over the steps (the best constant for both).
    case constant
    /// Repeat the last outcome: o_{t−1} for accuracy and coverage, the sign of r_{t−1} for direction (no
    /// direction after r_{t−1} = 0). The first step has no previous one and is not scored. No probabilities.
    case persistence
    /// BUY at every step: directional accuracy = the share of up moves; coverage 1. No probabilities.
    case alwaysUp = "always_up"
    /// p_t = the share of up moves among the moves (r ≠ 0) strictly before t — the prior count first, then the
    /// scored steps before t; 0.5 while there is none. Brier and log loss only. Early steps can have p = 0 or 1,
    /// which log loss punishes hard (clipped at 1e-15): pass the history before the steps as `prior` to avoid it.
    case climatology

    /// True for `constant`, which is chosen in hindsight.
    public var isHindsightUpperBound: Bool { self == .constant }

    /// The metrics this baseline is scored on; the others are nil in its `MetricSet`.
    public var metrics: [MetricName] {
        switch self {
        case .constant: return MetricName.allCases
        case .persistence, .alwaysUp: return [.accuracy, .directionalAccuracy, .coverage]
        case .climatology: return [.brier, .logLoss]
        }
    }
}

/// Moves counted before the scored steps (for climatology): `ups` of `moves` non-zero returns were up.
/// Counts are kept within 0 ≤ ups ≤ moves.
public struct UpCount: Sendable, Equatable {
    public let ups: Int
    public let moves: Int

    public static let none = UpCount(ups: 0, moves: 0)

    public init(ups: Int, moves: Int) {
        self.ups = max(0, min(ups, moves))
        self.moves = max(0, moves)
    }

    /// Counts the up moves among the non-zero `returns`.
    public init(returns: [Double]) {
        self.init(ups: returns.filter { $0 > 0 }.count, moves: returns.filter { $0 != 0 }.count)
    }

    /// The moves of `series` known at `time`: close[j] / close[j−1] − 1 for every bar j at or before `time` — the
    /// history climatology starts from when the first scored step is made at `time` (its own move comes after).
    public init(series: PriceSeries, through time: TimeInterval) {
        var ups = 0, moves = 0
        for j in series.bars.indices.dropFirst() where series.bars[j].time <= time {
            let close = series.bars[j].close, previous = series.bars[j - 1].close
            if close != previous { moves += 1 }
            if close > previous { ups += 1 }
        }
        self.init(ups: ups, moves: moves)
    }
}

/// What the hindsight-best constant chose (nil where there was nothing to choose from).
public struct ConstantChoice: Sendable, Equatable {
    /// The signal with the best three-class accuracy (ties: BUY, then SELL, then HOLD).
    public let accuracySignal: Signal?
    /// BUY or SELL, whichever has the better directional accuracy (ties: BUY).
    public let directionalSignal: Signal?
    /// The share of up moves among the steps with r ≠ 0.
    public let probabilityUp: Double?

    public init(accuracySignal: Signal?, directionalSignal: Signal?, probabilityUp: Double?) {
        self.accuracySignal = accuracySignal
        self.directionalSignal = directionalSignal
        self.probabilityUp = probabilityUp
    }
}

/// One baseline's scores over the steps.
public struct BaselineScores: Sendable, Equatable {
    public let baseline: NaiveBaseline
    /// The metrics the baseline applies to (`NaiveBaseline.metrics`); the others are nil.
    public let metrics: MetricSet
    /// For `constant` only: what it chose.
    public let constantChoice: ConstantChoice?
    /// True for `constant`: chosen in hindsight, an upper bound for constant rules.
    public var isHindsightUpperBound: Bool { baseline.isHindsightUpperBound }
}

extension HonestMetrics {
    /// Every baseline on `steps`, in `NaiveBaseline.allCases` order.
    public static func baselines(_ steps: [ScoredStep], prior: UpCount = .none) -> [BaselineScores] {
        NaiveBaseline.allCases.map { score($0, on: steps, prior: prior) }
    }

    /// One baseline's scores on `steps` (`prior` matters to climatology only).
    public static func score(_ baseline: NaiveBaseline, on steps: [ScoredStep], prior: UpCount = .none) -> BaselineScores {
        func metric(_ name: MetricName) -> Score? {
            contributions(name, of: baseline, on: steps, prior: prior).flatMap { Score(contributions: $0) }
        }
        let set = MetricSet(accuracy: metric(.accuracy), directionalAccuracy: metric(.directionalAccuracy),
                            coverage: metric(.coverage), brier: metric(.brier), logLoss: metric(.logLoss),
                            zeroReturnSteps: zeroReturns(steps))
        return BaselineScores(baseline: baseline, metrics: set,
                              constantChoice: baseline == .constant ? constantChoice(steps) : nil)
    }

    /// The baseline's per-step contributions to `metric` (as `contributions(_:of:)` for a policy, so the two
    /// pair up in `pairedDifferences`), or nil when the baseline does not apply to the metric.
    public static func contributions(_ metric: MetricName, of baseline: NaiveBaseline, on steps: [ScoredStep],
                                     prior: UpCount = .none) -> [Double?]? {
        guard baseline.metrics.contains(metric) else { return nil }
        switch baseline {
        case .constant:
            let choice = constantChoice(steps)
            switch metric {
            case .accuracy, .coverage:
                guard let signal = choice.accuracySignal else { return [] }
                return steps.map { metric == .accuracy ? ($0.outcome == signal ? 1 : 0) : (signal == .hold ? 0 : 1) }
            case .directionalAccuracy:
                guard let signal = choice.directionalSignal else { return steps.map { _ in nil } }
                return steps.map { directionalHit(signal, $0.movedUp) }
            case .brier, .logLoss:
                guard let p = choice.probabilityUp else { return steps.map { _ in nil } }
                return steps.map { metric == .brier ? brierTerm(p, $0.movedUp) : logLossTerm(p, $0.movedUp) }
            }
        case .persistence:
            return steps.indices.map { index -> Double? in
                guard index > 0 else { return nil }
                let previous = steps[index - 1], step = steps[index]
                switch metric {
                case .accuracy: return previous.outcome == step.outcome ? 1 : 0
                case .coverage: return previous.outcome == .hold ? 0 : 1
                case .directionalAccuracy:
                    guard let previousUp = previous.movedUp else { return nil }
                    return directionalHit(previousUp ? .buy : .sell, step.movedUp)
                case .brier, .logLoss: return nil
                }
            }
        case .alwaysUp:
            return steps.map { step -> Double? in
                switch metric {
                case .accuracy: return step.outcome == .buy ? 1 : 0
                case .coverage: return 1
                case .directionalAccuracy: return directionalHit(.buy, step.movedUp)
                case .brier, .logLoss: return nil
                }
            }
        case .climatology:
            var ups = prior.ups, moves = prior.moves
            return steps.map { step -> Double? in
                let p = moves > 0 ? Double(ups) / Double(moves) : 0.5
                let up = step.movedUp
                if up != nil { moves += 1 }
                if up == true { ups += 1 }
                return metric == .brier ? brierTerm(p, up) : logLossTerm(p, up)
            }
        }
    }

    static func constantChoice(_ steps: [ScoredStep]) -> ConstantChoice {
        guard !steps.isEmpty else { return ConstantChoice(accuracySignal: nil, directionalSignal: nil, probabilityUp: nil) }
        // Signal.allCases is BUY, SELL, HOLD: max(by:) keeps the first of equals only if we scan by strict >.
        var best: (Signal, Int)?
        for signal in Signal.allCases {
            let hits = steps.filter { $0.outcome == signal }.count
            if best == nil || hits > best!.1 { best = (signal, hits) }
        }
        let ups = steps.filter { $0.movedUp == true }.count
        let downs = steps.filter { $0.movedUp == false }.count
        let moves = ups + downs
        return ConstantChoice(accuracySignal: best?.0,
                              directionalSignal: moves > 0 ? (ups >= downs ? .buy : .sell) : nil,
                              probabilityUp: moves > 0 ? Double(ups) / Double(moves) : nil)
    }
}
