import FeedbackLoop
import Foundation
import Testing
@testable import Shell

/// The holdout table's baseline and flag, and `trend`'s standard error, as the shell shows them (issue 12).
@Suite struct HoldoutHonesty {
    /// A shell whose history is exactly `records` (no data, no fitted models).
    func shell(with records: [TrainingRecord]) -> ShellContext {
        let shell = quietShell()
        let engine = shell.engine
        engine.restore(LoopState(series: nil, config: engine.config, clockOffset: 0, history: records, models: [:],
                                 lastTraining: [:], logMarks: [:], log: engine.log, pending: nil))
        return shell
    }

    func record(_ model: ModelKind, version: Int, accuracy: Double, baseline: Double = 0.5,
                testRows: Int) -> TrainingRecord {
        TrainingRecord(time: 1_790_000_000 + Double(version), model: model, version: version, tier: 1,
                       accuracy: accuracy, baselineAccuracy: baseline, trainRows: 400, testRows: testRows, seconds: 0.1)
    }

    @Test("trend: a +6 pp change over holdouts of 100 rows is within noise, in JSON and in words")
    func trendWithinNoise() throws {
        let shell = shell(with: [record(.logistic, version: 1, accuracy: 0.50, testRows: 100),
                                 record(.logistic, version: 2, accuracy: 0.56, testRows: 100)])
        let json = try fields(shell, "trend logistic")
        #expect(json["trend"] as? String == "improving", "the threshold rule still decides the direction")
        // √(.5·.5/100 + .56·.44/100) = 0.0704557 → ±13.8 pp at 95 %.
        #expect(abs(try #require(json["standard_error"] as? Double) - 0.070455659815) < 1e-9)
        #expect(json["exceeds_noise"] as? Bool == false)
        #expect(try text(shell, "trend logistic").contains(
            "— within the holdouts' noise (±13.8 pp at 95 %, standard error 7.0 pp)"))
        let status = try fields(shell, "status")
        let trends = try #require(status["model_performance_trends"] as? [String: [String: Any]])
        #expect(trends["logistic"]?["exceeds_noise"] as? Bool == false)
        #expect(try text(shell, "status").contains("improving, within noise"))
    }

    @Test("trend: the same change over holdouts of 2,000 rows is beyond noise")
    func trendBeyondNoise() throws {
        let shell = shell(with: [record(.lstm, version: 1, accuracy: 0.56, testRows: 2000),
                                 record(.lstm, version: 2, accuracy: 0.50, testRows: 2000)])
        let json = try fields(shell, "trend lstm")
        #expect(json["trend"] as? String == "degrading")
        #expect(abs(try #require(json["standard_error"] as? Double) - 0.015754364475) < 1e-9)
        #expect(json["exceeds_noise"] as? Bool == true)
        #expect(try text(shell, "trend lstm").contains("— beyond the holdouts' noise (±3.1 pp at 95 %, standard error 1.6 pp)"))
        #expect(try text(shell, "status").contains("degrading, beyond noise"))
    }

    @Test("trend: null standard error and verdict with one training or an empty holdout")
    func trendWithoutStandardError() throws {
        let one = shell(with: [record(.xgboost, version: 1, accuracy: 0.5, testRows: 100)])
        let json = try fields(one, "trend xgboost")
        #expect(json.keys.contains("standard_error") && json["standard_error"] is NSNull)
        #expect(json.keys.contains("exceeds_noise") && json["exceeds_noise"] is NSNull)
        let empty = shell(with: [record(.xgboost, version: 1, accuracy: 0.5, testRows: 100),
                                 record(.xgboost, version: 2, accuracy: 0.6, testRows: 0)])
        #expect(try fields(empty, "trend xgboost")["exceeds_noise"] is NSNull)
        #expect(try text(empty, "trend xgboost").contains("no standard error: a holdout has no rows"))
    }

    @Test("models: every kind, the LSTM included, is flagged when its accuracy does not beat its baseline")
    func modelsFlagBelowBaseline() throws {
        let shell = shell(with: [record(.logistic, version: 1, accuracy: 0.60, baseline: 0.55, testRows: 100),
                                 record(.xgboost, version: 1, accuracy: 0.55, baseline: 0.55, testRows: 100),
                                 record(.lstm, version: 1, accuracy: 0.45, baseline: 0.55, testRows: 100)])
        let json = try #require(try fields(shell, "models")["models"] as? [[String: Any]])
        let beats = Dictionary(uniqueKeysWithValues: json.map { ($0["model"] as! String, $0["beats_baseline"] as? Bool) })
        #expect(beats == ["logistic": true, "xgboost": false, "lstm": false], "a tie does not beat it")
        let lines = try text(shell, "models").split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("logistic") && $0.contains("60.0%") && !$0.contains("!") })
        #expect(lines.contains { $0.hasPrefix("xgboost") && $0.contains("55.0% !") })
        #expect(lines.contains { $0.hasPrefix("lstm") && $0.contains("45.0% !") })
        #expect(lines.suffix(2) == ["baseline: majority class (up / not up) of the training part, scored on the same holdout",
                                    "! = accuracy not above its baseline"])
        let status = try text(shell, "status")
        #expect(status.contains("45.0% !"), "status's latest accuracy carries the flag too")
        #expect(status.contains("\n! = latest holdout accuracy not above its baseline"))
        // Without a flagged model neither footnote mentions `!`.
        let clean = self.shell(with: [record(.logistic, version: 1, accuracy: 0.60, baseline: 0.55, testRows: 100)])
        #expect(try text(clean, "models").hasSuffix("\nbaseline: majority class (up / not up) of the training part, scored on the same holdout"))
        #expect(try !text(clean, "status").contains("! ="))
    }

    @Test("train and trend over real trainings: the JSON fields follow from the records")
    func endToEnd() throws {
        let result = try ShellProcess.run(["--json", "-q", "-c",
                                           "fetch demo 30; train tier1; trend logistic; train tier1; trend logistic"])
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.jsonObjects()
        #expect(objects.map { $0["command"] as? String } == ["fetch", "train", "trend", "train", "trend"])
        let first = try #require((objects[1]["results"] as? [String: Any])?["logistic"] as? [String: Any])
        let accuracy = try #require(first["accuracy"] as? Double)
        let baseline = try #require(first["baseline_accuracy"] as? Double)
        #expect(first["beats_baseline"] as? Bool == (accuracy > baseline))
        #expect(objects[2]["standard_error"] is NSNull && objects[2]["exceeds_noise"] is NSNull)
        // The same data twice: the same holdout score, no change, and SE = √(2·a(1−a)/m).
        let m = Double(try #require(first["test_rows"] as? Int))
        let expected = (2 * accuracy * (1 - accuracy) / m).squareRoot()
        #expect(abs(try #require(objects[4]["standard_error"] as? Double) - expected) < 1e-12)
        #expect(objects[4]["exceeds_noise"] as? Bool == false)
        #expect(objects[4]["improvement"] as? Double == 0)
    }
}
