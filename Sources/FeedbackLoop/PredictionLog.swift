import Foundation

/// A trading signal derived from the ensemble's probability of "up".
public enum Signal: String, Sendable, Codable, CaseIterable {
    case buy = "BUY", sell = "SELL", hold = "HOLD"

    /// Parses `buy`, `BUY`, `Sell`…
    public init?(text: String) { self.init(rawValue: text.uppercased()) }
}

/// An ensemble prediction for the bar after `barTime`.
public struct Prediction: Sendable, Equatable, Codable {
    public let signal: Signal
    public let ensemble: Double
    /// Probability of "up" per model, in ensemble order.
    public let models: [ModelProbability]
    /// The weights actually used, renormalised over the trained models.
    public let weights: [ModelProbability]
    public let price: Double
    public let barTime: TimeInterval
    public let madeAt: TimeInterval

    public init(signal: Signal, ensemble: Double, models: [ModelProbability], weights: [ModelProbability], price: Double,
                barTime: TimeInterval, madeAt: TimeInterval) {
        self.signal = signal
        self.ensemble = ensemble
        self.models = models
        self.weights = weights
        self.price = price
        self.barTime = barTime
        self.madeAt = madeAt
    }
}

public struct ModelProbability: Sendable, Equatable, Codable {
    public let model: ModelKind
    public let value: Double

    public init(model: ModelKind, value: Double) {
        self.model = model
        self.value = value
    }
}

/// A prediction scored against what happened.
public struct ScoredPrediction: Sendable, Equatable, Codable {
    /// 1-based position in the full log (it keeps counting past the in-memory window).
    public let sequence: Int
    public let predicted: Signal
    public let actual: Signal
    public let correct: Bool
    public let scoredAt: TimeInterval
    /// The prediction that was scored, when it came from `predict`.
    public let prediction: Prediction?
    /// The move from the predicted bar to the next, when the outcome was scored from the bars (nil: logged by hand).
    public let realisedReturn: Double?

    public init(sequence: Int, predicted: Signal, actual: Signal, correct: Bool, scoredAt: TimeInterval,
                prediction: Prediction?, realisedReturn: Double? = nil) {
        self.sequence = sequence
        self.predicted = predicted
        self.actual = actual
        self.correct = correct
        self.scoredAt = scoredAt
        self.prediction = prediction
        self.realisedReturn = realisedReturn
    }

    /// The entry as the honest metrics score it: P(up) from its prediction, the return when known, the bar it was
    /// made at (the scoring time for a hand-logged outcome without a prediction). Nil only for values no loop writes
    /// (a probability outside [0, 1], a return below −100 %).
    public var step: ScoredStep? {
        try? ScoredStep(signal: predicted, probabilityUp: prediction?.ensemble, realisedReturn: realisedReturn,
                        outcome: actual, barTime: prediction?.barTime ?? scoredAt)
    }
}

/// Scored predictions: a rolling in-memory window plus lifetime counts.
public struct PredictionLog: Sendable, Equatable, Codable {
    public private(set) var entries: [ScoredPrediction] = []
    public private(set) var totalLogged = 0
    public private(set) var totalCorrect = 0
    public var capacity: Int

    public init(capacity: Int = 1000) {
        self.capacity = capacity
    }

    /// A log restored from storage: the last `capacity` of `entries` stay in memory, the totals count all.
    public init(restoring entries: [ScoredPrediction], totalLogged: Int, totalCorrect: Int, capacity: Int) {
        self.capacity = capacity
        self.entries = Array(entries.suffix(capacity))
        self.totalLogged = totalLogged
        self.totalCorrect = totalCorrect
    }

    @discardableResult
    public mutating func append(predicted: Signal, actual: Signal, at time: TimeInterval,
                                prediction: Prediction?, realisedReturn: Double? = nil) -> ScoredPrediction {
        totalLogged += 1
        let correct = predicted == actual
        if correct { totalCorrect += 1 }
        let entry = ScoredPrediction(sequence: totalLogged, predicted: predicted, actual: actual,
                                     correct: correct, scoredAt: time, prediction: prediction,
                                     realisedReturn: realisedReturn)
        entries.append(entry)
        trim()
        return entry
    }

    public mutating func setCapacity(_ newCapacity: Int) {
        capacity = newCapacity
        trim()
    }

    private mutating func trim() {
        if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
    }

    /// The last `count` entries (fewer when the log is shorter), optionally only those after `sequence`.
    public func recent(_ count: Int, after sequence: Int = 0) -> ArraySlice<ScoredPrediction> {
        var start = max(0, entries.count - count)
        while start < entries.count, entries[start].sequence <= sequence { start += 1 }
        return entries[start...]
    }
}
