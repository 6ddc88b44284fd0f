import Foundation

/// One bar of market data. CoinGecko and price-only CSVs give close only; their
/// open/high/low equal the close.
public struct Bar: Sendable, Equatable, Codable {
    /// Bar time in seconds since 1970 (UTC); the bar's close time.
    public var time: TimeInterval
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    /// Traded volume; 0 when the source has none.
    public var volume: Double

    public init(time: TimeInterval, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }

    /// A bar whose only price is `price` (open = high = low = close).
    public init(time: TimeInterval, price: Double, volume: Double = 0) {
        self.init(time: time, open: price, high: price, low: price, close: price, volume: volume)
    }
}

/// A value outside its bound: which field, what it held, what was expected.
public struct OutOfRange: Sendable, Equatable {
    public var field: String
    public var value: Double
    public var bounds: Bounded
}

extension Bar {
    /// The first of time, close, open, high, low and volume that is outside its bound (`Bounded.time`,
    /// `Bounded.price`, `Bounded.volume`), or nil. Every source and the session reader refuse a bar with this check.
    public var firstOutOfRange: OutOfRange? {
        if !Bounded.time.contains(time) { return OutOfRange(field: "time", value: time, bounds: .time) }
        for (field, value) in [("close", close), ("open", open), ("high", high), ("low", low)]
        where !Bounded.price.contains(value) {
            return OutOfRange(field: field, value: value, bounds: .price)
        }
        if !Bounded.volume.contains(volume) { return OutOfRange(field: "volume", value: volume, bounds: .volume) }
        return nil
    }
}

/// A chronologically ordered price series with where it came from.
public struct PriceSeries: Sendable, Equatable, Codable {
    public var symbol: String
    /// `demo`, `coingecko` or `csv:PATH`.
    public var source: String
    public var bars: [Bar]

    public init(symbol: String, source: String, bars: [Bar]) {
        self.symbol = symbol
        self.source = source
        self.bars = bars
    }

    public var count: Int { bars.count }
    public var closes: [Double] { bars.map(\.close) }
    public var first: Bar? { bars.first }
    public var last: Bar? { bars.last }

    /// The typical spacing between bars (median), in seconds; nil with fewer than two bars.
    public var interval: TimeInterval? {
        guard bars.count >= 2 else { return nil }
        var gaps = [TimeInterval]()
        gaps.reserveCapacity(bars.count - 1)
        for i in 1..<bars.count { gaps.append(bars[i].time - bars[i - 1].time) }
        gaps.sort()
        return gaps[gaps.count / 2]
    }

    /// Spacings of more than 1.5 `interval`s between consecutive bars (weekends, outages, missing files; a short
    /// month of monthly bars is none), and the most time missing in one of them (the spacing less one interval).
    public func gaps(interval: TimeInterval) -> (count: Int, largest: TimeInterval) {
        var count = 0
        var largest: TimeInterval = 0
        for i in bars.indices.dropFirst() {
            let step = bars[i].time - bars[i - 1].time
            if step > interval * 1.5 {
                count += 1
                largest = max(largest, step - interval)
            }
        }
        return (count, largest)
    }

    /// The series cut after bar `index` (inclusive): what was known at that bar.
    public func prefix(through index: Int) -> PriceSeries {
        PriceSeries(symbol: symbol, source: source, bars: Array(bars[...index]))
    }
}

/// Errors from loading or generating market data. Wording lives in `description`.
public enum MarketDataError: Error, Equatable, Sendable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    case unknownHeader(path: String, header: String)
    case malformedRow(path: String, line: Int, reason: String)
    case badPrice(path: String, line: Int, value: String)
    case notChronological(path: String, line: Int)
    /// A value a source gave outside its bound; `origin` says where (`data.csv:3`, a CoinGecko answer's entry).
    case outOfRange(origin: String, field: String, value: String, bounds: Bounded)
    /// `import` of something that is not a regular file (a directory, a device, a FIFO, a socket).
    case notRegularFile(path: String, kind: String)
    case tooFewRows(have: Int, need: Int)
    case invalidArgument(String)
    /// CoinGecko answered 404 for this coin id.
    case unknownCoin(String)
    case network(String)
    case http(status: Int, body: String)
    case badResponse(String)
    /// The answer's body passed the client's cap (in bytes), as sent or after decoding; reading stopped there.
    case responseTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "no such file '\(path)'"
        case .unreadable(let path, let reason):
            return "cannot read '\(path)': \(reason)"
        case .emptyFile(let path):
            return "'\(path)' holds no data rows — expected a CSV header followed by rows"
        case .unknownHeader(let path, let header):
            return "'\(path)': unrecognised CSV header '\(header)' — expected timestamp,open,high,low,close,volume; Date,Open,High,Low,Close,Adj Close,Volume; snapped_at,price,market_cap,total_volume; or ,Open,High,Low,Close,Volume"
        case .malformedRow(let path, let line, let reason):
            return "\(path):\(line): \(reason)"
        case .badPrice(let path, let line, let value):
            return "\(path):\(line): price '\(value)' is not a positive finite number"
        case .notChronological(let path, let line):
            return "\(path):\(line): timestamp is not after the previous row's — rows must be in time order without duplicates"
        case .outOfRange(let origin, let field, let value, let bounds):
            return "\(origin): \(field) '\(value)' is out of range — expected \(bounds.expected)"
        case .notRegularFile(let path, let kind):
            return "cannot import '\(path)': it is \(kind), not a regular file"
        case .tooFewRows(let have, let need):
            return "only \(have) rows of data; at least \(need) are needed"
        case .invalidArgument(let message):
            return message
        case .unknownCoin(let coin):
            return "CoinGecko does not know the coin id '\(coin)' (HTTP 404)"
        case .network(let message):
            return "network error: \(message)"
        case .http(let status, let body):
            let detail = body.isEmpty ? "" : ": \(SafeText.oneLine(body, limit: CoinGeckoClient.maxErrorTextLength))"
            return "CoinGecko answered HTTP \(status)\(detail)"
        case .responseTooLarge(let limit):
            let size = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
            return "CoinGecko's answer is larger than \(size) and was refused"
        case .badResponse(let message):
            return "unexpected CoinGecko response: \(message)"
        }
    }
}
