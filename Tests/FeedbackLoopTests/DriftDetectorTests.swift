import FeedbackLoop
import Foundation
import Testing

/// Drift detectors on the live error stream, and the drift trigger they drive.
@Suite struct DriftDetection {
    let steady = (0..<40).map { Double($0 % 2) }            // 50 % wrong, no change
    var worsening: [Double] { steady + Array(repeating: 1, count: 15) }   // then every prediction wrong

    @Test func pageHinkleyFiresOnARiseInErrorsOnly() {
        #expect(!DriftDetector.pageHinkley.fires(on: steady, delta: 0.005, lambda: 3))
        #expect(DriftDetector.pageHinkley.fires(on: worsening, delta: 0.005, lambda: 3))
        #expect(!DriftDetector.pageHinkley.fires(on: Array(repeating: 0, count: 50), delta: 0.005, lambda: 3))
        // Errors falling away is not drift that needs retraining.
        #expect(!DriftDetector.pageHinkley.fires(on: Array(repeating: 1, count: 20) + Array(repeating: 0, count: 30),
                                                 delta: 0.005, lambda: 3))
        #expect(!DriftDetector.off.fires(on: worsening, delta: 0.005, lambda: 3))
    }

    @Test func adwinFindsTheSplitWhereErrorsRose() {
        #expect(!DriftDetector.adwin.fires(on: steady, delta: 0.005, lambda: 0))
        #expect(DriftDetector.adwin.fires(on: Array(repeating: 0, count: 20) + Array(repeating: 1, count: 20), delta: 0.005, lambda: 0))
        #expect(!DriftDetector.adwin.fires(on: Array(repeating: 1, count: 9), delta: 0.005, lambda: 0), "too few outcomes")
    }

    @Test func theDriftTriggerMakesTiersDueAndRetrainingResetsIt() throws {
        let engine = try makeEngine()
        try engine.setConfig("drift_detector", "page_hinkley")
        try engine.setConfig("performance_threshold", "0")   // only the drift trigger can fire
        try engine.train(Tier.all[0])
        for index in 0..<20 { try engine.logOutcome(actual: index % 2 == 0 ? .buy : .sell, predicted: .buy) }
        #expect(!engine.decision(for: Tier.all[0]).due)
        for _ in 0..<12 { try engine.logOutcome(actual: .sell, predicted: .buy) }
        let decision = engine.decision(for: Tier.all[0])
        #expect(decision.due)
        #expect(decision.reason == .driftDetected(detector: .pageHinkley, outcomes: 32))
        #expect(decision.reason.code == "drift_detected")
        #expect(engine.cycle().status == .success)
        #expect(!engine.decision(for: Tier.all[0]).due, "the errors before the retraining no longer count")
    }
}
