import Foundation
import Testing
@testable import MarketData

@Suite("Demo market")
struct DemoMarketTests {
    static let end: TimeInterval = 1_700_001_234  // 2023-11-14 22:33:54 UTC, not on the hour

    @Test func sameSeedGivesSameBarsAndOtherSeedsDiffer() throws {
        let a = try DemoMarket.generate(days: 30, endingAt: Self.end)
        let b = try DemoMarket.generate(days: 30, seed: DemoMarket.defaultSeed, endingAt: Self.end)
        let c = try DemoMarket.generate(days: 30, seed: 7, endingAt: Self.end)
        #expect(a == b)
        #expect(a.symbol == "DEMO")
        #expect(a.source == "demo")
        #expect(a.closes != c.closes)
        #expect(zip(a.closes, c.closes).filter { $0 == $1 }.count < 5)
    }

    @Test func windowsAgreeWhereTheyOverlap() throws {
        // One timeline: a window fetched an hour later shares every earlier bar exactly.
        let now = try DemoMarket.generate(days: 30, endingAt: Self.end)
        let later = try DemoMarket.generate(days: 30, endingAt: Self.end + 3600)
        #expect(Array(later.bars.dropLast()) == Array(now.bars.dropFirst()))
        let long = try DemoMarket.generate(days: 60, endingAt: Self.end)
        #expect(Array(long.bars.suffix(720)) == now.bars)
        #expect(try DemoMarket.regimes(days: 60, endingAt: Self.end).suffix(720)
            == DemoMarket.regimes(days: 30, endingAt: Self.end)[...])
        // Bar k of the path sits at epoch + k hours.
        #expect(now.bars.allSatisfy { ($0.time - DemoMarket.epoch).truncatingRemainder(dividingBy: 3600) == 0 })
    }

    @Test func windowsBeforeThePathBeginsAreRefused() throws {
        #expect(throws: MarketDataError.self) { try DemoMarket.generate(days: 10, endingAt: DemoMarket.epoch + 5 * 86_400) }
        let first = try DemoMarket.generate(days: 1, endingAt: DemoMarket.epoch + 23 * 3600)
        #expect(first.bars[0].time == DemoMarket.epoch)
        #expect(first.bars[0].open == DemoMarket.startPrice)
    }

    @Test func barsAreHourlyAndEndAtTheFlooredHour() throws {
        let series = try DemoMarket.generate(days: 3, endingAt: Self.end)
        #expect(series.count == 72)
        #expect(series.last?.time == 1_699_999_200)  // 22:00 UTC
        #expect(zip(series.bars, series.bars.dropFirst()).allSatisfy { $1.time - $0.time == 3600 })
        #expect(series.interval == 3600)
        let onTheHour = try DemoMarket.generate(days: 1, endingAt: 1_699_999_200)
        #expect(onTheHour.last?.time == 1_699_999_200)
    }

    @Test func barsAreConsistentPositiveAndFinite() throws {
        let series = try DemoMarket.generate(days: 3650, seed: 3, endingAt: Self.end)
        #expect(series.count == 87_600)
        let bad = series.bars.indices.filter { i in
            let bar = series.bars[i]
            return !(bar.low > 0 && bar.high.isFinite && bar.volume.isFinite && bar.volume > 0
                     && bar.low <= min(bar.open, bar.close) && bar.high >= max(bar.open, bar.close))
        }
        #expect(bad.isEmpty, "inconsistent bars at \(bad.prefix(5))")
        // Each bar opens where the previous one closed.
        #expect(zip(series.bars, series.bars.dropFirst()).allSatisfy { $1.open == $0.close })
        let closes = series.closes
        #expect(closes.min()! > 3_000)
        #expect(closes.max()! < 300_000)
    }

    @Test func startsAtThirtyThousandAndStaysPlausible() throws {
        let start = try DemoMarket.generate(days: 1, endingAt: DemoMarket.epoch + 23 * 3600)
        #expect(start.bars[0].open == 30_000)
        #expect(abs(start.bars[0].close / 30_000 - 1) < 0.05)
        // Years later the weak pull towards the start keeps prices in a plausible range.
        let later = try DemoMarket.generate(days: 30, endingAt: Self.end)
        #expect(later.closes.allSatisfy { (5_000...200_000).contains($0) })
    }

    @Test func regimesLastDaysToWeeksAndAllOccur() throws {
        let regimes = try DemoMarket.regimes(days: 3650, endingAt: Self.end)
        #expect(Set(regimes) == Set(DemoRegime.allCases))
        var runs = [(regime: DemoRegime, length: Int)]()
        for regime in regimes {
            if runs.last?.regime == regime {
                runs[runs.count - 1].length += 1
            } else {
                runs.append((regime, 1))
            }
        }
        // The first run may be cut short by the start and the last by the end; momentum bursts
        // last 1-4 days, the other regimes 3-21 days, and every switch is a real change.
        for run in runs.dropFirst().dropLast() {
            let allowed = run.regime == .momentum ? 24...96 : 72...504
            #expect(allowed.contains(run.length), "\(run.regime) lasted \(run.length) hours")
        }
        #expect(zip(runs, runs.dropFirst()).allSatisfy { $0.regime != $1.regime })
        #expect(runs.count > 100)
        #expect(runs.contains { $0.regime == .momentum && $0.length < 72 })
    }

    /// Per regime, over a decade: how the next hour's return relates to the price's gap to its
    /// 26-hour EMA (the `ema_26_ratio` feature) and to the last hour's return.
    struct RegimeStatistics {
        /// Correlation of `ema_26_ratio` with the next return.
        var gapCorrelation: Double
        /// Fraction of hours where "below the EMA → up, above → down" was right.
        var reversionRuleHits: Double
        /// Lag-1 autocorrelation of hourly returns.
        var autocorrelation: Double
        /// Fraction of hours whose return had the sign of the previous one.
        var signAgreement: Double
    }

    static func regimeStatistics() throws -> [DemoRegime: RegimeStatistics] {
        let days = 3650
        let series = try DemoMarket.generate(days: days, endingAt: end)
        let regimes = try DemoMarket.regimes(days: days, endingAt: end)
        let features = FeatureBuilder.features(for: series)
        let gapColumn = try #require(features.names.firstIndex(of: "ema_26_ratio"))
        let closes = series.closes

        var samples = [DemoRegime: (gap: [Double], previous: [Double], next: [Double])]()
        for row in 0..<(features.rows - 1) {
            let t = features.barIndices[row]
            // Only hours well inside one regime, so each statistic describes a single regime.
            guard regimes[t - 1] == regimes[t], regimes[t] == regimes[t + 1] else { continue }
            samples[regimes[t], default: ([], [], [])].gap.append(features[row, gapColumn])
            samples[regimes[t], default: ([], [], [])].previous.append(closes[t] / closes[t - 1] - 1)
            samples[regimes[t], default: ([], [], [])].next.append(closes[t + 1] / closes[t] - 1)
        }
        return samples.mapValues { s in
            let n = Double(s.next.count)
            return RegimeStatistics(
                gapCorrelation: correlation(s.gap, s.next),
                reversionRuleHits: Double(zip(s.gap, s.next).filter { ($0 < 0) == ($1 > 0) }.count) / n,
                autocorrelation: correlation(s.previous, s.next),
                signAgreement: Double(zip(s.previous, s.next).filter { ($0 > 0) == ($1 > 0) }.count) / n)
        }
    }

    static func correlation(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var cov = 0.0, vx = 0.0, vy = 0.0
        for (a, b) in zip(x, y) {
            cov += (a - mx) * (b - my)
            vx += (a - mx) * (a - mx)
            vy += (b - my) * (b - my)
        }
        return cov / (vx * vy).squareRoot()
    }

    /// Prices revert towards their daily average with a strength set by the regime, and
    /// momentum bursts reverse the relationship: the same rule's hit rate drifts from below
    /// 50% to about 60% as regimes change.
    @Test func regimesSetHowStronglyPricesRevert() throws {
        let stats = try Self.regimeStatistics()
        let calm = try #require(stats[.calm])
        let reverting = try #require(stats[.meanReverting])
        let up = try #require(stats[.trendingUp])
        let down = try #require(stats[.trendingDown])
        let volatile = try #require(stats[.volatile])
        let momentum = try #require(stats[.momentum])

        #expect(reverting.gapCorrelation < -0.25)
        #expect(calm.gapCorrelation < -0.25)
        for trending in [up, down] { #expect((-0.3 ... -0.12).contains(trending.gapCorrelation)) }
        #expect((-0.16 ... -0.03).contains(volatile.gapCorrelation))
        #expect(momentum.gapCorrelation > 0.02)

        // Modest, market-like predictability, never a sure thing.
        #expect((0.57...0.64).contains(reverting.reversionRuleHits))
        #expect((0.57...0.64).contains(calm.reversionRuleHits))
        for trending in [up, down] { #expect((0.53...0.59).contains(trending.reversionRuleHits)) }
        #expect((0.51...0.56).contains(volatile.reversionRuleHits))
        #expect((0.42...0.49).contains(momentum.reversionRuleHits))

        // Momentum bursts continue the last hour's move; reversion makes the others reverse it.
        #expect(momentum.autocorrelation > 0.12)
        #expect((0.54...0.61).contains(momentum.signAgreement))
        #expect(reverting.autocorrelation < -0.1)
        #expect(calm.autocorrelation < -0.1)
        #expect(reverting.signAgreement < 0.47)
    }

    /// Guards the product promise that models can learn something from the demo: a fixed
    /// linear rule on one feature ("below the 26-hour EMA → up") beats a coin flip over
    /// 90-day paths, and the feature correlates with the next return with the documented sign.
    @Test(arguments: [1, 2, 3, 7, 42] as [UInt64])
    func demoIsLearnableFromFeatures(seed: UInt64) throws {
        let series = try DemoMarket.generate(days: 90, seed: seed, endingAt: Self.end)
        let features = FeatureBuilder.features(for: series)
        let gapColumn = try #require(features.names.firstIndex(of: "ema_26_ratio"))
        let closes = series.closes
        var gaps = [Double](), nextReturns = [Double]()
        var hits = 0
        for row in 0..<(features.rows - 1) {
            let t = features.barIndices[row]
            let gap = features[row, gapColumn], next = closes[t + 1] / closes[t] - 1
            if (gap < 0) == (next > 0) { hits += 1 }
            gaps.append(gap)
            nextReturns.append(next)
        }
        let hitRate = Double(hits) / Double(gaps.count)
        #expect(hitRate > 0.53, "rule right \(hitRate) of the time")
        #expect(hitRate < 0.65, "too predictable for a market: \(hitRate)")
        #expect(Self.correlation(gaps, nextReturns) < -0.05)
    }

    @Test func volumeFollowsTheClockAndTheMove() throws {
        let series = try DemoMarket.generate(days: 365, endingAt: Self.end)
        var byHour = [Double](repeating: 0, count: 24)
        for bar in series.bars { byHour[Int(bar.time / 3600) % 24] += bar.volume }
        #expect(byHour[15] > 1.5 * byHour[3])

        let moves = series.bars.map { abs($0.close / $0.open - 1) }
        let median = moves.sorted()[moves.count / 2]
        let big = series.bars.indices.filter { moves[$0] > median }.map { series.bars[$0].volume }
        let small = series.bars.indices.filter { moves[$0] <= median }.map { series.bars[$0].volume }
        let bigMean: Double = big.reduce(0, +) / Double(big.count)
        let smallMean: Double = small.reduce(0, +) / Double(small.count)
        #expect(bigMean > 1.3 * smallMean)
    }

    @Test(arguments: [0, -1, 3651])
    func invalidDaysThrow(days: Int) {
        #expect(throws: MarketDataError.self) { try DemoMarket.generate(days: days, endingAt: Self.end) }
        #expect(throws: MarketDataError.self) { try DemoMarket.regimes(days: days, endingAt: Self.end) }
    }

    @Test func nonFiniteEndThrows() {
        #expect(throws: MarketDataError.self) { try DemoMarket.generate(days: 1, endingAt: .nan) }
    }

    @Test func longestHistoryIsAccepted() throws {
        #expect(try DemoMarket.generate(days: 3650, endingAt: Self.end).count == 87_600)
    }
}
