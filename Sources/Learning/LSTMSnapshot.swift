/// A `Codable` copy of a trained `LSTMRegressor`: settings, scaler, σ and every weight tensor
/// (Float32, Keras' names and shapes). Restoring it with `LSTMRegressor(snapshot:)` gives
/// bit-identical forecasts.
public struct LSTMSnapshot: Sendable, Equatable, Codable {
    /// One named weight tensor, row-major.
    public struct Tensor: Sendable, Equatable, Codable {
        /// Keras-style name, e.g. `lstm1.recurrent_kernel`.
        public var name: String
        /// Dimensions; their product is `values.count`.
        public var shape: [Int]
        /// Row-major values.
        public var values: [Float]

        /// Wraps a tensor; `LSTMRegressor(snapshot:)` checks it.
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Format version; `LSTMRegressor(snapshot:)` accepts `currentVersion` only.
    public var version: Int
    /// Settings the model was trained with (they fix the layer sizes).
    public var configuration: LSTMConfiguration
    /// Smallest training price.
    public var scalerMin: Double
    /// Largest training price.
    public var scalerMax: Double
    /// RMS validation error of the forecast returns.
    public var sigma: Double
    /// Weight tensors in network order.
    public var tensors: [Tensor]

    /// The format this build writes and reads.
    public static let currentVersion = 1

    /// Wraps the parts; `LSTMRegressor(snapshot:)` checks them.
    public init(version: Int = LSTMSnapshot.currentVersion, configuration: LSTMConfiguration,
                scalerMin: Double, scalerMax: Double, sigma: Double, tensors: [Tensor]) {
        self.version = version
        self.configuration = configuration
        self.scalerMin = scalerMin
        self.scalerMax = scalerMax
        self.sigma = sigma
        self.tensors = tensors
    }
}

extension LSTMRegressor {
    /// The model as a `Codable` snapshot.
    public var snapshot: LSTMSnapshot {
        var tensors: [LSTMSnapshot.Tensor] = []
        var offset = 0
        for (name, shape) in self.shape.tensors {
            let count = shape.reduce(1, *)
            tensors.append(.init(name: name, shape: shape, values: Array(parameters[offset..<(offset + count)])))
            offset += count
        }
        return LSTMSnapshot(configuration: configuration, scalerMin: scalerMin, scalerMax: scalerMax,
                            sigma: sigma, tensors: tensors)
    }

    /// Restores a model from a snapshot, treating it as untrusted: the version, settings,
    /// scaler, σ and every tensor's name, shape, size and values are checked.
    public init(snapshot: LSTMSnapshot) throws(LSTMError) {
        guard snapshot.version == LSTMSnapshot.currentVersion else {
            throw .corruptSnapshot("version \(snapshot.version) is not supported (expected \(LSTMSnapshot.currentVersion))")
        }
        do {
            try snapshot.configuration.validate()
        } catch {
            throw .corruptSnapshot("configuration: \(error)")
        }
        guard snapshot.scalerMin.isFinite, snapshot.scalerMax.isFinite, snapshot.scalerMin <= snapshot.scalerMax else {
            throw .corruptSnapshot("scaler min \(snapshot.scalerMin) / max \(snapshot.scalerMax) must be finite with min ≤ max")
        }
        guard snapshot.sigma.isFinite, snapshot.sigma >= LSTMRegressor.minimumSigma else {
            throw .corruptSnapshot("sigma \(snapshot.sigma) must be finite and ≥ \(LSTMRegressor.minimumSigma)")
        }
        let expected = LSTMRegressor.shape(for: snapshot.configuration).tensors
        guard snapshot.tensors.count == expected.count else {
            throw .corruptSnapshot("\(snapshot.tensors.count) weight tensors, expected \(expected.count)")
        }
        var parameters: [Float] = []
        parameters.reserveCapacity(LSTMLayout(shape: LSTMRegressor.shape(for: snapshot.configuration)).count)
        for (tensor, want) in zip(snapshot.tensors, expected) {
            guard tensor.name == want.name else {
                throw .corruptSnapshot("tensor '\(tensor.name)' found where '\(want.name)' belongs")
            }
            guard tensor.shape == want.shape else {
                throw .corruptSnapshot("\(want.name) has shape \(tensor.shape), expected \(want.shape)")
            }
            guard tensor.values.count == want.shape.reduce(1, *) else {
                throw .corruptSnapshot("\(want.name) has \(tensor.values.count) values, its shape \(want.shape) needs \(want.shape.reduce(1, *))")
            }
            guard tensor.values.allSatisfy(\.isFinite) else {
                throw .corruptSnapshot("\(want.name) contains NaN or infinite values")
            }
            parameters.append(contentsOf: tensor.values)
        }
        self.init(configuration: snapshot.configuration, scalerMin: snapshot.scalerMin,
                  scalerMax: snapshot.scalerMax, sigma: snapshot.sigma, parameters: parameters)
    }
}
