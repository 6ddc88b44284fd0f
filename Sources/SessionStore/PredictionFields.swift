import FeedbackLoop
import Foundation

/// A `Prediction` as the store's columns hold it. `Prediction` has no public initialiser, so reading
/// rebuilds it through its `Decodable` conformance with `FieldsDecoder`, which is far cheaper than JSON.
struct PredictionFields {
    var signal: Signal
    var ensemble: Double
    var price: Double
    var barTime: TimeInterval
    var madeAt: TimeInterval
    var models: [ModelProbability]
    var weights: [ModelProbability]

    init(signal: Signal, ensemble: Double, price: Double, barTime: TimeInterval, madeAt: TimeInterval,
         models: [ModelProbability], weights: [ModelProbability]) {
        self.signal = signal
        self.ensemble = ensemble
        self.price = price
        self.barTime = barTime
        self.madeAt = madeAt
        self.models = models
        self.weights = weights
    }

    init(_ prediction: Prediction) {
        self.init(signal: prediction.signal, ensemble: prediction.ensemble, price: prediction.price,
                  barTime: prediction.barTime, madeAt: prediction.madeAt, models: prediction.models,
                  weights: prediction.weights)
    }

    func prediction() throws -> Prediction {
        try Prediction(from: FieldsDecoder(fields: self))
    }
}

/// A decoder that serves exactly `Prediction`'s keys from `PredictionFields`.
private struct FieldsDecoder: Decoder {
    let fields: PredictionFields
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FieldsContainer<Key>(fields: fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a prediction is keyed"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a prediction is keyed"))
    }
}

private struct FieldsContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: PredictionFields
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] {
        ["signal", "ensemble", "models", "weights", "price", "barTime", "madeAt"].compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool { value(for: key) != nil }

    private func value(for key: Key) -> Any? {
        switch key.stringValue {
        case "signal": return fields.signal
        case "ensemble": return fields.ensemble
        case "models": return fields.models
        case "weights": return fields.weights
        case "price": return fields.price
        case "barTime": return fields.barTime
        case "madeAt": return fields.madeAt
        default: return nil
        }
    }

    private func missing(_ key: Key) -> DecodingError {
        .keyNotFound(key, .init(codingPath: [], debugDescription: "Prediction has a field the session format lacks"))
    }

    func decodeNil(forKey key: Key) throws -> Bool { value(for: key) == nil }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let value = value(for: key) else { throw missing(key) }
        guard let typed = value as? T else {
            throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "unexpected field type"))
        }
        return typed
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(false, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode("", key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        switch key.stringValue {
        case "ensemble": return fields.ensemble
        case "price": return fields.price
        case "barTime": return fields.barTime
        case "madeAt": return fields.madeAt
        default: throw missing(key)
        }
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(Float(0), key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(Int(0), key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(Int8(0), key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(Int16(0), key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(Int32(0), key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(Int64(0), key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(UInt(0), key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(UInt8(0), key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(UInt16(0), key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(UInt32(0), key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(UInt64(0), key) }

    /// Prediction has no fields of these types: any request for one means its layout changed.
    private func decode<T>(_ example: T, _ key: Key) throws -> T {
        if let typed = value(for: key) as? T { return typed }
        throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription: "unexpected field type"))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                               forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: [key], debugDescription: "flat fields only"))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "flat fields only"))
    }

    func superDecoder() throws -> any Decoder { FieldsDecoder(fields: fields) }
    func superDecoder(forKey key: Key) throws -> any Decoder { FieldsDecoder(fields: fields) }
}
