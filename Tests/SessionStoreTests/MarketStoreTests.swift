import Foundation
import MarketData
import SessionStore
import Testing

/// The market store keeps every fetched or imported series by source, symbol and interval, merges by time, and
/// says what it holds: span, rows, gaps (issue 14).
@Suite struct MarketStoreFile {
    let folder: URL
    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("market-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func hourly(_ symbol: String, from start: Int, count: Int, skipping skipped: Set<Int> = [], price: Double = 100) -> PriceSeries {
        let bars = (start..<(start + count)).filter { !skipped.contains($0) }.map { hour -> Bar in
            let level: Double = price + Double(hour)
            let time: Double = 1_700_000_000 + Double(hour) * 3600
            return Bar(time: time, open: level, high: level + 2, low: level - 1, close: level + 0.5, volume: 10 + Double(hour))
        }
        return PriceSeries(symbol: symbol, source: "binance", bars: bars)
    }

    @Test func aSavedSeriesReadsBackBitForBitAfterReopening() throws {
        let path = folder.appendingPathComponent("m.sqlite").path
        let series = hourly("BTCUSDT", from: 0, count: 500)
        let write = try MarketStore(path: path).save(series)
        #expect(write == MarketStoreWrite(added: 500, replaced: 0))
        let reopened = try MarketStore(path: path)
        #expect(try reopened.series(source: "binance", symbol: "BTCUSDT", interval: 3600) == series)
        #expect(try reopened.series(source: "binance", symbol: "BTCUSDT", interval: 86400) == nil, "the interval is part of the key")
        #expect(try reopened.series(source: "demo", symbol: "BTCUSDT", interval: 3600) == nil, "so is the source")
        let slice = try #require(try reopened.series(source: "binance", symbol: "BTCUSDT", interval: 3600,
                                                     from: series.bars[10].time, through: series.bars[19].time))
        #expect(slice.bars == Array(series.bars[10...19]))
    }

    @Test func aLaterFetchMergesByTime() throws {
        let store = try MarketStore(path: folder.appendingPathComponent("m.sqlite").path)
        try store.save(hourly("ETHUSDT", from: 0, count: 100))
        // The next fetch overlaps the last 10 bars (the last one was still forming) and adds 50.
        let later = hourly("ETHUSDT", from: 90, count: 60, price: 101)
        #expect(try store.save(later) == MarketStoreWrite(added: 50, replaced: 10))
        let stored = try #require(try store.series(source: "binance", symbol: "ETHUSDT", interval: 3600))
        #expect(stored.count == 150)
        #expect(stored.bars[95] == later.bars[5], "the newer values win")
        #expect(zip(stored.bars, stored.bars.dropFirst()).allSatisfy { $0.time < $1.time })
    }

    @Test func theListSaysSpanRowsAndGaps() throws {
        let store = try MarketStore(path: folder.appendingPathComponent("m.sqlite").path)
        // Hours 20–24 missing (a 6-hour spacing: 5 hours missing) and hour 50 (a 2-hour spacing: 1 hour missing).
        try store.save(hourly("SOLUSDT", from: 0, count: 100, skipping: Set(20...24).union([50])))
        try store.save(hourly("BTCUSDT", from: 0, count: 48))
        let list = try store.list()
        #expect(list.map(\.symbol) == ["BTCUSDT", "SOLUSDT"])
        let sol = list[1]
        #expect(sol.rows == 94 && sol.interval == 3600)
        #expect(sol.first == 1_700_000_000 && sol.last == 1_700_000_000 + 99 * 3600)
        #expect(sol.gaps == 2 && sol.largestGap == 5 * 3600)
        #expect(list[0].gaps == 0 && list[0].largestGap == 0)
    }

    @Test func pruneRemovesWhatMatches() throws {
        let store = try MarketStore(path: folder.appendingPathComponent("m.sqlite").path)
        try store.save(hourly("BTCUSDT", from: 0, count: 10))
        try store.save(hourly("ETHUSDT", from: 0, count: 10))
        #expect(try store.prune(symbol: "NOPE").isEmpty)
        #expect(try store.prune(symbol: "BTCUSDT").map(\.symbol) == ["BTCUSDT"])
        #expect(try store.list().map(\.symbol) == ["ETHUSDT"])
        #expect(try store.series(source: "binance", symbol: "BTCUSDT", interval: 3600) == nil)
    }

    @Test func aFileThatIsNotAStoreIsRefusedByType() throws {
        let path = folder.appendingPathComponent("junk.sqlite").path
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try MarketStore(path: path)
        } throws: { error in
            guard case MarketStoreError.damaged(let where_, _) = error else { return false }
            return where_ == path
        }
        #expect(throws: MarketStoreError.noInterval(symbol: "ONE")) {
            try MarketStore(path: folder.appendingPathComponent("m.sqlite").path).save(
                PriceSeries(symbol: "ONE", source: "binance", bars: [Bar(time: 0, price: 1)]))
        }
    }

    @Test func theDefaultPathIsBesideTheSessionsOrTheEnvironments() {
        #expect(MarketStore.defaultPath(environment: [:], sessionsFolder: "/home/a/.lgc-shell/sessions")
                == "/home/a/.lgc-shell/sessions/market.sqlite")
        #expect(MarketStore.defaultPath(environment: ["LGC_MARKET_STORE": "/tmp/x.sqlite"], sessionsFolder: "/s") == "/tmp/x.sqlite")
    }
}
