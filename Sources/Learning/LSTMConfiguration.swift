/// Sizes and training settings of the LSTM price regressor.
///
/// The defaults reproduce the seed app's Keras network: LSTM(50, full sequence) → Dropout(0.2)
/// → LSTM(50) → Dropout(0.2) → Dense(25, linear) → Dense(1), min-max-scaled prices, windows of
/// 60, Adam(0.001), MSE, batch 32, 50 epochs. The shell's keys are given in brackets.
public struct LSTMConfiguration: Sendable, Equatable, Codable {
    /// Passes over the training sequences, 1…10000 (`lstm.epochs`).
    public var epochs: Int
    /// Hidden units of each of the two LSTM layers, 1…1024 (`lstm.units`).
    public var units: Int
    /// Prices per input window, 2…2000 (`lstm.sequence_length`).
    public var sequenceLength: Int
    /// Sequences per minibatch, 1…4096 (`lstm.batch_size`).
    public var batchSize: Int
    /// Adam step size, 0 < lr ≤ 1 (`lstm.learning_rate`).
    public var learningRate: Double
    /// Dropout rate after each LSTM layer, 0 ≤ d < 1 (`lstm.dropout`).
    public var dropout: Double
    /// Units of the linear hidden dense layer, 1…1024 (`lstm.dense_units`).
    public var denseUnits: Int
    /// Early stopping: stop after this many epochs without a lower validation loss and keep
    /// the weights of the best epoch (like Keras `EarlyStopping(restore_best_weights=True)`,
    /// except that the best weights are kept even when no early stop happened).
    /// `nil` or 0 turns it off: all epochs run and the last weights are kept (`lstm.patience`).
    public var patience: Int?
    /// Seed of the weights, the per-epoch shuffles and the dropout masks (`lstm.seed`).
    public var seed: UInt64

    /// The seed app's network and training settings.
    public init(epochs: Int = 50, units: Int = 50, sequenceLength: Int = 60, batchSize: Int = 32,
                learningRate: Double = 0.001, dropout: Double = 0.2, denseUnits: Int = 25,
                patience: Int? = nil, seed: UInt64 = 42) {
        self.epochs = epochs
        self.units = units
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.dropout = dropout
        self.denseUnits = denseUnits
        self.patience = patience
        self.seed = seed
    }

    /// Throws `LSTMError.invalidConfiguration` naming the first setting out of range.
    public func validate() throws(LSTMError) {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws(LSTMError) {
            if !ok { throw .invalidConfiguration(message()) }
        }
        try check((1...10_000).contains(epochs), "lstm.epochs must be 1…10000, got \(epochs)")
        try check((1...1024).contains(units), "lstm.units must be 1…1024, got \(units)")
        try check((2...2000).contains(sequenceLength), "lstm.sequence_length must be 2…2000, got \(sequenceLength)")
        try check((1...4096).contains(batchSize), "lstm.batch_size must be 1…4096, got \(batchSize)")
        try check(learningRate > 0 && learningRate <= 1, "lstm.learning_rate must be > 0 and ≤ 1, got \(learningRate)")
        try check(dropout >= 0 && dropout < 1, "lstm.dropout must be ≥ 0 and < 1, got \(dropout)")
        try check((1...1024).contains(denseUnits), "lstm.dense_units must be 1…1024, got \(denseUnits)")
        if let patience {
            try check((0...10_000).contains(patience), "lstm.patience must be 0…10000 (0 = off), got \(patience)")
        }
    }

    /// Whether early stopping is on.
    var earlyStopping: Bool { (patience ?? 0) > 0 }
}

/// Why the LSTM could not be trained, used or restored; `description` says what to do.
public enum LSTMError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A setting (or the validation fraction) is out of range; the message names it and its allowed range.
    case invalidConfiguration(String)
    /// A price is not finite and positive, or lies absurdly far outside the training range.
    case invalidPrices(String)
    /// Not enough prices for one training sequence plus a validation part.
    case tooFewPrices(have: Int, need: Int)
    /// The loss became NaN or infinite during the given epoch (1-based).
    case diverged(epoch: Int)
    /// The caller cancelled training; no model was produced.
    case cancelled
    /// A snapshot failed validation; the message says which part.
    case corruptSnapshot(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "Invalid LSTM setting: \(message)."
        case .invalidPrices(let message):
            return "Invalid prices for the LSTM: \(message)."
        case .tooFewPrices(let have, let need):
            return "Only \(have) prices, the LSTM needs at least \(need) (one sequence plus a validation part)"
        case .diverged(let epoch):
            return "Training diverged (loss became NaN at epoch \(epoch))"
        case .cancelled:
            return "LSTM training cancelled; the previous model is kept."
        case .corruptSnapshot(let message):
            return "Corrupt LSTM snapshot: \(message)."
        }
    }
}

/// Progress after one training epoch, passed to the `onEpoch` callback.
public struct LSTMEpochReport: Sendable, Equatable {
    /// The epoch just finished, 1-based.
    public let epoch: Int
    /// The number of epochs configured.
    public let epochs: Int
    /// Mean training loss (MSE, scaled units, with dropout) over the epoch's minibatches.
    public let loss: Double
    /// Validation MSE (scaled units, no dropout) after the epoch.
    public let valLoss: Double
    /// Seconds since training started.
    public let elapsed: Double
}
