import FeedbackLoop
import Foundation
import GRDB

/// The session file format: application id, versions and the migrations that build each version's tables.
enum Schema {
    /// `PRAGMA application_id` of every session file: "LGCS" in ASCII.
    static let applicationID: Int32 = 0x4C47_4353
    /// The newest format this build writes and reads (`PRAGMA user_version`).
    static let currentVersion = 5

    /// Models that have probability/weight columns in format 1, in ensemble order.
    static let predictionModels: [ModelKind] = [.logistic, .xgboost, .lstm]

    /// A prediction's columns; in `outcomes` they are all NULL when the outcome had no prediction.
    private static let predictionColumns = """
        signal TEXT, ensemble REAL, price REAL, bar_time REAL, made_at REAL,
        p_logistic REAL, p_xgboost REAL, p_lstm REAL, w_logistic REAL, w_xgboost REAL, w_lstm REAL
        """

    private static let recordColumns = """
        time REAL NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL, tier INTEGER NOT NULL,
        accuracy REAL, baseline_accuracy REAL, train_rows INTEGER NOT NULL, test_rows INTEGER NOT NULL,
        seconds REAL, extra TEXT NOT NULL, data_start REAL, data_end REAL
        """

    /// Format 1. STRICT tables make SQLite (and `integrity_check`) enforce every column's type.
    private static let version1 = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value ANY) STRICT",
        "CREATE TABLE config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT",
        "CREATE TABLE series (id INTEGER PRIMARY KEY CHECK (id = 1), symbol TEXT NOT NULL, source TEXT NOT NULL) STRICT",
        """
        CREATE TABLE bars (i INTEGER PRIMARY KEY, time REAL NOT NULL, open REAL NOT NULL, high REAL NOT NULL,
            low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL) STRICT
        """,
        "CREATE TABLE training_runs (id INTEGER PRIMARY KEY, \(recordColumns)) STRICT",
        """
        CREATE TABLE model_versions (id INTEGER PRIMARY KEY, \(recordColumns),
            format TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, blob_start REAL, blob_end REAL,
            data BLOB NOT NULL, UNIQUE (model, version)) STRICT
        """,
        "CREATE TABLE current_versions (model TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) STRICT",
        """
        CREATE TABLE outcomes (sequence INTEGER PRIMARY KEY, predicted TEXT NOT NULL, actual TEXT NOT NULL,
            correct INTEGER NOT NULL, scored_at REAL NOT NULL, \(predictionColumns)) STRICT
        """,
        "CREATE TABLE pending (id INTEGER PRIMARY KEY CHECK (id = 1), \(predictionColumns)) STRICT",
        "CREATE TABLE predictions (id INTEGER PRIMARY KEY, \(predictionColumns)) STRICT",
        "CREATE TABLE tiers (tier INTEGER PRIMARY KEY, last_training REAL, log_mark INTEGER) STRICT",
        "CREATE TABLE commands (id INTEGER PRIMARY KEY, at REAL NOT NULL, text TEXT NOT NULL, output TEXT NOT NULL, ok INTEGER NOT NULL) STRICT",
    ]

    /// Format 2 adds the stored replay reports, one row per replay run (a `--compare` run: one per value).
    private static let version2 = [
        """
        CREATE TABLE replays (id INTEGER PRIMARY KEY, at REAL NOT NULL, command TEXT NOT NULL,
            span_start REAL NOT NULL, span_end REAL NOT NULL, steps INTEGER NOT NULL, scored INTEGER NOT NULL,
            tiers TEXT NOT NULL, policy TEXT NOT NULL, compare_key TEXT, compare_value TEXT, accuracy REAL,
            never_retrain_accuracy REAL, every_step_accuracy REAL, retrains INTEGER NOT NULL,
            training_seconds REAL NOT NULL, cancelled INTEGER NOT NULL, applied INTEGER NOT NULL,
            report_json TEXT NOT NULL, report_text TEXT NOT NULL) STRICT
        """,
    ]

    /// Format 3 records what each training's data was — the series' symbol and bar interval — so the loop can refuse
    /// to predict with models trained on other data. NULL in rows written before: not checked.
    private static let version3 = [
        "ALTER TABLE training_runs ADD COLUMN data_symbol TEXT",
        "ALTER TABLE training_runs ADD COLUMN data_interval REAL",
        "ALTER TABLE model_versions ADD COLUMN data_symbol TEXT",
        "ALTER TABLE model_versions ADD COLUMN data_interval REAL",
    ]

    /// Format 4 keeps each automatically scored outcome's realised return, so live scores can be directional and
    /// proper (Brier, log loss) and stand beside their naive baselines. NULL: logged by hand, or written before.
    private static let version4 = [
        "ALTER TABLE outcomes ADD COLUMN realised_return REAL",
    ]

    /// A table of format 5 is built beside its older form as `NAME_v5`, filled with the old rows (all of them asset 0),
    /// and renamed over it: SQLite cannot change a table's key in place.
    private static func rebuild(_ table: String, _ definition: String, columns: String) -> [String] {
        [
            "CREATE TABLE \(table)_v5 (\(definition)) STRICT",
            "INSERT INTO \(table)_v5 (asset, \(columns)) SELECT 0, \(columns) FROM \(table)",
            "DROP TABLE \(table)",
            "ALTER TABLE \(table)_v5 RENAME TO \(table)",
        ]
    }

    private static let recordNames = """
        time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows, seconds, extra, data_start, \
        data_end, data_symbol, data_interval
        """
    private static let predictionNames = """
        signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm, w_logistic, w_xgboost, w_lstm
        """

    /// A meta row's count for asset 0: NULL when absent becomes 0, anything but an integer -1 (refused when read).
    private static func metaCount(_ key: String) -> String {
        "coalesce((SELECT CASE WHEN typeof(value) = 'integer' THEN value ELSE -1 END FROM meta WHERE key = '\(key)'), 0)"
    }

    /// Format 5 holds several assets (markets): every per-asset table gains an `asset` column (the asset's position,
    /// 0-based) leading its key, and `assets` lists the positions with each one's log totals (which leave `meta`).
    /// Rows already there become asset 0; the session-wide tables (meta, config, commands) stay as they were, and
    /// `replays` records the asset each replay ran on (NULL: stored before).
    private static let version5: [String] = [
        "CREATE TABLE assets (asset INTEGER PRIMARY KEY, total_logged INTEGER NOT NULL, total_correct INTEGER NOT NULL) STRICT",
        "INSERT INTO assets (asset, total_logged, total_correct) VALUES (0, \(metaCount("total_logged")), \(metaCount("total_correct")))",
        "DELETE FROM meta WHERE key IN ('total_logged', 'total_correct')",
    ]
        + rebuild("series", "asset INTEGER PRIMARY KEY, symbol TEXT NOT NULL, source TEXT NOT NULL", columns: "symbol, source")
        + rebuild("bars", """
            asset INTEGER NOT NULL, i INTEGER NOT NULL, time REAL NOT NULL, open REAL NOT NULL, high REAL NOT NULL,
                low REAL NOT NULL, close REAL NOT NULL, volume REAL NOT NULL, PRIMARY KEY (asset, i)
            """, columns: "i, time, open, high, low, close, volume")
        + rebuild("training_runs", "id INTEGER PRIMARY KEY, asset INTEGER NOT NULL, \(recordColumns), data_symbol TEXT, data_interval REAL",
                  columns: "id, \(recordNames)")
        + rebuild("model_versions", """
            id INTEGER PRIMARY KEY, asset INTEGER NOT NULL, \(recordColumns), data_symbol TEXT, data_interval REAL,
                format TEXT NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, blob_start REAL, blob_end REAL,
                data BLOB NOT NULL, UNIQUE (asset, model, version)
            """, columns: "id, \(recordNames), format, bytes, sha256, blob_start, blob_end, data")
        + rebuild("current_versions", "asset INTEGER NOT NULL, model TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (asset, model)",
                  columns: "model, version")
        + rebuild("outcomes", """
            asset INTEGER NOT NULL, sequence INTEGER NOT NULL, predicted TEXT NOT NULL, actual TEXT NOT NULL,
                correct INTEGER NOT NULL, scored_at REAL NOT NULL, \(predictionColumns), realised_return REAL,
                PRIMARY KEY (asset, sequence)
            """, columns: "sequence, predicted, actual, correct, scored_at, \(predictionNames), realised_return")
        + rebuild("pending", "asset INTEGER PRIMARY KEY, \(predictionColumns)", columns: predictionNames)
        + rebuild("predictions", "id INTEGER PRIMARY KEY, asset INTEGER NOT NULL, \(predictionColumns)",
                  columns: "id, \(predictionNames)")
        + rebuild("tiers", """
            asset INTEGER NOT NULL, tier INTEGER NOT NULL, last_training REAL, log_mark INTEGER, PRIMARY KEY (asset, tier)
            """, columns: "tier, last_training, log_mark")
        + ["ALTER TABLE replays ADD COLUMN asset INTEGER"]

    /// Migration `vN` builds format N from format N-1 and sets `user_version` to N.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            for statement in version1 { try db.execute(sql: statement) }
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        migrator.registerMigration("v2") { db in
            for statement in version2 { try db.execute(sql: statement) }
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        migrator.registerMigration("v3") { db in
            for statement in version3 { try db.execute(sql: statement) }
            try db.execute(sql: "PRAGMA user_version = 3")
        }
        migrator.registerMigration("v4") { db in
            for statement in version4 { try db.execute(sql: statement) }
            try db.execute(sql: "PRAGMA user_version = 4")
        }
        migrator.registerMigration("v5") { db in
            for statement in version5 { try db.execute(sql: statement) }
            try db.execute(sql: "PRAGMA user_version = 5")
        }
        return migrator
    }()

    /// One schema object as `sqlite_master` lists it.
    struct Object: Equatable, Sendable {
        var type: String
        var name: String
        var sql: String?
    }

    static func objects(_ db: Database) throws -> [Object] {
        try Row.fetchAll(db, sql: "SELECT type, name, sql FROM sqlite_master ORDER BY type, name").map {
            Object(type: try $0.decode(String.self, atIndex: 0), name: try $0.decode(String.self, atIndex: 1),
                   sql: try $0.decode(String?.self, atIndex: 2))
        }
    }

    /// The exact schema objects of each format, built once in memory by the migrations themselves.
    static let expected: [Int: [Object]] = {
        var result: [Int: [Object]] = [:]
        for version in 1...currentVersion {
            // The migrations are fixed code; failing here is a programming error, caught by every test.
            let queue = try! DatabaseQueue()
            try! migrator.migrate(queue, upTo: "v\(version)")
            result[version] = try! queue.read { try objects($0) }
        }
        return result
    }()
}
