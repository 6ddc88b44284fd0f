import FeedbackLoop
import Foundation
import GRDB
import Testing
@testable import SessionStore

/// A stored replay report with awkward values: thirds, a compared run's key, a JSON report with escapes.
func replayEntry(_ id: Int, compare: (String, String)? = nil, applied: Bool = false) -> ReplayEntry {
    ReplayEntry(id: id, at: 1_700_400_000.25 + Double(id), command: "replay --days 2 --tiers 1", start: 1_700_000_000.1,
                end: 1_700_169_200.3, steps: 48, scored: 47, tiers: compare == nil ? [1, 2] : [1], policy: "triggers",
                compareKey: compare?.0, compareValue: compare?.1, accuracy: 1.0 / 3,
                neverRetrainAccuracy: compare == nil ? 0.25 : nil, everyStepAccuracy: compare == nil ? 2.0 / 3 : nil,
                retrains: 12, trainingSeconds: 0.012_345_678_9, cancelled: id % 2 == 0, applied: applied,
                reportJSON: #"{"command":"replay","ok":true,"replay_id":\#(id),"note":"ü \"quoted\"\n"}"#,
                reportText: "replay 2023-11-14 → 2023-11-16 UTC: 48 steps\n╭─ chart ─╮ #\(id)")
}

/// The tables of format 1 exactly as lgc-shell wrote them before replays were stored (frozen here on purpose:
/// a file written then must keep loading even if the migrations' text is ever edited).
private let formatOneTables = [
    "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value ANY) STRICT",
    "CREATE TABLE config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT",
    "CREATE TABLE series (id INTEGER PRIMARY KEY CHECK (id = 1), symbol TEXT NOT NULL, source TEXT NOT NULL) STRICT",
    "CREATE TABLE bars (i INTEGER PRIMARY KEY, time REAL NOT NULL, open REAL NOT NULL, high REAL NOT NULL,\n    low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL) STRICT",
    "CREATE TABLE training_runs (id INTEGER PRIMARY KEY, time REAL NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL, tier INTEGER NOT NULL,\naccuracy REAL, baseline_accuracy REAL, train_rows INTEGER NOT NULL, test_rows INTEGER NOT NULL,\nseconds REAL, extra TEXT NOT NULL, data_start REAL, data_end REAL) STRICT",
    "CREATE TABLE model_versions (id INTEGER PRIMARY KEY, time REAL NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL, tier INTEGER NOT NULL,\naccuracy REAL, baseline_accuracy REAL, train_rows INTEGER NOT NULL, test_rows INTEGER NOT NULL,\nseconds REAL, extra TEXT NOT NULL, data_start REAL, data_end REAL,\n    format TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, blob_start REAL, blob_end REAL,\n    data BLOB NOT NULL, UNIQUE (model, version)) STRICT",
    "CREATE TABLE current_versions (model TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) STRICT",
    "CREATE TABLE outcomes (sequence INTEGER PRIMARY KEY, predicted TEXT NOT NULL, actual TEXT NOT NULL,\n    correct INTEGER NOT NULL, scored_at REAL NOT NULL, signal TEXT, ensemble REAL, price REAL, bar_time REAL, made_at REAL,\np_logistic REAL, p_xgboost REAL, p_lstm REAL, w_logistic REAL, w_xgboost REAL, w_lstm REAL) STRICT",
    "CREATE TABLE pending (id INTEGER PRIMARY KEY CHECK (id = 1), signal TEXT, ensemble REAL, price REAL, bar_time REAL, made_at REAL,\np_logistic REAL, p_xgboost REAL, p_lstm REAL, w_logistic REAL, w_xgboost REAL, w_lstm REAL) STRICT",
    "CREATE TABLE predictions (id INTEGER PRIMARY KEY, signal TEXT, ensemble REAL, price REAL, bar_time REAL, made_at REAL,\np_logistic REAL, p_xgboost REAL, p_lstm REAL, w_logistic REAL, w_xgboost REAL, w_lstm REAL) STRICT",
    "CREATE TABLE tiers (tier INTEGER PRIMARY KEY, last_training REAL, log_mark INTEGER) STRICT",
    "CREATE TABLE commands (id INTEGER PRIMARY KEY, at REAL NOT NULL, text TEXT NOT NULL, output TEXT NOT NULL, ok INTEGER NOT NULL) STRICT",
]

/// A format-1 session file holding `richChanges()`, as the format-1 lgc-shell wrote it.
private func writeFormatOneSession(at path: String) throws -> SessionState {
    try writeOldFormatSession(at: path, format: 1, tables: formatOneTables)
}

@Suite("Session files: stored replay reports (format 2)")
struct ReplayStorageTests {
    @Test("replay reports are written with their command and read back equal, after save too")
    func roundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, base) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        let replays = [replayEntry(1, applied: true), replayEntry(2, compare: ("tier1_interval", "1h")),
                       replayEntry(3, compare: ("tier1_interval", "4h"))]
        try database.apply(SessionChange.single(newReplays: [replays[0]]))
        try database.apply(SessionChange.single(newReplays: Array(replays[1...])))
        var expected = base
        expected.replays = replays
        #expect(try database.read() == expected)
        #expect(try database.replays() == replays)
        let saved = directory + "/copy.lgc"
        try database.save(to: saved, overwrite: false, savedAt: 1_790_000_000)
        #expect(try SessionDatabase.readValidated(path: saved).replays == replays)
        // replaceAll (a whole state) keeps them too.
        let other = try SessionDatabase.create(at: directory + "/other.lgc", createdAt: 1_790_000_000)
        defer { other.close() }
        try other.replaceAll(with: expected)
        #expect(try other.read().replays == replays)
    }

    @Test("a format-1 file loads: validated as format 1, read through the migration, upgraded when opened")
    func formatOneLoads() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/old.lgc"
        let expected = try writeFormatOneSession(at: path)
        #expect(try userVersion(path) == 1)
        // load's check reads it without changing the file.
        #expect(try SessionDatabase.readValidated(path: path) == expected)
        #expect(try userVersion(path) == 1)
        // Opening it as the working file upgrades it in place; nothing that was there changes.
        let database = try SessionDatabase.open(at: path)
        #expect(try userVersion(path) == Schema.currentVersion)
        #expect(try database.read() == expected)
        try database.apply(SessionChange.single(newReplays: [replayEntry(1)]))
        #expect(try database.read().replays == [replayEntry(1)])
        database.close()
        #expect(try SessionDatabase.readValidated(path: path).replays == [replayEntry(1)])
    }

    @Test("load stays strict: each version must have exactly its own schema")
    func strictPerVersion() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        // A format-1 file that already has a replays table is not what format 1 looks like.
        let early = directory + "/early.lgc"
        _ = try writeFormatOneSession(at: early)
        let queue = try DatabaseQueue(path: early)
        try queue.write { try $0.execute(sql: "CREATE TABLE replays (id INTEGER PRIMARY KEY) STRICT") }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: early) }
                == .damaged(path: early, detail: "unexpected schema at 'replays'"))
        // A format-2 file without it is damaged as well.
        let (late, _) = try writeRichSession(in: directory, name: "late.lgc")
        let lateQueue = try DatabaseQueue(path: late)
        try lateQueue.write { try $0.execute(sql: "DROP TABLE replays") }
        try lateQueue.close()
        #expect(thrownError { _ = try SessionDatabase.open(at: late) }
                == .damaged(path: late, detail: "unexpected schema at 'replays'"))
    }

    @Test("the writer refuses replays that reading would refuse, and the whole change with them")
    func writerRefuses() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        var notJSON = replayEntry(1)
        notJSON.reportJSON = "[1, 2]"
        var badTiers = replayEntry(1)
        badTiers.tiers = [2, 1]
        var nan = replayEntry(1)
        nan.accuracy = .nan
        let cases: [(ReplayEntry, String)] = [
            (replayEntry(2), "replay #2 does not follow the stored ones (next is #1)"),
            (notJSON, "replay #1: its JSON report is not a JSON object"),
            (badTiers, "replay #1: its tiers are not ascending tier numbers"),
            (nan, "replay #1: its accuracy or training time is not a valid number"),
        ]
        for (entry, message) in cases {
            let change = SessionChange.single(config: LoopConfig(), newReplays: [entry],
                                       command: CommandEntry(at: 1, text: "replay", output: "", ok: true))
            #expect(thrownError { try database.apply(change) } == .invalidChange(message))
        }
        #expect(try database.read() == expected)
    }

    @Test("rows changed through SQL are refused when read", arguments: [
        ("UPDATE replays SET report_json = 'not json'", "replay #1: its JSON report is not a JSON object"),
        ("UPDATE replays SET applied = 2", "replay #1 has a cancelled or applied flag that is not 0 or 1"),
        ("UPDATE replays SET tiers = '1,,2'", "replay #1 has invalid tiers"),
        ("UPDATE replays SET id = 5", "replay ids do not run 1…1"),
        ("UPDATE replays SET scored = 49", "replay #1: its step, scored or retrain counts are invalid"),
    ])
    func tampered(statement: String, detail: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        try database.apply(SessionChange.single(newReplays: [replayEntry(1)]))
        database.close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: statement) }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: path) } == .damaged(path: path, detail: detail))
    }
}
