import Foundation
import Testing
@testable import MarketData

/// Every kind of bound `Bounded` has, so a test over all of them covers every numeric entry.
private let everyKind: [Bounded] = [.number(-1e6...1e6), .positive(maximum: 1), .fraction(below: 1), .whole(-1_000_000...1_000_000),
                                    .duration, .clockOffset, .time, .price, .volume]

@Suite("Bounds: one syntax and one range per kind of number")
struct BoundsTests {
    /// Written numbers no bound reads, whatever its range: not plain decimals, not finite, subnormal or far too big.
    static let odd = ["nan", "-nan", "NaN", "inf", "-inf", "+inf", "infinity", "0x10", "0x1p3", "1e-320", "-1e-320", "1e400",
                      "-1e400", "1e400h", "9999999999999999w", "1e19", "9223372036854775808", "-9223372036854775809",
                      "99999999999999999999999999", "", " ", "+", "-", ".", "1.2.3", "1e", "e5", "1_000", "١٢", "1,5", "12abc",
                      "1h 30x", "1e308", "-1e308"]

    @Test(arguments: odd)
    func oddNumbersAreRefusedByEveryKind(text: String) {
        for bounds in everyKind { #expect(bounds.parse(text) == nil, "\(bounds) read '\(text)'") }
    }

    @Test(arguments: [
        ("6h", Bounded.duration, 21_600.0), ("1h30m", .duration, 5400), ("1.5h", .duration, 5400), ("3600", .duration, 3600),
        ("1s", .duration, 1), ("36525d", .duration, Bounded.century), ("-0", .number(-1...1), 0), ("+0.5", .number(-1...1), 0.5),
        ("1e12", .price, 1e12), ("1e-12", .price, 1e-12), ("0", .volume, 0), ("42", .whole(1...3650), 42),
        ("1970-01-01", .time, 0), ("2199-12-31T23:59:59Z", .time, Bounded.endOfTime - 1), ("1700000000", .time, 1_700_000_000),
    ])
    func wellFormedValuesInRangeAreRead(text: String, bounds: Bounded, value: Double) throws {
        let read = try #require(bounds.parse(text))
        #expect(read == value)
        #expect(read.sign == .plus || read != 0, "-0 reads as 0")
    }

    @Test(arguments: [
        ("0.5s", Bounded.duration), ("0", .duration), ("-0", .duration), ("36526d", .duration), ("5300w", .duration),
        ("1e-13", .price), ("1.000001e12", .price), ("0", .price), ("-1", .volume), ("1.5", .whole(1...3650)),
        ("3651", .whole(1...3650)), ("1e3", .whole(1...3650)), ("2200-01-01", .time), ("9999-12-31", .time),
        ("1000000000000000000000000000000", .time), ("0", .positive(maximum: 1)), ("1", .fraction(below: 1)),
    ])
    func valuesJustOutsideTheirRangeAreRefused(text: String, bounds: Bounded) {
        #expect(bounds.parse(text) == nil)
    }

    @Test func theLimitsAreTheDocumentedOnes() {
        #expect(CivilDate.iso(Bounded.endOfTime) == "2200-01-01T00:00:00Z")
        #expect(Bounded.century == 100 * 365.25 * 86_400)
        #expect(Bounded.time.contains(0) && !Bounded.time.contains(-1) && !Bounded.time.contains(Bounded.endOfTime))
        #expect(Bounded.price.contains(1e12) && !Bounded.price.contains(1e12.nextUp) && !Bounded.price.contains(1e308))
        #expect(!Bounded.volume.contains(-0.1) && !Bounded.volume.contains(.infinity) && Bounded.volume.contains(0))
        #expect(Bounded.clockOffset.contains(-Bounded.century) && !Bounded.clockOffset.contains(Bounded.century.nextUp))
        #expect(Bounded.whole(1...Int(Bounded.largestWhole)).parseWhole("9007199254740991") == 9_007_199_254_740_991)
        #expect(Bounded.whole(1...Int(Bounded.largestWhole)).parseWhole("9007199254740992") == nil)
    }

    @Test(arguments: [
        (Bounded.duration, "a duration from 1s to 100 years, such as 90m, 6h or 2d"),
        (.clockOffset, "a duration from -100 years to 100 years, such as 90m, 6h or 2d"),
        (.duration.atLeast(3600), "a duration from 1h to 100 years"),
        (.time, "a time from 1970-01-01 up to (not including) 2200-01-01, such as 2026-11-20 or 2026-11-20T10:00"),
        (.price, "a number from 1e-12 to 1e12"),
        (.volume, "a number from 0 to 1e18"),
        (.whole(1...3650), "a whole number from 1 to 3650"),
        (.number(0...1), "a number from 0 to 1"),
        (.number(0.05...0.5), "a number from 0.05 to 0.5"),
        (.positive(maximum: 1000), "a number above 0 and at most 1000"),
        (.fraction(below: 1), "a number from 0 up to (not including) 1"),
    ])
    func wording(bounds: Bounded, expected: String) {
        #expect(bounds.expected == expected)
    }

    @Test func formattingNeverTrapsOnAnyDouble() {
        for value in [1e300, -1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 1e15, 9.3e18] {
            _ = DurationText.format(value)
            _ = ISOTime.format(value)
            _ = ISOTime.short(value)
            _ = CivilDate.iso(value)
        }
        #expect(DurationText.format(1e300) == "1e+300s")
        #expect(ISOTime.format(1e30) == "1e+30")
    }
}

@Suite("Bounds at the market data sources")
struct SourceBoundsTests {
    private func csvError(_ text: String) -> MarketDataError? {
        do {
            _ = try CSVImporter.parse(text: text, path: "data.csv", symbol: "T")
            return nil
        } catch {
            return error as? MarketDataError
        }
    }

    @Test func aCloseOf1e308IsRefusedWithItsLine() {
        let error = csvError("timestamp,open,high,low,close,volume\n1700000000,1,1,1,1,1\n1700003600,1,1,1,1e308,1\n")
        #expect(error == .outOfRange(origin: "data.csv:3", field: "close", value: "1e308", bounds: .price))
        #expect(error?.description == "data.csv:3: close '1e308' is out of range — expected a number from 1e-12 to 1e12")
    }

    @Test func aTimestampOf1e30IsRefusedWithItsLine() {
        let huge = "1" + String(repeating: "0", count: 30)
        let error = csvError("timestamp,open,high,low,close,volume\n1700000000,1,1,1,1,1\n\(huge),1,1,1,1,1\n")
        #expect(error == .outOfRange(origin: "data.csv:3", field: "time", value: huge, bounds: .time))
        #expect(error?.description == "data.csv:3: time '\(huge)' is out of range — expected a time from 1970-01-01 up to (not including) 2200-01-01, such as 2026-11-20 or 2026-11-20T10:00")
    }

    @Test(arguments: [
        ("1700000000,1,1,1,1e-320,1", "close", "1e-320"), ("1700000000,1e13,1,1,1,1", "open", "1e13"),
        ("1700000000,1,1,1e-13,1,1", "low", "1e-13"), ("1700000000,1,1,1,1,1e30", "volume", "1e30"),
        ("1969-12-31,1,1,1,1,1", "time", "1969-12-31"), ("99999999999,1,1,1,1,1", "time", "99999999999"), ("9999-01-01,1,1,1,1,1", "time", "9999-01-01"),
    ])
    func everyFieldIsBoundedAndNamed(row: String, field: String, value: String) {
        let error = csvError("timestamp,open,high,low,close,volume\n\(row)\n")
        guard case .outOfRange(let origin, let named, let written, _)? = error else {
            Issue.record("not refused as out of range: \(String(describing: error))")
            return
        }
        #expect(origin == "data.csv:2" && named == field && written == value)
    }

    @Test(arguments: [1e30, -1e30])
    func aCoinGeckoTimeOfPlusOrMinus1e30IsRefused(time: Double) {
        let body = #"{"prices": [[1704067200000, 42000], [\#(time), 42001]]}"#
        #expect(throws: MarketDataError.outOfRange(origin: "CoinGecko answer for 'bitcoin', prices[1]", field: "time (ms)",
                                                   value: "\(time)", bounds: .time)) {
            try CoinGeckoClient.parse(json: Data(body.utf8), coin: "bitcoin")
        }
    }

    @Test func aCoinGeckoPriceOrVolumeOutOfRangeIsRefused() {
        let price = #"{"prices": [[1704067200000, 1e300]]}"#
        #expect(throws: MarketDataError.outOfRange(origin: "CoinGecko answer for 'bitcoin', prices[0]", field: "price",
                                                   value: "1e+300", bounds: .price)) {
            try CoinGeckoClient.parse(json: Data(price.utf8), coin: "bitcoin")
        }
        let volume = #"{"prices": [[1704067200000, 1]], "total_volumes": [[1704067200000, 1e30]]}"#
        #expect(throws: MarketDataError.outOfRange(origin: "CoinGecko answer for 'bitcoin', prices[0]", field: "volume",
                                                   value: "1e+30", bounds: .volume)) {
            try CoinGeckoClient.parse(json: Data(volume.utf8), coin: "bitcoin")
        }
    }

    @Test func theDemoMarketRefusesAnEndOutsideTheTimeBound() {
        #expect(throws: MarketDataError.self) { try DemoMarket.generate(days: 1, endingAt: 1e30) }
    }
}

@Suite("import reads only regular files")
struct ImportFileKindTests {
    @Test func devNullIsACharacterDeviceNotAPermissionProblem() {
        #expect(throws: MarketDataError.notRegularFile(path: "/dev/null", kind: "a character device")) {
            try CSVImporter.load(path: "/dev/null")
        }
        #expect(MarketDataError.notRegularFile(path: "/dev/null", kind: "a character device").description
                == "cannot import '/dev/null': it is a character device, not a regular file")
    }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let path = NSTemporaryDirectory() + "lgc-fifo-\(UUID().uuidString)"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(throws: MarketDataError.notRegularFile(path: path, kind: "a FIFO (named pipe)")) { try CSVImporter.load(path: path) }
    }

    @Test func aDirectoryAndAnEmptyFileSayWhatIsWrong() throws {
        let directory = NSTemporaryDirectory() + "lgc-kinds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: MarketDataError.notRegularFile(path: directory, kind: "a directory")) { try CSVImporter.load(path: directory) }
        let empty = directory + "/empty.csv"
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: MarketDataError.emptyFile(path: empty)) { try CSVImporter.load(path: empty) }
    }
}
