import Foundation

/// What a HOLD signal does to the position.
public enum HoldRule: String, Sendable, Codable, CaseIterable {
    /// HOLD ("unsure") closes the position: exposure then equals coverage, and every HOLD after a BUY or SELL
    /// pays a fee to get out. The default.
    case flat
    /// HOLD keeps whatever position the last BUY or SELL opened (flat before the first).
    case keep
}

/// How signals become positions and what changing them costs.
public struct PnLSettings: Sendable, Equatable, Codable {
    /// Fee per unit of position change, in basis points (10 = 0.1 %); going from short to long is 2 units.
    public let feeBps: Double
    /// SELL = short (−1) when true, flat (0) when false.
    public let shorting: Bool
    public let hold: HoldRule

    public static let defaultFeeBps = 10.0

    /// The defaults (10 bps, shorting on, HOLD goes flat), which need no check.
    public static let standard = PnLSettings(unchecked: defaultFeeBps, shorting: true, hold: .flat)

    private init(unchecked feeBps: Double, shorting: Bool, hold: HoldRule) {
        self.feeBps = feeBps
        self.shorting = shorting
        self.hold = hold
    }

    public init(feeBps: Double = PnLSettings.defaultFeeBps, shorting: Bool = true, hold: HoldRule = .flat) throws {
        guard feeBps.isFinite, feeBps >= 0 else { throw HonestMetricsError.invalidFee(feeBps) }
        self.feeBps = feeBps
        self.shorting = shorting
        self.hold = hold
    }

    private enum CodingKeys: String, CodingKey { case feeBps, shorting, hold }

    /// Decoding checks the fee as the initialiser does.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(feeBps: container.decode(Double.self, forKey: .feeBps),
                      shorting: container.decode(Bool.self, forKey: .shorting),
                      hold: container.decode(HoldRule.self, forKey: .hold))
    }

    /// fee_bps / 10,000.
    public var fee: Double { feeBps / 10_000 }
}

/// What acting on the signals would have earned, beside holding the asset over the same steps.
///
/// **Research and education only — not investment advice.** No slippage, spread, funding or borrow costs beyond
/// the flat fee; positions are sized at one unit of equity and rebalanced every bar.
///
/// Position w_t ∈ {−1, 0, +1} from s_t (BUY = +1; SELL = −1, or 0 without shorting; HOLD per `HoldRule`), starting
/// flat (w_{−1} = 0). Step return: w_t · r_t − fee · |w_t − w_{t−1}|. The last position is not closed after the
/// last step (no exit fee). Total return = Π(1 + step returns) − 1; buy-and-hold = Π(1 + r_t) − 1 =
/// close[end] / close[start] − 1. Sharpe = mean / sample standard deviation of the step returns × √(bars per
/// year), bars per year measured from the steps' timestamps (`barsPerYear(_:)`). Maximum drawdown: the largest
/// fall of the equity curve (starting at 1) from a previous peak, as a fraction of that peak.
public struct SignalPnL: Sendable, Equatable {
    public let settings: PnLSettings
    /// w_t per step.
    public let positions: [Int]
    /// w_t · r_t − fee · |w_t − w_{t−1}| per step.
    public let stepReturns: [Double]
    /// Equity after each step, starting from 1 (not included).
    public let equity: [Double]
    public let strategyReturn: Double
    public let buyAndHoldReturn: Double
    /// Nil with fewer than two steps, no time span, or no variation in the step returns.
    public let sharpe: Double?
    public let barsPerYear: Double?
    /// A fraction: 0.25 = the equity fell 25 % below its previous peak.
    public let maxDrawdown: Double
    /// Steps where w_t ≠ w_{t−1} (entering from flat at the first step counts).
    public let trades: Int
    /// Share of steps with w_t ≠ 0; nil with no steps.
    public let exposure: Double?

    public var feeBps: Double { settings.feeBps }

    /// Evaluates `steps` (their signals, returns and bar times) under `settings`. Throws `missingReturn` for a
    /// step without a realised return (an outcome logged by hand): P&L needs the size of every move.
    public init(_ steps: [ScoredStep], settings: PnLSettings) throws {
        self.settings = settings
        var position = 0, previous = 0, trades = 0, exposed = 0
        var positions: [Int] = [], returns: [Double] = [], equity: [Double] = []
        var value = 1.0, asset = 1.0
        for (index, step) in steps.enumerated() {
            guard let realised = step.realisedReturn else { throw HonestMetricsError.missingReturn(index: index) }
            switch step.signal {
            case .buy: position = 1
            case .sell: position = settings.shorting ? -1 : 0
            case .hold: position = settings.hold == .flat ? 0 : position
            }
            let stepReturn = Double(position) * realised - settings.fee * Double(abs(position - previous))
            if position != previous { trades += 1 }
            if position != 0 { exposed += 1 }
            value *= 1 + stepReturn
            asset *= 1 + realised
            positions.append(position)
            returns.append(stepReturn)
            equity.append(value)
            previous = position
        }
        self.positions = positions
        self.stepReturns = returns
        self.equity = equity
        self.strategyReturn = value - 1
        self.buyAndHoldReturn = asset - 1
        self.trades = trades
        self.exposure = steps.isEmpty ? nil : Double(exposed) / Double(steps.count)
        self.maxDrawdown = SignalPnL.maxDrawdown(equity: [1] + equity)
        let perYear = SignalPnL.barsPerYear(steps.map(\.barTime))
        self.barsPerYear = perYear
        self.sharpe = perYear.flatMap { SignalPnL.sharpe(returns, barsPerYear: $0) }
    }

    /// Seconds in a year of 365.25 days.
    public static let secondsPerYear = 365.25 * 86_400

    /// Bars per year as the series' own density: (count − 1) bars over the span from the first to the last
    /// timestamp, scaled to a year. Calendars show: hourly bars around the clock give 8,766; daily bars on
    /// weekdays only about 261 (gaps at weekends count as time without bars). Nil with fewer than two times or
    /// no span.
    public static func barsPerYear(_ times: [TimeInterval]) -> Double? {
        guard times.count >= 2, let first = times.min(), let last = times.max(), last > first else { return nil }
        return Double(times.count - 1) / (last - first) * secondsPerYear
    }

    /// Mean / sample standard deviation × √`barsPerYear`; nil with fewer than two returns or none varying.
    public static func sharpe(_ returns: [Double], barsPerYear: Double) -> Double? {
        guard returns.count >= 2 else { return nil }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
        guard variance > 0 else { return nil }
        return mean / variance.squareRoot() * barsPerYear.squareRoot()
    }

    /// The largest fall of `equity` below a previous peak, as a fraction of that peak (0 when it never falls).
    public static func maxDrawdown(equity: [Double]) -> Double {
        var peak = -Double.infinity, worst = 0.0
        for value in equity {
            peak = max(peak, value)
            if peak > 0 { worst = max(worst, (peak - value) / peak) }
        }
        return worst
    }
}
