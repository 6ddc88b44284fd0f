import Foundation
import Testing
@testable import Learning

/// Prices and small networks shared by the LSTM regressor tests (debug builds stay fast).
enum LSTMFixtures {
    /// A noisy sine around 100 with period 25 bars: its next value is predictable from the
    /// window, while persistence (next = current) is off by up to ~2.5 per bar.
    static func noisySine(count: Int, noise: Double = 0.3, seed: UInt64 = 9) -> [Double] {
        var rng = LSTMRandom(seed: seed)
        return (0..<count).map { i in
            100 + 10 * sin(2 * Double.pi * Double(i) / 25) + noise * (2 * rng.uniform() - 1)
        }
    }

    /// A tiny network: 4 units, windows of 8, 3 epochs.
    static let tinyConfiguration = LSTMConfiguration(epochs: 3, units: 4, sequenceLength: 8, batchSize: 8,
                                                     learningRate: 0.01, dropout: 0.1, denseUnits: 3, seed: 1)

    static let tinyPrices = noisySine(count: 120)

    /// One tiny training run, shared by the tests that only inspect a trained model.
    static let tiny: Result<LSTMTrainingResult, LSTMError> = Result { () throws(LSTMError) in
        try LSTMRegressor.train(prices: tinyPrices, configuration: tinyConfiguration)
    }
}

@Suite("LSTM configuration and inputs")
struct LSTMConfigurationTests {
    @Test("the defaults are the seed app's network and validate")
    func defaults() throws {
        let c = LSTMConfiguration()
        #expect(c.epochs == 50 && c.units == 50 && c.sequenceLength == 60 && c.batchSize == 32)
        #expect(c.learningRate == 0.001 && c.dropout == 0.2 && c.denseUnits == 25 && c.patience == nil)
        try c.validate()
    }

    @Test("out-of-range settings are rejected, naming the setting", arguments: [
        (LSTMConfiguration(epochs: 0), "lstm.epochs"),
        (LSTMConfiguration(epochs: 10_001), "lstm.epochs"),
        (LSTMConfiguration(units: 0), "lstm.units"),
        (LSTMConfiguration(units: 1025), "lstm.units"),
        (LSTMConfiguration(sequenceLength: 1), "lstm.sequence_length"),
        (LSTMConfiguration(sequenceLength: 2001), "lstm.sequence_length"),
        (LSTMConfiguration(batchSize: 0), "lstm.batch_size"),
        (LSTMConfiguration(batchSize: 4097), "lstm.batch_size"),
        (LSTMConfiguration(learningRate: 0), "lstm.learning_rate"),
        (LSTMConfiguration(learningRate: 1.5), "lstm.learning_rate"),
        (LSTMConfiguration(learningRate: .nan), "lstm.learning_rate"),
        (LSTMConfiguration(dropout: -0.1), "lstm.dropout"),
        (LSTMConfiguration(dropout: 1), "lstm.dropout"),
        (LSTMConfiguration(dropout: .nan), "lstm.dropout"),
        (LSTMConfiguration(denseUnits: 0), "lstm.dense_units"),
        (LSTMConfiguration(patience: -1), "lstm.patience"),
    ])
    func invalidSettings(configuration: LSTMConfiguration, key: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            guard case .invalidConfiguration(let message) = error as? LSTMError else { return false }
            return message.hasPrefix(key + " ")
        }
        // train validates before touching the prices.
        #expect(throws: LSTMError.self) {
            try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: configuration)
        }
    }

    @Test("boundary settings are accepted")
    func boundaries() throws {
        try LSTMConfiguration(epochs: 1, units: 1, sequenceLength: 2, batchSize: 1, learningRate: 1,
                              dropout: 0, denseUnits: 1, patience: 0).validate()
        try LSTMConfiguration(epochs: 10_000, units: 1024, sequenceLength: 2000, batchSize: 4096,
                              learningRate: 1e-9, dropout: 0.99, denseUnits: 1024, patience: 10_000).validate()
    }

    @Test("too few prices says how many are needed, and that many suffice")
    func tooFewPrices() throws {
        var config = LSTMFixtures.tinyConfiguration
        config.epochs = 1
        let need = LSTMRegressor.requiredPrices(sequenceLength: 8)
        #expect(need == 8 + 5)  // 5 sequences: 4 to train on, ⌊5 · 0.2⌋ = 1 to validate
        let prices = LSTMFixtures.tinyPrices
        #expect(throws: LSTMError.tooFewPrices(have: need - 1, need: need)) {
            try LSTMRegressor.train(prices: Array(prices.prefix(need - 1)), configuration: config)
        }
        let result = try LSTMRegressor.train(prices: Array(prices.prefix(need)), configuration: config)
        #expect(result.trainSequences == 4 && result.validationSequences == 1)
        #expect(LSTMError.tooFewPrices(have: 12, need: 13).description.contains("at least 13"))
    }

    @Test("non-finite, non-positive and absurdly distant prices are rejected")
    func invalidPrices() {
        var prices = LSTMFixtures.tinyPrices
        for bad in [Double.nan, .infinity, 0, -5] {
            prices[30] = bad
            #expect {
                try LSTMRegressor.train(prices: prices, configuration: LSTMFixtures.tinyConfiguration)
            } throws: { error in
                guard case .invalidPrices(let message) = error as? LSTMError else { return false }
                return message.contains("price 30")
            }
        }
        prices = LSTMFixtures.tinyPrices
        prices[prices.count - 1] = 1e300
        #expect(throws: LSTMError.self) {
            try LSTMRegressor.train(prices: prices, configuration: LSTMFixtures.tinyConfiguration)
        }
        #expect(throws: LSTMError.self) {
            try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: LSTMFixtures.tinyConfiguration,
                                    validationFraction: 0)
        }
    }
}

@Suite("LSTM training")
struct LSTMTrainingTests {
    @Test("training reports shapes, history and metrics consistently")
    func resultShapes() throws {
        let result = try LSTMFixtures.tiny.get()
        let config = LSTMFixtures.tinyConfiguration
        let sequences = LSTMFixtures.tinyPrices.count - config.sequenceLength
        #expect(result.validationSequences == sequences / 5)
        #expect(result.trainSequences + result.validationSequences == sequences)
        #expect(result.epochsRun == 3 && result.bestEpoch == 3)
        #expect(result.history.map(\.epoch) == [1, 2, 3])
        #expect(result.history.allSatisfy { $0.epochs == 3 && $0.loss.isFinite && $0.valLoss >= 0 })
        #expect(result.finalLoss == result.history.last?.loss)
        // Without early stopping the kept weights are the last epoch's: its val loss is the valMSE.
        #expect(abs(result.valMSE - result.history[2].valLoss) <= 1e-12 * result.valMSE)
        #expect((0...1).contains(result.accuracy) && (0...1).contains(result.baselineAccuracy))
        #expect(result.naiveValMSE > 0 && result.seconds >= 0)
        #expect(result.model.sigma >= LSTMRegressor.minimumSigma)
        let prices = LSTMFixtures.tinyPrices
        let fitted = prices.prefix(result.trainSequences + config.sequenceLength)
        #expect(result.model.scalerMin == fitted.min() && result.model.scalerMax == fitted.max())
        #expect(result.model.parameterCount == LSTMLayout(shape: result.model.shape).count)
    }

    @Test("the same seed gives bit-identical weights and metrics; another seed differs")
    func determinism() throws {
        let config = LSTMFixtures.tinyConfiguration
        let a = try LSTMFixtures.tiny.get()
        let b = try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: config)
        #expect(a.model == b.model)
        #expect(a.valMSE.bitPattern == b.valMSE.bitPattern)
        #expect(a.history.map(\.loss) == b.history.map(\.loss))
        #expect(a.accuracy == b.accuracy && a.model.sigma.bitPattern == b.model.sigma.bitPattern)
        var other = config
        other.seed = 2
        let c = try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: other)
        #expect(c.model.parameters != a.model.parameters)
        #expect(c.valMSE != a.valMSE)
    }

    /// Closes from 100 by the given moves: +1 up, -1 down, 0 flat.
    static func closes(_ moves: [Double]) -> [Double] {
        moves.reduce(into: [100.0]) { $0.append($0.last! + $1) }
    }

    /// Windows of 2 and half the 12 sequences validating: sequence s (0…11) targets move s+1, so moves 1–6 are the
    /// training targets and moves 7–12 the validation targets. Persistence ("same as the last move"), the rule the
    /// LSTM used before, scores 1/6 on both series, so it cannot pass for the majority-class baseline.
    @Test("the baseline is the training part's majority direction scored on validation, as for the other models",
          arguments: [
              // Training targets U U U D U U: majority up; validation D U D U U flat = 0 1 0 1 1 0 → 3/6.
              ([1, 1, 1, 1, -1, 1, 1, -1, 1, -1, 1, 1, 0], 3.0 / 6),
              // Training targets D D U D flat D: majority not up (a flat move is not up); validation U D U D U U
              // = 1 0 1 0 1 1 → "not up" is right 2/6.
              ([-1, -1, -1, 1, -1, 0, -1, 1, -1, 1, -1, 1, 1], 2.0 / 6),
          ] as [([Double], Double)])
    func majorityClassBaseline(moves: [Double], expected: Double) throws {
        let config = LSTMConfiguration(epochs: 1, units: 2, sequenceLength: 2, batchSize: 4,
                                       learningRate: 0.01, dropout: 0, denseUnits: 2, seed: 1)
        let result = try LSTMRegressor.train(prices: Self.closes(moves), configuration: config, validationFraction: 0.5)
        #expect(result.trainSequences == 6 && result.validationSequences == 6)
        #expect(abs(result.baselineAccuracy - expected) < 1e-12, "baseline \(result.baselineAccuracy), expected \(expected)")
    }

    @Test("a noisy sine is learned: validation MSE well below persistence")
    func learnsSine() throws {
        let prices = LSTMFixtures.noisySine(count: 400)
        let config = LSTMConfiguration(epochs: 12, units: 8, sequenceLength: 20, batchSize: 16,
                                       learningRate: 0.01, dropout: 0, denseUnits: 4, seed: 3)
        let result = try LSTMRegressor.train(prices: prices, configuration: config)
        #expect(result.valMSE < 0.1 * result.naiveValMSE, "valMSE \(result.valMSE) vs naive \(result.naiveValMSE)")
        #expect(result.history.last!.loss < result.history.first!.loss)
        // On a sine the direction of the next move is mostly predictable.
        #expect(result.accuracy > 0.8)
    }

    @Test("returning false from onEpoch cancels after that epoch")
    func cancelFromCallback() {
        var config = LSTMFixtures.tinyConfiguration
        config.epochs = 50
        var reports: [LSTMEpochReport] = []
        #expect(throws: LSTMError.cancelled) {
            try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: config, onEpoch: { report in
                reports.append(report)
                return report.epoch < 2
            })
        }
        #expect(reports.map(\.epoch) == [1, 2])
        #expect(reports.allSatisfy { $0.epochs == 50 })
        #expect(reports[0].elapsed <= reports[1].elapsed)
    }

    @Test("isCancelled is polled between minibatches and stops training at once")
    func cancelBetweenMinibatches() {
        var config = LSTMFixtures.tinyConfiguration
        config.epochs = 50
        var polls = 0
        var epochs = 0
        #expect(throws: LSTMError.cancelled) {
            try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: config,
                                    onEpoch: { _ in epochs += 1; return true },
                                    isCancelled: { polls += 1; return polls == 3 })
        }
        // 90 training sequences in batches of 8: the third poll is inside the first epoch.
        #expect(polls == 3)
        #expect(epochs == 0)
    }

    @Test("a non-finite loss throws diverged with the epoch")
    func divergence() throws {
        let config = LSTMFixtures.tinyConfiguration
        let layout = LSTMLayout(shape: LSTMRegressor.shape(for: config))
        var weights: [Float] = layout.initialParameters(seed: 1)
        // An output weight at Float's limit overflows the prediction to infinity.
        for k in layout.outputKernel..<layout.outputBias { weights[k] = .greatestFiniteMagnitude }
        weights[layout.outputBias] = .greatestFiniteMagnitude
        #expect(throws: LSTMError.diverged(epoch: 1)) {
            try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: config, validationFraction: 0.2,
                                    initialParameters: weights, onEpoch: nil, isCancelled: nil)
        }
        #expect(LSTMError.diverged(epoch: 7).description
                == "Training diverged (loss became NaN at epoch 7)")
    }

    @Test("early stopping stops after `patience` epochs without improvement and restores the best weights")
    func earlyStopping() throws {
        // A learning rate this high makes the validation loss bounce, so it stops early.
        var config = LSTMFixtures.tinyConfiguration
        config.epochs = 60
        config.learningRate = 0.3
        config.patience = 2
        let result = try LSTMRegressor.train(prices: LSTMFixtures.tinyPrices, configuration: config)
        let losses = result.history.map(\.valLoss)
        let best = losses.indices.min { losses[$0] < losses[$1] }!
        #expect(result.epochsRun < 60)
        #expect(result.bestEpoch == best + 1)
        #expect(result.epochsRun == result.bestEpoch + 2)
        // The kept model is the best epoch's: its validation MSE is that epoch's val loss.
        #expect(abs(result.valMSE - losses[best]) <= 1e-12 * losses[best])
    }
}

@Suite("LSTM prediction and snapshots")
struct LSTMPredictionTests {
    @Test("the probability is Φ(r̂/σ): 0.5 at zero, monotone, symmetric, σ clamped")
    func probabilityMapping() {
        #expect(LSTMRegressor.probabilityUp(forecastReturn: 0, sigma: 0.01) == 0.5)
        let returns = stride(from: -0.05, through: 0.05, by: 0.001).map { $0 }
        let p = returns.map { LSTMRegressor.probabilityUp(forecastReturn: $0, sigma: 0.01) }
        #expect(zip(p, p.dropFirst()).allSatisfy { $0 < $1 })
        for (r, q) in zip(returns, p) {
            #expect(abs(q + LSTMRegressor.probabilityUp(forecastReturn: -r, sigma: 0.01) - 1) < 1e-12)
        }
        // One σ above zero is Φ(1).
        #expect(abs(LSTMRegressor.probabilityUp(forecastReturn: 0.02, sigma: 0.02) - 0.841_344_746_068_542_9) < 1e-12)
        let clamped = LSTMRegressor.probabilityUp(forecastReturn: 1e-7, sigma: 0)
        #expect(clamped > 0.5 && clamped < 1)
        #expect(LSTMRegressor.probabilityUp(forecastReturn: 1e-7, sigma: .nan) == clamped)
    }

    @Test("probabilityUp follows the forecast relative to the last price")
    func probabilityFromForecast() throws {
        let model = try LSTMFixtures.tiny.get().model
        let prices = LSTMFixtures.tinyPrices
        for end in stride(from: 20, through: prices.count, by: 10) {
            let window = Array(prices.prefix(end))
            let forecast = try model.forecast(prices: window)
            let p = try model.probabilityUp(prices: window)
            let r = (forecast - window.last!) / window.last!
            #expect(p == LSTMRegressor.probabilityUp(forecastReturn: r, sigma: model.sigma))
            #expect((p > 0.5) == (forecast > window.last!))
        }
        #expect(throws: LSTMError.tooFewPrices(have: 7, need: 8)) {
            try model.forecast(prices: Array(prices.prefix(7)))
        }
        #expect(throws: LSTMError.self) {
            try model.forecast(prices: Array(prices.prefix(10)) + [.nan])
        }
    }

    @Test("a JSON snapshot round trip gives bit-identical forecasts")
    func snapshotRoundTrip() throws {
        let model = try LSTMFixtures.tiny.get().model
        let data = try JSONEncoder().encode(model.snapshot)
        let decoded = try JSONDecoder().decode(LSTMSnapshot.self, from: data)
        #expect(decoded == model.snapshot)
        let restored = try LSTMRegressor(snapshot: decoded)
        #expect(restored == model)
        let prices = LSTMFixtures.tinyPrices
        #expect(try restored.forecast(prices: prices).bitPattern == model.forecast(prices: prices).bitPattern)
        #expect(try restored.probabilityUp(prices: prices) == model.probabilityUp(prices: prices))
        #expect(model.snapshot.tensors.map(\.shape) == [[1, 16], [4, 16], [16], [4, 16], [4, 16], [16], [4, 3], [3], [3, 1], [1]])
    }

    @Test("corrupt snapshots are rejected")
    func corruptSnapshots() throws {
        let good = try LSTMFixtures.tiny.get().model.snapshot
        var cases: [(String, LSTMSnapshot)] = []
        var s = good
        s.tensors.removeLast()
        cases.append(("missing tensor", s))
        s = good
        s.tensors[1].shape = [16, 4]
        cases.append(("transposed shape", s))
        s = good
        s.tensors[4].values.removeLast()
        cases.append(("short values", s))
        s = good
        s.tensors[2].values[0] = .nan
        cases.append(("NaN weight", s))
        s = good
        s.tensors.swapAt(0, 1)
        cases.append(("tensors out of order", s))
        s = good
        s.configuration.units = 5
        cases.append(("config disagrees with shapes", s))
        s = good
        s.configuration.epochs = 0
        cases.append(("invalid config", s))
        s = good
        s.version = 2
        cases.append(("unknown version", s))
        s = good
        s.sigma = -1
        cases.append(("negative sigma", s))
        s = good
        s.scalerMin = s.scalerMax + 1
        cases.append(("scaler min above max", s))
        for (name, snapshot) in cases {
            #expect(throws: LSTMError.self, "\(name)") { try LSTMRegressor(snapshot: snapshot) }
            do {
                _ = try LSTMRegressor(snapshot: snapshot)
            } catch {
                guard case .corruptSnapshot = error else {
                    Issue.record("\(name): expected corruptSnapshot, got \(error)")
                    continue
                }
            }
        }
        _ = try LSTMRegressor(snapshot: good)
    }
}
