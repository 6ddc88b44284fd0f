import Foundation
import Testing
@testable import MarketData

/// A market chart with three hourly points starting 2024-01-01T00:00:00Z.
private let chartJSON = Data("""
{"prices": [[1704067200000, 42000.5], [1704070800000, 42100.25], [1704074400000, 41950]],
 "market_caps": [[1704067200000, 8.2e11], [1704070800000, 8.3e11], [1704074400000, 8.1e11]],
 "total_volumes": [[1704067200000, 1.5e10], [1704070800000, 1.6e10], [1704074400000, 1.4e10]]}
""".utf8)

/// A client for the loopback server, with millisecond retry pauses so tests stay quick.
private func client(_ server: LoopbackHTTPServer, apiKey: String? = nil, timeout: TimeInterval = 5) -> CoinGeckoClient {
    CoinGeckoClient(baseURL: server.baseURL, apiKey: apiKey, timeout: timeout, retryDelays: [0.005, 0.005])
}

@Suite("CoinGecko parsing")
struct CoinGeckoParseTests {
    @Test func parsesPricesAndVolumes() throws {
        let series = try CoinGeckoClient.parse(json: chartJSON, coin: "bitcoin")
        #expect(series.symbol == "BITCOIN")
        #expect(series.source == "coingecko")
        #expect(series.bars == [
            Bar(time: 1_704_067_200, price: 42000.5, volume: 1.5e10),
            Bar(time: 1_704_070_800, price: 42100.25, volume: 1.6e10),
            Bar(time: 1_704_074_400, price: 41950, volume: 1.4e10),
        ])
    }

    @Test func sortsByTimeDropsDuplicatesAndMatchesVolumesByTime() throws {
        let json = Data("""
        {"prices": [[3000, 3.0], [1000, 1.0], [2000, 2.0], [3000, 3.5]],
         "total_volumes": [[1000, 10], [3000, 30]]}
        """.utf8)
        let series = try CoinGeckoClient.parse(json: json, coin: "eth-2")
        // The later of two equal times wins; a time without a volume gets 0.
        #expect(series.bars == [
            Bar(time: 1, price: 1, volume: 10),
            Bar(time: 2, price: 2, volume: 0),
            Bar(time: 3, price: 3.5, volume: 30),
        ])
        #expect(series.symbol == "ETH-2")
    }

    @Test func missingVolumesGiveZero() throws {
        let series = try CoinGeckoClient.parse(json: Data(#"{"prices": [[1000, 5], [2000, 6]]}"#.utf8), coin: "x")
        #expect(series.bars.map(\.volume) == [0, 0])
        #expect(series.closes == [5, 6])
    }

    @Test(arguments: [
        ("", "unexpected CoinGecko response: the body is empty"),
        ("  \n", "unexpected CoinGecko response: the body is empty"),
        ("<html>oops</html>", "unexpected CoinGecko response: the body is not valid JSON: '<html>oops</html>'"),
        (#"{"error":"coin not found"}"#, #"unexpected CoinGecko response: no 'prices' in the answer: '{"error":"coin not found"}'"#),
        (#"{"prices": []}"#, "unexpected CoinGecko response: no prices for 'bitcoin' in the answer"),
        (#"{"prices": [[1000]]}"#, "unexpected CoinGecko response: prices[0] is not a [time, price] pair"),
        (#"{"prices": [[1000, 1], [2000, null]]}"#, "unexpected CoinGecko response: prices[1] is not a [time, price] pair"),
        (#"{"prices": "soon"}"#, #"unexpected CoinGecko response: unexpected JSON at prices: '{"prices": "soon"}'"#),
        (#"{"prices": [[1704067200000, 0]]}"#,
         "unexpected CoinGecko response: price 0.0 at 2024-01-01T00:00:00Z for 'bitcoin' is not a positive number"),
        (#"{"prices": [[1704067200000, -3]]}"#,
         "unexpected CoinGecko response: price -3.0 at 2024-01-01T00:00:00Z for 'bitcoin' is not a positive number"),
        (#"{"prices": [[1000, 1]], "total_volumes": [[1000, -1]]}"#,
         "unexpected CoinGecko response: total_volumes[0] is -1.0, not a non-negative number"),
    ])
    func rejectsBadBodies(body: String, message: String) {
        let error = marketDataError { _ = try CoinGeckoClient.parse(json: Data(body.utf8), coin: "bitcoin") }
        guard case .badResponse = error else {
            Issue.record("expected .badResponse, got \(String(describing: error))")
            return
        }
        #expect(error?.description == message)
    }
}

@Suite("CoinGecko client")
struct CoinGeckoClientTests {
    @Test func fetchRequestsMarketChartAndParses() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        let series = try client(server).fetch(coin: "bitcoin", days: 30)
        #expect(series.count == 3)
        #expect(series.symbol == "BITCOIN")
        #expect(series.last == Bar(time: 1_704_074_400, price: 41950, volume: 1.4e10))

        let requests = server.requests
        try #require(requests.count == 1)
        #expect(requests[0].method == "GET")
        #expect(requests[0].path == "/api/v3/coins/bitcoin/market_chart")
        #expect(requests[0].query == ["vs_currency": "usd", "days": "30"])
        #expect(requests[0].headers["accept"] == "application/json")
        #expect(requests[0].headers["x-cg-demo-api-key"] == nil)
    }

    @Test func sendsAPIKeyHeader() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        _ = try client(server, apiKey: "CG-secret").fetch(coin: "ethereum", days: 1)
        let requests = server.requests
        try #require(requests.count == 1)
        #expect(requests[0].headers["x-cg-demo-api-key"] == "CG-secret")
        #expect(requests[0].path == "/api/v3/coins/ethereum/market_chart")
    }

    @Test func keepsBaseURLPathPrefix() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        let prefixed = CoinGeckoClient(baseURL: server.baseURL.appendingPathComponent("proxy"), retryDelays: [0])
        _ = try prefixed.fetch(coin: "bitcoin", days: 7)
        #expect(server.requests.map(\.path) == ["/proxy/api/v3/coins/bitcoin/market_chart"])
    }

    @Test func retriesAfter429ThenSucceeds() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 429, headers: ["Retry-After": "0"], body: Data(#"{"status":{"error_code":429}}"#.utf8)),
            .respond(status: 200, body: chartJSON),
        ])
        defer { server.stop() }
        let series = try client(server).fetch(coin: "bitcoin", days: 30)
        #expect(series.count == 3)
        #expect(server.requests.count == 2)
    }

    @Test func retriesDroppedConnectionThenSucceeds() throws {
        let server = try LoopbackHTTPServer(script: [.drop, .respond(status: 503), .respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        var retries: [(Int, String)] = []
        let series = try client(server).fetch(coin: "bitcoin", days: 30) { attempt, reason, _ in
            retries.append((attempt, reason))
        }
        #expect(series.count == 3)
        #expect(server.requests.count == 3)
        // Each retried try is reported, so the shell can say why it waits.
        #expect(retries.map(\.0) == [1, 2])
        #expect(retries.last?.1 == "HTTP 503")
    }

    @Test func serverErrorsFailAfterExactlyThreeTries() throws {
        let failure = LoopbackHTTPServer.Action.respond(status: 500, body: Data("upstream down".utf8))
        // A fourth scripted answer would succeed, so a fourth try would show up as success.
        let server = try LoopbackHTTPServer(script: [failure, failure, failure, .respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 30) }
        #expect(error == .http(status: 500, body: "upstream down"))
        #expect(error?.description == "CoinGecko answered HTTP 500: upstream down")
        #expect(server.requests.count == 3)
    }

    @Test func rateLimitedEveryTimeReportsRateLimit() throws {
        let limited = LoopbackHTTPServer.Action.respond(
            status: 429, headers: ["Retry-After": "0"],
            body: Data(#"{"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit."}}"#.utf8))
        let server = try LoopbackHTTPServer(script: [limited, limited, limited])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 30) }
        #expect(error == .http(status: 429, body: "You've exceeded the Rate Limit."))
        #expect(error?.description == "CoinGecko answered HTTP 429: You've exceeded the Rate Limit.")
        #expect(server.requests.count == 3)
    }

    @Test func unknownCoinFailsAtOnce() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 404, body: Data(#"{"error":"coin not found"}"#.utf8)),
            .respond(status: 200, body: chartJSON),
        ])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoim", days: 30) }
        #expect(error == .unknownCoin("bitcoim"))
        #expect(error?.description == "CoinGecko does not know the coin id 'bitcoim' (HTTP 404)")
        #expect(server.requests.count == 1)
    }

    @Test func otherClientErrorsFailAtOnce() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 401, body: Data(#"{"status":{"error_code":10002,"error_message":"API key missing"}}"#.utf8)),
            .respond(status: 200, body: chartJSON),
        ])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 30) }
        #expect(error == .http(status: 401, body: "API key missing"))
        #expect(error?.description == "CoinGecko answered HTTP 401: API key missing")
        #expect(server.requests.count == 1)
    }

    @Test func malformedJSONIsBadResponseWithoutRetry() throws {
        let server = try LoopbackHTTPServer(script: [
            .respond(status: 200, body: Data("{\"prices\": [[1, 2]".utf8)),
            .respond(status: 200, body: chartJSON),
        ])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: 30) }
        guard case .badResponse = error else {
            Issue.record("expected .badResponse, got \(String(describing: error))")
            return
        }
        #expect(server.requests.count == 1)
    }

    @Test func connectionRefusedIsNetworkError() throws {
        let port = try LoopbackHTTPServer.closedPort()
        let refused = CoinGeckoClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!, timeout: 5, retryDelays: [0.001])
        let error = marketDataError { _ = try refused.fetch(coin: "bitcoin", days: 30) }
        #expect(error == .network("could not reach 127.0.0.1 after 3 tries: connection refused"))
        #expect(error?.description == "network error: could not reach 127.0.0.1 after 3 tries: connection refused")
    }

    @Test func timedOutRequestIsRetried() throws {
        let server = try LoopbackHTTPServer(script: [.hang, .respond(status: 200, body: chartJSON)])
        defer { server.stop() }
        // One second is the shortest timeout URLSession on Linux honours.
        let series = try client(server, timeout: 1).fetch(coin: "bitcoin", days: 30)
        #expect(series.count == 3)
        #expect(server.requests.count == 2)
    }

    @Test func subSecondTimeoutsBecomeOneSecond() {
        #expect(CoinGeckoClient(timeout: 0.2).attemptTimeout == 1)
        #expect(CoinGeckoClient(timeout: 2.5).attemptTimeout == 3)
        #expect(CoinGeckoClient(timeout: 15).attemptTimeout == 15)
    }

    @Test(arguments: ["", "Bitcoin", "bit coin", "bitcoin/../x", "btc?x=1", "bitcoïn"])
    func rejectsInvalidCoinIDs(coin: String) throws {
        let server = try LoopbackHTTPServer(script: [])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: coin, days: 30) }
        #expect(error == .invalidArgument(
            "'\(coin)' is not a CoinGecko coin id — ids are lowercase letters, digits and hyphens, e.g. bitcoin, ethereum, usd-coin"))
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: [0, -1, 3651])
    func rejectsDaysOutOfRange(days: Int) throws {
        let server = try LoopbackHTTPServer(script: [])
        defer { server.stop() }
        let error = marketDataError { _ = try client(server).fetch(coin: "bitcoin", days: days) }
        #expect(error == .invalidArgument("days must be between 1 and 3650, got \(days)"))
        #expect(server.requests.isEmpty)
    }

    @Test func acceptsBoundaryArguments() throws {
        try CoinGeckoClient.validate(coin: "usd-coin", days: 1)
        try CoinGeckoClient.validate(coin: "0x", days: 3650)
    }

    @Test func retryAfterIsCappedAndDelaysFollowTheList() {
        #expect(CoinGeckoClient.retryAfterSeconds("3") == 3)
        #expect(CoinGeckoClient.retryAfterSeconds(" 0.5 ") == 0.5)
        #expect(CoinGeckoClient.retryAfterSeconds("120") == 10)
        #expect(CoinGeckoClient.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
        #expect(CoinGeckoClient.retryAfterSeconds(nil) == nil)
        #expect(CoinGeckoClient.retryAfterSeconds("-4") == nil)

        let client = CoinGeckoClient(retryDelays: [1, 2])
        #expect([0, 1, 2].map(client.delay(afterAttempt:)) == [1, 2, 2])
        #expect(CoinGeckoClient(retryDelays: []).delay(afterAttempt: 0) == 0)
    }

    @Test func readsEnvironment() {
        let configured = CoinGeckoClient.fromEnvironment([
            "LGC_COINGECKO_URL": "http://127.0.0.1:8080", "COINGECKO_API_KEY": " CG-key ", "OTHER": "x",
        ])
        #expect(configured.baseURL == URL(string: "http://127.0.0.1:8080")!)
        #expect(configured.apiKey == "CG-key")

        let defaults = CoinGeckoClient.fromEnvironment(["LGC_COINGECKO_URL": "  ", "COINGECKO_API_KEY": ""])
        #expect(defaults.baseURL == URL(string: "https://api.coingecko.com")!)
        #expect(defaults.apiKey == nil)
        #expect(defaults.timeout == 15)
        #expect(defaults.retryDelays == [1, 2])

        #expect(CoinGeckoClient.fromEnvironment(["LGC_COINGECKO_URL": "ftp://example.com"]).baseURL
            == URL(string: "https://api.coingecko.com")!)
    }
}
