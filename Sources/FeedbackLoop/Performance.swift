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
    /// The fit's measured duration in seconds (monotonic clock), not loop time.
    public let seconds: Double
    /// Model-specific measurements (the LSTM's validation, a promotion verdict).
    public let details: TrainingDetails
    /// The span of the bars it was trained on.
    public let dataStart: TimeInterval?
    public let dataEnd: TimeInterval?
    /// What it was trained on: the series' symbol and bar interval (`PriceSeries.interval`). Nil in records written
    /// before format 3, whose data is then not checked against the loaded series.
    public let dataSymbol: String?
    public let dataInterval: TimeInterval?

    public init(time: TimeInterval, model: ModelKind, version: Int, tier: Int, accuracy: Double,
                baselineAccuracy: Double, trainRows: Int, testRows: Int, seconds: Double, details: TrainingDetails = .none,
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
        self.details = details
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
    /// The `improvement_threshold` rule: above +threshold improving, below −threshold degrading, else stable.
    public let direction: TrendDirection
    /// Last minus first accuracy of the window; nil with fewer than two trainings.
    public let improvement: Double?
    public let recentAccuracy: Double?
    public let averageAccuracy: Double?
    public let records: [TrainingRecord]
    /// Standard error of `improvement`, treating the two holdouts as independent samples: an accuracy a over m test
    /// rows has standard error √(a(1 − a)/m), so the change has √(se₁² + se₂²). Nil with fewer than two trainings or
    /// when either holdout has no rows. A rough yardstick, not an exact test: successive holdouts often share rows
    /// (which makes it too wide) and neighbouring bars are dependent (which makes it too narrow).
    public let changeStandardError: Double?
    /// Whether |improvement| > `noiseZ` × `changeStandardError` (a two-sided test at 95 %); nil when the standard
    /// error is. Independent of `direction`: a change can pass the threshold and still be within the holdouts' noise.
    public let exceedsNoise: Bool?

    /// 1.96: the normal quantile of a two-sided 95 % interval.
    public static let noiseZ = 1.96

    /// √(se₁² + se₂²) of two holdout accuracies (see `changeStandardError`); nil when either has no rows or no score.
    public static func changeStandardError(from first: TrainingRecord, to last: TrainingRecord) -> Double? {
        func variance(_ record: TrainingRecord) -> Double? {
            guard record.testRows > 0, record.accuracy.isFinite else { return nil }
            return record.accuracy * (1 - record.accuracy) / Double(record.testRows)
        }
        guard let v1 = variance(first), let v2 = variance(last) else { return nil }
        return (v1 + v2).squareRoot()
    }

    /// Compares the first and last of the last `window` records: a change beyond ±threshold is a trend
    /// (`direction`); `exceedsNoise` says whether it is also beyond the holdouts' own 95 % noise.
    public static func of(_ model: ModelKind, history: [TrainingRecord], window: Int, threshold: Double) -> Trend {
        let records = Array(history.lazy.filter { $0.model == model }.suffix(window))
        guard records.count >= 2, let first = records.first, let last = records.last else {
            return Trend(model: model, direction: .insufficientData, improvement: nil,
                         recentAccuracy: records.last?.accuracy,
                         averageAccuracy: records.isEmpty ? nil : records[0].accuracy, records: records,
                         changeStandardError: nil, exceedsNoise: nil)
        }
        let improvement = last.accuracy - first.accuracy
        let direction: TrendDirection = improvement > threshold ? .improving
            : improvement < -threshold ? .degrading : .stable
        let average = records.reduce(0) { $0 + $1.accuracy } / Double(records.count)
        let standardError = changeStandardError(from: first, to: last)
        return Trend(model: model, direction: direction, improvement: improvement,
                     recentAccuracy: last.accuracy, averageAccuracy: average, records: records,
                     changeStandardError: standardError,
                     exceedsNoise: standardError.map { abs(improvement) > noiseZ * $0 })
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
    /// What the performance trigger reads from this window (a tier judges only the outcomes after its training).
    public let trigger: PerformanceVerdict
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

/// What a training measured beyond its holdout accuracy, as typed fields (never a bag of named numbers whose meaning
/// consumers guess from the key).
public struct TrainingDetails: Sendable, Equatable, Codable {
    /// The LSTM's validation: MSE against the persistence forecast's on the same sequences (scaled units).
    public var sequenceValidation: SequenceValidation?
    /// Under `promotion better`: whether the new version replaced the current model, and both holdout scores.
    public var promotion: PromotionVerdict?

    public init(sequenceValidation: SequenceValidation? = nil, promotion: PromotionVerdict? = nil) {
        self.sequenceValidation = sequenceValidation
        self.promotion = promotion
    }

    public static let none = TrainingDetails()
}

public struct SequenceValidation: Sendable, Equatable, Codable {
    public let mse: Double
    /// The persistence forecast's MSE on the same validation sequences.
    public let naiveMSE: Double
    /// Epochs run and the epoch whose weights were kept; nil in records written before they were kept.
    public let epochs: Int?
    public let bestEpoch: Int?

    public init(mse: Double, naiveMSE: Double, epochs: Int?, bestEpoch: Int?) {
        self.mse = mse
        self.naiveMSE = naiveMSE
        self.epochs = epochs
        self.bestEpoch = bestEpoch
    }
}

/// A retrained model against the current one on the same most recent holdout (`promotion better`).
public struct PromotionVerdict: Sendable, Equatable, Codable {
    public let promoted: Bool
    public let challengerHoldout: Double
    public let incumbentHoldout: Double

    public init(promoted: Bool, challengerHoldout: Double, incumbentHoldout: Double) {
        self.promoted = promoted
        self.challengerHoldout = challengerHoldout
        self.incumbentHoldout = incumbentHoldout
    }
}
