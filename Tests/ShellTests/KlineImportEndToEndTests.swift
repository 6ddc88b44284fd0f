import Foundation
import Testing
import ZIPFoundation

/// `import` of Binance kline zips through the real binary.
@Suite struct KlineImportEndToEndTests {
    /// `NAME.zip` holding `NAME.csv`: hourly header-less 12-column rows opening at 2024-01-01 + k hours.
    static func zip(_ folder: URL, _ name: String, hours: some Sequence<Int>, micros: Bool = false) throws {
        var text = ""
        let scale: Int64 = micros ? 1000 : 1
        for k in hours {
            let open = (1_704_067_200_000 + Int64(k) * 3_600_000) * scale
            let price = 100 + Double(k % 50)
            text += "\(open),\(price),\(price + 1),\(price - 1),\(price),10,\(open + 3_600_000 * scale - 1),1000,5,5,500,0\n"
        }
        let data = Data(text.utf8)
        let archive = try Archive(url: folder.appendingPathComponent(name + ".zip"), accessMode: .create)
        try archive.addEntry(with: name + ".csv", type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) {
            position, size in data.subdata(in: Int(position)..<Int(position) + size)
        }
    }

    @Test func twoZippedMonthsImportWithTheirGapsAndDuplicates() throws {
        let folder = try ShellProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        // January without 3 hours from hour 100; February in µs, overlapping January's last hour.
        try Self.zip(folder, "BTCUSDT-1h-2024-01", hours: (0..<744).filter { !(100..<103).contains($0) })
        try Self.zip(folder, "BTCUSDT-1h-2024-02", hours: 743..<1440, micros: true)
        let pattern = folder.path + "/BTCUSDT-1h-2024-*.zip"

        let text = try ShellProcess.run(["-c", "import \"\(pattern)\"; data"], environment: ["NO_COLOR": "1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("from 2 files: 1437 rows, 1 duplicate dropped, 1 gap (largest 3h)"))
        #expect(text.stdout.contains("Loaded 1437 1h bars of BTCUSDT"))
        #expect(text.stdout.contains("1437 1h bars of BTCUSDT (csv:\(pattern))"), "data shows the rows")

        let json = try ShellProcess.run(["--json", "-c", "import \"\(pattern)\"; data"])
        #expect(json.status == 0, "\(json.stderr)")
        let objects = try json.jsonObjects()
        let report = try #require(objects.first)
        #expect(report["files"] as? Int == 2)
        #expect(report["rows"] as? Int == 1437)
        #expect(report["duplicates"] as? Int == 1)
        let gaps = try #require(report["gaps"] as? [String: Any])
        #expect(gaps["count"] as? Int == 1)
        #expect(gaps["largest_seconds"] as? Double == 10_800)
        #expect(objects.last?["rows"] as? Int == 1437)
    }

    @Test func aBadImportSaysWhatFailedAndLeavesTheDataAsItWas() throws {
        let folder = try ShellProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.zip(folder, "BTCUSDT-1h-2024-01", hours: 0..<48)
        try Data("not a zip".utf8).write(to: folder.appendingPathComponent("BTCUSDT-1h-2024-02.zip"))
        let result = try ShellProcess.run(["--keep-going", "-c", "fetch demo 5; import \(folder.path); import \(folder.path)/ETH*.zip; data"],
                                          environment: ["NO_COLOR": "1"])
        #expect(result.stderr.contains("error: '\(folder.path)/BTCUSDT-1h-2024-02.zip' is not a readable zip archive (damaged or truncated) — download it again (data.binance.vision publishes a .CHECKSUM beside each zip)"))
        #expect(result.stderr.contains("error: no file matches '\(folder.path)/ETH*.zip' — check the folder and pattern (Tab completes paths)"))
        #expect(result.stdout.contains("120 1h bars of DEMO"), "the demo data is still loaded: \(result.stdout)")
    }
}
