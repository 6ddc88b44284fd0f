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

    /// The lowest tier that trains this model.
    public var tier: Int {
        switch self {
        case .logistic: return 1
        case .xgboost: return 2
        case .lstm: return 3
        }
    }


    public static func < (a: ModelKind, b: ModelKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A trained model that can score the latest bar.
public protocol TrainedModel: Sendable {
    var kind: ModelKind { get }
    /// Probability that the bar after feature row `row` closes higher than it; `features` was built from `series`.
    func probabilityUp(series: PriceSeries, features: FeatureMatrix, row: Int) throws -> Double
}

/// Logistic regression on standardised causal features.
public struct LogisticModel: TrainedModel, Equatable, Codable {
    public var kind: ModelKind { .logistic }
    public let featureNames: [String]
    public let scaler: StandardScaler
    public let regression: LogisticRegression

    public func probabilityUp(series: PriceSeries, features: FeatureMatrix, row: Int) -> Double {
        regression.probability(scaler.transform(row: features.row(row)))
    }
}

/// Gradient-boosted trees from libxgboost on the raw causal features (trees need no scaling; NaN is missing).
public struct XGBoostModel: TrainedModel {
    public var kind: ModelKind { .xgboost }
    public let booster: XGBoostBooster

    public func probabilityUp(series: PriceSeries, features: FeatureMatrix, row: Int) throws -> Double {
        let matrix = try XGBoostMatrix(rows: 1, cols: features.cols, values: features.row(row))
        return try booster.predict(matrix)[0]
    }
}

/// The seed app's LSTM on min-max-scaled closes; its forecast of the next close becomes P(up) by
/// Φ(forecast return / validation RMS return error) (see `LSTMRegressor.probabilityUp`).
public struct LSTMModel: TrainedModel {
    public var kind: ModelKind { .lstm }
    public let regressor: LSTMRegressor

    public func probabilityUp(series: PriceSeries, features: FeatureMatrix, row: Int) throws -> Double {
        let bar = features.barIndices[row]
        let window = regressor.configuration.sequenceLength
        let closes = series.bars[max(0, bar + 1 - window)...bar].map(\.close)
        return try regressor.probabilityUp(prices: closes)
    }
}

/// Holdout metrics of one fitted model.
public struct FitOutcome: Sendable {
    public let model: any TrainedModel
    public let accuracy: Double
    public let baselineAccuracy: Double
    public let trainRows: Int
    public let testRows: Int
    /// Model-specific measurements (the LSTM's validation).
    public var details = TrainingDetails.none
}

/// Fits each model kind on a dataset's chronological split and scores it on the later part.
public enum ModelTrainer {
    /// `progress` hears each epoch of long trainings; `isCancelled` is polled by them.
    public static func fit(_ kind: ModelKind, dataset: Dataset, series: PriceSeries, config: LoopConfig,
                           progress: @escaping (TrainingProgress) -> Void = { _ in },
                           isCancelled: @escaping () -> Bool = { false }) throws -> FitOutcome {
        switch kind {
        case .logistic:
            return try fitLogistic(dataset)
        case .xgboost:
            return try fitXGBoost(dataset, parameters: config.xgboost)
        case .lstm:
            return try fitLSTM(series, configuration: config.lstm, progress: progress, isCancelled: isCancelled)
        }
    }

    /// The LSTM learns from closes alone: its own chronological split (last 20 % of the sequences validates),
    /// its scaler fitted on the training part.
    static func fitLSTM(_ series: PriceSeries, configuration: LSTMConfiguration,
                        progress: @escaping (TrainingProgress) -> Void,
                        isCancelled: @escaping () -> Bool) throws -> FitOutcome {
        do {
            let result = try LSTMRegressor.train(
                prices: series.closes, configuration: configuration,
                onEpoch: { report in
                    progress(TrainingProgress(model: .lstm, step: report.epoch, steps: report.epochs, loss: report.loss,
                                              validationLoss: report.valLoss, elapsed: report.elapsed))
                    return !isCancelled()
                },
                isCancelled: isCancelled)
            return FitOutcome(model: LSTMModel(regressor: result.model), accuracy: result.accuracy,
                              baselineAccuracy: result.baselineAccuracy, trainRows: result.trainSequences,
                              testRows: result.validationSequences,
                              details: TrainingDetails(sequenceValidation: SequenceValidation(
                                  mse: result.valMSE, naiveMSE: result.naiveValMSE, epochs: result.epochsRun,
                                  bestEpoch: result.bestEpoch)))
        } catch .cancelled {
            throw LoopError.cancelled
        }
    }

    /// Directional accuracy of `model` on the dataset's chronological holdout (P(up) > 0.5 means up): the common
    /// yardstick when a retrained model must beat the current one on the same most recent data.
    public static func holdoutAccuracy(of model: any TrainedModel, dataset: Dataset, series: PriceSeries) throws -> Double {
        let rows = dataset.trainCount..<dataset.labels.count
        var correct = 0
        for row in rows {
            let up = try model.probabilityUp(series: series, features: dataset.features, row: row) > 0.5
            if up == (dataset.labels[row] == 1) { correct += 1 }
        }
        return rows.isEmpty ? .nan : Double(correct) / Double(rows.count)
    }

    /// The labelled rows split chronologically, as Double matrices.
    struct Split {
        let train: Matrix
        let test: Matrix
        let trainLabels: [Double]
        let testLabels: [Double]

        init(_ dataset: Dataset) {
            let features = dataset.features
            let all = Matrix(rows: features.rows, cols: features.cols, values: features.values)
            let trainCount = dataset.trainCount, labelled = dataset.labels.count
            let own = all.rows(0..<trainCount)
            // Pooled rows of other assets train beside the asset's own; the test stays the asset's own rows.
            if let pool = dataset.pool, pool.rows > 0 {
                train = Matrix(rows: own.rows + pool.rows, cols: own.cols, values: own.values + pool.values)
                trainLabels = Array(dataset.labels[0..<trainCount]) + pool.labels
            } else {
                train = own
                trainLabels = Array(dataset.labels[0..<trainCount])
            }
            test = all.rows(trainCount..<labelled)
            testLabels = Array(dataset.labels[trainCount..<labelled])
        }

        func outcome(_ model: any TrainedModel, probabilities: [Double]) -> FitOutcome {
            FitOutcome(model: model,
                       accuracy: Metrics.accuracy(predicted: probabilities.map { $0 > 0.5 ? 1 : 0 }, actual: testLabels),
                       baselineAccuracy: Metrics.majorityClassBaseline(train: trainLabels, test: testLabels),
                       trainRows: train.rows, testRows: test.rows)
        }
    }

    static func fitXGBoost(_ dataset: Dataset, parameters: XGBoostParameters) throws -> FitOutcome {
        let split = Split(dataset)
        guard Set(split.trainLabels).count == 2 else {
            throw LearningError.singleClass(label: split.trainLabels.first ?? 0)
        }
        let train = try XGBoostMatrix(rows: split.train.rows, cols: split.train.cols, values: split.train.values,
                                      labels: split.trainLabels)
        let booster = try XGBoostBooster.train(train, parameters: parameters, featureNames: dataset.features.names)
        let test = try XGBoostMatrix(rows: split.test.rows, cols: split.test.cols, values: split.test.values)
        let model = XGBoostModel(booster: booster)
        return split.outcome(model, probabilities: try booster.predict(test))
    }

    static func fitLogistic(_ dataset: Dataset) throws -> FitOutcome {
        let split = Split(dataset)
        // The scaler sees only the training part: test statistics must not leak into the fit.
        let scaler = StandardScaler.fit(split.train)
        let regression = try LogisticRegression.fit(x: scaler.transform(split.train), y: split.trainLabels)
        let model = LogisticModel(featureNames: dataset.features.names, scaler: scaler, regression: regression)
        return split.outcome(model, probabilities: regression.probabilities(scaler.transform(split.test)))
    }
}
