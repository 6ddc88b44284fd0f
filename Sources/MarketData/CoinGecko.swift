import CCurl
import Foundation

/// A blocking client for CoinGecko's market-chart API (USD prices and volumes).
public struct CoinGeckoClient: Sendable {
    /// Total attempts per fetch, the first included.
    public static let maxTries = 3
    /// The longest `Retry-After` wait honoured on HTTP 429, in seconds.
    public static let maxRetryAfter: TimeInterval = 10
    /// The default cap on an answer's body: 32 MiB. Ten years of daily prices are well under 1 MiB.
    public static let defaultMaxBodyBytes = 32 << 20
    /// The most characters of a server's error text an error shows.
    public static let maxErrorTextLength = 200

    /// Scheme, host and optional path prefix; `/api/v3/...` is appended.
    public var baseURL: URL
    /// Sent as `x-cg-demo-api-key` when set.
    public var apiKey: String?
    /// Per-attempt time limit in seconds; rounded up to whole seconds (see `attemptTimeout`).
    public var timeout: TimeInterval
    /// Pause before the second and third attempt; the last entry repeats if there are fewer.
    public var retryDelays: [TimeInterval]
    /// The most bytes of a body taken, both as sent (`Content-Length`) and after gzip/deflate decoding;
    /// reading stops as soon as the answer passes it, and the fetch fails with `.responseTooLarge`.
    public var maxBodyBytes: Int

    public init(
        baseURL: URL = URL(string: "https://api.coingecko.com")!,
        apiKey: String? = nil,
        timeout: TimeInterval = 15,
        retryDelays: [TimeInterval] = [1, 2],
        maxBodyBytes: Int = CoinGeckoClient.defaultMaxBodyBytes
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        self.retryDelays = retryDelays
        self.maxBodyBytes = maxBodyBytes
    }

    /// Reads LGC_COINGECKO_URL and COINGECKO_API_KEY from the environment dictionary given.
    ///
    /// Blank values are ignored, as is a URL that is not http(s); the defaults apply then.
    public static func fromEnvironment(_ env: [String: String]) -> CoinGeckoClient {
        var client = CoinGeckoClient()
        if let url = HTTPClientSupport.baseURL(env, "LGC_COINGECKO_URL") { client.baseURL = url }
        if let key = env["COINGECKO_API_KEY"]?.trimmingCharacters(in: .whitespaces), !key.isEmpty {
            client.apiKey = key
        }
        return client
    }

    /// GET {base}/api/v3/coins/{id}/market_chart?vs_currency=usd&days=N ; blocking (the shell is synchronous).
    ///
    /// Retries timeouts, connection errors, HTTP 429 and 5xx, up to `maxTries` attempts in all;
    /// other HTTP errors and a body over `maxBodyBytes` fail at once. The series' symbol is the coin id uppercased.
    /// `onRetry` hears each failed try that will be retried: the try's number, why it failed and the pause before the next.
    public func fetch(coin: String, days: Int,
                      onRetry: ((_ attempt: Int, _ reason: String, _ pause: TimeInterval) -> Void)? = nil) throws -> PriceSeries {
        try Self.validate(coin: coin, days: days)
        let request = makeRequest(coin: coin, days: days)

        var failure = MarketDataError.network("no request was made")
        var pause: TimeInterval = 0
        var problem = ""
        for attempt in 0..<Self.maxTries {
            if attempt > 0 {
                onRetry?(attempt, problem, pause)
                if pause > 0 { Thread.sleep(forTimeInterval: pause) }
            }
            switch perform(request) {
            case .tooLarge:
                throw MarketDataError.responseTooLarge(limit: maxBodyBytes)
            case .transport(let message):
                // Only thrown after the last attempt, so it speaks of all of them.
                failure = .network("could not reach \(baseURL.host ?? baseURL.absoluteString) after \(Self.maxTries) tries: \(message)")
                problem = message
                pause = delay(afterAttempt: attempt)
            case .response(let status, let retryAfter, let body):
                switch status {
                case 200..<300:
                    return try Self.parse(json: body, coin: coin)
                case 404:
                    throw MarketDataError.unknownCoin(coin)
                case 429:
                    failure = .http(status: status, body: Self.errorText(body))
                    problem = "HTTP 429, rate limited"
                    pause = Self.retryAfterSeconds(retryAfter) ?? delay(afterAttempt: attempt)
                case 500...599:
                    failure = .http(status: status, body: Self.errorText(body))
                    problem = "HTTP \(status)"
                    pause = delay(afterAttempt: attempt)
                default:
                    throw MarketDataError.http(status: status, body: Self.errorText(body))
                }
            }
        }
        throw failure
    }

    /// Builds a series from a market-chart JSON body; times are sorted, duplicate times keep the later entry.
    public static func parse(json: Data, coin: String) throws -> PriceSeries {
        guard json.contains(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            throw MarketDataError.badResponse("the body is empty")
        }
        let chart: MarketChart
        do {
            chart = try JSONDecoder().decode(MarketChart.self, from: json)
        } catch DecodingError.typeMismatch(_, let context) {
            throw MarketDataError.badResponse("unexpected JSON at \(codingPath(context.codingPath)): \(snippet(json))")
        } catch DecodingError.valueNotFound(_, let context) {
            throw MarketDataError.badResponse("missing value at \(codingPath(context.codingPath)): \(snippet(json))")
        } catch {
            throw MarketDataError.badResponse("the body is not valid JSON: \(snippet(json))")
        }
        guard let prices = chart.prices else {
            throw MarketDataError.badResponse("no 'prices' in the answer: \(snippet(json))")
        }
        guard !prices.isEmpty else {
            throw MarketDataError.badResponse("no prices for '\(coin)' in the answer")
        }

        var points = [(time: Double, price: Double)]()
        points.reserveCapacity(prices.count)
        for (index, pair) in prices.enumerated() {
            guard pair.count >= 2, let time = pair[0], let price = pair[1], time.isFinite else {
                throw MarketDataError.badResponse("prices[\(index)] is not a [time, price] pair")
            }
            // Times come in milliseconds; a time out of range is refused before it names anything.
            guard Bounded.time.contains(time / 1000) else {
                throw MarketDataError.outOfRange(origin: "CoinGecko answer for '\(coin)', prices[\(index)]",
                                                 field: "time (ms)", value: "\(time)", bounds: .time)
            }
            guard price.isFinite, price > 0 else {
                throw MarketDataError.badResponse(
                    "price \(price) at \(CivilDate.iso(time / 1000)) for '\(coin)' is not a positive number")
            }
            points.append((time, price))
        }
        let volumes = try volumesMatching(points.map(\.time), from: chart.totalVolumes ?? [])

        // Stable order by time; of equal times the later entry wins, as it is the fresher quote.
        let order = points.indices.sorted { (points[$0].time, $0) < (points[$1].time, $1) }
        var bars = [Bar]()
        bars.reserveCapacity(order.count)
        for index in order {
            let bar = Bar(time: points[index].time / 1000, price: points[index].price, volume: volumes[index])
            if let bad = bar.firstOutOfRange {
                throw MarketDataError.outOfRange(origin: "CoinGecko answer for '\(coin)', prices[\(index)]",
                                                 field: bad.field == "volume" ? "volume" : "price", value: "\(bad.value)",
                                                 bounds: bad.bounds)
            }
            if let last = bars.last, last.time == bar.time {
                bars[bars.count - 1] = bar
            } else {
                bars.append(bar)
            }
        }
        return PriceSeries(symbol: coin.uppercased(), source: "coingecko", bars: bars)
    }

    // MARK: - Internals

    static func validate(coin: String, days: Int) throws {
        let allowed = coin.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || CSVByte.isDigit($0) || $0 == CSVByte.minus }
        guard !coin.isEmpty, coin.utf8.count <= 100, allowed else {
            throw MarketDataError.invalidArgument(
                "'\(coin)' is not a CoinGecko coin id — ids are lowercase letters, digits and hyphens, e.g. bitcoin, ethereum, usd-coin")
        }
        guard (1...3650).contains(days) else {
            throw MarketDataError.invalidArgument("days must be between 1 and 3650, got \(days)")
        }
    }

    /// The timeout of one attempt: whole seconds, at least 1 (as Linux's URLSession allowed, which this client
    /// used before; tests and users rely on whole seconds).
    var attemptTimeout: TimeInterval {
        max(1, timeout.rounded(.up))
    }

    /// One GET: its URL and headers. (Not Foundation's `URLRequest`: that lives in FoundationNetworking, whose
    /// libcurl, TLS and Kerberos libraries would load at every start of the shell; libcurl is opened only when
    /// a fetch runs, see `lgc_http_get`.)
    struct Request: Sendable {
        let url: URL
        /// Header names and values, sorted by name.
        let headers: [(name: String, value: String)]
    }

    func makeRequest(coin: String, days: Int) -> Request {
        var url = baseURL
        for component in ["api", "v3", "coins", coin, "market_chart"] { url.appendPathComponent(component) }
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "vs_currency", value: "usd"), URLQueryItem(name: "days", value: String(days))]
        var headers = [(name: "accept", value: "application/json"), (name: "user-agent", value: "lgc-shell")]
        if let apiKey { headers.append((name: "x-cg-demo-api-key", value: apiKey)) }
        return Request(url: components.url!, headers: headers.sorted { $0.name < $1.name })
    }

    /// The configured pause after failed attempt `attempt` (0-based).
    func delay(afterAttempt attempt: Int) -> TimeInterval {
        guard let last = retryDelays.last else { return 0 }
        return max(0, attempt < retryDelays.count ? retryDelays[attempt] : last)
    }

    /// A `Retry-After` header in seconds, capped at `maxRetryAfter`; nil when absent or an HTTP date.
    static func retryAfterSeconds(_ header: String?) -> TimeInterval? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)),
              seconds.isFinite, seconds >= 0 else { return nil }
        return min(seconds, maxRetryAfter)
    }

    private enum Outcome: Sendable {
        case transport(String)
        case response(status: Int, retryAfter: String?, body: Data)
        /// The body passed `maxBodyBytes`; reading stopped there.
        case tooLarge
    }

    /// One GET through libcurl (`lgc_http_get`): it stops reading the moment the body passes `maxBodyBytes`,
    /// counted after gzip/deflate decoding as the bytes arrive, and refuses a `Content-Length` over it at once.
    /// (URLSession on Linux hands every decoded chunk to its delegate asynchronously and cannot be stopped
    /// mid-body: a 1 MB gzip bomb grew to 1.1 GB there before the delegate saw the first byte over the cap.)
    private func perform(_ request: Request) -> Outcome {
        let seconds = attemptTimeout
        let url = request.url.absoluteString
        let headers = request.headers.map { "\($0.name): \($0.value)" }
        var result = lgc_http_result()
        defer { lgc_http_result_free(&result) }
        let pointers = headers.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let constPointers = pointers.map { UnsafePointer<CChar>($0) }
        let code = constPointers.withUnsafeBufferPointer { buffer in
            lgc_http_get(url, buffer.baseAddress, Int32(buffer.count), Int(seconds * 1000), maxBodyBytes, &result)
        }
        if result.too_large != 0 { return .tooLarge }
        guard code == 0 else {
            let words = withUnsafeBytes(of: result.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return .transport(HTTPClientSupport.describe(curlCode: code, words: words, timeout: seconds))
        }
        guard result.status > 0 else { return .transport("the server's answer was not HTTP") }
        let retryAfter = withUnsafeBytes(of: result.retry_after) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let body = result.length > 0 ? Data(bytes: result.body, count: result.length) : Data()
        return .response(status: Int(result.status), retryAfter: retryAfter.isEmpty ? nil : retryAfter, body: body)
    }

    /// CoinGecko's `error_message`/`error` from an error body, or the body's text: on one line, control
    /// characters escaped, at most `maxErrorTextLength` characters — a server's text must not drive the terminal.
    static func errorText(_ body: Data) -> String {
        let text: String
        if let object = try? JSONSerialization.jsonObject(with: body), let message = findErrorMessage(object) {
            text = message
        } else {
            text = String(decoding: body.prefix(4 * maxErrorTextLength), as: UTF8.self)
        }
        return SafeText.oneLine(text.trimmingCharacters(in: .whitespacesAndNewlines), limit: maxErrorTextLength)
    }

    private static func findErrorMessage(_ object: Any) -> String? {
        guard let dictionary = object as? [String: Any] else { return nil }
        for key in ["error_message", "error"] {
            if let text = dictionary[key] as? String { return text }
        }
        for key in ["status", "error"] {
            if let nested = dictionary[key], let text = findErrorMessage(nested) { return text }
        }
        return nil
    }

    private static func volumesMatching(_ times: [Double], from volumes: [[Double?]]) throws -> [Double] {
        func volume(_ pair: [Double?], _ index: Int) throws -> Double {
            guard pair.count >= 2, let value = pair[1] else { return 0 }
            guard value.isFinite, value >= 0 else {
                throw MarketDataError.badResponse("total_volumes[\(index)] is \(value), not a non-negative number")
            }
            return value
        }
        // CoinGecko lists volumes at the same times as prices; match by time only when it does not.
        let alignedByIndex = volumes.count == times.count
            && zip(volumes, times).allSatisfy { $0.first.flatMap { $0 } == $1 }
        if alignedByIndex {
            return try volumes.enumerated().map { try volume($0.element, $0.offset) }
        }
        var byTime = [Double: Double]()
        byTime.reserveCapacity(volumes.count)
        for (index, pair) in volumes.enumerated() {
            guard let time = pair.first.flatMap({ $0 }) else { continue }
            byTime[time] = try volume(pair, index)
        }
        return times.map { byTime[$0] ?? 0 }
    }

    private static func snippet(_ data: Data) -> String {
        let text = String(decoding: data.prefix(80), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return data.count > 80 ? "'\(text)…'" : "'\(text)'"
    }

    private static func codingPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }
}

/// The parts of a market-chart answer that are used; optional so their absence gets a clear error.
private struct MarketChart: Decodable {
    var prices: [[Double?]]?
    var totalVolumes: [[Double?]]?

    enum CodingKeys: String, CodingKey {
        case prices
        case totalVolumes = "total_volumes"
    }
}
