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
