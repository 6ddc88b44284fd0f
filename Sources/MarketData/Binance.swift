import CCurl
import Foundation

/// A kline (candle) interval Binance serves and `fetch binance --interval` accepts.
public enum BinanceInterval: String, CaseIterable, Sendable, Codable {
    case oneMinute = "1m"
    case fiveMinutes = "5m"
    case fifteenMinutes = "15m"
    case oneHour = "1h"
    case fourHours = "4h"
    case oneDay = "1d"

    /// The bar's length in seconds.
    public var seconds: Int {
        switch self {
        case .oneMinute: return 60
        case .fiveMinutes: return 300
        case .fifteenMinutes: return 900
        case .oneHour: return 3600
        case .fourHours: return 14_400
        case .oneDay: return 86_400
        }
    }
}

/// What went wrong fetching klines from Binance: what failed, never what to type (the shell's `Advice` says that).
public enum BinanceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// HTTP 400 with code -1121: Binance lists no spot pair of that name.
    case unknownSymbol(String)
    /// HTTP 418: this IP address is banned for ignoring rate limits; `retryAfter` seconds when the answer said.
    case banned(retryAfter: Int?)
    /// HTTP 429 on every try.
    case rateLimited(tries: Int)
    /// No bars at all in the span asked for (the pair did not trade then, or the span is before its listing).
    case noBars(symbol: String, interval: BinanceInterval, start: TimeInterval, end: TimeInterval)
    /// A page of klines that is not what the format promises: cut off, a row of the wrong shape, a number that is
    /// not a string, times out of order or off the interval's grid. `page` counts from 1.
    case badPage(page: Int, reason: String)
    /// The connection failed (or timed out, or answered 5xx) on every try.
    case unreachable(host: String, tries: Int, reason: String)
    /// Any other HTTP error; `code` and `message` are Binance's own when its body gave them.
    case http(status: Int, code: Int?, message: String)
    /// The answer's body passed the client's cap (in bytes).
    case responseTooLarge(limit: Int)
    /// The span asks for more bars than one fetch takes.
    case spanTooLong(bars: Int, limit: Int)
    /// The pair is not letters and digits.
    case invalidSymbol(String)

    public var description: String {
        switch self {
        case .unknownSymbol(let symbol):
            return "Binance lists no spot pair '\(symbol)' (code -1121)"
        case .banned(let seconds):
            let span = seconds.map { " for \(DurationText.format(TimeInterval($0)))" } ?? ""
            return "Binance has banned this IP address\(span) for exceeding its rate limits (HTTP 418)"
        case .rateLimited(let tries):
            return "Binance rate-limited every one of \(tries) tries (HTTP 429)"
        case .noBars(let symbol, let interval, let start, let end):
            return "Binance has no \(interval.rawValue) bars of \(symbol) between \(ISOTime.short(start)) and \(ISOTime.short(end)) UTC"
        case .badPage(let page, let reason):
            return "Binance's klines page \(page) is malformed: \(reason)"
        case .unreachable(let host, let tries, let reason):
            return "could not get klines from \(host) after \(tries) tries: \(reason)"
        case .http(let status, let code, let message):
            let detail = message.isEmpty ? "" : ": \(message)"
            return "Binance answered HTTP \(status)" + (code.map { " (code \($0))" } ?? "") + detail
        case .responseTooLarge(let limit):
            let size = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
            return "Binance's answer is larger than \(size) and was refused"
        case .spanTooLong(let bars, let limit):
            return "the span holds \(bars) bars; one fetch takes at most \(limit)"
        case .invalidSymbol(let symbol):
            return "'\(SafeText.oneLine(symbol, limit: 40))' is not a Binance spot pair: pairs are 2 to 20 letters and digits"
        }
    }
}

/// A blocking client for Binance's public spot klines (`GET /api/v3/klines`); no key is needed.
///
/// A span is read page by page (at most 1000 bars each) from its start. Rate limits are honoured: each answer's
/// `X-MBX-USED-WEIGHT-1M` is read and, before a request would take the minute's weight past `weightBudget`, the
/// client pauses one whole minute (the counter resets each minute); HTTP 429 waits `Retry-After` seconds (capped at
/// `maxRetryAfter`) and tries again; HTTP 418 (a ban) stops at once.
public struct BinanceClient: Sendable {
    /// Total attempts per page, the first included.
    public static let maxTries = 3
    /// The longest `Retry-After` wait honoured on HTTP 429, in seconds.
    public static let maxRetryAfter: TimeInterval = 60
    /// Bars per request: Binance's maximum.
    public static let pageLimit = 1000
    /// The weight of one klines request, as Binance documents it for `/api/v3/klines` (any limit up to 1000).
    public static let requestWeight = 2
    /// Binance's spot limit is 6000 per minute per IP; this client stays at a sixth of it, leaving room for anything
    /// else on the same address.
    public static let defaultWeightBudget = 1000
    /// How long a pause for the weight budget lasts: the weight counter resets every minute.
    public static let weightWindow: TimeInterval = 60
    /// The most bars one fetch takes (200 pages): a year of 1m bars is 525,600 and would take 526 requests.
    public static let maxBars = 200_000
    /// The default cap on an answer's body: a page of 1000 klines is about 150 KB.
    public static let defaultMaxBodyBytes = 8 << 20
    /// The most characters of a server's error text an error shows.
    public static let maxErrorTextLength = 200

    /// Scheme, host and optional path prefix; `/api/v3/klines` is appended.
    public var baseURL: URL
    /// Per-attempt time limit in seconds; rounded up to whole seconds.
    public var timeout: TimeInterval
    /// Pause before the second and third attempt after a timeout or 5xx; the last entry repeats.
    public var retryDelays: [TimeInterval]
    /// The most bytes of a body taken; see `CoinGeckoClient.maxBodyBytes`.
    public var maxBodyBytes: Int
    /// The most request weight this client lets the minute's counter reach.
    public var weightBudget: Int
    /// Every pause goes through here (retries, `Retry-After`, the weight budget), so tests need not sleep.
    public var sleep: @Sendable (TimeInterval) -> Void

    public init(
        baseURL: URL = URL(string: "https://api.binance.com")!,
        timeout: TimeInterval = 15,
        retryDelays: [TimeInterval] = [1, 2],
        maxBodyBytes: Int = BinanceClient.defaultMaxBodyBytes,
        weightBudget: Int = BinanceClient.defaultWeightBudget,
        sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.retryDelays = retryDelays
        self.maxBodyBytes = maxBodyBytes
        self.weightBudget = weightBudget
        self.sleep = sleep
    }

    /// Reads LGC_BINANCE_URL from the environment dictionary given; a blank value or one that is not http(s) is
    /// ignored and the default applies.
    public static func fromEnvironment(_ env: [String: String]) -> BinanceClient {
        var client = BinanceClient()
        if let url = HTTPClientSupport.baseURL(env, "LGC_BINANCE_URL") { client.baseURL = url }
        return client
    }

    /// The open times (ms) of the whole bars in the `days` before `end`: from the first bar opening at or after
    /// `end − days` to the last bar that closes at or before `end` (a bar still open is left out).
    public static func span(days: Int, interval: BinanceInterval, endingAt end: TimeInterval) -> (first: Int64, last: Int64) {
        let step = Int64(interval.seconds) * 1000
        let endMs = Int64((end * 1000).rounded(.down))
        let startMs = endMs - Int64(days) * 86_400_000
        let first = (startMs + step - 1).floorDiv(step) * step
        let last = endMs.floorDiv(step) * step - step
        return (first, last)
    }

    /// `days` of `interval` bars of `symbol` ending at `end` (seconds): a series of OHLCV bars, each timed at its
    /// close, source `binance`, symbol the pair (uppercased).
    ///
    /// `onRetry` hears each failed try that will be retried (its number, why, the pause); `onPause` each pause
    /// taken to stay under the weight budget.
    public func fetch(symbol: String, days: Int, interval: BinanceInterval, endingAt end: TimeInterval,
                      onRetry: ((_ attempt: Int, _ reason: String, _ pause: TimeInterval) -> Void)? = nil,
                      onPause: ((_ pause: TimeInterval) -> Void)? = nil) throws -> PriceSeries {
        let pair = symbol.uppercased()
        guard (2...20).contains(pair.utf8.count),
              pair.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw BinanceError.invalidSymbol(symbol)
        }
        guard (1...3650).contains(days) else {
            throw MarketDataError.invalidArgument("days must be between 1 and 3650, got \(days)")
        }
        let (first, last) = Self.span(days: days, interval: interval, endingAt: end)
        return try fetch(pair: pair, interval: interval, firstOpen: first, lastOpen: last, onRetry: onRetry, onPause: onPause)
    }

    /// The bars of `pair` whose open times (ms) run from `first` through `last`, paging as needed: what a fetch
    /// asks when the market store already holds the bars before `first`.
    public func fetch(pair: String, interval: BinanceInterval, firstOpen first: Int64, lastOpen last: Int64,
                      onRetry: ((_ attempt: Int, _ reason: String, _ pause: TimeInterval) -> Void)? = nil,
                      onPause: ((_ pause: TimeInterval) -> Void)? = nil) throws -> PriceSeries {
        let step = Int64(interval.seconds) * 1000
        let wanted = last >= first ? Int((last - first) / step) + 1 : 0
        guard wanted <= Self.maxBars else { throw BinanceError.spanTooLong(bars: wanted, limit: Self.maxBars) }

        var bars = [Bar]()
        bars.reserveCapacity(wanted)
        var usedWeight = 0
        var start = first
        var page = 0
        while start <= last {
            page += 1
            if usedWeight + Self.requestWeight > weightBudget {
                onPause?(Self.weightWindow)
                sleep(Self.weightWindow)
                usedWeight = 0
            }
            let answer = try get(makeRequest(symbol: pair, interval: interval, start: start, end: last), onRetry: onRetry)
            if let weight = answer.usedWeight { usedWeight = weight } else { usedWeight += Self.requestWeight }
            let rows = try Self.parse(page: answer.body, number: page, interval: interval, from: start, through: last,
                                      into: &bars)
            // A short page is the end of the data; a full one continues after its last bar.
            guard rows == Self.pageLimit, let lastTime = bars.last?.time else { break }
            start = Int64((lastTime * 1000).rounded())
        }
        guard !bars.isEmpty else {
            throw BinanceError.noBars(symbol: pair, interval: interval, start: Double(first) / 1000,
                                      end: Double(last + step) / 1000)
        }
        return PriceSeries(symbol: pair, source: "binance", bars: bars)
    }

    /// Parses one page of klines, checking every row and appending its bars; returns the rows read.
    ///
    /// Each row is `[open_ms, "open", "high", "low", "close", "volume", close_ms, …]`: open times whole numbers,
    /// strictly ascending, on the interval's grid and within `[from, through]`; prices and volume decimal strings.
    /// A bar is timed at its close (open + interval).
    @discardableResult
    public static func parse(page body: Data, number page: Int, interval: BinanceInterval, from: Int64, through: Int64,
                             into bars: inout [Bar]) throws -> Int {
        func bad(_ reason: String) -> BinanceError { .badPage(page: page, reason: reason) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: body)
        } catch {
            throw bad(body.isEmpty ? "the body is empty" : "the body is not complete JSON (\(body.count) bytes)")
        }
        guard let rows = object as? [Any] else { throw bad("the answer is not a list of klines") }
        guard rows.count <= pageLimit else { throw bad("\(rows.count) rows, more than the \(pageLimit) asked for") }
        let step = Int64(interval.seconds) * 1000
        var previous = bars.last.map { Int64(($0.time * 1000).rounded()) - step }
        for (index, item) in rows.enumerated() {
            guard let row = item as? [Any], row.count >= 7 else { throw bad("row \(index) is not a kline of 12 fields") }
            guard let open = wholeNumber(row[0]) else { throw bad("row \(index): the open time is not a whole number") }
            guard open % step == 0 else {
                throw bad("row \(index): open time \(ISOTime.format(Double(open) / 1000)) is off the \(interval.rawValue) grid")
            }
            guard open >= from, open <= through else {
                throw bad("row \(index): open time \(ISOTime.format(Double(open) / 1000)) is outside the span asked for")
            }
            if let previous, open <= previous {
                throw bad("row \(index): open time \(ISOTime.format(Double(open) / 1000)) is not after the previous bar's")
            }
            previous = open
            var values = [Double](repeating: 0, count: 5)
            for field in 0..<5 {
                guard let text = row[field + 1] as? String, let value = Double(text), value.isFinite else {
                    throw bad("row \(index): field \(field + 1) is not a number written as a string")
                }
                values[field] = value
            }
            let bar = Bar(time: Double(open + step) / 1000, open: values[0], high: values[1], low: values[2],
                          close: values[3], volume: values[4])
            if let problem = bar.firstOutOfRange {
                throw MarketDataError.outOfRange(origin: "Binance klines page \(page), row \(index)", field: problem.field,
                                                 value: "\(problem.value)", bounds: problem.bounds)
            }
            bars.append(bar)
        }
        return rows.count
    }

    // MARK: - Internals

    /// A whole number from JSON (not a Bool, not a fraction).
    private static func wholeNumber(_ value: Any) -> Int64? {
        guard let number = value as? NSNumber, !(value is Bool) else { return nil }
        let double = number.doubleValue
        guard double.isFinite, double.rounded() == double, abs(double) < 9e15 else { return nil }
        return Int64(double)
    }

    struct Request: Sendable {
        let url: URL
        let headers: [String]
    }

    func makeRequest(symbol: String, interval: BinanceInterval, start: Int64, end: Int64) -> Request {
        var url = baseURL
        for component in ["api", "v3", "klines"] { url.appendPathComponent(component) }
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [
            URLQueryItem(name: "symbol", value: symbol), URLQueryItem(name: "interval", value: interval.rawValue),
            URLQueryItem(name: "startTime", value: String(start)), URLQueryItem(name: "endTime", value: String(end)),
            URLQueryItem(name: "limit", value: String(Self.pageLimit)),
        ]
        return Request(url: components.url!, headers: ["accept: application/json", "user-agent: lgc-shell"])
    }

    /// The configured pause after failed attempt `attempt` (0-based).
    func delay(afterAttempt attempt: Int) -> TimeInterval {
        guard let last = retryDelays.last else { return 0 }
        return max(0, attempt < retryDelays.count ? retryDelays[attempt] : last)
    }

    private struct Answer {
        var body: Data
        var usedWeight: Int?
    }

    /// One page, tried up to `maxTries` times on timeouts, lost connections, 429 and 5xx.
    private func get(_ request: Request, onRetry: ((Int, String, TimeInterval) -> Void)?) throws -> Answer {
        let host = baseURL.host ?? baseURL.absoluteString
        var failure = BinanceError.unreachable(host: host, tries: Self.maxTries, reason: "no request was made")
        var pause: TimeInterval = 0
        var problem = ""
        for attempt in 0..<Self.maxTries {
            if attempt > 0 {
                onRetry?(attempt, problem, pause)
                if pause > 0 { sleep(pause) }
            }
            switch perform(request) {
            case .tooLarge:
                throw BinanceError.responseTooLarge(limit: maxBodyBytes)
            case .transport(let message):
                failure = .unreachable(host: host, tries: Self.maxTries, reason: message)
                problem = message
                pause = delay(afterAttempt: attempt)
            case .response(let status, let retryAfter, let usedWeight, let body):
                switch status {
                case 200..<300:
                    return Answer(body: body, usedWeight: usedWeight)
                case 418:
                    throw BinanceError.banned(retryAfter: Self.seconds(retryAfter).flatMap { $0 < 1e9 ? Int($0.rounded(.up)) : nil })
                case 429:
                    failure = .rateLimited(tries: Self.maxTries)
                    problem = "HTTP 429, rate limited"
                    pause = Self.seconds(retryAfter).map { min($0, Self.maxRetryAfter) } ?? Self.weightWindow
                case 500...599:
                    failure = .unreachable(host: host, tries: Self.maxTries, reason: "HTTP \(status)")
                    problem = "HTTP \(status)"
                    pause = delay(afterAttempt: attempt)
                default:
                    let (code, message) = Self.errorDetail(body)
                    if code == -1121 { throw BinanceError.unknownSymbol(Self.symbol(in: request)) }
                    throw BinanceError.http(status: status, code: code, message: message)
                }
            }
        }
        throw failure
    }

    /// A `Retry-After` header in seconds; nil when absent, negative or an HTTP date.
    static func seconds(_ header: String?) -> TimeInterval? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)),
              seconds.isFinite, seconds >= 0 else { return nil }
        return seconds
    }

    private static func symbol(in request: Request) -> String {
        URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems?
            .first { $0.name == "symbol" }?.value ?? ""
    }

    /// Binance's `{"code":-1121,"msg":"Invalid symbol."}`, or the body's text on one line.
    static func errorDetail(_ body: Data) -> (code: Int?, message: String) {
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            let code = (object["code"] as? NSNumber).map(\.intValue)
            let message = object["msg"] as? String ?? ""
            return (code, SafeText.oneLine(message, limit: maxErrorTextLength))
        }
        let text = String(decoding: body.prefix(4 * maxErrorTextLength), as: UTF8.self)
        return (nil, SafeText.oneLine(text.trimmingCharacters(in: .whitespacesAndNewlines), limit: maxErrorTextLength))
    }

    private enum Outcome {
        case transport(String)
        case response(status: Int, retryAfter: String?, usedWeight: Int?, body: Data)
        case tooLarge
    }

    /// One GET through libcurl (`lgc_http_get`), as `CoinGeckoClient` does it.
    private func perform(_ request: Request) -> Outcome {
        let seconds = max(1, timeout.rounded(.up))
        var result = lgc_http_result()
        defer { lgc_http_result_free(&result) }
        let pointers = request.headers.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let constPointers = pointers.map { UnsafePointer<CChar>($0) }
        let code = constPointers.withUnsafeBufferPointer { buffer in
            lgc_http_get(request.url.absoluteString, buffer.baseAddress, Int32(buffer.count), Int(seconds * 1000),
                         maxBodyBytes, &result)
        }
        if result.too_large != 0 { return .tooLarge }
        guard code == 0 else {
            let words = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return .transport(HTTPClientSupport.describe(curlCode: code, words: words, timeout: seconds))
        }
        guard result.status > 0 else { return .transport("the server's answer was not HTTP") }
        let retryAfter = withUnsafeBytes(of: result.retry_after) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let weight = withUnsafeBytes(of: result.used_weight) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let body = result.length > 0 ? Data(bytes: result.body, count: result.length) : Data()
        return .response(status: Int(result.status), retryAfter: retryAfter.isEmpty ? nil : retryAfter,
                         usedWeight: Int(weight), body: body)
    }
}

private extension Int64 {
    /// Division rounding toward −∞.
    func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
