import FeedbackLoop
import Foundation
import GRDB
import MarketData
import Testing
@testable import SessionStore

/// Asset `position` of `threeAssets()`: its own symbol, bars, trainings, blobs (the same model versions as the others
/// hold: versions are per asset), log, predictions and tier clocks. Asset 1 has no pending prediction and no tiers.
private func storedAsset(_ position: Int) -> StoredAsset {
    let k = UInt64(position)
    var asset = StoredAsset()
    let bars = awkwardSeries(count: 40 + 30 * position, seed: 100 + k).bars
    asset.series = PriceSeries(symbol: ["BTC-USD", "ETH-USD", "SOL ü"][position], source: "csv:/data/\(position).csv", bars: bars)
    asset.models = [blob(.logistic, version: 1, bytes: 200 + position, seed: 10 + k),
                    blob(.xgboost, version: 1, bytes: 3_000 * (position + 1), seed: 20 + k),
                    blob(.logistic, version: 2, bytes: 50, seed: 30 + k)]
    asset.history = asset.models.map(\.record) + [record(.lstm, version: 1, time: 1_700_200_000 + Double(position) / 3)]
    asset.currentVersions = position == 2 ? [.logistic: 1, .xgboost: 1] : [.logistic: 2, .xgboost: 1]
    asset.outcomes = outcomes(6 + 7 * position, seed: 40 + k)
    asset.totalLogged = asset.outcomes.count
    asset.totalCorrect = asset.outcomes.filter(\.correct).count
    let made = makePrediction(signal: .sell, ensemble: 0.25 + Double(position) / 7, models: [(.logistic, 0.2), (.xgboost, 1.0 / 3)],
                              weights: [(.logistic, 0.4), (.xgboost, 0.6)], price: 1_234.567 + Double(position),
                              barTime: 1_700_360_000, madeAt: 1_700_360_000.125)
    asset.pending = position == 1 ? nil : made
    asset.predictions = position == 1 ? [] : [made]
    if position != 1 {
        asset.lastTraining = [1: 1_700_300_000 + Double(position) / 3, 2: 1_700_100_001]
        asset.logMarks = [1: asset.totalLogged, 2: 0]
    }
    return asset
}

/// A session of three assets, focused on the last, with replays that name the asset they ran on.
private func threeAssets() -> SessionState {
    var state = SessionState()
    try! state.config.set("tier1_interval", to: "90m")
    state.clockOffset = 1.0 / 3
    state.assets = (0..<3).map(storedAsset)
    state.focus = 2
    var second = replayEntry(2)
    second.asset = 1
    state.replays = [replayEntry(1), second]
    state.commands = [CommandEntry(at: 1, text: "fetch", output: "ü", ok: true)]
    state.name = "three"
    return state
}

/// The changes that build `state` (made by `threeAssets`) command by command: assets added by updates for the next
/// position, two of them in one change, and each log appended in two parts.
private func changes(building state: SessionState) -> [SessionChange] {
    func update(_ asset: StoredAsset, firstHalf: Bool) -> AssetUpdate {
        let half = asset.outcomes.count / 2
        guard firstHalf else { return AssetUpdate(newOutcomes: Array(asset.outcomes[half...])) }
        return AssetUpdate(series: asset.series, newRecords: asset.history, newModels: asset.models,
                           currentVersions: asset.currentVersions, newOutcomes: Array(asset.outcomes[..<half]),
                           pending: .some(asset.pending), newPredictions: asset.predictions,
                           tierState: (asset.lastTraining, asset.logMarks))
    }
    let assets = state.assets
    return [
        SessionChange(config: state.config, clockOffset: state.clockOffset, assets: [0: update(assets[0], firstHalf: true)],
                      command: state.commands[0]),
        SessionChange(assets: [1: update(assets[1], firstHalf: true), 2: update(assets[2], firstHalf: true)],
                      newReplays: [state.replays[0]]),
        SessionChange(focus: 2, assets: [2: update(assets[2], firstHalf: false), 0: update(assets[0], firstHalf: false)]),
        SessionChange(assets: [1: update(assets[1], firstHalf: false)], newReplays: [state.replays[1]], name: .some(state.name)),
    ]
}

/// Every double of every bar, as bits.
private func barBits(_ state: SessionState) -> [[UInt64]] {
    state.assets.map { asset in
        (asset.series?.bars ?? []).flatMap { [$0.time, $0.open, $0.high, $0.low, $0.close, $0.volume].map(\.bitPattern) }
    }
}

@Suite("Session files: several assets (format 5)")
struct MultiAssetTests {
    @Test("three assets written whole read back equal, doubles bit for bit, after save too")
    func replaceAllRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let state = threeAssets()
        #expect(Set(state.assets.compactMap(\.series?.symbol)).count == 3 && state.assets[1].pending == nil)
        let database = try SessionDatabase.create(at: directory + "/three.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        try database.replaceAll(with: state)
        let read = try database.read()
        #expect(read == state)
        #expect(barBits(read) == barBits(state))
        #expect(read.assets.map(\.totalLogged) == [6, 13, 20] && read.focus == 2)
        #expect(read.replays.map(\.asset) == [nil, 1])
        try database.save(to: directory + "/copy.lgc", overwrite: false, savedAt: 1_790_000_000)
        var copy = state
        copy.name = "copy"
        #expect(try SessionDatabase.readValidated(path: directory + "/copy.lgc") == copy)
        // Back to one asset: the others' rows go.
        try database.replaceAll(with: SessionState())
        #expect(try database.read() == SessionState())
    }

    @Test("load's page copy: the validated snapshot becomes the working file, in WAL, with its own created_at and checkpoint")
    func pageCopy() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let state = threeAssets()
        let source = try SessionDatabase.create(at: directory + "/source.lgc", createdAt: 1_700_000_000)
        try source.replaceAll(with: state)
        try source.save(to: directory + "/saved.lgc", overwrite: false, savedAt: 1_790_000_000)
        source.close()
        let validated = try SessionDatabase.validatedSnapshot(path: directory + "/saved.lgc")
        var named = state
        named.name = "saved"
        #expect(validated.state == named)
        // A working file with something else in it, made later.
        let working = try SessionDatabase.create(at: directory + "/.unsaved-1.lgc", createdAt: 1_795_000_000)
        defer { working.close() }
        try working.replaceAll(with: SessionState())
        try working.replaceAll(with: validated, checkpoint: directory + "/saved.lgc")
        #expect(try working.read() == named)
        #expect(barBits(try working.read()) == barBits(state))
        #expect(working.checkpoint() == directory + "/saved.lgc")
        let queue = try DatabaseQueue(path: directory + "/.unsaved-1.lgc")
        defer { try? queue.close() }
        let (created, savedAt, mode) = try queue.read { db in
            (try Double.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'created_at'"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM meta WHERE key = 'saved_at'"),
             try String.fetchOne(db, sql: "PRAGMA journal_mode"))
        }
        #expect(created == 1_795_000_000 && savedAt == 0 && mode == "wal")
        // Changes go on into the copy as into any working file.
        try working.apply(SessionChange(focus: 0))
        #expect(try working.read().focus == 0)
    }

    @Test("the same three assets built by a sequence of changes read back equal")
    func applyRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let state = threeAssets()
        let database = try SessionDatabase.create(at: directory + "/three.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        for change in changes(building: state) { try database.apply(change) }
        let read = try database.read()
        #expect(read == state)
        #expect(barBits(read) == barBits(state))
    }

    @Test("each asset's log runs 1…n on its own, in the file as in the values")
    func perAssetSequences() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/two.lgc"
        let database = try SessionDatabase.create(at: path, createdAt: 1_790_000_000)
        try database.apply(SessionChange(assets: [0: AssetUpdate(newOutcomes: outcomes(5)),
                                                  1: AssetUpdate(newOutcomes: outcomes(3, seed: 9))]))
        try database.apply(SessionChange(assets: [1: AssetUpdate(newOutcomes: outcomes(4, after: 3, seed: 8))]))
        let read = try database.read()
        #expect(read.assets.map { $0.outcomes.map(\.sequence) } == [Array(1...5), Array(1...7)])
        #expect(read.assets.map(\.totalLogged) == [5, 7])
        #expect(read.assets[1].totalCorrect == read.assets[1].outcomes.filter(\.correct).count)
        database.close()
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let rows = try queue.read { db in
            try Row.fetchAll(db, sql: "SELECT asset, min(sequence), max(sequence), count(*) FROM outcomes GROUP BY asset ORDER BY asset")
                .map { [$0[0], $0[1], $0[2], $0[3]] as [Int] }
        }
        #expect(rows == [[0, 1, 5, 5], [1, 1, 7, 7]])
        let totals = try queue.read { try Row.fetchAll($0, sql: "SELECT asset, total_logged FROM assets").map { [$0[0], $0[1]] as [Int] } }
        #expect(totals == [[0, 5], [1, 7]])
    }

    @Test("an update for an asset beyond the next one, a gap in one asset's log and a focus on no asset are refused")
    func refusedChanges() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/refused.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        try database.apply(SessionChange(assets: [1: AssetUpdate(newOutcomes: outcomes(2))]))
        let before = try database.read()
        #expect(before.assets.count == 2)
        let command = CommandEntry(at: 1, text: "x", output: "", ok: true)
        #expect(thrownError { try database.apply(SessionChange(assets: [3: AssetUpdate(series: awkwardSeries(count: 3))], command: command)) }
                == .invalidChange("asset 3 does not follow the stored assets (next is 2)"))
        #expect(thrownError { try database.apply(SessionChange(assets: [-1: AssetUpdate()])) }
                == .invalidChange("asset -1 does not follow the stored assets (next is 2)"))
        // Asset 0's log is empty; asset 1's next outcome is #3.
        #expect(thrownError { try database.apply(SessionChange(assets: [0: AssetUpdate(newOutcomes: outcomes(1))],
                                                               command: command)) } == nil)
        #expect(thrownError { try database.apply(SessionChange(assets: [1: AssetUpdate(newOutcomes: outcomes(1, after: 3))])) }
                == .invalidChange("asset 1: outcome #4 does not follow the stored log (next is #3)"))
        #expect(thrownError { try database.apply(SessionChange(focus: 2)) }
                == .invalidChange("the focus is asset 2; the session has assets 0…1"))
        var expected = before
        expected.assets[0].outcomes = outcomes(1)
        expected.assets[0].totalLogged = 1
        expected.assets[0].totalCorrect = expected.assets[0].outcomes.filter(\.correct).count
        expected.commands = [command]
        #expect(try database.read() == expected, "refused changes wrote nothing")
        // The focus may name an asset the same change adds.
        try database.apply(SessionChange(focus: 2, assets: [2: AssetUpdate()]))
        #expect(try database.read().focus == 2 && database.read().assets.count == 3)
        var wrongFocus = threeAssets()
        wrongFocus.focus = 3
        #expect(thrownError { try database.replaceAll(with: wrongFocus) }
                == .invalidChange("the focus is asset 3; the session has assets 0…2"))
        var none = threeAssets()
        none.assets = []
        #expect(thrownError { try database.replaceAll(with: none) }
                == .invalidChange("a session holds 1 to 1000 assets, not 0"))
        var badReplay = threeAssets()
        badReplay.replays[1].asset = 3
        #expect(thrownError { try database.replaceAll(with: badReplay) }
                == .invalidChange("replay #2 ran on asset 3, which the session does not have"))
    }

    @Test("rows of an asset the session does not have, a focus beyond its assets or gaps in its positions are damage",
          arguments: [
              ("INSERT INTO bars SELECT 3, i, time, open, high, low, close, volume FROM bars WHERE asset = 0",
               "bars holds a row of asset 3, which the session does not have"),
              ("UPDATE outcomes SET asset = 7 WHERE asset = 1 AND sequence = 13", "outcomes holds a row of asset 7, which the session does not have"),
              ("UPDATE training_runs SET asset = 4 WHERE id = 2", "training_runs holds a row of asset 4, which the session does not have"),
              ("UPDATE predictions SET asset = -1", "predictions holds a row of asset -1, which the session does not have"),
              ("UPDATE model_versions SET asset = 9 WHERE id = 5", "model_versions holds a row of asset 9, which the session does not have"),
              ("UPDATE pending SET asset = 3 WHERE asset = 2", "pending holds a row of asset 3, which the session does not have"),
              ("DELETE FROM assets WHERE asset = 2; UPDATE meta SET value = 0 WHERE key = 'focus'", "series holds a row of asset 2, which the session does not have"),
              ("UPDATE assets SET asset = 5 WHERE asset = 1", "asset positions do not run 0…2"),
              ("DELETE FROM assets", "the session has no asset"),
              ("UPDATE meta SET value = 3 WHERE key = 'focus'", "meta.focus is asset 3; the session has assets 0…2"),
              ("UPDATE meta SET value = 'two' WHERE key = 'focus'", "meta.focus is not an asset position"),
              ("UPDATE assets SET total_logged = 12 WHERE asset = 1",
               "asset 1: totals (12 logged, 6 correct) do not match the 13 stored outcomes"),
              ("DELETE FROM outcomes WHERE asset = 2 AND sequence = 4", "asset 2: outcome sequences do not run 1…19"),
              ("UPDATE replays SET asset = 3 WHERE id = 2", "replay #2 ran on asset 3, which the session does not have"),
          ])
    func tampered(statement: String, detail: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/three.lgc"
        let database = try SessionDatabase.create(at: path, createdAt: 1_790_000_000)
        try database.replaceAll(with: threeAssets())
        database.close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: statement) }
        try queue.close()
        let error = thrownError { _ = try SessionDatabase.readValidated(path: path) }
        // Asset 1's correct count depends on the seeded outcomes: name it as read.
        let want = detail.replacingOccurrences(of: "6 correct", with: "\(threeAssets().assets[1].totalCorrect) correct")
        #expect(error == .damaged(path: path, detail: want))
    }

    @Test("a format-4 file loads as asset 0 with its totals, and opening it upgrades it in place to the exact format-5 schema")
    func formatFourUpgrades() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/four.lgc"
        let expected = try writeOldFormatSession(at: path, format: 4)
        #expect(try userVersion(path) == 4)
        let queue = try DatabaseQueue(path: path)
        let totals = try queue.read { try Row.fetchAll($0, sql: "SELECT key, value FROM meta WHERE key LIKE 'total_%' ORDER BY key") }
        try queue.close()
        #expect(totals.map { $0[0] as String } == ["total_correct", "total_logged"])
        let read = try SessionDatabase.readValidated(path: path)
        #expect(read == expected)
        #expect(read.assets.count == 1 && read.focus == 0 && read.assets[0].totalLogged == 65)
        #expect(read.assets[0].totalCorrect == expected.assets[0].outcomes.filter(\.correct).count)
        #expect(try userVersion(path) == 4, "load's check leaves the file as it is")

        let database = try SessionDatabase.open(at: path)
        #expect(try userVersion(path) == 5)
        #expect(try database.read() == expected)
        // A second asset goes beside the upgraded one.
        try database.apply(SessionChange(assets: [1: AssetUpdate(series: awkwardSeries(count: 5, seed: 4))]))
        database.close()
        let upgraded = try DatabaseQueue(path: path)
        defer { try? upgraded.close() }
        let (objects, meta, assets) = try upgraded.read { db in
            (try Schema.objects(db), try String.fetchAll(db, sql: "SELECT key FROM meta ORDER BY key"),
             try Row.fetchAll(db, sql: "SELECT asset, total_logged, total_correct FROM assets").map { [$0[0], $0[1], $0[2]] as [Int] })
        }
        #expect(objects == Schema.expected[5])
        #expect(!meta.contains("total_logged") && !meta.contains("total_correct"), "the totals left meta")
        #expect(assets == [[0, 65, expected.assets[0].totalCorrect], [1, 0, 0]])
        let reread = try SessionDatabase.readValidated(path: path)
        #expect(reread.assets[0] == expected.assets[0] && reread.assets[1].series?.bars.count == 5)
    }

    @Test("every per-asset table has asset first after its id, in its key; every table is STRICT")
    func schemaShape() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        try queue.read { db in
            for table in ["series", "bars", "current_versions", "outcomes", "pending", "tiers"] {
                let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))")
                #expect((columns.first?["name"] as String?) == "asset", "\(table)")
                #expect((columns.first?["pk"] as Int?) == 1, "\(table): asset leads the key")
            }
            for table in ["training_runs", "model_versions", "predictions"] {
                let names = try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { $0["name"] as String }
                #expect(Array(names.prefix(2)) == ["id", "asset"], "\(table)")
            }
            let loose = try String.fetchAll(db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'grdb_migrations' AND sql NOT LIKE '%STRICT'
                """)
            #expect(loose.isEmpty)
        }
    }

    @Test("reading one asset's rows searches the key's index rather than scanning the table")
    func queriesUseTheKeys() throws {
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        let queries = [
            "SELECT time, open, high, low, close, volume FROM bars WHERE asset = 1 ORDER BY i",
            "SELECT count(*), min(i), max(i) FROM bars WHERE asset = 1",
            "SELECT sequence FROM outcomes WHERE asset = 1 ORDER BY sequence",
            "SELECT count(*), min(sequence), max(sequence) FROM outcomes WHERE asset = 1",
            "SELECT model, version FROM current_versions WHERE asset = 1 ORDER BY model",
            "SELECT tier FROM tiers WHERE asset = 1 ORDER BY tier",
            "SELECT signal FROM pending WHERE asset = 1",
            "SELECT symbol FROM series WHERE asset = 1",
            "SELECT 1 FROM model_versions WHERE asset = 1 AND model = 'lstm' AND version = 2",
            "SELECT max(asset) FROM bars",
        ]
        try queue.read { db in
            for query in queries {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN \(query)").map { $0["detail"] as String }
                #expect(plan.allSatisfy { $0.hasPrefix("SEARCH") && !$0.contains("TEMP B-TREE") }, "\(query): \(plan)")
            }
        }
    }

    @Test("sessions lists every asset's symbol in position order and counts all their bars")
    func summary() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/.work.lgc", createdAt: 1_790_000_000)
        try database.replaceAll(with: threeAssets())
        try database.save(to: directory + "/three.lgc", overwrite: false, savedAt: 1_790_000_000)
        database.close()
        let old = directory + "/four.lgc"
        _ = try writeOldFormatSession(at: old, format: 4)
        let list = SessionDatabase.list(directory: directory)
        #expect(list.map(\.name) == ["four", "three"])
        #expect(list[1].symbols == ["BTC-USD", "ETH-USD", "SOL ü"] && list[1].rows == 40 + 70 + 100)
        #expect(list[1].models == 9 && list[1].predictions == 6 + 13 + 20 && list[1].problem == nil)
        #expect(list[0].symbols == ["BTC-USD"] && list[0].rows == 600 && list[0].problem == nil, "a format-4 file lists too")
    }
}
