import Foundation
import Learning
import MarketData

/// The model families the loop knows, in ensemble order.
public enum ModelKind: String, Sendable, CaseIterable, Codable, Comparable {
    case logistic, xgboost, lstm

    public var displayName: String {
        switch self {
        case .logistic: return "logistic regression"
        case .xgboost: return "XGBoost"
        case .lstm: return "LSTM"
        }
    }

    /// Whether this build can train the model; later issues add XGBoost and the LSTM.
    public var isAvailable: Bool { self == .logistic }

    public static func < (a: ModelKind, b: ModelKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A trained model that can score the latest bar.
public protocol TrainedModel: Sendable {
    var kind: ModelKind { get }
    /// Probability that the bar after `row` closes higher than `row`.
    func probabilityUp(features: FeatureMatrix, row: Int) -> Double
}

/// Logistic regression on standardised causal features.
public struct LogisticModel: TrainedModel, Equatable, Codable {
    public var kind: ModelKind { .logistic }
    public let featureNames: [String]
    public let scaler: StandardScaler
    public let regression: LogisticRegression

    public func probabilityUp(features: FeatureMatrix, row: Int) -> Double {
        regression.probability(scaler.transform(row: features.row(row)))
    }
}

/// Holdout metrics of one fitted model.
public struct FitOutcome: Sendable {
    public let model: any TrainedModel
    public let accuracy: Double
    public let baselineAccuracy: Double
    public let trainRows: Int
    public let testRows: Int
}

/// Fits each model kind on a dataset's chronological split and scores it on the later part.
public enum ModelTrainer {
    public static func fit(_ kind: ModelKind, dataset: Dataset) throws -> FitOutcome {
        switch kind {
        case .logistic:
            return try fitLogistic(dataset)
        case .xgboost, .lstm:
            throw LoopError.modelUnavailable(kind)
        }
    }

    static func fitLogistic(_ dataset: Dataset) throws -> FitOutcome {
        let features = dataset.features
        let cols = features.cols
        let trainCount = dataset.trainCount
        let labelled = dataset.labels.count
        let all = Matrix(rows: features.rows, cols: cols, values: features.values)
        let train = all.rows(0..<trainCount)
        let test = all.rows(trainCount..<labelled)
        let trainLabels = Array(dataset.labels[0..<trainCount])
        let testLabels = Array(dataset.labels[trainCount..<labelled])

        // The scaler sees only the training part: test statistics must not leak into the fit.
        let scaler = StandardScaler.fit(train)
        let regression = try LogisticRegression.fit(x: scaler.transform(train), y: trainLabels)
        let predicted = regression.probabilities(scaler.transform(test)).map { $0 > 0.5 ? 1.0 : 0.0 }
        let model = LogisticModel(featureNames: features.names, scaler: scaler, regression: regression)
        return FitOutcome(model: model,
                          accuracy: Metrics.accuracy(predicted: predicted, actual: testLabels),
                          baselineAccuracy: Metrics.majorityClassBaseline(train: trainLabels, test: testLabels),
                          trainRows: trainCount, testRows: labelled - trainCount)
    }
}
