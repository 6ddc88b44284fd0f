import Foundation
import MarketData
@testable import Shell
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A tiny HTTP server on 127.0.0.1 that speaks Binance's klines format, honouring symbol, interval, startTime,
/// endTime and limit; symbols other than `known` get Binance's -1121 answer. Never touches the internet.
final class KlineServer: @unchecked Sendable {
    let port: UInt16
    let known: Set<String>
    private let listener: Int32
    private let lock = NSLock()
    private var stopping = false
    private var served: [String] = []
    private let finished = DispatchSemaphore(value: 0)

    init(known: Set<String> = ["BTCUSDT"]) throws {
        self.known = known
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0, listen(fd, 16) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard fd >= 0, bound == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread { [self] in serve() }.start()
    }

    var url: String { "http://127.0.0.1:\(port)" }
    /// The request targets served, in order.
    var requests: [String] { lock.withLock { served } }

    func stop() {
        lock.withLock { stopping = true }
        finished.wait()
    }

    private func serve() {
        while !lock.withLock({ stopping }) {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            var buffer = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: buffer, as: UTF8.self).contains("\r\n\r\n") {
                let count = recv(connection, &chunk, chunk.count, 0)
                guard count > 0 else { break }
                buffer.append(contentsOf: chunk[0..<count])
            }
            let target = String(decoding: buffer, as: UTF8.self).split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            lock.withLock { served.append(target) }
            let (status, body) = answer(target)
            let head = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 2\r\nConnection: close\r\n\r\n"
            let bytes = Array((head + body).utf8)
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { break }
                offset += sent
            }
            close(connection)
        }
        close(listener)
        finished.signal()
    }

    private func answer(_ target: String) -> (Int, String) {
        if target.hasPrefix("/api/v3/coins/") {
            // CoinGecko's market chart: ten daily points, as it answers beyond 90 days.
            let points = (0..<10).map { "[\(1_704_067_200_000 + Int64($0) * 86_400_000), \(42_000 + $0 * 10)]" }
            return (200, #"{"prices": [\#(points.joined(separator: ","))]}"#)
        }
        let query = Dictionary(URLComponents(string: target)?.queryItems?.map { ($0.name, $0.value ?? "") } ?? [],
                               uniquingKeysWith: { $1 })
        guard let symbol = query["symbol"], known.contains(symbol) else {
            return (400, #"{"code":-1121,"msg":"Invalid symbol."}"#)
        }
        let steps = ["1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400]
        guard let start = query["startTime"].flatMap({ Int64($0) }), let end = query["endTime"].flatMap({ Int64($0) }),
              let limit = query["limit"].flatMap({ Int($0) }), let seconds = query["interval"].flatMap({ steps[$0] }) else {
            return (400, #"{"code":-1100,"msg":"Illegal characters found in a parameter."}"#)
        }
        let step = Int64(seconds) * 1000
        var rows = [String]()
        var open = (start + step - 1) / step * step
        while open <= end, rows.count < limit {
            // A drift with a deterministic zig-zag per bar and pair: both classes occur, so models can train.
            let wiggle = Double((open / step &* 2_654_435_761 &+ Int64(symbol.utf8.count) &* 97) % 41) - 20
            let price = 40_000 + Double(open / step % 1000) + wiggle
            rows.append(#"[\#(open),"\#(price)","\#(price + 5)","\#(price - 5)","\#(price + 1)","3.25",\#(open + step - 1),"0",1,"0","0","0"]"#)
            open += step
        }
        return (200, "[" + rows.joined(separator: ",") + "]")
    }
}

@Suite("fetch binance, end to end")
struct BinanceShellTests {
    @Test func fetchesThreePagesThenShowsThemAndNamesAnUnknownSymbol() throws {
        let server = try KlineServer()
        defer { server.stop() }
        let result = try ShellProcess.run(stdin: "fetch binance btcusdt 100\ndata\n",
                                          environment: ["LGC_BINANCE_URL": server.url])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(server.requests.count == 3)
        #expect(server.requests.allSatisfy { $0.hasPrefix("/api/v3/klines?") && $0.contains("symbol=BTCUSDT") && $0.contains("interval=1h") })
        // 100 days of whole hourly bars: 2400, or 2399 when the clock is inside an hour.
        let bars = #/(2399|2400) 1h bars of BTCUSDT \(binance\)/#
        #expect(result.stdout.matches(of: bars).count == 2, "\(result.stdout)")

        // Auto mode refreshes from the same source.
        let auto = try ShellProcess.run(stdin: "fetch binance BTCUSDT 5 --interval 4h\nauto on --every 1h\nauto\nauto off\n",
                                        environment: ["LGC_BINANCE_URL": server.url])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stdout.contains("'fetch binance BTCUSDT 5 --interval 4h'"), "\(auto.stdout)")

        let unknown = try ShellProcess.run(stdin: "fetch binance NOSUCHPAIR 3\n", environment: ["LGC_BINANCE_URL": server.url])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.split(separator: "\n").last
                == "<stdin>:1: error: Binance lists no spot pair 'NOSUCHPAIR' (code -1121) — use a Binance spot pair such as BTCUSDT")
        #expect(unknown.stdout.isEmpty)
    }
}

@Suite("fetch binance arguments")
struct BinanceFetchRequestTests {
    func request(_ line: String) throws -> Commands.FetchRequest {
        try Commands.FetchRequest(Commands.fetch.bind(try LineParser.parse(line).words.dropFirst()))
    }

    func message(_ line: String) -> String {
        do {
            _ = try request(line)
            return "ok"
        } catch {
            return "\(error)"
        }
    }

    @Test func bindsPairDaysAndInterval() throws {
        #expect(try request("fetch binance btcusdt 365").source == .binance(symbol: "BTCUSDT", days: 365, interval: .oneHour))
        #expect(try request("fetch binance 7 ETHUSDT --interval 5m").source == .binance(symbol: "ETHUSDT", days: 7, interval: .fiveMinutes))
        #expect(try request("fetch binance SOLUSDT").source == .binance(symbol: "SOLUSDT", days: 30, interval: .oneHour))
        // CoinGecko and the demo are as before.
        #expect(try request("fetch bitcoin 120").source == .coinGecko(coin: "bitcoin", days: 120))
        #expect(try request("fetch demo 10").source == .demo(days: 10, seed: 42, end: nil))
    }

    @Test func canonicalFetchesTheSameAgain() throws {
        let source = DataSource.binance(symbol: "BTCUSDT", days: 90, interval: .fourHours)
        let canonical = Commands.FetchRequest(source: source).canonical
        #expect(canonical == "binance BTCUSDT 90 --interval 4h")
        #expect(try Commands.FetchRequest(canonical: canonical).source == source)
    }

    @Test func usageErrors() {
        let usage = Commands.fetch.synopsis
        #expect(message("fetch binance") == "fetch: 'fetch binance' needs a SYMBOL, the spot pair — usage: \(usage)")
        #expect(message("fetch binance BTCUSDT --seed 3") == "fetch: --seed does not apply to 'fetch binance' — usage: \(usage)")
        #expect(message("fetch bitcoin 30 --interval 1h") == "fetch: --interval applies to 'fetch binance' only — usage: \(usage)")
        #expect(message("fetch bitcoin ethereum") == "fetch: 'ethereum': a SYMBOL follows 'binance' only — usage: \(usage)")
        #expect(message("fetch binance BTCUSDT --interval 2h") == "fetch: invalid --interval '2h': expected '1m', '5m', '15m', '1h', '4h' or '1d' — usage: \(usage)")
    }
}

@Suite("fetch COIN beyond 90 days")
struct CoinGeckoDailyNoticeTests {
    @Test func saysBinanceGivesHourlyBars() throws {
        let server = try KlineServer()
        defer { server.stop() }
        let notice = "[INFO] CoinGecko returns daily points beyond 90 days; 'fetch binance SYMBOL 120' gives hourly bars"
        let long = try ShellProcess.run(stdin: "fetch bitcoin 120\n", environment: ["LGC_COINGECKO_URL": server.url])
        #expect(long.status == 0, "\(long.stderr)")
        #expect(long.stderr.split(separator: "\n").filter { $0 == notice }.count == 1, "\(long.stderr)")
        let short = try ShellProcess.run(stdin: "fetch bitcoin 90\n", environment: ["LGC_COINGECKO_URL": server.url])
        #expect(short.status == 0, "\(short.stderr)")
        #expect(!short.stderr.contains("daily points"))
    }
}

@Suite("fetch binance through the market store")
struct BinanceStoreTests {
    @Test func aRepeatedFetchAsksOnlyForTheBarsTheStoreLacks() throws {
        let server = try KlineServer()
        defer { server.stop() }
        let result = try ShellProcess.run(stdin: "fetch binance BTCUSDT 10\nfetch binance BTCUSDT 10\nadvance 5h\nfetch binance BTCUSDT 10\ndata store\n",
                                          environment: ["LGC_BINANCE_URL": server.url])
        #expect(result.status == 0, "\(result.stderr)")
        let info = result.stderr.split(separator: "\n").filter { $0.hasPrefix("[INFO]") }
        // The first fetch asks for 10 days (one page); the second finds them all in the store — unless the wall
        // clock crossed the hour between the two, when it asks for that one new bar only.
        #expect(info.count == 3, "\(result.stderr)")
        let second = String(info[1]), third = String(info[2])
        #expect(second.hasSuffix("bars are in the market store; Binance was not asked")
                || second.hasPrefix("[INFO] Fetching the 1 1h bars of BTCUSDT after the"), "\(second)")
        // Five hours later on the loop's clock: only the five new bars are asked for, from the last one kept.
        #expect(third.hasPrefix("[INFO] Fetching the 5 1h bars of BTCUSDT after the")
                || third.hasPrefix("[INFO] Fetching the 6 1h bars of BTCUSDT after the"), "\(third)")
        let requests = server.requests
        #expect(requests.count == (second.contains("not asked") ? 2 : 3), "\(requests)")
        let kept = result.stdout.matches(of: #/binance\s+BTCUSDT\s+1h\s+\S+ \S+\s+\S+ \S+\s+(\d+)\s+none/#).first
        let rows = try #require(kept.flatMap { Int($0.output.1) }, "\(result.stdout)")
        #expect((244...246).contains(rows), "10 days of whole bars (239 or 240) and 5 hours more, kept once each")
    }
}
