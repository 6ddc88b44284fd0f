import FeedbackLoop
import Foundation
import Learning
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
