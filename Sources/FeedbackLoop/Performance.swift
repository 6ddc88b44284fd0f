import Foundation

/// One training of one model, as kept in the performance history.
public struct TrainingRecord: Sendable, Equatable, Codable {
    public let time: TimeInterval
    public let model: ModelKind
    public let version: Int
    public let tier: Int
    /// Accuracy on the chronological holdout.
    public let accuracy: Double
    /// Majority class of the training part, scored on the same holdout.
    public let baselineAccuracy: Double
    public let trainRows: Int
    public let testRows: Int
    public let seconds: Double
    /// Model-specific metrics, e.g. the LSTM's `val_mse` and `naive_val_mse` (scaled units).
    public let extra: [String: Double]
    /// The span of the bars it was trained on.
    public let dataStart: TimeInterval?
    public let dataEnd: TimeInterval?
    /// What it was trained on: the series' symbol and bar interval (`PriceSeries.interval`). Nil in records written
    /// before format 3, whose data is then not checked against the loaded series.
    public let dataSymbol: String?
    public let dataInterval: TimeInterval?

    public init(time: TimeInterval, model: ModelKind, version: Int, tier: Int, accuracy: Double,
                baselineAccuracy: Double, trainRows: Int, testRows: Int, seconds: Double, extra: [String: Double] = [:],
                dataStart: TimeInterval? = nil, dataEnd: TimeInterval? = nil,
                dataSymbol: String? = nil, dataInterval: TimeInterval? = nil) {
        self.time = time
        self.model = model
        self.version = version
        self.tier = tier
        self.accuracy = accuracy
        self.baselineAccuracy = baselineAccuracy
        self.trainRows = trainRows
        self.testRows = testRows
        self.seconds = seconds
        self.extra = extra
        self.dataStart = dataStart
        self.dataEnd = dataEnd
        self.dataSymbol = dataSymbol
        self.dataInterval = dataInterval
    }
}

public enum TrendDirection: String, Sendable, Codable {
    case improving, degrading, stable
    case insufficientData = "insufficient_data"
}

/// How a model's holdout accuracy moved over its last trainings.
public struct Trend: Sendable, Equatable {
    public let model: ModelKind
    public let direction: TrendDirection
    /// Last minus first accuracy of the window; nil with fewer than two trainings.
    public let improvement: Double?
    public let recentAccuracy: Double?
    public let averageAccuracy: Double?
    public let records: [TrainingRecord]

    /// Compares the first and last of the last `window` records: a change beyond ±threshold is a trend.
    public static func of(_ model: ModelKind, history: [TrainingRecord], window: Int, threshold: Double) -> Trend {
        let records = Array(history.lazy.filter { $0.model == model }.suffix(window))
        guard records.count >= 2, let first = records.first, let last = records.last else {
            return Trend(model: model, direction: .insufficientData, improvement: nil,
                         recentAccuracy: records.last?.accuracy,
                         averageAccuracy: records.isEmpty ? nil : records[0].accuracy, records: records)
        }
        let improvement = last.accuracy - first.accuracy
        let direction: TrendDirection = improvement > threshold ? .improving
            : improvement < -threshold ? .degrading : .stable
        let average = records.reduce(0) { $0 + $1.accuracy } / Double(records.count)
        return Trend(model: model, direction: direction, improvement: improvement,
                     recentAccuracy: last.accuracy, averageAccuracy: average, records: records)
    }
}

/// Live accuracy of scored predictions.
public struct PerformanceSummary: Sendable, Equatable {
    /// Accuracy over the last `evaluationWindow` scored predictions; nil while fewer exist.
    public let accuracy: Double?
    public let evaluationWindow: Int
    /// Scored predictions inside the window (at most `evaluationWindow`).
    public let windowPredictions: Int
    public let correctPredictions: Int
    /// All scored predictions ever, including those that left the in-memory window.
    public let totalPredictions: Int
    public let totalCorrect: Int
    /// Per model, its own signal scored against the same outcomes in the window (only predictions it took part in).
    public let models: [ModelKind: ModelPerformance]
    /// The honest scores of the same window's predictions, with the naive baselines on the same steps.
    public let live: LiveScores
}

/// One model's live record within the evaluation window.
public struct ModelPerformance: Sendable, Equatable {
    public let correct: Int
    public let scored: Int
    public var accuracy: Double? { scored > 0 ? Double(correct) / Double(scored) : nil }

    public init(correct: Int, scored: Int) {
        self.correct = correct
        self.scored = scored
    }
}
