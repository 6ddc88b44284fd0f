import FeedbackLoop
import Foundation
import Testing

/// What acting on the signals would have earned, against hand-computed sequences.
@Suite struct SignalProfitAndLoss {
    // The fixed series: signals BUY, SELL, HOLD, BUY, SELL, BUY; returns +0.002, +0.0005, −0.003, 0, −0.002, −0.002.

    @Test func holdGoesFlatByDefaultAndFeesArePaidPerUnitOfChange() throws {
        let pnl = try SignalPnL(try fixedSteps(), settings: try PnLSettings())
        #expect(pnl.settings.hold == .flat && pnl.feeBps == 10 && pnl.settings.shorting)
        #expect(pnl.positions == [1, -1, 0, 1, -1, 1])
        // w·r − 0.001·|Δw|: 0.002 − 0.001; −0.0005 − 0.002; 0 − 0.001; 0 − 0.001; 0.002 − 0.002; −0.002 − 0.002.
        for (got, expected) in zip(pnl.stepReturns, [0.001, -0.0025, -0.001, -0.001, 0, -0.004]) {
            #expect(isClose(got, expected, 1e-15))
        }
        #expect(isClose(pnl.strategyReturn, 1.001 * 0.9975 * 0.999 * 0.999 * 1 * 0.996 - 1))
        #expect(isClose(pnl.strategyReturn, -0.007484502516490132))
        #expect(pnl.trades == 6)
        #expect(isClose(pnl.exposure, 5.0 / 6))
        #expect(isClose(pnl.equity.last, 1 + pnl.strategyReturn))
        // Peak 1.001 after t0; the curve only falls after it.
        #expect(isClose(pnl.maxDrawdown, (1.001 - (1 + pnl.strategyReturn)) / 1.001))
    }

    @Test func holdCanKeepThePosition() throws {
        let pnl = try SignalPnL(try fixedSteps(), settings: try PnLSettings(hold: .keep))
        #expect(pnl.positions == [1, -1, -1, 1, -1, 1])
        for (got, expected) in zip(pnl.stepReturns, [0.001, -0.0025, 0.003, -0.002, 0, -0.004]) {
            #expect(isClose(got, expected, 1e-15))
        }
        #expect(isClose(pnl.strategyReturn, -0.004507953511060259))
        #expect(pnl.trades == 5 && pnl.exposure == 1)
    }

    @Test func withoutShortingSellGoesFlat() throws {
        let pnl = try SignalPnL(try fixedSteps(), settings: try PnLSettings(feeBps: 10, shorting: false))
        #expect(pnl.positions == [1, 0, 0, 1, 0, 1])
        for (got, expected) in zip(pnl.stepReturns, [0.001, -0.001, 0, -0.001, -0.001, -0.003]) {
            #expect(isClose(got, expected, 1e-15))
        }
        #expect(isClose(pnl.strategyReturn, -0.00499399800699718))
        #expect(pnl.trades == 5 && pnl.exposure == 0.5)
        let free = try SignalPnL(try fixedSteps(), settings: try PnLSettings(feeBps: 0, shorting: false))
        #expect(isClose(free.strategyReturn, 1.002 * 0.998 - 1))
    }

    @Test func buyAndHoldIsTheAssetsReturnOverTheSpan() throws {
        let closes = [100.0, 101.5, 99.0, 99.0, 103.25, 102.0, 104.5]
        let returns = zip(closes.dropFirst(), closes).map { $0 / $1 - 1 }
        let pnl = try SignalPnL(try steps(signals: [.buy, .sell, .hold, .sell, .buy, .hold], returns: returns),
                            settings: try PnLSettings())
        #expect(isClose(pnl.buyAndHoldReturn, 104.5 / 100 - 1, 1e-12))
        // Always long with no fees is buy-and-hold.
        let long = try SignalPnL(try steps(signals: Array(repeating: .buy, count: 6), returns: returns),
                             settings: try PnLSettings(feeBps: 0))
        #expect(isClose(long.strategyReturn, long.buyAndHoldReturn, 1e-12) && long.trades == 1 && long.exposure == 1)
    }

    @Test func sharpeIsAnnualisedByTheSeriesOwnBarsPerYear() throws {
        let returns = [0.01, -0.005, 0.02, 0]
        #expect(isClose(SignalPnL.sharpe(returns, barsPerYear: 8766), 52.780726451478124, 1e-9))
        let signals: [Signal] = [.buy, .buy, .buy, .buy]
        let hourly = try SignalPnL(try steps(signals: signals, returns: returns, spacing: 3600), settings: try PnLSettings(feeBps: 0))
        let daily = try SignalPnL(try steps(signals: signals, returns: returns, spacing: 86_400), settings: try PnLSettings(feeBps: 0))
        #expect(isClose(hourly.barsPerYear, 8766, 1e-9) && isClose(daily.barsPerYear, 365.25, 1e-9))
        // Same step returns (the entry fee is zero), so the ratio is √24.
        #expect(isClose(hourly.sharpe, 52.780726451478124, 1e-9))
        #expect(isClose(daily.sharpe, 10.77382067162837, 1e-9))
        #expect(isClose(hourly.sharpe! / daily.sharpe!, 24.0.squareRoot(), 1e-9))
        // Daily bars on weekdays only (a stock calendar): 52 weeks of 5 bars over 361 days ≈ 262 a year, not 365.
        let weekdays = (0..<52).flatMap { week in (0..<5).map { day in Double(week * 7 + day) * 86_400 } }
        #expect(isClose(SignalPnL.barsPerYear(weekdays), 259.0 / 361 * 365.25, 1e-9))
        #expect(SignalPnL.barsPerYear([0]) == nil && SignalPnL.barsPerYear([5, 5]) == nil)
        #expect(SignalPnL.sharpe([0.01, 0.01], barsPerYear: 8766) == nil, "no variation")
        #expect(SignalPnL.sharpe([0.01], barsPerYear: 8766) == nil)
    }

    @Test func maxDrawdownOfAHandMadeEquityCurve() {
        // Falls: 1.2 → 0.9 is 25 %, 1.5 → 1.05 is 30 %.
        #expect(isClose(SignalPnL.maxDrawdown(equity: [1, 1.2, 0.9, 1.1, 1.5, 1.05, 1.6]), 0.3))
        #expect(SignalPnL.maxDrawdown(equity: [1, 1.1, 1.2]) == 0)
        #expect(SignalPnL.maxDrawdown(equity: []) == 0)
    }

    @Test func noStepsAndAllHold() throws {
        let empty = try SignalPnL([], settings: try PnLSettings())
        #expect(empty.strategyReturn == 0 && empty.buyAndHoldReturn == 0 && empty.trades == 0)
        #expect(empty.exposure == nil && empty.sharpe == nil && empty.maxDrawdown == 0)
        let holds = try SignalPnL(try steps(signals: [.hold, .hold, .hold], returns: [0.01, -0.02, 0.03]), settings: try PnLSettings())
        #expect(holds.strategyReturn == 0 && holds.trades == 0 && holds.exposure == 0 && holds.sharpe == nil)
        #expect(isClose(holds.buyAndHoldReturn, 1.01 * 0.98 * 1.03 - 1))
    }

    @Test func negativeFeesAreRefused() throws {
        #expect(throws: HonestMetricsError.invalidFee(-5)) { try PnLSettings(feeBps: -5) }
        #expect(throws: HonestMetricsError.invalidFee(.infinity)) { try PnLSettings(feeBps: .infinity) }
        let settings = try PnLSettings(feeBps: 2.5, shorting: false, hold: .keep)
        #expect(try JSONDecoder().decode(PnLSettings.self, from: JSONEncoder().encode(settings)) == settings)
        let bad = Data(#"{"feeBps":-5,"shorting":true,"hold":"flat"}"#.utf8)
        #expect(throws: HonestMetricsError.invalidFee(-5)) { try JSONDecoder().decode(PnLSettings.self, from: bad) }
    }
}
