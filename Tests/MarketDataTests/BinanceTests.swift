import Foundation
import Testing
@testable import MarketData

/// 2024-01-01T00:00:00Z, in seconds.
private let newYear: TimeInterval = 1_704_067_200
private let hourMs: Int64 = 3_600_000

/// Binance's klines rows for the open times in `[start, end]` on `step`'s grid, at most `limit`: bar `k` (counted
/// from the epoch) opens at 100 + k/1000.
func klineRows(start: Int64, end: Int64, step: Int64, limit: Int) -> Data {
    var rows = [String]()
    var open = (start + step - 1) / step * step
    while open <= end, rows.count < limit {
        let price = 100 + Double(open / step % 100_000) / 1000
        rows.append("""
        [\(open),"\(price)","\(price + 1)","\(price - 1)","\(price + 0.5)","12.5",\(open + step - 1),"1250.0",42,"6.0","600.0","0"]
        """)
        open += step
    }
    return Data(("[" + rows.joined(separator: ",") + "]").utf8)
}

/// A klines page answering what the request asks (symbol, startTime, endTime, limit).
func klinesAnswer(_ request: LoopbackHTTPServer.Request, headers: [String: String] = [:]) -> LoopbackHTTPServer.Action {
    guard request.path == "/api/v3/klines", let start = request.query["startTime"].flatMap({ Int64($0) }),
          let end = request.query["endTime"].flatMap({ Int64($0) }), let limit = request.query["limit"].flatMap({ Int($0) }),
          let interval = request.query["interval"].flatMap(BinanceInterval.init(rawValue:)) else {
        return .respond(status: 400, body: Data(#"{"code":-1100,"msg":"Illegal characters found in a parameter."}"#.utf8))
    }
    return .respond(status: 200, headers: headers,
                    body: klineRows(start: start, end: end, step: Int64(interval.seconds) * 1000, limit: limit))
}

/// The pauses a client asked for, instead of sleeping.
final class Sleeps: @unchecked Sendable {
    private let lock = NSLock()
    private var taken: [TimeInterval] = []
    var values: [TimeInterval] { lock.withLock { taken } }
    func record(_ seconds: TimeInterval) { lock.withLock { taken.append(seconds) } }
}

private func client(_ server: LoopbackHTTPServer, sleeps: Sleeps) -> BinanceClient {
    BinanceClient(baseURL: server.baseURL, timeout: 5, retryDelays: [1, 2], sleep: { sleeps.record($0) })
}

private func binanceError(_ body: () throws -> Void) -> BinanceError? {
    do {
        try body()
        return nil
    } catch let error as BinanceError {
        return error
    } catch {
        Issue.record("expected a BinanceError, got \(error)")
        return nil
    }
}

@Suite("Binance klines")
struct BinanceTests {
    @Test func spanCoversWholeBarsBeforeTheEnd() {
        // Ending half an hour into a bar: the open bar is left out.
        let (first, last) = BinanceClient.span(days: 1, interval: .oneHour, endingAt: newYear + 1800)
        #expect(first == Int64(newYear) * 1000 - 23 * hourMs)
        #expect(last == Int64(newYear) * 1000 - hourMs)
        let aligned = BinanceClient.span(days: 365, interval: .oneHour, endingAt: newYear)
        #expect((aligned.last - aligned.first) / hourMs + 1 == 8760)
    }

    @Test func pagesUntilTheSpanIsCoveredWithAnUnevenLastPage() throws {
        let server = try LoopbackHTTPServer(responder: { request, _ in klinesAnswer(request) })
        defer { server.stop() }
        let sleeps = Sleeps()
        let series = try client(server, sleeps: sleeps).fetch(symbol: "btcusdt", days: 100, interval: .oneHour,
                                                              endingAt: newYear)
        #expect(series.count == 2400)
        #expect(series.symbol == "BTCUSDT")
        #expect(series.source == "binance")
        let requests = server.requests
        #expect(requests.count == 3)
        let first = Int64(newYear) * 1000 - 2400 * hourMs
        #expect(requests.map { $0.query["startTime"] } == [first, first + 1000 * hourMs, first + 2000 * hourMs].map { String($0) })
        #expect(requests.allSatisfy { $0.query["symbol"] == "BTCUSDT" && $0.query["interval"] == "1h" && $0.query["limit"] == "1000" })
        #expect(requests.allSatisfy { $0.query["endTime"] == String(Int64(newYear) * 1000 - hourMs) })
        // Bars are timed at their close, hourly, the last closing at the end; OHLCV as sent.
        #expect(series.bars.last?.time == newYear)
        #expect(series.bars.first?.time == newYear - 2399 * 3600)
        #expect(series.interval == 3600)
        let bar = try #require(series.bars.last)
        #expect(bar.high == bar.open + 1 && bar.low == bar.open - 1 && bar.close == bar.open + 0.5 && bar.volume == 12.5)
        #expect(sleeps.values.isEmpty)
    }

    @Test func waitsRetryAfterOn429ThenSucceeds() throws {
        let server = try LoopbackHTTPServer(responder: { request, index in
            index == 0 ? .respond(status: 429, headers: ["Retry-After": "7"], body: Data(#"{"code":-1003,"msg":"Too many requests"}"#.utf8))
                : klinesAnswer(request)
        })
        defer { server.stop() }
        let sleeps = Sleeps()
        let series = try client(server, sleeps: sleeps).fetch(symbol: "ETHUSDT", days: 1, interval: .oneHour, endingAt: newYear)
        #expect(series.count == 24)
        #expect(sleeps.values == [7])
        #expect(server.requests.count == 2)
    }

    @Test func retryAfterIsCapped() throws {
        let server = try LoopbackHTTPServer(responder: { request, index in
            index == 0 ? .respond(status: 429, headers: ["Retry-After": "3600"]) : klinesAnswer(request)
        })
        defer { server.stop() }
        let sleeps = Sleeps()
        _ = try client(server, sleeps: sleeps).fetch(symbol: "ETHUSDT", days: 1, interval: .oneHour, endingAt: newYear)
        #expect(sleeps.values == [BinanceClient.maxRetryAfter])
    }

    @Test func pausesWhenTheUsedWeightNearsTheBudget() throws {
        let server = try LoopbackHTTPServer(responder: { request, index in
            klinesAnswer(request, headers: ["X-MBX-USED-WEIGHT-1M": index == 0 ? "999" : "4"])
        })
        defer { server.stop() }
        let sleeps = Sleeps()
        var paused: [TimeInterval] = []
        let series = try client(server, sleeps: sleeps).fetch(symbol: "BTCUSDT", days: 100, interval: .oneHour,
                                                              endingAt: newYear, onPause: { paused.append($0) })
        #expect(series.count == 2400)
        // 999 used + 2 for the next page passes the budget of 1000: one minute's pause, once.
        #expect(sleeps.values == [BinanceClient.weightWindow])
        #expect(paused == [BinanceClient.weightWindow])
        #expect(server.requests.count == 3)
    }

    @Test func a418BanStopsAtOnce() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 418, headers: ["Retry-After": "120"])])
        defer { server.stop() }
        let error = binanceError { _ = try client(server, sleeps: Sleeps()).fetch(symbol: "BTCUSDT", days: 1, interval: .oneHour, endingAt: newYear) }
        #expect(error == .banned(retryAfter: 120))
        #expect(error?.description == "Binance has banned this IP address for 2m for exceeding its rate limits (HTTP 418)")
        #expect(server.requests.count == 1)
    }

    @Test func threeServerErrorsGiveUpAfterExactlyThreeTries() throws {
        let server = try LoopbackHTTPServer(responder: { _, _ in .respond(status: 503) })
        defer { server.stop() }
        let sleeps = Sleeps()
        var retries: [Int] = []
        let error = binanceError {
            _ = try client(server, sleeps: sleeps).fetch(symbol: "BTCUSDT", days: 1, interval: .oneHour, endingAt: newYear,
                                                         onRetry: { attempt, _, _ in retries.append(attempt) })
        }
        #expect(error == .unreachable(host: "127.0.0.1", tries: 3, reason: "HTTP 503"))
        #expect(server.requests.count == 3)
        #expect(sleeps.values == [1, 2])
        #expect(retries == [1, 2])
    }

    @Test func twoServerErrorsThenSuccess() throws {
        let server = try LoopbackHTTPServer(responder: { request, index in
            index < 2 ? .respond(status: 500) : klinesAnswer(request)
        })
        defer { server.stop() }
        let series = try client(server, sleeps: Sleeps()).fetch(symbol: "BTCUSDT", days: 2, interval: .oneHour, endingAt: newYear)
        #expect(series.count == 48)
        #expect(server.requests.count == 3)
    }

    @Test func invalidSymbolIsUnknownSymbol() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 400, body: Data(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8))])
        defer { server.stop() }
        let error = binanceError { _ = try client(server, sleeps: Sleeps()).fetch(symbol: "foobar", days: 1, interval: .oneHour, endingAt: newYear) }
        #expect(error == .unknownSymbol("FOOBAR"))
        #expect(server.requests.count == 1)
    }

    @Test func aMisorderedPageIsRefused() throws {
        let start = Int64(newYear) * 1000 - 24 * hourMs
        let rows = """
        [[\(start + hourMs),"1","1","1","1","1",0,"0",1,"0","0","0"],[\(start),"1","1","1","1","1",0,"0",1,"0","0","0"]]
        """
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: Data(rows.utf8))])
        defer { server.stop() }
        let error = binanceError { _ = try client(server, sleeps: Sleeps()).fetch(symbol: "BTCUSDT", days: 1, interval: .oneHour, endingAt: newYear) }
        guard case .badPage(1, let reason) = error else {
            Issue.record("expected .badPage, got \(String(describing: error))")
            return
        }
        #expect(reason == "row 1: open time 2023-12-31T00:00:00Z is not after the previous bar's")
    }

    @Test(arguments: [
        (#"[[1704067200000,"1","1","1""#, "the body is not complete JSON (27 bytes)"),
        (#"[[1704063600000,1,"1","1","1","1",0]]"#, "row 0: field 1 is not a number written as a string"),
        (#"[[1704063600001,"1","1","1","1","1",0]]"#, "row 0: open time 2023-12-31T23:00:00Z is off the 1h grid"),
        (#"[[1704063600000,"1"]]"#, "row 0 is not a kline of 12 fields"),
        (#"{"a":1}"#, "the answer is not a list of klines"),
    ])
    func malformedPagesAreRefused(body: String, reason: String) throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: Data(body.utf8))])
        defer { server.stop() }
        let error = binanceError { _ = try client(server, sleeps: Sleeps()).fetch(symbol: "BTCUSDT", days: 1, interval: .oneHour, endingAt: newYear) }
        #expect(error == .badPage(page: 1, reason: reason))
    }

    @Test func aSpanWithNoBarsIsAnError() throws {
        let server = try LoopbackHTTPServer(script: [.respond(status: 200, body: Data("[]".utf8))])
        defer { server.stop() }
        let error = binanceError { _ = try client(server, sleeps: Sleeps()).fetch(symbol: "BTCUSDT", days: 1, interval: .oneHour, endingAt: newYear) }
        #expect(error == .noBars(symbol: "BTCUSDT", interval: .oneHour, start: newYear - 86_400, end: newYear))
        #expect(error?.description == "Binance has no 1h bars of BTCUSDT between 2023-12-31 00:00 and 2024-01-01 00:00 UTC")
    }

    @Test func environmentSetsTheBaseURL() {
        #expect(BinanceClient.fromEnvironment(["LGC_BINANCE_URL": "http://127.0.0.1:8081"]).baseURL.absoluteString == "http://127.0.0.1:8081")
        #expect(BinanceClient.fromEnvironment(["LGC_BINANCE_URL": " "]).baseURL.absoluteString == "https://api.binance.com")
        #expect(BinanceClient.fromEnvironment(["LGC_BINANCE_URL": "ftp://x"]).baseURL.absoluteString == "https://api.binance.com")
    }

    @Test func dataSourcesRoundTripAndOldOnesStillDecode() throws {
        let sources: [DataSource] = [.binance(symbol: "BTCUSDT", days: 365, interval: .fiveMinutes),
                                     .coinGecko(coin: "bitcoin", days: 30), .demo(days: 30, seed: 42, end: nil)]
        for source in sources {
            #expect(try JSONDecoder().decode(DataSource.self, from: JSONEncoder().encode(source)) == source)
        }
        let binance = try JSONDecoder().decode(DataSource.self, from: Data(#"{"binance":{"symbol":"ETHUSDT","days":7,"interval":"1d"}}"#.utf8))
        #expect(binance == .binance(symbol: "ETHUSDT", days: 7, interval: .oneDay))
        // What sessions stored before Binance existed.
        #expect(try JSONDecoder().decode(DataSource.self, from: Data(#"{"coinGecko":{"coin":"bitcoin","days":30}}"#.utf8))
                == .coinGecko(coin: "bitcoin", days: 30))
        #expect(try JSONDecoder().decode(DataSource.self, from: Data(#"{"demo":{"days":30,"seed":42}}"#.utf8))
                == .demo(days: 30, seed: 42, end: nil))
    }
}
