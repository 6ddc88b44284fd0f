import Foundation

// Honest metrics: the scores, naive baselines and paired differences that reports share
// (definitions: shared/reference/honest-metrics.md, issue 12). Pure values and functions: no I/O, no clock.

/// Errors from the honest-metrics library. Data, not sentences; `description` words them in one place.
public enum HonestMetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// P(up) outside [0, 1] or not a number.
    case invalidProbability(Double)
    /// A realised return below −100 % or not finite.
    case invalidReturn(Double)
    /// A hold band below zero or not finite.
    case invalidBand(Double)
    /// Two policies' steps that are not the same steps (different counts, or bar times that differ at `index`).
    case misalignedSteps(countA: Int, countB: Int, index: Int?)
    /// A per-step difference that is not finite, at `index`.
    case nonFiniteDifference(index: Int)
    case invalidBlockLength(Int)
    case invalidResamples(Int)
    /// A confidence level outside (0, 1).
    case invalidConfidence(Double)
    /// A fee in basis points below zero or not finite.
    case invalidFee(Double)
    /// A step without a realised return (a hand-logged outcome) where P&L needs one, at `index`.
    case missingReturn(index: Int)

    public var description: String {
        switch self {
        case .invalidProbability(let p):
            return "probability \(p) is outside [0, 1] — pass the ensemble's P(up)"
        case .invalidReturn(let r):
            return "return \(r) is not a finite return above -100 % — check the prices"
        case .invalidBand(let b):
            return "hold band \(b) must be a finite number >= 0"
        case .misalignedSteps(let a, let b, let index):
            if let index { return "the two policies' steps differ at step \(index + 1) — compare policies on the same steps" }
            return "the two policies have \(a) and \(b) steps — compare policies on the same steps"
        case .nonFiniteDifference(let index):
            return "difference at step \(index + 1) is not finite"
        case .invalidBlockLength(let l):
            return "block length \(l) must be at least 1"
        case .invalidResamples(let b):
            return "resamples \(b) must be at least 1"
        case .invalidConfidence(let c):
            return "confidence \(c) must be between 0 and 1, e.g. 0.95"
        case .invalidFee(let fee):
            return "fee_bps \(fee) must be a finite number >= 0"
        case .missingReturn(let index):
            return "step \(index + 1) has no realised return (logged by hand) — P&L needs the bars' returns"
        }
    }
}

/// The scores reports carry, under the names they carry everywhere (`rawValue`).
public enum MetricName: String, Sendable, Codable, CaseIterable {
    case accuracy
    case directionalAccuracy = "directional_accuracy"
    case coverage
    case brier
    case logLoss = "log_loss"

    /// Accuracy, directional accuracy and coverage grow with skill (coverage: with activity); Brier and log loss fall.
    public var higherIsBetter: Bool {
        switch self {
        case .accuracy, .directionalAccuracy, .coverage: return true
        case .brier, .logLoss: return false
        }
    }
}

/// One prediction scored against what followed: made at bar `barTime`, for the move to the next bar.
///
/// A step scored automatically from the bars has its realised return and the ensemble's P(up). An outcome logged by
/// hand (`log SELL`) has no return, and no probability unless it scored the pending prediction: such a step counts
/// for accuracy and coverage, for direction through its outcome (BUY = up, SELL = down), and for Brier and log loss
/// only with a probability.
public struct ScoredStep: Sendable, Equatable, Codable {
    /// The signal given at bar t.
    public let signal: Signal
    /// The ensemble's P(up) at bar t, in [0, 1]; nil when the outcome was logged without its prediction.
    public let probabilityUp: Double?
    /// r_t = close[t+1] / close[t] − 1; nil when the outcome was logged by hand.
    public let realisedReturn: Double?
    /// The three-class outcome o_t (BUY: up by more than the band, SELL: down by more, HOLD: inside it).
    public let outcome: Signal
    /// The time of bar t (seconds since 1970).
    public let barTime: TimeInterval

    /// A step with its outcome already decided (e.g. logged by hand).
    public init(signal: Signal, probabilityUp: Double?, realisedReturn: Double?, outcome: Signal, barTime: TimeInterval) throws {
        if let probabilityUp, !(probabilityUp.isFinite && (0...1).contains(probabilityUp)) {
            throw HonestMetricsError.invalidProbability(probabilityUp)
        }
        if let realisedReturn, !(realisedReturn.isFinite && realisedReturn >= -1) {
            throw HonestMetricsError.invalidReturn(realisedReturn)
        }
        self.signal = signal
        self.probabilityUp = probabilityUp
        self.realisedReturn = realisedReturn
        self.outcome = outcome
        self.barTime = barTime
    }

    /// A step whose outcome is derived from the return and the hold band b_t (`ScoredStep.outcome(of:band:)`).
    public init(signal: Signal, probabilityUp: Double?, realisedReturn: Double, band: Double, barTime: TimeInterval) throws {
        try self.init(signal: signal, probabilityUp: probabilityUp, realisedReturn: realisedReturn,
                      outcome: ScoredStep.outcome(of: realisedReturn, band: band), barTime: barTime)
    }

    private enum CodingKeys: String, CodingKey { case signal, probabilityUp, realisedReturn, outcome, barTime }

    /// Decoding checks what the initialiser checks.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(signal: container.decode(Signal.self, forKey: .signal),
                      probabilityUp: container.decodeIfPresent(Double.self, forKey: .probabilityUp),
                      realisedReturn: container.decodeIfPresent(Double.self, forKey: .realisedReturn),
                      outcome: container.decode(Signal.self, forKey: .outcome),
                      barTime: container.decode(TimeInterval.self, forKey: .barTime))
    }

    /// Whether the price went up: the sign of r_t when the return is known (nil for r = 0); for an outcome logged
    /// by hand, BUY means up and SELL down, and HOLD says nothing.
    public var movedUp: Bool? {
        if let realisedReturn { return realisedReturn == 0 ? nil : realisedReturn > 0 }
        switch outcome {
        case .buy: return true
        case .sell: return false
        case .hold: return nil
        }
    }

    /// The three-class outcome of return `r` with band `b`: BUY if r > b, SELL if r < −b, HOLD otherwise.
    public static func outcome(of r: Double, band: Double) throws -> Signal {
        guard band.isFinite, band >= 0 else { throw HonestMetricsError.invalidBand(band) }
        if r > band { return .buy }
        if r < -band { return .sell }
        return .hold
    }
}

/// A score over the steps it counts: `value` is a mean over `n` > 0 steps. A score over no steps is absent
/// (`nil` where one is expected), never NaN.
public struct Score: Sendable, Equatable, Codable {
    public let value: Double
    public let n: Int
    /// The standard error of the mean, s / √n with s the sample standard deviation of the contributions; nil
    /// below two steps. It treats steps as independent: a guide to how noisy a short window is, not an interval
    /// (comparisons use the block bootstrap).
    public let standardError: Double?

    /// The mean of the present contributions, or nil when none is present.
    public init?(contributions: [Double?]) {
        var sum = 0.0, n = 0
        for case let value? in contributions { sum += value; n += 1 }
        guard n > 0 else { return nil }
        let mean = sum / Double(n)
        self.value = mean
        self.n = n
        if n >= 2 {
            var squares = 0.0
            for case let value? in contributions { squares += (value - mean) * (value - mean) }
            standardError = (squares / Double(n - 1) / Double(n)).squareRoot()
        } else {
            standardError = nil
        }
    }
}

/// The five scores over one set of steps. A metric that does not apply (a baseline without probabilities) or
/// that counts no step is nil.
public struct MetricSet: Sendable, Equatable {
    public let accuracy: Score?
    /// Over steps whose signal was BUY or SELL and whose return was not zero; `n` is that count.
    public let directionalAccuracy: Score?
    public let coverage: Score?
    /// Over steps with a direction (y = 1 if the price went up: `ScoredStep.movedUp`); `zeroReturnSteps` says how
    /// many were left out.
    public let brier: Score?
    public let logLoss: Score?
    /// Steps without a direction (r = 0, or a hand-logged HOLD), left out of directional accuracy, Brier and log loss.
    public let zeroReturnSteps: Int

    public init(accuracy: Score?, directionalAccuracy: Score?, coverage: Score?, brier: Score?, logLoss: Score?,
                zeroReturnSteps: Int) {
        self.accuracy = accuracy
        self.directionalAccuracy = directionalAccuracy
        self.coverage = coverage
        self.brier = brier
        self.logLoss = logLoss
        self.zeroReturnSteps = zeroReturnSteps
    }

    public subscript(metric: MetricName) -> Score? {
        switch metric {
        case .accuracy: return accuracy
        case .directionalAccuracy: return directionalAccuracy
        case .coverage: return coverage
        case .brier: return brier
        case .logLoss: return logLoss
        }
    }
}

/// Scores, per-step contributions and paired differences.
///
/// Every score is the mean of per-step contributions (`contributions(_:of:)`); a step that a metric does not count
/// contributes nil. Paired comparisons use the same contributions, so a score and its comparison always agree.
///
/// ```swift
/// let metrics = HonestMetrics.score(steps)              // metrics.directionalAccuracy?.value, .n
/// let d = try HonestMetrics.pairedDifferences(.brier, a: loopSteps, b: neverRetrainSteps)
/// let ci = try BlockBootstrap.interval(of: d, blockLength: 24, seed: 1)
/// ```
public enum HonestMetrics {
    /// Log loss clips P(up) to [1e-15, 1 − 1e-15].
    public static let probabilityClip = 1e-15

    /// Scores `steps` on all five metrics.
    public static func score(_ steps: [ScoredStep]) -> MetricSet {
        MetricSet(accuracy: Score(contributions: contributions(.accuracy, of: steps)),
                  directionalAccuracy: Score(contributions: contributions(.directionalAccuracy, of: steps)),
                  coverage: Score(contributions: contributions(.coverage, of: steps)),
                  brier: Score(contributions: contributions(.brier, of: steps)),
                  logLoss: Score(contributions: contributions(.logLoss, of: steps)),
                  zeroReturnSteps: zeroReturns(steps))
    }

    /// Per-step contributions of `metric`, one per step (nil where the step does not count):
    /// accuracy 1/0 (signal = outcome); directional accuracy 1/0 on BUY/SELL steps with r ≠ 0; coverage 1/0
    /// (signal ≠ HOLD); Brier (p − y)² and log loss −[y log p + (1 − y) log(1 − p)] on steps with r ≠ 0.
    public static func contributions(_ metric: MetricName, of steps: [ScoredStep]) -> [Double?] {
        steps.map { step in
            switch metric {
            case .accuracy: return step.signal == step.outcome ? 1 : 0
            case .directionalAccuracy: return directionalHit(step.signal, step.movedUp)
            case .coverage: return step.signal == .hold ? 0 : 1
            case .brier: return step.probabilityUp.flatMap { brierTerm($0, step.movedUp) }
            case .logLoss: return step.probabilityUp.flatMap { logLossTerm($0, step.movedUp) }
            }
        }
    }

    /// Per-step differences of two policies scored on the same steps, signed so that **positive means A is
    /// better**: A − B for accuracy, directional accuracy and coverage (coverage: positive = A acts more often);
    /// B − A for Brier and log loss (lower is better). Steps where either contribution is absent are left out
    /// (directional accuracy: only steps where both gave BUY or SELL and r ≠ 0).
    public static func pairedDifferences(_ metric: MetricName, a: [Double?], b: [Double?]) throws -> [Double] {
        guard a.count == b.count else { throw HonestMetricsError.misalignedSteps(countA: a.count, countB: b.count, index: nil) }
        var differences: [Double] = []
        differences.reserveCapacity(a.count)
        for (x, y) in zip(a, b) {
            guard let x, let y else { continue }
            differences.append(metric.higherIsBetter ? x - y : y - x)
        }
        return differences
    }

    /// Paired differences of two policies' steps; throws `misalignedSteps` unless both have the same bar times,
    /// realised returns and outcomes in the same order.
    public static func pairedDifferences(_ metric: MetricName, a: [ScoredStep], b: [ScoredStep]) throws -> [Double] {
        guard a.count == b.count else { throw HonestMetricsError.misalignedSteps(countA: a.count, countB: b.count, index: nil) }
        for index in a.indices where a[index].barTime != b[index].barTime || a[index].realisedReturn != b[index].realisedReturn
        || a[index].outcome != b[index].outcome {
            throw HonestMetricsError.misalignedSteps(countA: a.count, countB: b.count, index: index)
        }
        return try pairedDifferences(metric, a: contributions(metric, of: a), b: contributions(metric, of: b))
    }

    // MARK: per-step terms

    static func zeroReturns(_ steps: [ScoredStep]) -> Int { steps.reduce(0) { $0 + ($1.movedUp == nil ? 1 : 0) } }

    /// 1 if the signal's direction matches the move, 0 if not; nil for HOLD or a step without a direction.
    static func directionalHit(_ signal: Signal, _ up: Bool?) -> Double? {
        guard let up else { return nil }
        switch signal {
        case .buy: return up ? 1 : 0
        case .sell: return up ? 0 : 1
        case .hold: return nil
        }
    }

    static func brierTerm(_ p: Double, _ up: Bool?) -> Double? {
        guard let up else { return nil }
        let y: Double = up ? 1 : 0
        return (p - y) * (p - y)
    }

    static func logLossTerm(_ p: Double, _ up: Bool?) -> Double? {
        guard let up else { return nil }
        // The probability given to what happened, clipped: the same as clipping p to [1e-15, 1 − 1e-15], but
        // exact on both sides (1 − (1 − 1e-15) is not 1e-15 in binary floating point).
        let q = up ? p : 1 - p
        return -log(min(max(q, probabilityClip), 1 - probabilityClip))
    }
}
