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
        #expect(report.retrains[1]?[.neverTrained] == 1)
        #expect(report.retrains[1]?[.intervalElapsed] == 39, "tier 1's hour passes at every hourly step")
        #expect(report.start == engine.series!.bars[200].time && report.end == engine.series!.bars[239].time)
        #expect((engine.history.count, engine.log.totalLogged, engine.models[.logistic]?.record.version) == before)
    }

    @Test func replayIsDeterministic() throws {
        let engine = try makeEngine(days: 10)
        let first = try engine.replay(from: 180, stepBars: 2, tiers: [1, 2], policy: .triggers).report
        let second = try engine.replay(from: 180, stepBars: 2, tiers: [1, 2], policy: .triggers).report
        #expect(first.correct == second.correct && first.scored == second.scored)
        #expect(first.rollingScore.map(\.score) == second.rollingScore.map(\.score))
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
        let early = { (loop: ReplayedLoop) in loop.log.entries.prefix(18).map { $0.prediction?.ensemble } }
        #expect(early(original) == early(changed))
    }

    @Test func baselinesRetrainOnceOrAtEveryStep() throws {
        let engine = try makeEngine(days: 10)
        let never = try engine.replay(from: 220, stepBars: 1, tiers: [1], policy: .never).report
        let every = try engine.replay(from: 220, stepBars: 1, tiers: [1], policy: .everyStep).report
        #expect(never.retrainTimes.count == 1 && never.retrains[1]?[.firstTraining] == 1)
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

/// Ctrl-C stops the runs of a replay at different steps (they poll one after another); the reports then compare
/// every policy over the steps all of them completed, and say how far each had run.
@Suite struct StoppedReplayCoversCommonSteps {
    /// Everything a report says about its steps, except the measured training time and the stop.
    func figures(_ report: ReplayReport) -> String {
        let retrains = report.retrains.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.sorted { $0.key < $1.key })" }
        return "\(report.policy) \(report.steps) \(report.scored) \(report.correct) \(retrains) \(report.retrainTimes) "
            + "\(report.notableRetrainTimes) \(report.rollingScore.map { "\($0.time)=\($0.score.bitPattern)" }) "
            + "\(report.start) \(report.end)"
    }

    @Test func everyPolicyIsReportedOverTheSameSteps() throws {
        let engine = try makeEngine(days: 10)
        let runs = ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: engine.config) }
        var polls = 0
        // In lockstep the runs poll one after another, so a stop part-way through a round leaves the first runs a step ahead.
        engine.isCancelled = {
            polls += 1
            return polls > 37
        }
        let reports = try engine.replay(runs, from: 200, stepBars: 1, tiers: [1], execution: .shared).map(\.report)
        #expect(reports.count == 3 && reports.allSatisfy(\.cancelled))
        let common = try #require(reports.map(\.steps).min())
        #expect(common > 0 && reports.allSatisfy { $0.steps == common }, "\(reports.map(\.steps))")
        #expect(reports.allSatisfy { $0.end == reports[0].end && $0.start == reports[0].start })
        let ran = reports.map { $0.truncatedFrom ?? $0.steps }
        #expect(ran.contains { $0 > common }, "some policy had run further and was cut: \(ran)")
        // Cut to the common steps, each report is exactly the replay that ends at the common step's bar.
        engine.isCancelled = nil
        let whole = try engine.replay(runs, from: 200, through: 200 + common - 1, stepBars: 1, tiers: [1], execution: .shared).map(\.report)
        #expect(whole.allSatisfy { !$0.cancelled && $0.truncatedFrom == nil && $0.steps == common })
        #expect(reports.map(figures) == whole.map(figures))
    }
}
