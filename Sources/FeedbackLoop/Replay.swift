import Foundation
import MarketData

/// How a replay retrains.
public enum ReplayPolicy: String, Sendable, CaseIterable {
    /// The loop's own triggers (intervals, performance, drift), as configured.
    case triggers
    /// Train once at the start, never again: the first baseline.
    case never
    /// Retrain the highest selected tier at every step: the second baseline.
    case everyStep = "every_step"
}

/// What a walk-forward replay did.
public struct ReplayReport: Sendable {
    public let policy: ReplayPolicy
    public let steps: Int
    public let scored: Int
    public let correct: Int
    public var accuracy: Double? { scored > 0 ? Double(correct) / Double(scored) : nil }
    /// Live accuracy over the evaluation window after each scored prediction: (bar time, accuracy).
    public let rollingAccuracy: [(time: TimeInterval, accuracy: Double)]
    /// Per tier, per cause (`never_trained`, `interval_elapsed`, …): how often it retrained.
    public let retrains: [Int: [String: Int]]
    /// Bar times at which some tier retrained.
    public let retrainTimes: [TimeInterval]
    /// Bar times of the retrainings worth marking on a chart: any tier above 1, or a retraining for a reason
    /// other than its interval (tier 1 at its default interval retrains at every hourly step).
    public let notableRetrainTimes: [TimeInterval]
    public let trainingSeconds: Double
    public let start: TimeInterval
    public let end: TimeInterval
    /// Stopped early (Ctrl-C): the report covers the steps that ran.
    public let cancelled: Bool
}

public enum ReplayError: Error, Equatable, Sendable, CustomStringConvertible {
    case rangeTooShort(String)

    public var description: String {
        switch self {
        case .rangeTooShort(let message): return message
        }
    }
}

/// The time of a replay, moved bar by bar; the simulated loop's clock reads it.
final class VirtualTime: @unchecked Sendable {
    var now: TimeInterval = 0
}

extension LoopEngine {
    /// A walk-forward simulation of the loop over the loaded series, in virtual time: at each step the simulated
    /// loop sees only the bars up to that moment, scores the previous prediction from the realised move, runs its
    /// triggers (or the baseline `policy`), retrains what is due and predicts. This engine's own models and log are
    /// untouched; the simulated loop is returned for inspection.
    ///
    /// - Parameters:
    ///   - startIndex: the first bar of the replay (earlier bars are history the first training may use).
    ///   - stepBars: bars between steps.
    ///   - tiers: tier numbers that take part.
    ///   - configuration: the simulated loop's settings (default: this loop's), e.g. for `--compare`.
    public func replay(from startIndex: Int, through endIndex: Int? = nil, stepBars: Int, tiers: Set<Int>,
                       policy: ReplayPolicy, configuration: LoopConfig? = nil) throws -> (report: ReplayReport, loop: LoopEngine) {
        let config = configuration ?? self.config
        guard let series else { throw LoopError.noData }
        let lastIndex = min(endIndex ?? series.count - 1, series.count - 1)
        guard startIndex >= 0, startIndex < lastIndex else {
            throw ReplayError.rangeTooShort("the replay range must leave at least two bars to step through")
        }
        let time = VirtualTime()
        let loop = LoopEngine(clock: LoopClock { time.now })
        loop.restore(series: nil, config: config, clockOffset: 0, history: [], models: [:], versions: [:],
                     lastTraining: [:], logMarks: [:], log: PredictionLog(capacity: config.logWindow), pending: nil)
        loop.isCancelled = isCancelled
        let highest = Tier.all.filter { tiers.contains($0.number) }.max { $0.number < $1.number } ?? Tier.all[0]

        var steps = 0
        var rolling: [(TimeInterval, Double)] = []
        var retrains: [Int: [String: Int]] = [:]
        var retrainTimes: [TimeInterval] = []
        var notable: [TimeInterval] = []
        var trainingSeconds = 0.0
        let window = config.evaluationWindow
        var index = startIndex
        var cancelled = false
        stepping: while index <= lastIndex {
            // Ctrl-C stops the replay between steps; what ran is still reported.
            if isCancelled?() ?? false {
                cancelled = true
                break
            }
            time.now = series.bars[index].time
            let fate = loop.load(series.prefix(through: index))
            if case .resolved = fate, loop.log.entries.count >= window {
                let recent = loop.log.recent(window)
                rolling.append((time.now, Double(recent.lazy.filter(\.correct).count) / Double(recent.count)))
            }
            var trained: [(tier: Int, cause: String, seconds: Double)] = []
            switch policy {
            case .triggers:
                let report = loop.cycle(tiers: tiers)
                // Ctrl-C during a long training (the LSTM) cancels that training; the replay stops there.
                if report.status == .error, isCancelled?() ?? false {
                    cancelled = true
                    break stepping
                }
                if report.status == .error, let failure = report.tiers.first(where: { $0.error != nil }),
                   !(failure.error ?? "").contains("rows of data") {
                    throw ReplayError.rangeTooShort(failure.error ?? report.message)
                }
                for outcome in report.tiers {
                    if let result = outcome.result { trained.append((outcome.decision.tier, outcome.decision.reason.code, result.seconds)) }
                }
            case .never, .everyStep:
                if policy == .everyStep || loop.models.isEmpty, let result = try? loop.train(highest) {
                    trained.append((highest.number, policy == .never ? "first_training" : "every_step", result.seconds))
                }
            }
            for item in trained {
                retrains[item.tier, default: [:]][item.cause, default: 0] += 1
                trainingSeconds += item.seconds
            }
            if !trained.isEmpty { retrainTimes.append(time.now) }
            if trained.contains(where: { $0.tier > 1 || $0.cause != "interval_elapsed" }) { notable.append(time.now) }
            if !loop.models.isEmpty { _ = try loop.predict() }
            steps += 1
            index += stepBars
        }
        guard !loop.history.isEmpty || (cancelled && steps == 0) else {
            throw ReplayError.rangeTooShort("no model could be trained in the replay range — start it later (fewer --days) or fetch more history")
        }
        let report = ReplayReport(policy: policy, steps: steps, scored: loop.log.totalLogged, correct: loop.log.totalCorrect,
                                  rollingAccuracy: rolling, retrains: retrains, retrainTimes: retrainTimes,
                                  notableRetrainTimes: notable,
                                  trainingSeconds: trainingSeconds, start: series.bars[startIndex].time,
                                  end: series.bars[max(startIndex, min(lastIndex, index - stepBars))].time,
                                  cancelled: cancelled)
        return (report, loop)
    }
}
