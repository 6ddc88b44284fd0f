import Foundation
import Testing
@testable import MarketData

/// 2024-01-01T00:00:00Z in epoch seconds.
private let jan1: TimeInterval = 1_704_067_200

private func parse(_ text: String) throws -> PriceSeries {
    try CSVImporter.parse(text: text, path: "data.csv", symbol: "TEST")
}

/// The `MarketDataError` that parsing `text` throws, or nil.
private func parseError(_ text: String) -> MarketDataError? {
    do {
        _ = try parse(text)
        return nil
    } catch let error as MarketDataError {
        return error
    } catch {
        return nil
    }
}

/// The epoch seconds of a one-row kline file whose time field is `time`.
private func parsedTime(_ time: String) throws -> TimeInterval {
    let series = try parse("timestamp,open,high,low,close,volume\n\(time),1,2,0.5,1.5,10\n")
    return try #require(series.first).time
}

/// A fresh directory under the temporary directory, removed by the caller.
private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("csv-importer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite("CSV formats")
struct CSVFormatTests {
    @Test func exchangeKlines() throws {
        let series = try parse("""
        timestamp,open,high,low,close,volume
        2024-01-01T00:00:00Z,42000,42500,41800,42300.5,123.25
        2024-01-01T01:00:00Z,42300.5,42400,42100,42150,99
        """)
        #expect(series.symbol == "TEST")
        #expect(series.source == "csv:data.csv")
        #expect(series.bars == [
            Bar(time: jan1, open: 42000, high: 42500, low: 41800, close: 42300.5, volume: 123.25),
            Bar(time: jan1 + 3600, open: 42300.5, high: 42400, low: 42100, close: 42150, volume: 99),
        ])
    }

    @Test func yahooUsesCloseNotAdjClose() throws {
        let series = try parse("""
        Date,Open,High,Low,Close,Adj Close,Volume
        2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700
        2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500
        """)
        #expect(series.bars == [
            Bar(time: jan1 + 86_400, open: 187.15, high: 188.44, low: 183.89, close: 185.64, volume: 82_488_700),
            Bar(time: jan1 + 2 * 86_400, open: 184.22, high: 185.88, low: 183.43, close: 184.25, volume: 58_414_500),
        ])
    }

    @Test func coinGeckoExport() throws {
        let series = try parse("""
        snapped_at,price,market_cap,total_volume
        2024-01-01 00:00:00 UTC,42261.04,827513213845.5,13425634123.1
        2024-01-02 00:00:00 UTC,44179.92,865476349182.7,
        """)
        #expect(series.bars == [
            Bar(time: jan1, price: 42261.04, volume: 13_425_634_123.1),
            Bar(time: jan1 + 86_400, price: 44179.92, volume: 0),
        ])
    }

    @Test func pandasUnnamedIndex() throws {
        let series = try parse("""
        ,Open,High,Low,Close,Volume
        2024-01-01 00:00:00+00:00,1.0,2.0,0.5,1.5,10
        2024-01-01 01:00:00+00:00,1.5,2.5,1.0,2.0,20
        """)
        #expect(series.closes == [1.5, 2.0])
        #expect(series.bars.map(\.time) == [jan1, jan1 + 3600])
        #expect(series.bars[1].volume == 20)
    }

    @Test(arguments: [
        "Date,Open,High,Low,Close,Volume",
        "datetime,open,high,low,close,volume",
        "time,open,high,low,close,volume",
        "timestamp,open,high,low,close,volume,close_time,quote_volume,trades",
        "  TimeStamp , OPEN ,High,Low,\"Close\",Volume",
    ])
    func headerVariants(header: String) throws {
        let extra = String(repeating: ",x", count: header.split(separator: ",", omittingEmptySubsequences: false).count - 6)
        let series = try parse("\(header)\n2024-01-01,1,2,0.5,1.5,10\(extra)\n")
        #expect(series.bars == [Bar(time: jan1, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10)])
    }

    @Test func bomCRLFAndBlankLines() throws {
        let text = "\u{FEFF}timestamp,open,high,low,close,volume\r\n\r\n1704067200,1,2,0.5,1.5,10\r\n   \r\n1704070800,1,2,0.5,1.75,0\r\n"
        let series = try parse(text)
        #expect(series.closes == [1.5, 1.75])
        #expect(series.bars.map(\.time) == [jan1, jan1 + 3600])
    }

    @Test func quotedFields() throws {
        let series = try parse("""
        "timestamp","open","high","low","close","volume","note"
        "2024-01-01T00:00:00Z","1","2","0.5","1.5","10","said ""hi"", then left"
        "2024-01-01T01:00:00Z", "1" ,2,0.5,"1.75",11,"a
        multi-line note"
        2024-01-01T02:00:00Z,1,2,0.5,2,12,plain
        """)
        #expect(series.closes == [1.5, 1.75, 2])
        #expect(series.bars.map(\.volume) == [10, 11, 12])
    }

    @Test func missingOHLCFallsBackToClose() throws {
        let series = try parse("""
        timestamp,open,high,low,close,volume
        2024-01-01,,,,100,
        2024-01-02,99,,98,101,5
        """)
        #expect(series.bars == [
            Bar(time: jan1, price: 100, volume: 0),
            Bar(time: jan1 + 86_400, open: 99, high: 101, low: 98, close: 101, volume: 5),
        ])
    }

    @Test func newestFirstFileIsReversed() throws {
        let series = try parse("""
        Date,Open,High,Low,Close,Adj Close,Volume
        2024-01-03,3,3,3,3,3,30
        2024-01-02,2,2,2,2,2,20
        2024-01-01,1,1,1,1,1,10
        """)
        #expect(series.closes == [1, 2, 3])
        #expect(series.bars.map(\.time) == [jan1, jan1 + 86_400, jan1 + 2 * 86_400])
    }

    @Test func numberForms() throws {
        let series = try parse("""
        timestamp,open,high,low,close,volume
        1,+1.5,1e2,0.000123,1.25E+3,0
        2,.5,5.,0.1234567890123456789012,0.1,1e-3
        """)
        #expect(series.bars[0] == Bar(time: 1, open: 1.5, high: 100, low: 0.000123, close: 1250, volume: 0))
        #expect(series.bars[1] == Bar(time: 2, open: 0.5, high: 5, low: Double("0.1234567890123456789012")!, close: 0.1, volume: 0.001))
    }

    @Test func fastNumberPathMatchesStandardParser() throws {
        let texts = ["0.1", "0.3", "42261.04", "123456.789", "9007199254740993", "1.7976931348623157e308",
                     "4.9e-324", "0.000001234", "98765.4321e-3", "3.14159265358979323846"]
        for text in texts {
            var copy = text
            let parsed = copy.withUTF8 { CSVNumber.parse($0, 0, $0.count) }
            #expect(parsed == Double(text), "\(text)")
        }
        for bad in ["", "-", ".", "1e", "1e+", "inf", "nan", "0x10", "1,5", "1.2.3", "1 2", "--1"] {
            var copy = bad
            #expect(copy.withUTF8 { CSVNumber.parse($0, 0, $0.count) } == nil, "\(bad)")
        }
    }
}

@Suite("CSV times")
struct CSVTimeTests {
    @Test(arguments: [
        ("2024-01-01T00:00:00Z", jan1),
        ("2024-01-01t00:00:00z", jan1),
        ("2024-01-01 00:00:00", jan1),
        ("2024-01-01T00:00", jan1),
        ("2024-01-01", jan1),
        ("2024-01-01 00:00:00 UTC", jan1),
        ("2024-01-01T00:00:00.000Z", jan1),
        ("2024-01-01T00:00:00.250Z", jan1 + 0.25),
        ("2024-01-01T02:30:00+02:30", jan1),
        ("2024-01-01T02:00:00+0200", jan1),
        ("2024-01-01T02:00:00+02", jan1),
        ("2023-12-31T19:00:00-05:00", jan1),
        ("2024-02-29T12:00:00Z", jan1 + 59 * 86_400 + 43_200),
        ("1970-01-01", 0),
        ("2000-03-01", 951_868_800),
    ])
    func isoVariants(text: String, expected: TimeInterval) throws {
        #expect(try parsedTime(text) == expected)
    }

    @Test(arguments: [
        ("1704067200", jan1),
        ("1704067200000", jan1),
        ("1704067200500", jan1 + 0.5),
        ("1704067200000000", jan1),
        ("1704067200.5", jan1 + 0.5),
    ])
    func epochSecondsMillisecondsMicroseconds(text: String, expected: TimeInterval) throws {
        #expect(try parsedTime(text) == expected)
    }

    @Test func civilDaysAgreeWithFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        for year in stride(from: 1900, through: 2100, by: 7) {
            for month in 1...12 {
                let day = CivilDate.daysInMonth(year: year, month: month)
                let date = try #require(calendar.date(from: DateComponents(year: year, month: month, day: day)))
                let days = CivilDate.days(year: year, month: month, day: day)
                #expect(Double(days * 86_400) == date.timeIntervalSince1970, "\(year)-\(month)-\(day)")
                #expect(CivilDate.date(days: days) == (year, month, day))
            }
        }
        #expect(CivilDate.iso(jan1 + 3661) == "2024-01-01T01:01:01Z")
    }
}

@Suite("CSV errors")
struct CSVErrorTests {
    @Test func wrongFieldCountNamesTheLine() {
        let error = parseError("timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n\n2024-01-02,1,1,1,1\n")
        #expect(error == .malformedRow(path: "data.csv", line: 4, reason: "expected 6 comma-separated fields like the header, found 5"))
        #expect(error?.description == "data.csv:4: expected 6 comma-separated fields like the header, found 5")
    }

    @Test(arguments: ["2024-13-01", "2023-02-29", "2024-01-01T24:00:00", "2024-01-01T12:60", "yesterday",
                      "2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00 EST", "1.2.3", "", "2024-1-1"])
    func unreadableTimeNamesTheLine(time: String) {
        let error = parseError("timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n\(time),1,1,1,1,1\n")
        #expect(error == .malformedRow(
            path: "data.csv", line: 3,
            reason: "cannot read the time '\(time)' — expected ISO-8601 like 2024-01-31T00:00:00Z, a date like 2024-01-31, or epoch seconds or milliseconds"))
    }

    @Test(arguments: ["abc", "0", "-5", "inf", "nan", "", "null", "1e400"])
    func badCloseNamesTheLine(value: String) {
        let error = parseError("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-01,1,1,1,\(value),1,1\n")
        #expect(error == .badPrice(path: "data.csv", line: 2, value: value))
        #expect(error?.description == "data.csv:2: price '\(value)' is not a positive finite number")
    }

    @Test func badOpenNamesTheLine() {
        let error = parseError("timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,-1,1,1,1,1\n")
        #expect(error == .badPrice(path: "data.csv", line: 3, value: "-1"))
    }

    @Test func badVolumeNamesTheLine() {
        let negative = parseError("snapped_at,price,market_cap,total_volume\n2024-01-01 00:00:00 UTC,5,1,-2\n")
        #expect(negative == .malformedRow(path: "data.csv", line: 2, reason: "volume '-2' is negative"))
        let text = parseError("snapped_at,price,market_cap,total_volume\n2024-01-01 00:00:00 UTC,5,1,lots\n")
        #expect(text == .malformedRow(path: "data.csv", line: 2, reason: "volume 'lots' is not a number"))
    }

    @Test func duplicateTimeIsNotChronological() {
        let error = parseError("""
        timestamp,open,high,low,close,volume
        2024-01-01,1,1,1,1,1
        2024-01-02,1,1,1,1,1
        2024-01-02,1,1,1,1,1
        2024-01-03,1,1,1,1,1
        """)
        #expect(error == .notChronological(path: "data.csv", line: 4))
        #expect(error?.description == "data.csv:4: timestamp is not after the previous row's — rows must be in time order without duplicates")
    }

    @Test func earlierRowInAscendingFileIsNotChronological() {
        let error = parseError("""
        timestamp,open,high,low,close,volume
        2024-01-05,1,1,1,1,1
        2024-01-01,1,1,1,1,1
        2024-01-02,1,1,1,1,1
        2024-01-03,1,1,1,1,1
        """)
        #expect(error == .notChronological(path: "data.csv", line: 3))
    }

    @Test func outOfOrderRowInNewestFirstFileNamesTheLine() {
        let error = parseError("""
        timestamp,open,high,low,close,volume
        2024-01-05,1,1,1,1,1
        2024-01-04,1,1,1,1,1
        2024-01-03,1,1,1,1,1
        2024-01-04,1,1,1,1,1
        2024-01-02,1,1,1,1,1
        """)
        #expect(error == .malformedRow(
            path: "data.csv", line: 5,
            reason: "timestamp is not before the previous row's — a newest-first file must be in strictly descending time order throughout"))
    }

    @Test func unknownHeader() {
        let error = parseError("when,price\n2024-01-01,1\n")
        #expect(error == .unknownHeader(path: "data.csv", header: "when,price"))
        #expect(error?.description.hasPrefix("'data.csv': unrecognised CSV header 'when,price' — expected timestamp,open,high,low,close,volume;") == true)
        #expect(parseError("Date,Open,High,Low,Close,Adj Close\n") == .unknownHeader(path: "data.csv", header: "Date,Open,High,Low,Close,Adj Close"))
    }

    @Test(arguments: ["", "\n\n  \r\n", "\u{FEFF}", "timestamp,open,high,low,close,volume\n", "timestamp,open,high,low,close,volume\n\n\n"])
    func emptyFile(text: String) {
        let error = parseError(text)
        #expect(error == .emptyFile(path: "data.csv"))
        #expect(error?.description == "'data.csv' holds no data rows — expected a CSV header followed by rows")
    }

    @Test func unterminatedQuoteNamesTheLine() {
        let error = parseError("timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,1,1\n2024-01-02,\"1,1,1,1,1\n")
        #expect(error == .malformedRow(path: "data.csv", line: 3, reason: "a quoted field is never closed (missing '\"')"))
    }

    @Test func textAfterClosingQuoteNamesTheLine() {
        let error = parseError("timestamp,open,high,low,close,volume\n2024-01-01,\"1\"x,1,1,1,1\n")
        #expect(error == .malformedRow(path: "data.csv", line: 2, reason: "unexpected text after a closing quote (expected ',' or end of line)"))
    }

    @Test func lineNumbersCountLinesInsideQuotedFields() {
        let error = parseError("timestamp,open,high,low,close,volume,note\n2024-01-01,1,1,1,1,1,\"two\nlines\"\n2024-01-02,1,1,1,x,1,ok\n")
        #expect(error == .badPrice(path: "data.csv", line: 4, value: "x"))
    }
}

@Suite("CSV files")
struct CSVFileTests {
    @Test func loadsFileWithSymbolFromName() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("btc-usd.csv")
        try Data("Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-01,1,2,0.5,1.5,1.5,10\n".utf8).write(to: file)

        let series = try CSVImporter.load(path: file.path)
        #expect(series.symbol == "BTC-USD")
        #expect(series.source == "csv:\(file.path)")
        #expect(series.bars == [Bar(time: jan1, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10)])

        #expect(try CSVImporter.load(path: file.path, symbol: "BTC").symbol == "BTC")
    }

    @Test func errorsNameTheFilePath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("prices.csv")
        try Data("timestamp,open,high,low,close,volume\n2024-01-01,1,1,1,0,1\n".utf8).write(to: file)
        #expect(throws: MarketDataError.badPrice(path: file.path, line: 2, value: "0")) {
            try CSVImporter.load(path: file.path)
        }
        let empty = directory.appendingPathComponent("empty.csv")
        try Data().write(to: empty)
        #expect(throws: MarketDataError.emptyFile(path: empty.path)) { try CSVImporter.load(path: empty.path) }
    }

    @Test func missingFileAndDirectory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nope.csv").path
        #expect(throws: MarketDataError.fileNotFound(path: missing)) { try CSVImporter.load(path: missing) }
        #expect(throws: MarketDataError.notRegularFile(path: directory.path, kind: "a directory")) {
            try CSVImporter.load(path: directory.path)
        }
    }

    @Test func largeFileParsesEveryRow() throws {
        var text = "timestamp,open,high,low,close,volume\n"
        let rows = 100_000
        text.reserveCapacity(rows * 48)
        for i in 0..<rows {
            let price = 100 + Double(i % 1000) / 8
            text += "\(1_600_000_000_000 + i * 60_000),\(price),\(price + 1),\(price - 1),\(price + 0.5),\(i)\n"
        }
        let series = try parse(text)
        #expect(series.count == rows)
        #expect(series.interval == 60)
        #expect(series.bars[rows - 1] == Bar(time: 1_600_000_000 + Double(rows - 1) * 60,
                                              open: 224.875, high: 225.875, low: 223.875, close: 225.375, volume: Double(rows - 1)))
    }
}
