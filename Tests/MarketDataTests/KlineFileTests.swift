import Foundation
@testable import MarketData
import Testing
import ZIPFoundation

/// Binance kline files (data.binance.vision) as published: header-less 12-column CSV, zipped or plain.
enum KlineFixture {
    static let hour: Int64 = 3_600_000
    /// 2024-01-01T00:00:00Z in milliseconds.
    static let january2024: Int64 = 1_704_067_200_000

    /// Rows of `step`-millisecond bars opening at `start` + k·step for each k in `indices`, with times in `unit`
    /// per second (1000: ms, 1_000_000: µs). The close is 100 + k so a bar tells which one it is.
    static func rows(start: Int64 = january2024, step: Int64 = hour, _ indices: some Sequence<Int>, unit: Int64 = 1000) -> String {
        var text = ""
        let scale = unit / 1000
        for k in indices {
            let open = (start + Int64(k) * step) * scale
            let close = open + step * scale - 1
            let price = 100 + Double(k)
            text += "\(open),\(price - 0.5),\(price + 1),\(price - 1),\(price),12.5,\(close),1250.0,42,6.25,625.0,0\n"
        }
        return text
    }

    static func zip(_ url: URL, entries: [(String, String)]) throws {
        try? FileManager.default.removeItem(at: url)
        let archive = try Archive(url: url, accessMode: .create)
        for (name, text) in entries {
            let data = Data(text.utf8)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) {
                position, size in data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }

    /// A zip as Binance publishes it: `NAME.zip` holding `NAME.csv`.
    static func binanceZip(_ folder: URL, _ name: String, _ text: String) throws -> URL {
        let url = folder.appendingPathComponent(name + ".zip")
        try zip(url, entries: [(name + ".csv", text)])
        return url
    }

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-klines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

@Suite struct KlineFileTests {
    typealias F = KlineFixture

    /// The closes `KlineFixture.rows` writes for bars `indices`.
    static func closes(_ indices: [Int]) -> [Double] { indices.map { 100 + Double($0) } }

    @Test func aZippedMonthLoadsWithItsSymbolAndCloseTimes() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zip = try F.binanceZip(folder, "BTCUSDT-1h-2024-01", F.rows(0..<744))
        let result = try KlineFiles.load(zip.path)
        #expect(result.series.count == 744)
        #expect(result.series.symbol == "BTCUSDT")
        #expect(result.series.source == "csv:\(zip.path)")
        #expect(result.files == [zip.path])
        #expect(result.duplicates == 0 && result.gaps == 0 && result.largestGap == 0)
        #expect(result.interval == 3600)
        let first = try #require(result.series.first)
        #expect(first == Bar(time: 1_704_067_200 + 3600, open: 99.5, high: 101, low: 99, close: 100, volume: 12.5))
        // The headered importer hands zips to the kline reader.
        #expect(try CSVImporter.load(path: zip.path) == result.series)
        #expect(try CSVImporter.load(path: zip.path, symbol: "BTC").symbol == "BTC")
    }

    @Test func plainMonthsInMillisecondsAndMicrosecondsJoinWithAGapAndADuplicate() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // December in ms without hour 10; January in µs starting at December's last hour (one bar in both).
        let december = folder.appendingPathComponent("BTCUSDT-1h-2024-12.csv")
        let january = folder.appendingPathComponent("BTCUSDT-1h-2025-01.csv")
        try F.rows((0..<48).filter { $0 != 10 }).write(to: december, atomically: true, encoding: .utf8)
        try F.rows(47..<60, unit: 1_000_000).write(to: january, atomically: true, encoding: .utf8)
        #expect(try String(contentsOf: january, encoding: .utf8).hasPrefix("1704236400000000,"))

        let result = try KlineFiles.load(folder.path)
        #expect(result.files == [december.path, january.path])
        #expect(result.series.count == 59)
        #expect(result.duplicates == 1)
        #expect(result.gaps == 1 && result.largestGap == 3600)
        #expect(result.series.closes == Self.closes((0..<60).filter { $0 != 10 }))
        let times = result.series.bars.map(\.time)
        #expect(times == times.sorted())

        // A header-less file of 12 numbers goes to the kline reader from the CSV importer too.
        #expect(try CSVImporter.load(path: january.path).count == 13)
    }

    @Test func filesAreJoinedInTimeOrderWhateverTheirNames() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try F.binanceZip(folder, "BTCUSDT-1h-2024-01-02", F.rows(0..<24))
        _ = try F.binanceZip(folder, "BTCUSDT-1h-2024-01-01", F.rows(24..<48))  // misnamed: later bars
        let result = try KlineFiles.load(folder.path)
        #expect(result.series.closes == Self.closes(Array(0..<48)))
    }

    @Test func aFolderReadsItsZipsAndLeavesChecksumsAlone() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try F.binanceZip(folder, "ETHUSDT-1m-2024-01-01", F.rows(step: 60_000, 0..<1440))
        let b = try F.binanceZip(folder, "ETHUSDT-1m-2024-01-02", F.rows(step: 60_000, 1440..<2880, unit: 1_000_000))
        try "abc  ETHUSDT-1m-2024-01-01.zip\n".write(to: folder.appendingPathComponent("ETHUSDT-1m-2024-01-01.zip.CHECKSUM"),
                                                    atomically: true, encoding: .utf8)
        let result = try KlineFiles.load(folder.path)
        #expect(result.files == [a.path, b.path])
        #expect(result.series.count == 2880 && result.series.symbol == "ETHUSDT" && result.interval == 60)
        #expect(result.gaps == 0 && result.duplicates == 0)
        #expect(KlineFiles.applies(to: folder.path))
    }

    @Test func aGlobReadsItsMatchesOnly() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try F.binanceZip(folder, "BTCUSDT-1h-2024-01", F.rows(0..<744))
        let b = try F.binanceZip(folder, "BTCUSDT-1h-2024-02", F.rows(744..<1440))
        _ = try F.binanceZip(folder, "BTCUSDT-1h-2023-12", F.rows(-744..<0))
        let result = try KlineFiles.load(folder.path + "/BTCUSDT-1h-2024-*.zip", symbol: "BTC")
        #expect(result.files == [a.path, b.path])
        #expect(result.series.count == 1440 && result.series.symbol == "BTC")
        #expect(KlineFiles.applies(to: folder.path + "/BTCUSDT-1h-2024-*.zip"))
    }

    @Test func aHeaderedCSVIsNotKlines() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = folder.appendingPathComponent("prices.csv")
        try "timestamp,open,high,low,close,volume\n2024-01-01,1,2,0.5,1.5,10\n".write(to: csv, atomically: true, encoding: .utf8)
        #expect(!KlineFiles.applies(to: csv.path))
        #expect(!KlineFiles.applies(to: folder.path), "a folder without kline files is no kline import")
        #expect(throws: MarketDataError.notRegularFile(path: folder.path, kind: "a directory")) { try KlineFiles.load(folder.path) }
    }

    // MARK: Bad input

    @Test func aZipWithoutACSV() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zip = folder.appendingPathComponent("BTCUSDT-1h-2024-01.zip")
        try F.zip(zip, entries: [("readme.txt", "hello\n")])
        #expect(throws: KlineFileError.noCSVInZip(path: zip.path)) { try KlineFiles.load(zip.path) }
        #expect(KlineFileError.noCSVInZip(path: "a.zip").description == "'a.zip' holds no CSV file")
    }

    @Test func aCorruptZip() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let garbage = folder.appendingPathComponent("BTCUSDT-1h-2024-01.zip")
        try Data("this is not a zip archive".utf8).write(to: garbage)
        #expect(throws: KlineFileError.corruptZip(path: garbage.path)) { try KlineFiles.load(garbage.path) }
        // A real archive whose compressed data was damaged: its checksum or its inflation fails.
        let damaged = try F.binanceZip(folder, "BTCUSDT-1h-2024-02", F.rows(0..<200))
        var bytes = try Data(contentsOf: damaged)
        for i in 120..<160 { bytes[i] ^= 0x5A }
        try bytes.write(to: damaged)
        #expect(throws: KlineFileError.corruptZip(path: damaged.path)) { try KlineFiles.load(damaged.path) }
        #expect(KlineFileError.corruptZip(path: "a.zip").description
            == "'a.zip' is not a readable zip archive (damaged or truncated)")
    }

    @Test func rowsThatAreNotKlinesNameTheirLine() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("BTCUSDT-1h-2024-01.csv")
        try (F.rows(0..<2) + "1704074400000,1,2,0.5,1.5,10\n").write(to: plain, atomically: true, encoding: .utf8)
        let reason = "expected 12 comma-separated columns (open_time, open, high, low, close, volume, close_time, …), found 6"
        #expect(throws: KlineFileError.notKlines(origin: plain.path, line: 3, reason: reason)) { try KlineFiles.load(plain.path) }

        let zip = try F.binanceZip(folder, "BTCUSDT-1h-2024-02", F.rows(0..<3) + F.rows(3..<4).replacingOccurrences(of: "103.0,", with: "abc,"))
        #expect(throws: KlineFileError.notKlines(origin: zip.path + "/BTCUSDT-1h-2024-02.csv", line: 4, reason: "close 'abc' is not a number")) {
            try KlineFiles.load(zip.path)
        }
        #expect(KlineFileError.notKlines(origin: "a.csv", line: 3, reason: "close 'abc' is not a number").description
            == "a.csv:3: not a Binance kline row — close 'abc' is not a number")
    }

    @Test func aLineSplitAcrossChunksIsReadWhole() throws {
        // 40,000 rows of about 80 bytes pass the 1 MiB chunk more than once, mid-line.
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let zip = try F.binanceZip(folder, "BTCUSDT-1m-2024-01", F.rows(step: 60_000, 0..<40_000))
        let plain = folder.appendingPathComponent("BTCUSDT-1m-2024-02.csv")
        try F.rows(step: 60_000, 40_000..<80_000).write(to: plain, atomically: true, encoding: .utf8)
        let result = try KlineFiles.load(folder.path)
        #expect(result.series.count == 80_000 && result.gaps == 0)
        #expect(result.series.closes == Self.closes(Array(0..<80_000)))
        _ = zip
    }

    @Test func mixedIntervalsNameBothFiles() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let hourly = try F.binanceZip(folder, "BTCUSDT-1h-2024-01", F.rows(0..<24))
        let minutes = try F.binanceZip(folder, "BTCUSDT-1m-2024-02", F.rows(step: 60_000, 0..<60))
        #expect(throws: KlineFileError.mixedIntervals(first: hourly.path, firstInterval: "1h", second: minutes.path, secondInterval: "1m")) {
            try KlineFiles.load(folder.path)
        }
        #expect(KlineFileError.mixedIntervals(first: "a.zip", firstInterval: "1h", second: "b.zip", secondInterval: "1m").description
            == "'a.zip' holds 1h bars but 'b.zip' holds 1m bars — one import takes one interval")
    }

    @Test func aGlobMatchingNothing() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let pattern = folder.path + "/ETHUSDT-1h-*.zip"
        #expect(throws: KlineFileError.noMatch(pattern: pattern)) { try KlineFiles.load(pattern) }
        #expect(KlineFileError.noMatch(pattern: "d/*.zip").description == "no file matches 'd/*.zip'")
    }

    @Test func binanceNamesGiveSymbolAndInterval() {
        let month = BinanceName("BTCUSDT-1h-2024-01.zip")
        #expect(month?.symbol == "BTCUSDT" && month?.interval == "1h" && month?.seconds == 3600)
        #expect(BinanceName("ethusdt-1m-2024-01-31.csv")?.symbol == "ETHUSDT")
        #expect(BinanceName("BTCUSDT-1mo-2024-01.zip")?.seconds == .some(nil))
        #expect(BinanceName("prices.csv") == nil)
        #expect(BinanceName("BTCUSDT-7h-2024-01.zip") == nil)
        #expect(BinanceName("BTCUSDT-1h-2024-01.zip.CHECKSUM") == nil)
    }
}
