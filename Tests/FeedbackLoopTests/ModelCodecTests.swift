@testable import FeedbackLoop
import Foundation
@testable import Learning
import MarketData
import Testing

@Suite struct ModelCodecRoundTrips {
    @Test func everyModelDecodesToBitIdenticalPredictions() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[2])
        let series = engine.series!
        let features = FeatureBuilder.features(for: series)
        for kind in ModelKind.allCases {
            let model = try #require(engine.models[kind]?.model)
            let (format, data) = try ModelCodec.encode(model)
            let decoded = try ModelCodec.decode(format: format, data: data, as: kind)
            for row in [0, features.rows / 2, features.rows - 1] {
                let original = try model.probabilityUp(series: series, features: features, row: row)
                let restored = try decoded.probabilityUp(series: series, features: features, row: row)
                #expect(original.bitPattern == restored.bitPattern, "\(kind) row \(row)")
            }
            // Our own encodings are deterministic (libxgboost's buffer is its own business).
            if kind != .xgboost { #expect(try ModelCodec.encode(decoded).data == data, "\(kind)") }
        }
    }

    @Test func damagedOrMismatchedBlobsAreRefused() throws {
        let engine = try makeEngine()
        try engine.train(Tier.all[2])
        let lstm = try ModelCodec.encode(engine.models[.lstm]!.model)
        let logistic = try ModelCodec.encode(engine.models[.logistic]!.model)
        #expect(throws: ModelCodecError.unknownFormat("pickle")) {
            try ModelCodec.decode(format: "pickle", data: Data(), as: .logistic)
        }
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: lstm.format, data: lstm.data.dropLast(4), as: .lstm) }
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: lstm.format, data: lstm.data + Data([0]), as: .lstm) }
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: lstm.format, data: Data([255, 255, 255, 127]), as: .lstm) }
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: logistic.format, data: logistic.data, as: .lstm) }
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: ModelCodec.xgboostFormat, data: Data("junk".utf8), as: .xgboost) }
        var truncatedJSON = logistic.data
        truncatedJSON.removeLast(10)
        #expect(throws: ModelCodecError.self) { try ModelCodec.decode(format: logistic.format, data: truncatedJSON, as: .logistic) }
    }
}

/// Stored models are data from anywhere: each is checked against the feature set before anything uses it.
@Suite struct ModelCodecShapes {
    /// Models of every kind, trained once for all tests here.
    static let trained: [ModelKind: (format: String, data: Data)] = {
        let engine = try! makeEngine()
        try! engine.train(Tier.all[2])
        return Dictionary(uniqueKeysWithValues: ModelKind.allCases.map { ($0, try! ModelCodec.encode(engine.models[$0]!.model)) })
    }()

    func decodeError(_ data: Data, _ kind: ModelKind) -> ModelCodecError? {
        do {
            _ = try ModelCodec.decode(format: Self.trained[kind]!.format, data: data, as: kind)
            return nil
        } catch {
            return error
        }
    }

    /// The logistic blob's JSON as an object, changed by `change`, encoded again (so its checksum would be valid).
    func logistic(_ change: (inout [String: Any]) -> Void) throws -> Data {
        var object = try #require(try JSONSerialization.jsonObject(with: Self.trained[.logistic]!.data) as? [String: Any])
        change(&object)
        return try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
    }

    @Test func logisticModelsOfTheWrongWidthAreRefused() throws {
        let names = FeatureBuilder.names
        let narrow = try logistic { object in
            var regression = object["regression"] as! [String: Any]
            regression["coefficients"] = Array((regression["coefficients"] as! [Double]).dropLast())
            object["regression"] = regression
        }
        #expect(decodeError(narrow, .logistic) == .shape(model: .logistic, .width(part: "coefficients", count: names.count - 1, expected: names.count)))
        // All three arrays one wider, names included: consistent with itself, not with the feature set.
        let wide = try logistic { object in
            object["featureNames"] = names + ["extra"]
            var regression = object["regression"] as! [String: Any]
            regression["coefficients"] = (regression["coefficients"] as! [Double]) + [0.5]
            object["regression"] = regression
            var scaler = object["scaler"] as! [String: Any]
            scaler["mean"] = (scaler["mean"] as! [Double]) + [0]
            scaler["scale"] = (scaler["scale"] as! [Double]) + [1]
            object["scaler"] = scaler
        }
        #expect(decodeError(wide, .logistic) == .shape(model: .logistic, .featureNames(found: names + ["extra"], expected: names)))
        let reordered = try logistic { object in object["featureNames"] = Array(names.reversed()) }
        let error = try #require(decodeError(reordered, .logistic))
        #expect(error == .shape(model: .logistic, .featureNames(found: names.reversed(), expected: names)))
        #expect(error.description == "stored logistic model is damaged: its feature 0 is 'resistance_48', the feature set has 'sma_7_ratio'")
        let shortMean = try logistic { object in
            var scaler = object["scaler"] as! [String: Any]
            scaler["mean"] = Array((scaler["mean"] as! [Double]).prefix(3))
            object["scaler"] = scaler
        }
        #expect(decodeError(shortMean, .logistic) == .shape(model: .logistic, .width(part: "scaler mean", count: 3, expected: names.count)))
        let zeroScale = try logistic { object in
            var scaler = object["scaler"] as! [String: Any]
            var scale = scaler["scale"] as! [Double]
            scale[4] = 0
            scaler["scale"] = scale
            object["scaler"] = scaler
        }
        #expect(decodeError(zeroScale, .logistic) == .shape(model: .logistic, .notPositive(part: "scaler scale", index: 4)))
    }

    @Test func logisticNumbersBeyondDoubleAreRefusedOnOneLine() throws {
        // JSON cannot say NaN; a literal too large for a Double is the nearest a file can get to infinity.
        let text = String(decoding: Self.trained[.logistic]!.data, as: UTF8.self)
        let huge = text.replacingOccurrences(of: #""intercept":[-0-9.e]+"#, with: #""intercept":1e999"#, options: .regularExpression)
        #expect(huge != text)
        let error = try #require(decodeError(Data(huge.utf8), .logistic))
        #expect(!error.description.contains("\n"), "\(error.description)")
        let broken = try #require(decodeError(Data(text.prefix(40).utf8), .logistic))
        #expect(broken == .damaged(model: .logistic, reason: "its JSON is not valid"))
    }

    /// The LSTM blob with its snapshot changed by `change` (header and tensors written consistently).
    func lstm(_ change: (inout LSTMSnapshot) -> Void) throws -> Data {
        var snapshot = try ModelCodec.decodeLSTM(Self.trained[.lstm]!.data)
        change(&snapshot)
        return ModelCodec.encodeLSTM(snapshot)
    }

    @Test func lstmLayersMustMatchTheirHeaderAndBeFinite() throws {
        #expect(decodeError(try lstm { _ in }, .lstm) == nil)
        let nan = try lstm { $0.tensors[1].values[3] = .nan }
        #expect(decodeError(nan, .lstm) == .lstm(.corruptSnapshot("lstm1.recurrent_kernel contains NaN or infinite values")))
        // More units in the header than the weights were trained with.
        let units = try lstm { $0.configuration.units += 1 }
        guard case .lstm(.corruptSnapshot) = try #require(decodeError(units, .lstm)) else { Issue.record("units"); return }
        let sequence = try lstm { $0.configuration.sequenceLength = 1_000_000 }
        #expect(decodeError(sequence, .lstm) == .lstm(.corruptSnapshot("configuration: Invalid LSTM setting: lstm.sequence_length must be 2…2000, got 1000000.")))
        let reshaped = try lstm { snapshot in
            snapshot.tensors[0].shape = snapshot.tensors[0].shape.reversed()
        }
        guard case .lstm(.corruptSnapshot) = try #require(decodeError(reshaped, .lstm)) else { Issue.record("shape"); return }
        let dropped = try lstm { $0.tensors.removeLast() }
        guard case .lstm(.corruptSnapshot) = try #require(decodeError(dropped, .lstm)) else { Issue.record("tensors"); return }
        // JSON cannot carry an infinite σ; zero would divide.
        let sigma = try lstm { $0.sigma = 0 }
        guard case .lstm(.corruptSnapshot) = try #require(decodeError(sigma, .lstm)) else { Issue.record("sigma"); return }
    }

    /// `left_children[element]` of the first tree in a UBJSON model, set to `value` (big-endian, in place).
    static func patched(_ blob: Data, _ key: String, element: Int, to value: Int32) throws -> Data {
        var bytes = [UInt8](blob)
        let range = try #require(bytes.firstRange(of: Array(key.utf8) + Array("[$l#L".utf8)))
        let at = range.upperBound + 8 + element * 4
        for index in 0..<4 { bytes[at + index] = UInt8(truncatingIfNeeded: UInt32(bitPattern: value) >> (24 - 8 * UInt32(index))) }
        return Data(bytes)
    }

    @Test func craftedXGBoostModelsAreRefusedBeforeLibxgboostSeesThem() throws {
        let blob = Self.trained[.xgboost]!.data
        #expect(decodeError(blob, .xgboost) == nil)
        let leftChild = try Self.patched(blob, "left_children", element: 0, to: .max)
        let error = try #require(decodeError(leftChild, .xgboost))
        guard case .xgboost(.childOutOfRange(tree: 0, node: 0, child: Int(Int32.max), _)) = error else {
            Issue.record("\(error)"); return
        }
        #expect(error.description.hasPrefix("stored xgboost model is damaged: tree 0: node 0 points to child 2147483647, outside its "))
        let loop = try Self.patched(blob, "left_children", element: 0, to: 0)
        #expect(decodeError(loop, .xgboost) == .xgboost(.childNotForward(tree: 0, node: 0, child: 0)))
        let feature = try Self.patched(blob, "split_indices", element: 0, to: 19)
        #expect(decodeError(feature, .xgboost) == .xgboost(.splitFeatureOutOfRange(tree: 0, node: 0, feature: 19, features: 19)))
        #expect(decodeError(blob.dropLast(), .xgboost) == .xgboost(.truncated(offset: blob.count - 1)))
    }

    @Test func everyRefusalIsOneLine() throws {
        let errors: [ModelCodecError] = [
            .xgboost(.unknownKey(path: "learner", key: "a\nb\u{1b}[2J")),
            .xgboostLibrary(XGBoostError(call: "XGBoosterLoadModelFromBuffer", message: "x")),
            .damaged(model: .lstm, reason: "two\nlines"),
            .shape(model: .logistic, .featureNames(found: ["a\rb"], expected: ["c"])),
        ]
        for error in errors {
            #expect(!error.description.contains { $0.isNewline || $0 == "\u{1b}" }, "\(error.description)")
        }
    }
}
