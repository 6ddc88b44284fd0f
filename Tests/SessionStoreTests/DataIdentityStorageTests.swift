import FeedbackLoop
import Foundation
import GRDB
import MarketData
import Testing
@testable import SessionStore

/// `record(…)` with what it was trained on.
private func identified(_ model: ModelKind, version: Int, symbol: String, interval: TimeInterval) -> TrainingRecord {
    let base = record(model, version: version, time: 1_700_200_000 + Double(version))
    return TrainingRecord(time: base.time, model: model, version: version, tier: base.tier, accuracy: base.accuracy,
                          baselineAccuracy: base.baselineAccuracy, trainRows: base.trainRows, testRows: base.testRows,
                          seconds: base.seconds, details: base.details, dataStart: base.dataStart, dataEnd: base.dataEnd,
                          dataSymbol: symbol, dataInterval: interval)
}

@Suite("Session files: what each training's data was (format 3)")
struct DataIdentityStorageTests {
    @Test("a training's symbol and bar interval are written and read back, after save too")
    func roundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, base) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        let trained = identified(.logistic, version: 9, symbol: "ETH ü", interval: 3600.5)
        let model = ModelBlob(record: identified(.logistic, version: 9, symbol: "ETH ü", interval: 3600.5),
                              format: "lr-json-v1", data: Data([1, 2, 3]), dataStart: nil, dataEnd: nil)
        try database.apply(SessionChange.single(newRecords: [trained], newModels: [model]))
        var expected = base
        expected.assets[0].history.append(trained)
        expected.assets[0].models.append(model)
        let read = try database.read()
        #expect(read == expected)
        #expect(read.assets[0].history.last?.dataSymbol == "ETH ü" && read.assets[0].history.last?.dataInterval == 3600.5)
        #expect(read.assets[0].models.last?.record.dataSymbol == "ETH ü")
        let saved = directory + "/copy.lgc"
        try database.save(to: saved, overwrite: false, savedAt: 1_790_000_000)
        let copy = try SessionDatabase.readValidated(path: saved)
        #expect(copy.assets[0].history == expected.assets[0].history && copy.assets[0].models == expected.assets[0].models)
        #expect(try userVersion(saved) == Schema.currentVersion)
    }

    @Test("a format-2 file loads with unknown identity, and opening it upgrades it to the current format")
    func formatTwoLoads() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        // The format-2 file an earlier lgc-shell wrote: no identity columns, no realised returns, one asset.
        let path = directory + "/old.lgc"
        let expected = try writeOldFormatSession(at: path, format: 2)
        #expect(try userVersion(path) == 2)
        let read = try SessionDatabase.readValidated(path: path)
        #expect(read == expected)
        #expect(read.assets[0].history.allSatisfy { $0.dataSymbol == nil && $0.dataInterval == nil })
        #expect(try userVersion(path) == 2, "load's check leaves the file as it is")
        let database = try SessionDatabase.open(at: path)
        #expect(try userVersion(path) == Schema.currentVersion)
        #expect(try database.read() == expected)
        database.close()
    }

    @Test("a stored bar interval outside the duration bound is refused")
    func badIntervalRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _) = try writeRichSession(in: directory)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "UPDATE training_runs SET data_symbol = 'X', data_interval = -5 WHERE id = 1") }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: path) }
                == .outOfRange(path: path, field: "training record 1 bar interval", value: -5, bounds: .duration))
    }

    @Test("auto mode's data source is a value; the fetch arguments older sessions stored still read")
    func dataSourceAndItsLegacyText() throws {
        var config = LoopConfig()
        config.automation.source = .demo(days: 30, seed: 7, end: 1_795_132_800)
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(json.contains(#""sources":[{"demo":{"#) && !json.contains("refetch"))
        #expect(try ConfigCheck.decode(json) == config)
        // What a session before this type wrote: the `fetch` arguments as text.
        func legacy(_ text: String) throws -> LoopConfig {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            object["automation"] = ["enabled": true, "tiers": [1], "refetch": text]
            return try ConfigCheck.decode(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        #expect(try legacy("demo 30 --seed 7 --end 2026-11-20T00:00:00Z").automation.source
                == .demo(days: 30, seed: 7, end: TimeText.parse("2026-11-20")))
        #expect(try legacy("demo 5 --seed 42").automation.source == .demo(days: 5, seed: 42, end: nil))
        #expect(try legacy("ethereum 90 --source coingecko").automation.source == .coinGecko(coin: "ethereum", days: 90))
        #expect(try legacy("demo 5 --seed 42").automation.enabled)
        for bad in ["demo", "demo 0 --seed 1", "demo 5 --seed -1", "demo 5 --seed 1 --end soon", "bitcoin 5", "x 5 --source yahoo"] {
            #expect(throws: (any Error).self, "\(bad)") { _ = try legacy(bad) }
        }
    }

    @Test("a config stored before max_model_age existed reads with its default, auto")
    func configWithoutMaxModelAge() throws {
        var config = LoopConfig()
        try config.set("tier1_interval", to: "2h")
        let data = try JSONEncoder().encode(config)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object.removeValue(forKey: "maxModelAge") != nil)
        let old = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        let read = try ConfigCheck.decode(old)
        #expect(read.maxModelAge == .auto)
        #expect(read == config)
        // A set value comes back as it was.
        try config.set("max_model_age", to: "0")
        #expect(try ConfigCheck.decode(String(decoding: try JSONEncoder().encode(config), as: UTF8.self)).maxModelAge == .never)
    }
}
