import Foundation
import Testing

/// `data store`: every imported or fetched series is kept in the market store and listed with its gaps (issue 14).
@Suite struct MarketStoreCommands {
    let directory: URL
    init() throws { directory = try ShellProcess.temporaryDirectory() }

    /// An hourly CSV of 200 bars with hours 50–54 missing.
    func csv() throws -> String {
        var text = "date,open,high,low,close,volume\n"
        for hour in 0..<200 where !(50..<55).contains(hour) {
            let time = Date(timeIntervalSince1970: 1_767_225_600 + Double(hour) * 3600).ISO8601Format()
            text += "\(time),\(100 + hour),\(101 + hour),\(99 + hour),\(100 + hour),\(10 + hour)\n"
        }
        let path = directory.appendingPathComponent("xyz.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ script: String, json: Bool = true) throws -> ShellProcess.Result {
        try ShellProcess.run((json ? ["--format", "json"] : []) + ["-q", "-c", script],
                             environment: ["LGC_SESSIONS": directory.appendingPathComponent("sessions").path, "NO_COLOR": "1"])
    }

    @Test func anImportIsKeptListedAndPruned() throws {
        let path = try csv()
        let result = try run("import \(path) --symbol XYZ; fetch demo 3; data store")
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try #require(try result.jsonObjects().last)
        #expect(listing["path"] as? String == directory.appendingPathComponent("sessions/market.sqlite").path)
        let series = try #require(listing["series"] as? [[String: Any]])
        #expect(series.count == 1, "demo bars are generated again at no cost, so they are not kept")
        #expect(series.first?["symbol"] as? String == "XYZ")
        #expect(series.first?["rows"] as? Int == 195)
        #expect(series.first?["interval_seconds"] as? Double == 3600)
        let gaps = try #require(series.first?["gaps"] as? [String: Any])
        #expect(gaps["count"] as? Int == 1 && gaps["largest_seconds"] as? Double == 5 * 3600, "5 hours missing")

        // A second shell sees the same store; pruning says what went.
        let pruned = try run("data store prune XYZ; data store", json: false)
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stdout.hasPrefix("removed csv:\(path) XYZ 1h (195 bars) from the market store"), "\(pruned.stdout)")
        #expect(pruned.stdout.contains("keeps no series yet"), "\(pruned.stdout)")
    }

    @Test func dataReportsTheLoadedSeriesGaps() throws {
        let path = try csv()
        let text = try run("import \(path) --symbol XYZ; data", json: false)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("  gaps      1 (the largest: 5h missing)"), "\(text.stdout)")
        let json = try run("import \(path) --symbol XYZ; data")
        let gaps = try #require(try json.jsonObjects().last?["gaps"] as? [String: Any])
        #expect(gaps["count"] as? Int == 1 && gaps["largest_seconds"] as? Double == 5 * 3600)
        // A series without gaps says nothing about them in text, and count 0 in JSON.
        let demo = try run("fetch demo 3; data", json: false)
        #expect(!demo.stdout.contains("gaps"), "\(demo.stdout)")
    }

    @Test(arguments: [
        ("data store prune NOPE", "the market store keeps no series of NOPE"),
        ("data store NOPE", "data: expected 'prune', got 'NOPE' — usage: data ?store ?prune? ?SYMBOL??"),
        ("data stor", "data: unknown subcommand 'stor' — expected 'store ?prune? ?SYMBOL?' — usage: data ?store ?prune? ?SYMBOL??"),
    ])
    func badStoreCommandsAreOneLine(line: String, message: String) throws {
        let result = try run(line, json: false)
        #expect(result.status == 1)
        #expect(result.stderr == "-c:1: error: \(message)\n", "\(result.stderr)")
    }
}

/// `--days N` means N calendar days of bars, whatever the bar interval or trading calendar (issue 14).
@Suite struct CalendarDays {
    @Test func replayDaysAreCalendarDaysOnAMarketWithWeekends() throws {
        let directory = try ShellProcess.temporaryDirectory()
        // Hourly bars on weekdays only (an FX-like calendar), 8 weeks, a gentle random walk.
        var text = "date,open,high,low,close,volume\n"
        var price = 1.1, state: UInt64 = 7
        var bars = 0
        for hour in 0..<(56 * 24) {
            let time = 1_767_571_200 + Double(hour) * 3600   // 2026-01-05, a Monday
            let weekday = (hour / 24) % 7                      // 0 = Monday … 5, 6 = the weekend
            guard weekday < 5 else { continue }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            price *= 1 + (Double(state >> 33) / Double(1 << 31) - 0.5) * 0.004
            text += "\(Date(timeIntervalSince1970: time).ISO8601Format()),\(price),\(price * 1.001),\(price * 0.999),\(price),100\n"
            bars += 1
        }
        let path = directory.appendingPathComponent("eurusd.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           "set xgboost.threads 1; import \(path) --symbol EURUSD; replay --days 14 --tiers 1 --baselines off"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try result.jsonObjects().last)
        // The data ends on a Friday's last hour; the 14 calendar days before it hold two weekends and 10 weekdays
        // of 24 bars: 240 steps — not the 336 bars 14 × 24 would count back (20 calendar days on this calendar).
        #expect(report["steps"] as? Int == 240, "\(report["steps"] ?? "none") steps")
    }
}
