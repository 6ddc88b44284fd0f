import FeedbackLoop
import Foundation
import MarketData
import Testing

/// Walk-forward replays in virtual time.
@Suite struct Replays {
    @Test func replayScoresEveryStepAndLeavesTheSessionAlone() throws {
        let engine = try makeEngine(days: 10)
        try engine.train(Tier.all[0])
        let before = (engine.history.count, engine.log.totalLogged, engine.models[.logistic]?.record.version)
        let (report, loop) = try engine.replay(from: 200, stepBars: 1, tiers: [1], policy: .triggers)
        #expect(report.steps == 40)
        #expect(report.scored == 39, "each step's prediction is scored at the next step")
        #expect(loop.log.totalLogged == 39)
        #expect(report.retrains[1]?["never_trained"] == 1)
        #expect(report.retrains[1]?["interval_elapsed"] == 39, "tier 1's hour passes at every hourly step")
        #expect(report.start == engine.series!.bars[200].time && report.end == engine.series!.bars[239].time)
        #expect((engine.history.count, engine.log.totalLogged, engine.models[.logistic]?.record.version) == before)
    }

    @Test func replayIsDeterministic() throws {
        let engine = try makeEngine(days: 10)
        let first = try engine.replay(from: 180, stepBars: 2, tiers: [1, 2], policy: .triggers).report
        let second = try engine.replay(from: 180, stepBars: 2, tiers: [1, 2], policy: .triggers).report
        #expect(first.correct == second.correct && first.scored == second.scored)
        #expect(first.rollingAccuracy.map(\.accuracy) == second.rollingAccuracy.map(\.accuracy))
        #expect(first.retrains == second.retrains)
    }

    @Test func eachStepSeesOnlyThePast() throws {
        // Replaying a series, and replaying it with its future bars changed, give the same early predictions.
        let engine = try makeEngine(days: 10)
        let (_, original) = try engine.replay(from: 200, stepBars: 1, tiers: [1], policy: .never)
        var bars = engine.series!.bars
        for index in 220..<bars.count { bars[index].close *= 1.5; bars[index].open *= 1.5; bars[index].high *= 1.5; bars[index].low *= 1.5 }
        let altered = try makeEngine(days: 10)
        altered.load(PriceSeries(symbol: "DEMO", source: "demo", bars: bars))
        let (_, changed) = try altered.replay(from: 200, stepBars: 1, tiers: [1], policy: .never)
        let early = { (loop: LoopEngine) in loop.log.entries.prefix(18).map { $0.prediction?.ensemble } }
        #expect(early(original) == early(changed))
    }

    @Test func baselinesRetrainOnceOrAtEveryStep() throws {
        let engine = try makeEngine(days: 10)
        let never = try engine.replay(from: 220, stepBars: 1, tiers: [1], policy: .never).report
        let every = try engine.replay(from: 220, stepBars: 1, tiers: [1], policy: .everyStep).report
        #expect(never.retrainTimes.count == 1 && never.retrains[1]?["first_training"] == 1)
        #expect(every.retrainTimes.count == every.steps)
    }

    @Test func aRangeWithoutRoomForTrainingIsRefused() throws {
        let engine = try makeEngine(days: 10)
        #expect(throws: ReplayError.self) { try engine.replay(from: 239, stepBars: 1, tiers: [1], policy: .triggers) }
        let tiny = try makeEngine(days: 2)   // 48 bars: never enough for a training
        #expect(throws: ReplayError.self) { try tiny.replay(from: 1, stepBars: 1, tiers: [1], policy: .never) }
    }
}

@Suite struct ReplayCancellation {
    @Test func ctrlCStopsBetweenStepsAndReportsWhatRan() throws {
        let engine = try makeEngine(days: 10)
        var polls = 0
        engine.isCancelled = {
            polls += 1
            return polls > 12
        }
        let report = try engine.replay(from: 200, stepBars: 1, tiers: [1], policy: .triggers).report
        #expect(report.cancelled)
        #expect(report.steps < 40 && report.steps > 0)
        #expect(report.scored == report.steps - 1)
    }
}

@Suite struct ReplayCancellationDuringTraining {
    @Test func ctrlCDuringAnLSTMTrainingStopsTheReplay() throws {
        let engine = try makeEngine(days: 10)
        try engine.setConfig("lstm.epochs", "50")
        var polls = 0
        engine.isCancelled = {
            polls += 1
            return polls > 3   // the first step's LSTM polls between minibatches: it is cancelled mid-training
        }
        let report = try engine.replay(from: 200, stepBars: 1, tiers: [3], policy: .triggers).report
        #expect(report.cancelled && report.steps == 0 && report.scored == 0)
    }
}
