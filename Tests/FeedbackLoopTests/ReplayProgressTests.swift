import FeedbackLoop
import Foundation
import Testing

/// A replay tells its caller how far it got, on the caller's thread, and trains with single-thread XGBoost.
@Suite struct ReplayProgress {
    @Test(arguments: [ReplayExecution.shared, .concurrent])
    func progressClimbsToTheLastStep(execution: ReplayExecution) throws {
        let engine = try makeEngine(days: 10)
        var seen: [(Int, Int)] = []
        let caller = Thread.current
        let start = engine.series!.count - 48
        let runs = [ReplayRun(policy: .triggers, configuration: engine.config.forReplay),
                    ReplayRun(policy: .never, configuration: engine.config.forReplay)]
        _ = try engine.replay(runs, from: start, stepBars: 1, tiers: [1], execution: execution, progress: { step, steps in
            #expect(Thread.current == caller)
            seen.append((step, steps))
        })
        #expect(!seen.isEmpty)
        #expect(seen.allSatisfy { $0.1 == 48 && $0.0 <= 48 })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.0 <= $1.0 }, "never goes back")
        if execution == .shared { #expect(seen.last?.0 ?? 0 >= 47, "lockstep reports every step") }
    }

    @Test func replaysFitXGBoostOnOneThreadAndOtherwiseAsConfigured() throws {
        var config = LoopConfig()
        try config.set("xgboost.threads", to: "0")
        try config.set("xgboost.max_depth", to: "4")
        let replayed = config.forReplay
        #expect(replayed.xgboost.threads == 1)
        var back = replayed
        back.xgboost.threads = 0
        #expect(back == config)
    }
}
