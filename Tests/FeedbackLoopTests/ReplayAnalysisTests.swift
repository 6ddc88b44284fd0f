import Foundation
import MarketData
import Testing
@testable import FeedbackLoop

/// A replay's scored steps, and what `ReplayAnalysis` makes of them: paired comparisons on common bars.
@Suite struct ReplayAnalysisTests {
    static func step(_ signal: Signal, p: Double, r: Double, at hour: Int) throws -> ScoredStep {
        try ScoredStep(signal: signal, probabilityUp: p, realisedReturn: r, band: 0.001, barTime: Double(hour) * 3600)
    }

    @Test func earlyStepsWithTooFewRowsToTrainAreSkippedNotFatal() throws {
        // From bar 30 the first steps have fewer rows than a training needs: a typed `tooFewRows`, which the replay
        // passes over (it never reads the error's wording) until there is enough history.
        let engine = LoopEngine(clock: LoopClock { 1_800_000_000 })
        let series = try DemoMarket.generate(days: 4, endingAt: 1_800_000_000)
        engine.load(series)
        let results = try engine.replay([ReplayRun(policy: .triggers, configuration: engine.config)], from: 30, stepBars: 1, tiers: [1])
        let report = results[0].report
        #expect(report.steps == series.count - 30)
        #expect(report.scored > 0 && report.scored < report.steps - 10, "scoring starts once a model could train")
    }

    @Test func onlyTheBarsBothPoliciesScoredArePaired() throws {
        let a = try [0, 1, 2, 3].map { try Self.step(.buy, p: 0.7, r: 0.01, at: $0) }
        let b = try [1, 3, 4].map { try Self.step(.sell, p: 0.3, r: 0.01, at: $0) }
        let (left, right) = ReplayAnalysis.aligned(a, b)
        #expect(left.map(\.barTime) == [3600, 3 * 3600])
        #expect(right.map(\.barTime) == left.map(\.barTime))
    }

    @Test func aPlantedAdvantageIsSignificantAndNamesBothSides() throws {
        // Two days of hourly bars: A always calls the direction right, B right on alternate bars.
        var a: [ScoredStep] = [], b: [ScoredStep] = []
        for hour in 0..<96 {
            let r = hour % 3 == 0 ? -0.004 : 0.005
            a.append(try Self.step(r > 0 ? .buy : .sell, p: r > 0 ? 0.8 : 0.2, r: r, at: hour))
            let right = hour % 2 == 0
            b.append(try Self.step(right == (r > 0) ? .buy : .sell, p: 0.5, r: r, at: hour))
        }
        let comparisons = ReplayAnalysis.compare(("a", a), ("b", b))
        #expect(comparisons.map(\.metric) == ReplayAnalysis.comparedMetrics)
        let accuracy = try #require(comparisons.first { $0.metric == .accuracy })
        #expect(accuracy.a == "a" && accuracy.b == "b")
        #expect(accuracy.interval.n == 96)
        #expect(accuracy.interval.blockLength == 24, "about one day of hourly bars")
        #expect(accuracy.interval.significant)
        #expect((accuracy.interval.mean ?? 0) > 0.4)
        // Lower is better for Brier: A's confident right calls beat B's 0.5, and the sign says A is better.
        let brier = try #require(comparisons.first { $0.metric == .brier })
        #expect((brier.interval.mean ?? 0) > 0)
    }

    @Test func policiesThatScoreAlikeOnEveryStepAreCalledIdentical() throws {
        let a = try (0..<60).map { try Self.step($0 % 3 == 0 ? .sell : .buy, p: 0.6, r: $0 % 2 == 0 ? 0.01 : -0.01, at: $0) }
        let same = ReplayAnalysis.compare(("a", a), ("b", a))
        #expect(!same.isEmpty && same.allSatisfy(\.identical))
        let other = try a.map { try Self.step(.buy, p: 0.55, r: $0.realisedReturn!, at: Int($0.barTime / 3600)) }
        let differing = ReplayAnalysis.compare(("a", a), ("b", other))
        #expect(differing.first { $0.metric == .accuracy }?.identical == false)
        #expect(differing.first { $0.metric == .brier }?.identical == false)
    }

    @Test func dailyBarsGetABlockOfAboutTheCubeRootOfTheSteps() throws {
        // 216 daily steps: one day is one bar, which would resample as if steps were independent; 216^(1/3) = 6.
        let a = try (0..<216).map { try ScoredStep(signal: .buy, probabilityUp: 0.6, realisedReturn: $0 % 2 == 0 ? 0.01 : -0.01,
                                                   band: 0.001, barTime: Double($0) * 86_400) }
        let b = try a.map { try ScoredStep(signal: .sell, probabilityUp: 0.4, realisedReturn: $0.realisedReturn!, band: 0.001,
                                           barTime: $0.barTime) }
        let accuracy = try #require(ReplayAnalysis.compare(("a", a), ("b", b)).first { $0.metric == .accuracy })
        #expect(accuracy.interval.blockLength == 6)
    }

    @Test func climatologyStartsFromTheHistoryBeforeTheFirstStep() throws {
        // Closes 100, 101, 100, 102, 103: moves up, down, up, up. A step at bar 3 (t = 3 h) knows the first three.
        let closes = [100.0, 101, 100, 102, 103]
        let series = PriceSeries(symbol: "X", source: "test", bars: closes.enumerated().map {
            Bar(time: Double($0.offset) * 3600, open: $0.element, high: $0.element, low: $0.element, close: $0.element, volume: 1)
        })
        #expect(UpCount(series: series, through: 3 * 3600) == UpCount(ups: 2, moves: 3))
        #expect(UpCount(series: series, through: 0) == .none)
        #expect(UpCount(series: series, through: 99 * 3600) == UpCount(ups: 3, moves: 4))
        // With that prior the first step's climatology is 2/3, not a blind 0.5.
        let step = try ScoredStep(signal: .buy, probabilityUp: 0.9, realisedReturn: 103.0 / 102 - 1, band: 0, barTime: 3 * 3600)
        let brier = HonestMetrics.score(.climatology, on: [step], prior: UpCount(series: series, through: step.barTime)).metrics.brier
        #expect(abs(brier!.value - (2.0 / 3 - 1) * (2.0 / 3 - 1)) < 1e-15)
    }

    @Test func aReplayKeepsEveryScoredStepAndAStoppedOneCutsThemWithItsSteps() throws {
        let engine = LoopEngine(clock: LoopClock { 1_800_000_000 })
        let series = try DemoMarket.generate(days: 12, endingAt: 1_800_000_000)
        engine.load(series)
        let runs = [ReplayPolicy.triggers, .never].map { ReplayRun(policy: $0, configuration: engine.config) }
        let results = try engine.replay(runs, from: series.count - 96, stepBars: 1, tiers: [1])
        for (report, loop) in results {
            #expect(report.scoredSteps.count == report.scored)
            #expect(zip(report.scoredSteps, report.scoredSteps.dropFirst()).allSatisfy { $0.barTime < $1.barTime })
            // Each step is the loop's own scored prediction: the same signal and outcome, in the same order.
            #expect(report.scoredSteps.map(\.signal) == loop.log.entries.suffix(report.scored).map(\.predicted))
            #expect(report.scoredSteps.map(\.outcome) == loop.log.entries.suffix(report.scored).map(\.actual))
        }
        let cut = results[0].report.truncated(toSteps: 40)
        #expect(cut.scoredSteps.count == cut.scored)
        #expect(cut.scoredSteps == Array(results[0].report.scoredSteps.prefix(cut.scored)))
    }
}
