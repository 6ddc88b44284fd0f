import CBLAS
import Foundation

/// What `LSTMRegressor.train` returns: the model and its scores on the validation part.
public struct LSTMTrainingResult: Sendable {
    /// The trained model (the best epoch's weights when early stopping restored them).
    public let model: LSTMRegressor
    /// Directional accuracy on the validation part: predicted next price above the current
    /// price vs the actual move (a tie counts as "not up" on both sides).
    public let accuracy: Double
    /// The majority-class baseline every model's holdout reports (`Metrics.majorityClassBaseline`): the majority
    /// direction (up vs not up) of the training sequences' targets, scored on the validation sequences' targets.
    public let baselineAccuracy: Double
    /// Validation MSE of the next-price forecast, in the scaler's units.
    public let valMSE: Double
    /// Validation MSE of the persistence forecast (next = current), same units.
    public let naiveValMSE: Double
    /// Epochs actually run (fewer than configured when early stopping ended training).
    public let epochsRun: Int
    /// The epoch whose weights the model has (the last one unless early stopping restored an earlier one).
    public let bestEpoch: Int
    /// Training loss of the last epoch run.
    public let finalLoss: Double
    /// Loss and validation loss of every epoch run, in order.
    public let history: [LSTMEpochReport]
    /// Wall-clock seconds spent training and evaluating.
    public let seconds: Double
    /// Sequences in the (chronologically first) training part.
    public let trainSequences: Int
    /// Sequences in the (chronologically last) validation part.
    public let validationSequences: Int
}

/// A stacked-LSTM next-price regressor trained on min-max-scaled prices (Swift, batched
/// OpenBLAS gemms, Float32), with a calibrated probability that the next bar closes higher.
///
/// Design notes:
/// - Network and initialisation follow Keras: see `LSTMConfiguration`; Glorot-uniform input
///   and dense kernels, orthogonal recurrent kernels (Gram–Schmidt QR of a seeded Gaussian
///   matrix), forget-gate bias 1, other biases 0; gates i, f, c, o with sigmoid and tanh.
/// - Training: each sequence is `sequenceLength` consecutive scaled prices, its target the
///   next scaled price. The last `validationFraction` of the sequences (chronologically)
///   validate; the min-max scaler sees only the prices of the training sequences. Minibatch
///   order within the training part is reshuffled every epoch with the seeded generator.
/// - Determinism: a SplitMix64 stream seeded from `seed` drives weights, shuffles and dropout,
///   and OpenBLAS runs single-threaded, so the same seed gives bit-identical weights and
///   metrics on the same machine and library build.
public struct LSTMRegressor: Sendable, Equatable {
    /// The settings the model was trained with.
    public let configuration: LSTMConfiguration
    /// Smallest training price (maps to 0).
    public let scalerMin: Double
    /// Largest training price (maps to 1).
    public let scalerMax: Double
    /// RMS error of the forecast returns on the validation part; the spread used by `probabilityUp`.
    public let sigma: Double
    /// Flat Float32 weights in `LSTMLayout` order.
    let parameters: [Float]

    /// Smallest `sigma` used, so that a perfect validation fit cannot divide by zero.
    public static let minimumSigma = 1e-6

    /// The network's layer sizes.
    var shape: LSTMShape { LSTMRegressor.shape(for: configuration) }

    /// Number of trainable weights.
    public var parameterCount: Int { parameters.count }

    static func shape(for configuration: LSTMConfiguration) -> LSTMShape {
        LSTMShape(inputSize: 1, units: configuration.units, layers: 2, denseUnits: configuration.denseUnits)
    }

    init(configuration: LSTMConfiguration, scalerMin: Double, scalerMax: Double, sigma: Double, parameters: [Float]) {
        self.configuration = configuration
        self.scalerMin = scalerMin
        self.scalerMax = scalerMax
        self.sigma = sigma
        self.parameters = parameters
    }

    /// Width of the scaler's range; a constant training window scales by 1 instead of 0.
    var scalerRange: Double { scalerMax > scalerMin ? scalerMax - scalerMin : 1 }

    /// Sequences set aside for validation out of `sequences` (Keras-like: the last ⌊n·f⌋).
    static func validationCount(sequences: Int, fraction: Double) -> Int {
        Int((Double(sequences) * fraction + 1e-9).rounded(.down))
    }

    /// The fewest prices that give at least one training and one validation sequence.
    public static func requiredPrices(sequenceLength: Int, validationFraction: Double = 0.2) -> Int {
        var sequences = 2
        while validationCount(sequences: sequences, fraction: validationFraction) < 1
                || sequences - validationCount(sequences: sequences, fraction: validationFraction) < 1 {
            sequences += 1
        }
        return sequences + sequenceLength
    }

    /// Makes OpenBLAS single-threaded once per process (see `LSTMBLAS`).
    private static let singleThreaded: Void = LSTMBLAS.useSingleThread()

    /// Trains the network on `prices` (oldest first) and scores it on the last
    /// `validationFraction` of the sequences.
    ///
    /// - Parameters:
    ///   - onEpoch: called after every epoch; return `false` to cancel.
    ///   - isCancelled: polled between minibatches (every few milliseconds); `true` cancels.
    /// - Throws: `LSTMError.invalidConfiguration`, `.invalidPrices`, `.tooFewPrices`,
    ///   `.diverged` (NaN or infinite loss), `.cancelled`. Nothing half-trained is returned,
    ///   so the caller's previous model stays in place on any error.
    ///
    /// Early stopping (`patience` > 0) watches the validation loss and the model keeps the
    /// best epoch's weights, also when all epochs ran (Keras restores them only when it stops
    /// early); without it the last epoch's weights are kept, as Keras does.
    public static func train(prices: [Double], configuration: LSTMConfiguration = LSTMConfiguration(),
                             validationFraction: Double = 0.2,
                             onEpoch: ((LSTMEpochReport) -> Bool)? = nil,
                             isCancelled: (() -> Bool)? = nil) throws(LSTMError) -> LSTMTrainingResult {
        try train(prices: prices, configuration: configuration, validationFraction: validationFraction,
                  initialParameters: nil, onEpoch: onEpoch, isCancelled: isCancelled)
    }

    /// `train`, optionally starting from given weights (in `LSTMLayout` order) instead of the
    /// seeded initialisation.
    static func train(prices: [Double], configuration: LSTMConfiguration, validationFraction: Double,
                      initialParameters: [Float]?,
                      onEpoch: ((LSTMEpochReport) -> Bool)?,
                      isCancelled: (() -> Bool)?) throws(LSTMError) -> LSTMTrainingResult {
        try configuration.validate()
        guard validationFraction >= 0.01 && validationFraction <= 0.9 else {
            throw .invalidConfiguration("the validation fraction must be 0.01…0.9, got \(validationFraction)")
        }
        let steps = configuration.sequenceLength
        let need = requiredPrices(sequenceLength: steps, validationFraction: validationFraction)
        guard prices.count >= need else { throw .tooFewPrices(have: prices.count, need: need) }
        if let bad = prices.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw .invalidPrices("price \(bad) is \(prices[bad]); prices must be finite and positive")
        }
        _ = singleThreaded
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }

        let sequences = prices.count - steps
        let validation = validationCount(sequences: sequences, fraction: validationFraction)
        let training = sequences - validation
        // The scaler sees only the prices that training sequences use (inputs and targets).
        let fitted = prices[0..<(training + steps)]
        let lo = fitted.min()!
        let hi = fitted.max()!
        let range = hi > lo ? hi - lo : 1
        let scaled = prices.map { ($0 - lo) / range }
        // Validation prices may leave [0, 1]; ones absurdly far out would overflow Float32.
        if let far = scaled.firstIndex(where: { !(abs($0) < 1e12) }) {
            throw .invalidPrices("price \(far) (\(prices[far])) is too far outside the training range \(lo)…\(hi)")
        }
        let scaledFloat = scaled.map { Float($0) }

        let shape = shape(for: configuration)
        let layout = LSTMLayout(shape: shape)
        var parameters: [Float] = layout.initialParameters(seed: configuration.seed)
        if let initialParameters {
            precondition(initialParameters.count == layout.count, "initial parameters must match the layout")
            parameters = initialParameters
        }
        // A second, independent stream for shuffles and dropout masks.
        var rng = LSTMRandom(seed: configuration.seed ^ 0xD1B5_4A32_D192_ED03)
        let batchCapacity = min(configuration.batchSize, training)
        let workspace = LSTMWorkspace<Float>(layout: layout, steps: steps, capacity: batchCapacity, training: true)
        let evaluator = LSTMWorkspace<Float>(layout: layout, steps: steps,
                                             capacity: min(validation, 256), training: false)
        var gradient = [Float](repeating: 0, count: layout.count)
        var adam = LSTMAdam<Float>(count: layout.count, learningRate: configuration.learningRate)
        var targets = [Float](repeating: 0, count: batchCapacity)
        var order = Array(0..<training)
        let validationStarts = training..<sequences

        var history: [LSTMEpochReport] = []
        history.reserveCapacity(configuration.epochs)
        var best = (loss: Double.infinity, epoch: 0, parameters: parameters)
        var sinceBest = 0
        for epoch in 1...configuration.epochs {
            rng.shuffle(&order)
            var lossSum = 0.0
            var batchStart = 0
            while batchStart < training {
                if isCancelled?() == true { throw .cancelled }
                let b = min(batchCapacity, training - batchStart)
                let input = workspace.input
                for r in 0..<b {
                    let s = order[batchStart + r]
                    for t in 0..<steps { input[t * b + r] = scaledFloat[s + t] }
                    targets[r] = scaledFloat[s + steps]
                }
                if configuration.dropout > 0 {
                    workspace.sampleMasks(rate: configuration.dropout, batch: b, rng: &rng)
                }
                let loss = parameters.withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeMutableBufferPointer { g in
                        targets.withUnsafeBufferPointer { y in
                            workspace.forward(parameters: p.baseAddress!, batch: b, dropout: configuration.dropout > 0)
                            let loss = workspace.backward(parameters: p.baseAddress!, targets: y.baseAddress!,
                                                          batch: b, gradient: g.baseAddress!)
                            if loss.isFinite {
                                adam.update(parameters: p.baseAddress!, gradient: g.baseAddress!)
                            }
                            return loss
                        }
                    }
                }
                guard loss.isFinite else { throw .diverged(epoch: epoch) }
                lossSum += loss * Double(b)
                batchStart += b
            }
            let predictions = predictScaled(parameters: parameters, workspace: evaluator,
                                            series: scaledFloat, starts: validationStarts)
            let valLoss = meanSquaredError(predictions, scaled, starts: validationStarts, steps: steps)
            guard valLoss.isFinite else { throw .diverged(epoch: epoch) }
            let report = LSTMEpochReport(epoch: epoch, epochs: configuration.epochs,
                                         loss: lossSum / Double(training), valLoss: valLoss, elapsed: elapsed())
            history.append(report)
            var stop = false
            if configuration.earlyStopping {
                if valLoss < best.loss {
                    best = (valLoss, epoch, parameters)
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    stop = sinceBest >= configuration.patience!
                }
            }
            if let onEpoch, !onEpoch(report) { throw .cancelled }
            if stop { break }
        }
        var bestEpoch = history.count
        if configuration.earlyStopping && best.epoch > 0 {
            parameters = best.parameters
            bestEpoch = best.epoch
        }

        // Final scores with the weights the model keeps.
        let predictions = predictScaled(parameters: parameters, workspace: evaluator,
                                        series: scaledFloat, starts: validationStarts)
        var hits = 0
        var squaredError = 0.0, naiveSquaredError = 0.0, returnError = 0.0
        for (k, s) in validationStarts.enumerated() {
            let current = prices[s + steps - 1]
            let actual = prices[s + steps]
            let predicted = lo + predictions[k] * range
            let actualUp = actual > current
            if (predicted > current) == actualUp { hits += 1 }
            let e = predictions[k] - scaled[s + steps]
            squaredError += e * e
            let naive = scaled[s + steps - 1] - scaled[s + steps]
            naiveSquaredError += naive * naive
            let r = (predicted - actual) / current
            returnError += r * r
        }
        let n = Double(validation)
        // The same baseline as the feature models' holdouts (the Dataset's labels: next close above the current
        // one), so the `baseline` column means one thing for every model.
        func upLabel(_ s: Int) -> Double { prices[s + steps] > prices[s + steps - 1] ? 1 : 0 }
        let baseline = Metrics.majorityClassBaseline(train: (0..<training).map(upLabel),
                                                     test: validationStarts.map(upLabel))
        let sigma = max((returnError / n).squareRoot(), minimumSigma)
        let model = LSTMRegressor(configuration: configuration, scalerMin: lo, scalerMax: hi,
                                  sigma: sigma, parameters: parameters)
        return LSTMTrainingResult(model: model, accuracy: Double(hits) / n, baselineAccuracy: baseline,
                                  valMSE: squaredError / n, naiveValMSE: naiveSquaredError / n,
                                  epochsRun: history.count, bestEpoch: bestEpoch,
                                  finalLoss: history.last?.loss ?? .nan, history: history,
                                  seconds: elapsed(), trainSequences: training, validationSequences: validation)
    }

    /// Network outputs (scaled units) for the sequences starting at `starts`, in chunks of the
    /// workspace's capacity.
    private static func predictScaled(parameters: [Float], workspace: LSTMWorkspace<Float>,
                                      series: [Float], starts: Range<Int>) -> [Double] {
        let steps = workspace.steps
        var result: [Double] = []
        result.reserveCapacity(starts.count)
        parameters.withUnsafeBufferPointer { p in
            var first = starts.lowerBound
            while first < starts.upperBound {
                let b = min(workspace.capacity, starts.upperBound - first)
                let input = workspace.input
                for r in 0..<b {
                    for t in 0..<steps { input[t * b + r] = series[first + r + t] }
                }
                workspace.forward(parameters: p.baseAddress!, batch: b, dropout: false)
                for r in 0..<b { result.append(Double(workspace.output[r])) }
                first += b
            }
        }
        return result
    }

    private static func meanSquaredError(_ predictions: [Double], _ scaled: [Double],
                                         starts: Range<Int>, steps: Int) -> Double {
        var sum = 0.0
        for (k, s) in starts.enumerated() {
            let e = predictions[k] - scaled[s + steps]
            sum += e * e
        }
        return sum / Double(starts.count)
    }

    /// The forecast price for the bar after the last of `prices` (uses the last
    /// `sequenceLength` prices).
    public func forecast(prices: [Double]) throws(LSTMError) -> Double {
        let steps = configuration.sequenceLength
        guard prices.count >= steps else { throw .tooFewPrices(have: prices.count, need: steps) }
        let window = prices.suffix(steps)
        if let bad = window.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
            throw .invalidPrices("price \(bad) is \(prices[bad]); prices must be finite and positive")
        }
        _ = LSTMRegressor.singleThreaded
        let workspace = LSTMWorkspace<Float>(layout: LSTMLayout(shape: shape), steps: steps, capacity: 1, training: false)
        let range = scalerRange
        for (t, price) in window.enumerated() {
            workspace.input[t] = Float((price - scalerMin) / range)
        }
        parameters.withUnsafeBufferPointer { p in
            workspace.forward(parameters: p.baseAddress!, batch: 1, dropout: false)
        }
        return scalerMin + Double(workspace.output[0]) * range
    }

    /// Probability that the bar after the last of `prices` closes higher.
    ///
    /// Mapping: with the forecast return r̂ = (forecast − current) / current and σ = the RMS
    /// error of the return forecasts on the validation part (`sigma`), p = Φ(r̂ / σ), the
    /// standard normal CDF: the chance that the actual return is positive if the forecast
    /// errors are Gaussian with that spread. A zero forecast return gives exactly 0.5.
    public func probabilityUp(prices: [Double]) throws(LSTMError) -> Double {
        let predicted = try forecast(prices: prices)
        let current = prices[prices.count - 1]
        return LSTMRegressor.probabilityUp(forecastReturn: (predicted - current) / current, sigma: sigma)
    }

    /// Φ(`forecastReturn` / `sigma`), with `sigma` clamped to at least `minimumSigma`.
    public static func probabilityUp(forecastReturn: Double, sigma: Double) -> Double {
        let spread = sigma.isFinite ? max(sigma, minimumSigma) : minimumSigma
        return 0.5 * (1 + erf(forecastReturn / (spread * 2.0.squareRoot())))
    }
}
