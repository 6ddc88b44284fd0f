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
