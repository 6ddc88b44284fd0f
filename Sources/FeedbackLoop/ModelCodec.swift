import Foundation
import Learning
import MarketData

/// Errors from decoding a stored model; each says which model and what is wrong.
public enum ModelCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownFormat(String)
    case damaged(model: ModelKind, reason: String)

    public var description: String {
        switch self {
        case .unknownFormat(let format):
            return "unknown model format '\(format)' — written by a newer lgc-shell?"
        case .damaged(let model, let reason):
            return "stored \(model.rawValue) model is damaged: \(reason)"
        }
    }
}

/// Turns trained models into tagged bytes and back, exactly: decoding gives bit-identical predictions.
/// Decoding treats the bytes as untrusted: it parses data only and bounds every size.
public enum ModelCodec {
    public static let logisticFormat = "lr-json-v1"
    public static let xgboostFormat = "xgboost-ubj"
    public static let lstmFormat = "lstm-f32-v1"

    /// Largest LSTM header accepted (settings, names, shapes).
    static let maximumHeaderBytes = 1 << 20

    public static func encode(_ model: any TrainedModel) throws -> (format: String, data: Data) {
        switch model {
        case let logistic as LogisticModel:
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return (logisticFormat, try encoder.encode(logistic))
        case let xgboost as XGBoostModel:
            return (xgboostFormat, try xgboost.booster.serialized(format: .ubjson))
        case let lstm as LSTMModel:
            return (lstmFormat, encodeLSTM(lstm.regressor.snapshot))
        default:
            throw ModelCodecError.unknownFormat(String(describing: type(of: model)))
        }
    }

    public static func decode(format: String, data: Data, as kind: ModelKind) throws -> any TrainedModel {
        do {
            switch (format, kind) {
            case (logisticFormat, .logistic):
                let model = try JSONDecoder().decode(LogisticModel.self, from: data)
                let width = model.featureNames.count
                guard model.scaler.mean.count == width, model.scaler.scale.count == width,
                      model.regression.coefficients.count == width else {
                    throw ModelCodecError.damaged(model: kind, reason: "its feature, scaler and coefficient counts differ")
                }
                return model
            case (xgboostFormat, .xgboost):
                return XGBoostModel(booster: try XGBoostBooster.load(data, requirements: XGBoostModelRequirements(featureNames: FeatureBuilder.names)))
            case (lstmFormat, .lstm):
                return LSTMModel(regressor: try LSTMRegressor(snapshot: try decodeLSTM(data)))
            case (logisticFormat, _), (xgboostFormat, _), (lstmFormat, _):
                throw ModelCodecError.damaged(model: kind, reason: "it is stored in \(format), the format of another model")
            default:
                throw ModelCodecError.unknownFormat(format)
            }
        } catch let error as ModelCodecError {
            throw error
        } catch {
            throw ModelCodecError.damaged(model: kind, reason: String(describing: error))
        }
    }

    /// The LSTM snapshot as: 4-byte little-endian header length, a JSON header (everything but the weights),
    /// then every tensor's Float32 values, little-endian, in header order. A quarter of the size of all-JSON.
    struct LSTMHeader: Codable {
        var version: Int
        var configuration: LSTMConfiguration
        var scalerMin: Double
        var scalerMax: Double
        var sigma: Double
        var tensors: [TensorShape]

        struct TensorShape: Codable {
            var name: String
            var shape: [Int]
        }
    }

    static func encodeLSTM(_ snapshot: LSTMSnapshot) -> Data {
        let header = LSTMHeader(version: snapshot.version, configuration: snapshot.configuration,
                                scalerMin: snapshot.scalerMin, scalerMax: snapshot.scalerMax, sigma: snapshot.sigma,
                                tensors: snapshot.tensors.map { .init(name: $0.name, shape: $0.shape) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = (try? encoder.encode(header)) ?? Data()
        var data = Data()
        var length = UInt32(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in snapshot.tensors {
            for value in tensor.values {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    static func decodeLSTM(_ data: Data) throws -> LSTMSnapshot {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw ModelCodecError.damaged(model: .lstm, reason: "it is shorter than its header") }
        let headerLength = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard headerLength <= maximumHeaderBytes, 4 + headerLength <= bytes.count else {
            throw ModelCodecError.damaged(model: .lstm, reason: "its header length \(headerLength) does not fit the \(bytes.count) bytes")
        }
        let header = try JSONDecoder().decode(LSTMHeader.self, from: Data(bytes[4..<(4 + headerLength)]))
        var offset = 4 + headerLength
        var tensors: [LSTMSnapshot.Tensor] = []
        for shape in header.tensors {
            // Bound each tensor by the bytes actually present before multiplying sizes out.
            guard shape.shape.allSatisfy({ $0 > 0 && $0 <= 1 << 24 }) else {
                throw ModelCodecError.damaged(model: .lstm, reason: "tensor \(shape.name) has shape \(shape.shape)")
            }
            let (count, overflow) = shape.shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            guard !overflow, count <= (bytes.count - offset) / 4 else {
                throw ModelCodecError.damaged(model: .lstm, reason: "tensor \(shape.name) is larger than the stored data")
            }
            var values = [Float](repeating: 0, count: count)
            for index in 0..<count {
                let at = offset + index * 4
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                values[index] = Float(bitPattern: bits)
            }
            offset += count * 4
            tensors.append(.init(name: shape.name, shape: shape.shape, values: values))
        }
        guard offset == bytes.count else {
            throw ModelCodecError.damaged(model: .lstm, reason: "\(bytes.count - offset) bytes follow the last tensor")
        }
        return LSTMSnapshot(version: header.version, configuration: header.configuration, scalerMin: header.scalerMin,
                            scalerMax: header.scalerMax, sigma: header.sigma, tensors: tensors)
    }
}
