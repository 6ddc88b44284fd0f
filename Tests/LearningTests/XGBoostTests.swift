import Foundation
@testable import Learning
import Testing

/// A small learnable problem: y = 1 when x0 + 0.5·x1 + noise > 0; x2 is pure noise.
private func problem(rows: Int = 400, seed: UInt64 = 3) -> (values: [Double], labels: [Double]) {
    var state = seed
    func uniform() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
    var values: [Double] = []
    var labels: [Double] = []
    for _ in 0..<rows {
        let x = [uniform(), uniform(), uniform()]
        values += x
        labels.append(x[0] + 0.5 * x[1] + 0.2 * uniform() > 0 ? 1 : 0)
    }
    return (values, labels)
}

private let names = ["signal", "half_signal", "noise"]

@Suite struct XGBoostWrapper {
    func trained(_ parameters: XGBoostParameters = XGBoostParameters()) throws -> (XGBoostBooster, XGBoostMatrix, [Double]) {
        let data = problem()
        let matrix = try XGBoostMatrix(rows: 400, cols: 3, values: data.values, labels: data.labels)
        return (try XGBoostBooster.train(matrix, parameters: parameters, featureNames: names), matrix, data.labels)
    }

    @Test func learnsAndIsDeterministicForAFixedSeed() throws {
        let (first, matrix, labels) = try trained()
        let (second, _, _) = try trained()
        let predictions = try first.predict(matrix)
        #expect(predictions == (try second.predict(matrix)))
        let accuracy = Metrics.accuracy(predicted: predictions.map { $0 > 0.5 ? 1 : 0 }, actual: labels)
        #expect(accuracy > 0.9)
        #expect(predictions.allSatisfy { (0...1).contains($0) })
    }

    @Test func bufferAndJSONRoundTripsPredictIdentically() throws {
        let (booster, matrix, _) = try trained()
        let expected = try booster.predict(matrix)
        for format in [XGBoostBooster.Format.ubjson, .json] {
            let data = try booster.serialized(format: format)
            let restored = try XGBoostBooster.loadUnchecked(data)
            #expect(try restored.predict(matrix) == expected, "\(format)")
            #expect(restored.featureNames == names)
        }
        // Bytes from anywhere pass validation first, then load the same model.
        let validated = try XGBoostBooster.load(try booster.serialized(format: .ubjson),
                                                requirements: XGBoostModelRequirements(featureNames: names))
        #expect(try validated.predict(matrix) == expected)
        #expect(validated.featureNames == names)
        let json = try booster.serialized(format: .json)
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["learner"] != nil, "XGBoost's own JSON model schema")
    }

    @Test func corruptBufferIsAnErrorWithTheLibrarysMessage() throws {
        do {
            _ = try XGBoostBooster.loadUnchecked(Data("not a model".utf8))
            Issue.record("loading garbage must fail")
        } catch {
            #expect(error.call == "XGBoosterLoadModelFromBuffer")
            #expect(!error.message.isEmpty)
            #expect(error.description.hasPrefix("XGBoost XGBoosterLoadModelFromBuffer failed: "))
        }
    }

    @Test func invalidParameterIsReportedByTheLibrary() throws {
        var parameters = XGBoostParameters()
        parameters.maxDepth = -3
        #expect(throws: XGBoostError.self) { try trained(parameters) }
    }

    @Test func nanIsMissingNotZero() throws {
        let matrix = try XGBoostMatrix(rows: 2, cols: 3, values: [1, .nan, 0, .nan, 2, 0])
        #expect(try matrix.nonMissingCount() == 4)
    }

    @Test func importanceByGainNamesTheInformativeFeatures() throws {
        let (booster, _, _) = try trained()
        let importance = try booster.importanceByGain()
        let gains = Dictionary(uniqueKeysWithValues: importance.map { ($0.feature, $0.gain) })
        #expect(Set(gains.keys).isSubset(of: Set(names)))
        #expect((gains["signal"] ?? 0) > (gains["noise"] ?? 0))
        #expect(importance.allSatisfy { $0.gain > 0 })
    }

    @Test func parametersReachTheBooster() throws {
        var shallow = XGBoostParameters()
        shallow.maxDepth = 1
        shallow.rounds = 3
        let (booster, _, _) = try trained(shallow)
        let json = try booster.serialized(format: .json)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"num_trees\":\"3\""))
        // Depth-1 trees have 3 nodes each.
        let model = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let trees = ((model["learner"] as? [String: Any])?["gradient_booster"] as? [String: Any])
            .flatMap { ($0["model"] as? [String: Any])?["trees"] as? [[String: Any]] } ?? []
        #expect(trees.count == 3)
        #expect(trees.allSatisfy { ($0["left_children"] as? [Int])?.count ?? 0 <= 3 })
    }
}

@Suite struct XGBoostErrorText {
    @Test func theLibrarysMessageIsOneLineWithoutItsStackTrace() throws {
        let raw = """
            [15:26:29] ./src/learner.cc:1017: Check failed: fi->Read(&mparam_, sizeof(mparam_)) == sizeof(mparam_) (11 vs. 136) : BoostLearner: wrong model format
            Stack trace:
              [bt] (0) /lib/x86_64-linux-gnu/libxgboost.so.0(dmlc::LogMessageFatal::~LogMessageFatal()+0x79) [0x7f3a4ef09999]
              [bt] (1) /lib/x86_64-linux-gnu/libxgboost.so.0(xgboost::LearnerIO::LoadModel(dmlc::Stream*)+0x1c7e) [0x7f3a4f0a0a8e]

            """
        #expect(XGBoostError.summary(raw)
                == "Check failed: fi->Read(&mparam_, sizeof(mparam_)) == sizeof(mparam_) (11 vs. 136) : BoostLearner: wrong model format")
        #expect(XGBoostError.summary("[15:26:29] ./src/learner.cc:1008: Invalid model format\nStack trace:\n  [bt] (0) x") == "Invalid model format")
        #expect(XGBoostError.summary("plain: message\nsecond\tline\u{1b}[31m") == "plain: message second line [31m")
        #expect(XGBoostError.summary("\n") == "no message")
    }

    @Test func aLibraryErrorIsOneLine() throws {
        do {
            _ = try XGBoostBooster.loadUnchecked(Data("not a model".utf8))
            Issue.record("loading garbage must fail")
        } catch {
            #expect(!error.description.contains("\n"))
            #expect(!error.description.contains("Stack trace"))
            #expect(!error.description.contains("0x7f"))
            #expect(error.description.hasSuffix("BoostLearner: wrong model format"), "\(error.description)")
        }
    }
}

/// A model exported by `export model xgboost`, evaluated by Python's xgboost (see Fixtures/make_xgb_fixture.py):
/// loading the same JSON here must give exactly Python's probabilities, NaN cells included.
@Suite struct XGBoostPythonAgreement {
    @Test func exportedJSONPredictsLikePython() throws {
        let url = try #require(Bundle.module.url(forResource: "xgb_python_predictions", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let model = Data(try #require(fixture["model"] as? String).utf8)
        let rows = try #require(fixture["rows"] as? [[Any]])
        let expected = try #require(fixture["predictions"] as? [Double])
        let values = rows.flatMap { $0.map { ($0 as? Double) ?? .nan } }
        let booster = try XGBoostBooster.loadUnchecked(model)
        #expect(booster.featureNames == fixture["feature_names"] as? [String])
        let matrix = try XGBoostMatrix(rows: rows.count, cols: rows[0].count, values: values)
        let predictions = try booster.predict(matrix)
        #expect(predictions.count == expected.count)
        for (index, (swift, python)) in zip(predictions, expected).enumerated() {
            #expect(Float(swift) == Float(python), "row \(index): \(swift) vs Python \(python)")
        }
    }
}
