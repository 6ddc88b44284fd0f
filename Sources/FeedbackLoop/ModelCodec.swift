import Foundation
import Learning
import MarketData

/// Errors from decoding a stored model; each says which model and what is wrong, on one line.
public enum ModelCodecError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownFormat(String)
    /// The blob carries the format tag of another model kind.
    case formatOfAnotherModel(model: ModelKind, format: String)
    /// The XGBoost model failed validation; libxgboost never saw it.
    case xgboost(XGBoostModelError)
    /// libxgboost refused a model that passed validation.
    case xgboostLibrary(XGBoostError)
    /// A model whose numbers do not fit the feature set or are not finite.
    case shape(model: ModelKind, ModelShapeError)
    /// The LSTM's settings or weights failed `LSTMRegressor(snapshot:)`'s checks.
    case lstm(LSTMError)
    /// Bytes that do not parse as the format (JSON errors, lengths); `reason` is one line.
    case damaged(model: ModelKind, reason: String)

    public var description: String {
        switch self {
        case .unknownFormat(let format):
            return "unknown model format '\(format)' — written by a newer lgc-shell?"
        case .formatOfAnotherModel(let model, let format):
            return Self.damaged(model, "it is stored in \(format), the format of another model")
        case .xgboost(let error):
            return Self.damaged(.xgboost, error.description)
        case .xgboostLibrary(let error):
            return Self.damaged(.xgboost, error.description)
        case .shape(let model, let error):
            return Self.damaged(model, error.description)
        case .lstm(let error):
            return Self.damaged(.lstm, error.description)
        case .damaged(let model, let reason):
            return Self.damaged(model, reason)
        }
    }

    private static func damaged(_ model: ModelKind, _ reason: String) -> String {
        "stored \(model.rawValue) model is damaged: \(ModelCodec.oneLine(reason))"
    }
}

/// How a stored model's numbers fail to fit the features it is applied to.
public enum ModelShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model was fitted on other features (or in another order).
    case featureNames(found: [String], expected: [String])
    /// A per-feature array of the wrong length.
    case width(part: String, count: Int, expected: Int)
    /// A NaN or infinite number.
    case nonFinite(part: String, index: Int)
    /// A number that must be above zero (a scaler's scale divides).
    case notPositive(part: String, index: Int)

    public var description: String {
        switch self {
        case .featureNames(let found, let expected):
            if found.count != expected.count {
                return "it was fitted on \(found.count) features, the feature set has \(expected.count)"
            }
            let index = found.indices.first { found[$0] != expected[$0] } ?? 0
            return "its feature \(index) is '\(Self.escaped(found[index]))', the feature set has '\(expected[index])'"
        case .width(let part, let count, let expected):
            return "its \(part) has \(count) entries for \(expected) features"
        case .nonFinite(let part, let index):
            return "its \(part) [\(index)] is NaN or infinite"
        case .notPositive(let part, let index):
            return "its \(part) [\(index)] is not above zero"
        }
    }

    /// Text from a file, control characters escaped, cut to 64 characters.
    private static func escaped(_ text: String) -> String {
        String(text.unicodeScalars.prefix(64).map {
            $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0)
        }.joined())
    }
}

/// Turns trained models into tagged bytes and back, exactly: decoding gives bit-identical predictions.
/// Decoding treats the bytes as untrusted: it parses data only, bounds every size and checks every model against
/// the feature set (`FeatureBuilder.names`) before anything uses it.
public enum ModelCodec {
    public static let logisticFormat = "lr-json-v1"
    public static let xgboostFormat = "xgboost-ubj"
    public static let lstmFormat = "lstm-f32-v1"

    /// Largest LSTM header accepted (settings, names, shapes).
    static let maximumHeaderBytes = 1 << 20

    /// What a stored XGBoost model must fit: the feature set, and the most trees and depth the settings allow.
    public static let xgboostRequirements = XGBoostModelRequirements(featureNames: FeatureBuilder.names)

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

    public static func decode(format: String, data: Data, as kind: ModelKind) throws(ModelCodecError) -> any TrainedModel {
        do {
            switch (format, kind) {
            case (logisticFormat, .logistic):
                let model = try JSONDecoder().decode(LogisticModel.self, from: data)
                try check(model)
                return model
            case (xgboostFormat, .xgboost):
                return XGBoostModel(booster: try XGBoostBooster.load(data, requirements: xgboostRequirements))
            case (lstmFormat, .lstm):
                return LSTMModel(regressor: try LSTMRegressor(snapshot: try decodeLSTM(data)))
            case (logisticFormat, _), (xgboostFormat, _), (lstmFormat, _):
                throw ModelCodecError.formatOfAnotherModel(model: kind, format: format)
            default:
                throw ModelCodecError.unknownFormat(format)
            }
        } catch let error as ModelCodecError {
            throw error
        } catch let error as XGBoostModelError {
            throw .xgboost(error)
        } catch let error as XGBoostError {
            throw .xgboostLibrary(error)
        } catch let error as ModelShapeError {
            throw .shape(model: kind, error)
        } catch let error as LSTMError {
            throw .lstm(error)
        } catch let error as DecodingError {
            throw .damaged(model: kind, reason: summary(error))
        } catch {
            throw .damaged(model: kind, reason: oneLine(String(describing: error)))
        }
    }

    /// A logistic model applies its scaler and weights to a row of the feature set: every array is as wide as the
    /// feature set, in its order, and every number finite (a scale also above zero: it divides).
    static func check(_ model: LogisticModel) throws(ModelShapeError) {
        let expected = FeatureBuilder.names
        guard model.featureNames == expected else { throw .featureNames(found: model.featureNames, expected: expected) }
        for (part, values) in [("scaler mean", model.scaler.mean), ("scaler scale", model.scaler.scale),
                               ("coefficients", model.regression.coefficients)] {
            guard values.count == expected.count else { throw .width(part: part, count: values.count, expected: expected.count) }
            if let bad = values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(part: part, index: bad) }
        }
        if let bad = model.scaler.scale.firstIndex(where: { $0 <= 0 }) { throw .notPositive(part: "scaler scale", index: bad) }
        guard model.regression.intercept.isFinite else { throw .nonFinite(part: "intercept", index: 0) }
        guard model.regression.c.isFinite else { throw .nonFinite(part: "regularisation c", index: 0) }
        guard model.regression.c > 0 else { throw .notPositive(part: "regularisation c", index: 0) }
    }

    /// A JSON decoding error on one line: where, and what.
    static func summary(_ error: DecodingError) -> String {
        let (context, what): (DecodingError.Context, String)
        switch error {
        case .typeMismatch(_, let c): (context, what) = (c, "has the wrong type")
        case .valueNotFound(_, let c): (context, what) = (c, "is missing its value")
        case .keyNotFound(let key, let c): (context, what) = (c, "lacks the key '\(key.stringValue)'")
        case .dataCorrupted(let c): (context, what) = (c, "is not valid")
        @unknown default: return "its JSON cannot be read"
        }
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        return oneLine(path.isEmpty ? "its JSON \(what)" : "its JSON at \(path) \(what)")
    }

    /// Text on one line, control characters as spaces.
    static func oneLine(_ text: String) -> String {
        text.unicodeScalars.split { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
            .map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
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
