import Foundation
import MarketData
@testable import Shell
import Testing

/// Several assets in one session, from the shell: `fetch binance A B C`, `assets`, `asset NAME`, `--asset NAME|all`,
/// sessions that keep them all.
@Suite(.serialized) struct MultiAssetShell {
    static func objects(_ stdout: String) -> [[String: Any]] {
        stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    @Test func threePairsAreThreeAssetsWithTheirOwnModels() throws {
        let server = try KlineServer(known: ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        defer { server.stop() }
        let script = """
        fetch binance BTCUSDT ETHUSDT SOLUSDT 20
        assets
        asset ethusdt
        train tier1 --asset all
        status --asset SOLUSDT
        predict --asset BTCUSDT
        assets
        asset NOPE
        train tier1 --asset NOPE
        """
        let result = try ShellProcess.run(["--format", "json", "--keep-going"], stdin: script + "\n", environment: ["LGC_BINANCE_URL": server.url])
        let objects = Self.objects(result.stdout)
        #expect(objects.count == 9, "\(result.stdout)\n\(result.stderr)")
        let fetched = try #require(objects.first?["assets"] as? [[String: Any]])
        #expect(fetched.map { $0["asset"] as? String } == ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        let listed = try #require(objects[1]["assets"] as? [[String: Any]])
        #expect(listed.count == 3)
        #expect(listed.map { $0["focus"] as? Bool } == [false, false, true], "the last loaded asset has the focus")
        #expect(objects[2]["asset"] as? String == "ETHUSDT")
        if objects[3]["assets"] == nil { Issue.record("train: \(objects[3])") }
        let trained = try #require(objects[3]["assets"] as? [[String: Any]])
        #expect(trained.count == 3)
        #expect(trained.allSatisfy { ($0["results"] as? [String: Any])?["logistic"] != nil })
        let after = try #require(objects[6]["assets"] as? [[String: Any]])
        #expect(after.map { ($0["models"] as? [String: Any])?["logistic"] as? Int } == [1, 1, 1], "each its own v1")
        #expect(after.map { $0["focus"] as? Bool } == [false, true, false], "--asset does not move the focus")
        #expect(objects[7]["ok"] as? Bool == false)
        #expect((objects[7]["error"] as? String)?.contains("no asset 'NOPE' is loaded — loaded: BTCUSDT, ETHUSDT, SOLUSDT") == true)
        #expect(objects[8]["ok"] as? Bool == false)
    }

    @Test func anUnknownPairAmongSeveralLoadsNone() throws {
        let server = try KlineServer(known: ["BTCUSDT"])
        defer { server.stop() }
        let result = try ShellProcess.run(["--format", "json", "--keep-going"], stdin: "fetch demo 20\nfetch binance BTCUSDT NOSUCH 5\nassets\n",
                                          environment: ["LGC_BINANCE_URL": server.url])
        let objects = Self.objects(result.stdout)
        #expect(objects.count == 3)
        #expect(objects[1]["ok"] as? Bool == false)
        let listed = try #require(objects[2]["assets"] as? [[String: Any]])
        #expect(listed.map { $0["asset"] as? String } == ["DEMO"], "nothing of the failed fetch was loaded")
    }

    @Test func exportAllWritesOneFilePerAsset() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-assets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try KlineServer(known: ["BTCUSDT", "ETHUSDT"])
        defer { server.stop() }
        let path = folder.appendingPathComponent("features.csv").path
        let result = try ShellProcess.run(stdin: "fetch binance BTCUSDT ETHUSDT 10\nexport features \(path) --asset all\n",
                                          environment: ["LGC_BINANCE_URL": server.url])
        #expect(result.status == 0, "\(result.stderr)")
        for symbol in ["BTCUSDT", "ETHUSDT"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("features-\(symbol).csv").path))
        }
    }
}

/// Three assets through save and load, and a pooled-versus-own comparison over all of them.
@Suite(.serialized) struct MultiAssetSessions {
    /// An hourly CSV of `symbol`: a seeded random walk with a slow wave, 30 days ending at the demo's end.
    static func hourlyCSV(_ symbol: String, seed: UInt64, in folder: URL) throws -> String {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let end = (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600
        var text = "timestamp,open,high,low,close,volume\n", price = 100.0
        for index in 0..<(30 * 24) {
            let open = price
            price *= exp((uniform() - 0.5) * 0.02 + 0.003 * sin(Double(index) / 9))
            text += "\(Int(end) - (30 * 24 - 1 - index) * 3600),\(open),\(max(open, price) * 1.002),\(min(open, price) * 0.998),\(price),\(1000 + uniform() * 500)\n"
        }
        let path = folder.appendingPathComponent("\(symbol).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func threeAssetsRoundTripAndPoolingIsComparedOverAll() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let eth = try Self.hourlyCSV("ETHUSDT", seed: 3, in: directory), sol = try Self.hourlyCSV("SOLUSDT", seed: 5, in: directory)
        let environment = ["LGC_SESSIONS": directory.path]
        let first = try ShellProcess.run(["--format", "json", "-c",
                                          "fetch demo 30 --seed 7; import \(eth) \(sol); train tier1 --asset all; asset ETHUSDT; predict --asset all; save three"],
                                         environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let before = try #require(MultiAssetShell.objects(first.stdout)[4]["assets"] as? [[String: Any]])
        let second = try ShellProcess.run(["--format", "json", "-c",
                                           "load three; assets; predict --asset all; replay --asset all --days 3 --tiers 1 --compare training_pool=self,all"],
                                          environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        let objects = MultiAssetShell.objects(second.stdout)
        #expect(objects[0]["assets"] as? [String] == ["DEMO", "ETHUSDT", "SOLUSDT"])
        #expect(objects[0]["symbol"] as? String == "ETHUSDT", "the focus is kept")
        let listed = try #require(objects[1]["assets"] as? [[String: Any]])
        #expect(listed.map { ($0["models"] as? [String: Any])?["logistic"] as? Int } == [1, 1, 1])
        #expect(listed.map { $0["scored"] as? Int } == [0, 0, 0])
        // The same models on the same bars predict exactly the same after the round trip.
        let after = try #require(objects[2]["assets"] as? [[String: Any]])
        #expect(after.map { $0["ensemble"] as? Double } == before.map { $0["ensemble"] as? Double })
        #expect(after.compactMap { $0["ensemble"] as? Double }.count == 3)
        // Per asset, and over all three with an interval.
        let replay = objects[3]
        #expect((replay["assets"] as? [[String: Any]])?.count == 3)
        let overAll = try #require(replay["over_all"] as? [String: Any])
        #expect(overAll["assets"] as? [String] == ["DEMO", "ETHUSDT", "SOLUSDT"])
        let comparisons = try #require(overAll["comparisons"] as? [[String: Any]])
        #expect(!comparisons.isEmpty, "\(overAll)")
    }
}
