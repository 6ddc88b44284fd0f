import Foundation
import Testing
@testable import MarketData

/// Element-wise comparison with a relative tolerance (absolute near zero).
private func expectClose(_ actual: [Double], _ expected: [Double], tolerance: Double = 1e-12,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let scale = max(1, abs(e))
        #expect(abs(a - e) <= tolerance * scale, "index \(i): \(a) != \(e)", sourceLocation: sourceLocation)
    }
}

@Suite("Indicators")
struct IndicatorTests {
    // Expected values below were worked out with pandas (rolling(min_periods=1), ewm(adjust=False)).
    let close: [Double] = [10, 11, 10.5, 12, 11.5, 13, 12.5, 12.5, 14, 13.5]

    @Test func smaExpandsDuringWarmUp() {
        expectClose(Indicators.sma(close, period: 3),
                    [10.0, 10.5, 10.5, 11.166666666666666, 11.333333333333334, 12.166666666666666,
                     12.333333333333334, 12.666666666666666, 13.0, 13.333333333333334])
    }

    @Test func emaIsSeededWithFirstValue() {
        expectClose(Indicators.ema(close, span: 3),
                    [10.0, 10.5, 10.5, 11.25, 11.375, 12.1875, 12.34375, 12.421875, 13.2109375, 13.35546875])
        #expect(Indicators.ema([], span: 3).isEmpty)
        #expect(Indicators.ema([7], span: 3) == [7])
    }

    @Test func rollingStdIsSampleStdAndZeroForOneValue() {
        expectClose(Indicators.rollingStd(close, period: 3),
                    [0.0, 0.7071067811865476, 0.5, 0.7637626158259736, 0.7637626158259736, 0.7637626158259736,
                     0.7637626158259736, 0.28867513459481275, 0.8660254037844386, 0.7637626158259733])
        #expect(Indicators.rollingStd([30_000.1, 30_000.1, 30_000.1], period: 3) == [0, 0, 0])
    }

    @Test func macdLineSignalAndHistogram() {
        let result = Indicators.macd(close, fast: 3, slow: 5, signal: 2)
        expectClose(result.macd,
                    [0.0, 0.16666666666666607, 0.11111111111111072, 0.3240740740740726, 0.2577160493827151,
                     0.44264403292180887, 0.3471793552812059, 0.25749457018747, 0.4346838801249788, 0.3379663367499841])
        expectClose(result.signal,
                    [0.0, 0.11111111111111072, 0.11111111111111072, 0.2530864197530853, 0.25617283950617187,
                     0.38048696844992985, 0.35828189300411395, 0.2910903444596847, 0.3868193682365474, 0.3542506805788386])
        expectClose(result.histogram,
                    [0.0, 0.05555555555555536, 0.0, 0.0709876543209873, 0.0015432098765432167, 0.06215706447187902,
                     -0.011102537722908035, -0.03359577427221466, 0.04786451188843144, -0.016284343828854464])
    }

    @Test func rsiUsesSimpleMeansOfGainsAndLosses() {
        expectClose(Indicators.rsi(close, period: 3),
                    [50.0, 100.0, 66.66666666666666, 83.33333333333334, 60.0, 85.71428571428571,
                     60.0, 75.0, 75.0, 75.0])
    }

    @Test func rsiEdgeCases() {
        #expect(Indicators.rsi([5, 5, 5, 5], period: 3) == [50, 50, 50, 50])
        #expect(Indicators.rsi([1, 2, 3, 4, 5], period: 3) == [50, 100, 100, 100, 100])
        #expect(Indicators.rsi([5, 4, 3, 2], period: 3) == [50, 0, 0, 0])
        // Losses leave the window, then it is flat: back to exactly 50, not a rounding residue.
        #expect(Indicators.rsi([10, 9.7, 9.7, 9.7, 9.7, 9.7], period: 3) == [50, 0, 0, 0, 50, 50])
        #expect(Indicators.rsi([], period: 14).isEmpty)
    }

    @Test func bollingerBandsUseSampleStd() {
        let bands = Indicators.bollinger(close, period: 4, width: 2)
        expectClose(bands.middle, [10.0, 10.5, 10.5, 10.875, 11.25, 11.75, 12.25, 12.375, 13.0, 13.125])
        expectClose(bands.upper,
                    [10.0, 11.914213562373096, 11.5, 12.582825127659934, 12.540994448735805, 13.831665999466132,
                     13.540994448735805, 13.633305739211792, 14.414213562373096, 14.625])
        expectClose(bands.lower,
                    [10.0, 9.085786437626904, 9.5, 9.167174872340066, 9.959005551264195, 9.668334000533868,
                     10.959005551264195, 11.116694260788208, 11.585786437626904, 11.625])
    }

    @Test func volatilityIsStdOfOneBarReturns() {
        expectClose(Indicators.volatility(close, period: 3),
                    [0.0, 0.0, 0.10285189544531605, 0.09870414668937368, 0.10764500008646413, 0.10313604297076213,
                     0.09845062126141454, 0.08852352768809134, 0.08265324062252095, 0.08157046951316786])
    }

    @Test func returnsUseFirstBarDuringWarmUp() {
        expectClose(Indicators.returns(close, periods: 2),
                    [0.0, 0.10000000000000009, 0.050000000000000044, 0.09090909090909083, 0.09523809523809534,
                     0.08333333333333326, 0.08695652173913038, -0.038461538461538436, 0.1200000000000001,
                     0.08000000000000007])
        expectClose(Indicators.returns([100, 110, 99], periods: 1), [0, 0.1, -0.1])
    }

    @Test func vwapFallsBackToMeanTypicalPriceWithoutVolume() {
        let high: [Double] = [11, 12.5, 13, 12, 11, 12]
        let low: [Double] = [9, 10, 11.5, 10, 9.5, 10]
        let closes: [Double] = [10, 11, 12, 11, 10, 11.5]
        let volume: [Double] = [100, 200, 0, 0, 0, 50]
        expectClose(Indicators.vwap(high: high, low: low, close: closes, volume: volume, period: 3),
                    [10.0, 10.777777777777777, 10.777777777777777, 11.166666666666664, 11.111111111111109,
                     11.166666666666664])
    }

    @Test func supportAndResistanceAreRollingExtremes() {
        expectClose(Indicators.support(low: close, period: 3), [10, 10, 10, 10.5, 10.5, 11.5, 11.5, 12.5, 12.5, 12.5])
        expectClose(Indicators.resistance(high: close, period: 3), [10, 11, 11, 12, 12, 13, 13, 13, 14, 14])
    }

    @Test(arguments: [
        (1_711_238_400.0, true),   // 2024-03-24 00:00 UTC: first day of the last week
        (1_711_238_399.0, false),  // 2024-03-23 23:59:59
        (1_735_686_000.0, true),   // 2024-12-31 23:00
        (1_735_689_600.0, false),  // 2025-01-01 00:00
        (1_719_748_800.0, true),   // 2024-06-30 12:00
        (1_716_854_400.0, false),  // 2024-05-28: late in a month that ends no quarter
        (1_727_154_000.0, true),   // 2024-09-24 05:00
        (1_695_510_000.0, false),  // 2023-09-23 23:00
        (-43_200.0, true),         // 1969-12-31 12:00: before the epoch
    ])
    func quarterEndFlag(time: TimeInterval, expected: Bool) {
        #expect(Indicators.isQuarterEnd(time) == expected)
        #expect(Indicators.quarterEnd([time]) == [expected ? 1 : 0])
    }

    @Test func quarterEndIgnoresNonFiniteTimes() {
        #expect(!Indicators.isQuarterEnd(.nan))
        #expect(!Indicators.isQuarterEnd(.infinity))
    }

    /// Running sums over a long series must stay within 1e-9 (relative) of naive window sums.
    @Test func runningSumsMatchNaiveSumsOnLongSeries() throws {
        let series = try DemoMarket.generate(days: 365, endingAt: 1_700_000_000)
        let closes = series.closes
        let volume = series.bars.map(\.volume)
        let high = series.bars.map(\.high)
        let low = series.bars.map(\.low)
        let count = closes.count

        func window(_ t: Int, _ period: Int) -> ClosedRange<Int> { max(0, t - period + 1)...t }

        var naiveSMA = [Double](), naiveStd = [Double](), naiveVWAP = [Double](), naiveRSI = [Double]()
        for t in 0..<count {
            let w = window(t, 99)
            naiveSMA.append(w.reduce(0) { $0 + closes[$1] } / Double(w.count))

            let b = window(t, 20)
            let mean = b.reduce(0) { $0 + closes[$1] } / Double(b.count)
            let ss = b.reduce(0) { $0 + (closes[$1] - mean) * (closes[$1] - mean) }
            naiveStd.append(b.count < 2 ? 0 : (ss / Double(b.count - 1)).squareRoot())

            let v = window(t, 14)
            let typical = { (j: Int) in (high[j] + low[j] + closes[j]) / 3 }
            naiveVWAP.append(v.reduce(0) { $0 + typical($1) * volume[$1] } / v.reduce(0) { $0 + volume[$1] })

            if t == 0 {
                naiveRSI.append(50)
            } else {
                let changes = max(1, t - 13)...t
                let gain = changes.reduce(0) { $0 + max(closes[$1] - closes[$1 - 1], 0) } / Double(changes.count)
                let loss = changes.reduce(0) { $0 + max(closes[$1 - 1] - closes[$1], 0) } / Double(changes.count)
                naiveRSI.append(loss > 0 ? 100 - 100 / (1 + gain / loss) : (gain > 0 ? 100 : 50))
            }
        }
        expectClose(Indicators.sma(closes, period: 99), naiveSMA, tolerance: 1e-9)
        expectClose(Indicators.rollingStd(closes, period: 20), naiveStd, tolerance: 1e-9)
        expectClose(Indicators.vwap(high: high, low: low, close: closes, volume: volume, period: 14), naiveVWAP, tolerance: 1e-9)
        expectClose(Indicators.rsi(closes, period: 14), naiveRSI, tolerance: 1e-9)
    }

    @Test func resultsHaveInputLength() {
        for n in [0, 1, 2, 30] {
            let x = (0..<n).map { 100 + Double($0 % 7) }
            #expect(Indicators.sma(x, period: 7).count == n)
            #expect(Indicators.ema(x, span: 12).count == n)
            #expect(Indicators.rollingStd(x, period: 20).count == n)
            #expect(Indicators.rsi(x).count == n)
            #expect(Indicators.volatility(x).count == n)
            #expect(Indicators.returns(x, periods: 24).count == n)
            #expect(Indicators.vwap(high: x, low: x, close: x, volume: x).count == n)
            #expect(Indicators.support(low: x).count == n)
            #expect(Indicators.macd(x).histogram.count == n)
            #expect(Indicators.bollinger(x).upper.count == n)
        }
    }
}
