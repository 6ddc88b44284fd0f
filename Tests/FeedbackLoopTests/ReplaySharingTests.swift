import FeedbackLoop
import Foundation
import MarketData
import Testing

/// The replay's speed-ups — one feature matrix sliced per step, fits shared between runs, runs on threads —
/// must not change what it reports.
@Suite struct ReplaySharing {
    @Test func thePrefixFeatureMatrixIsTheFirstRowsOfTheWholeOne() throws {
        let series = try DemoMarket.generate(days: 12, endingAt: fixedNow)
        let whole = FeatureBuilder.features(for: series)
        for end in [24, 25, 30, 60, 123, 200, series.count - 2] {
            let prefix = series.prefix(through: end)
            let own = FeatureBuilder.features(for: prefix)
            let sliced = whole.prefix(rows: own.rows)
            #expect(own.values.map(\.bitPattern) == sliced.values.map(\.bitPattern), "bar \(end)")
            #expect(own.barIndices == sliced.barIndices && own.times == sliced.times && own.names == sliced.names)
            guard end >= 60 else { continue }
            let made = try Dataset.make(from: prefix, testFraction: 0.2)
            let injected = try Dataset.make(from: prefix, features: { sliced }, testFraction: 0.2)
            #expect(made.labels == injected.labels && made.trainCount == injected.trainCount)
            #expect(made.features.values.map(\.bitPattern) == injected.features.values.map(\.bitPattern))
        }
    }

    /// Everything a report says except the measured training time.
    func summary(_ report: ReplayReport) -> String {
        let retrains = report.retrains.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.sorted { $0.key < $1.key })" }
        return "\(report.policy) \(report.steps) \(report.scored) \(report.correct) \(retrains) \(report.retrainTimes) "
            + "\(report.notableRetrainTimes) \(report.rollingScore.map { "\($0.time)=\($0.score.bitPattern)" }) "
            + "\(report.start) \(report.end) \(report.cancelled)"
    }

    func ensembles(_ loop: ReplayedLoop) -> [UInt64?] {
        loop.log.entries.map { $0.prediction?.ensemble.bitPattern }
    }

    @Test(arguments: ReplayExecution.allCases)
    func everyExecutionGivesThePlainReports(execution: ReplayExecution) throws {
        let engine = try makeEngine(days: 10)
        var tight = engine.config
        try tight.set("performance_threshold", to: "0.6")
        let runs = ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: engine.config) }
            + [ReplayRun(policy: .triggers, configuration: tight)]
        let plain = try engine.replay(runs, from: 190, stepBars: 2, tiers: [1, 2], execution: .plain)
        let other = try engine.replay(runs, from: 190, stepBars: 2, tiers: [1, 2], execution: execution)
        #expect(plain.map { summary($0.report) } == other.map { summary($0.report) })
        #expect(plain.map { ensembles($0.loop) } == other.map { ensembles($0.loop) })
        #expect(plain.map { $0.loop.history.map(\.accuracy) } == other.map { $0.loop.history.map(\.accuracy) })
        #expect(plain[2].report.retrainTimes.count == plain[2].report.steps)
    }

    @Test func aTier3ReplaySharesTheLSTMFitsToo() throws {
        let engine = try makeEngine(days: 10)
        let runs = [ReplayPolicy.triggers, .everyStep].map { ReplayRun(policy: $0, configuration: engine.config) }
        let plain = try engine.replay(runs, from: 225, stepBars: 3, tiers: [1, 2, 3], execution: .plain)
        let concurrent = try engine.replay(runs, from: 225, stepBars: 3, tiers: [1, 2, 3], execution: .concurrent)
        #expect(plain.map { summary($0.report) } == concurrent.map { summary($0.report) })
        #expect(plain.map { ensembles($0.loop) } == concurrent.map { ensembles($0.loop) })
    }

    @Test func concurrentReplaysAreDeterministic() throws {
        let engine = try makeEngine(days: 10)
        let runs = ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: engine.config) }
        let first = try engine.replay(runs, from: 200, stepBars: 1, tiers: [1, 2])
        let second = try engine.replay(runs, from: 200, stepBars: 1, tiers: [1, 2])
        #expect(first.map { summary($0.report) } == second.map { summary($0.report) })
        #expect(first.map { ensembles($0.loop) } == second.map { ensembles($0.loop) })
    }

    @Test func aConcurrentReplayStopsWhenCancelled() throws {
        let engine = try makeEngine(days: 10)
        engine.isCancelled = { true }
        let results = try engine.replay(ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: engine.config) },
                                        from: 200, stepBars: 1, tiers: [1, 2])
        #expect(results.count == 3 && results.allSatisfy { $0.report.cancelled && $0.report.steps == 0 })
    }

    @Test func aFailingRunsErrorIsThrown() throws {
        let tiny = try makeEngine(days: 2)   // 48 bars: never enough for a training
        let runs = ReplayPolicy.allCases.map { ReplayRun(policy: $0, configuration: tiny.config) }
        #expect(throws: ReplayError.self) { try tiny.replay(runs, from: 1, stepBars: 1, tiers: [1]) }
    }
}
