import Foundation

/// Where the loaded bars came from, as a value that fetches them again: auto mode refreshes from it and a replay
/// report records it. Stored in sessions as JSON (`{"demo":{"days":30,"seed":42}}`), never as command text.
public enum DataSource: Sendable, Equatable, Codable {
    /// The built-in demo market: `days` of hourly bars from `seed`, the last bar at `end` (an hour) or, when nil,
    /// at the loop's clock.
    case demo(days: Int, seed: UInt64, end: TimeInterval?)
    /// CoinGecko's last `days` of a coin, whatever they are when asked.
    case coinGecko(coin: String, days: Int)
    /// Binance's last `days` of `interval` klines of a spot pair (`BTCUSDT`), whatever they are when asked.
    /// Stored as `{"binance":{"symbol":"BTCUSDT","days":30,"interval":"1h"}}`.
    case binance(symbol: String, days: Int, interval: BinanceInterval)

    /// The symbol of the series it gives: the asset it refreshes.
    public var symbol: String {
        switch self {
        case .demo: return DemoMarket.symbol
        case .coinGecko(let coin, _): return coin.uppercased()
        case .binance(let symbol, _, _): return symbol
        }
    }

    /// The `fetch` arguments sessions stored before this type existed — only the forms lgc-shell itself wrote:
    /// `demo DAYS --seed N`, `demo DAYS --seed N --end ISO-TIME`, `COIN DAYS --source coingecko`.
    public init?(legacyArguments text: String) {
        let words = text.split(separator: " ").map(String.init)
        guard words.count >= 2, let days = Int(words[1]), (1...DemoMarket.maximumDays).contains(days) else { return nil }
        if words[0] == "demo" {
            guard words.count == 4 || words.count == 6, words[2] == "--seed", let seed = UInt64(words[3]) else { return nil }
            var end: TimeInterval?
            if words.count == 6 {
                guard words[4] == "--end", let time = TimeText.parse(words[5]) else { return nil }
                end = time
            }
            self = .demo(days: days, seed: seed, end: end)
        } else {
            guard words.count == 4, words[2] == "--source", words[3] == "coingecko", !words[0].isEmpty else { return nil }
            self = .coinGecko(coin: words[0], days: days)
        }
    }
}
