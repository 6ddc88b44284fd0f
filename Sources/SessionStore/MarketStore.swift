import Foundation
import GRDB
import MarketData

/// One series kept in the market store: its key and what it holds.
public struct StoredSeries: Sendable, Equatable {
    public let source: String
    public let symbol: String
    /// The bar interval in seconds (part of the key: hourly and daily bars of a pair are two series).
    public let interval: TimeInterval
    public let first: TimeInterval
    public let last: TimeInterval
    public let rows: Int
    /// Spacings of more than 1.5 intervals between consecutive bars (weekends, exchange outages, missing files),
    /// counted as `import` counts them (a short month of monthly bars is no gap).
    public let gaps: Int
    /// The most time missing in one gap (the spacing less one interval), in seconds; 0 without gaps.
    public let largestGap: TimeInterval
}

/// What a `save` did to a stored series.
public struct MarketStoreWrite: Sendable, Equatable {
    /// Bars the store did not have.
    public let added: Int
    /// Bars it had at the same times, replaced by the new values (a bar still forming when it was first fetched).
    public let replaced: Int

    public init(added: Int, replaced: Int) {
        self.added = added
        self.replaced = replaced
    }
}

/// Why the market store refused something.
public enum MarketStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is not a market store, or is damaged.
    case damaged(path: String, detail: String)
    /// The file cannot be opened or written (permissions, disk full…).
    case unavailable(path: String, detail: String)
    /// A series without a regular bar interval (fewer than two bars) has no key.
    case noInterval(symbol: String)

    public var description: String {
        switch self {
        case .damaged(let path, let detail): return "the market store \(path) is damaged: \(detail)"
        case .unavailable(let path, let detail): return "the market store \(path) cannot be used: \(detail)"
        case .noInterval(let symbol): return "\(symbol) has fewer than two bars, so no bar interval to store it under"
        }
    }
}

/// Every fetched or imported series, kept in one SQLite file per user, keyed by source, symbol and bar interval:
/// a later fetch of the same series asks the network only for the bars the store lacks, and spans already
/// stored work offline. Separate from sessions, which record which series (and its fingerprint) they used.
///
/// Bars are merged by time: a new bar at a stored time replaces it (the last bar of a fetch may still have been
/// forming), new times are inserted. Reads return bars in time order.
public final class MarketStore: Sendable {
    public let path: String
    private let queue: DatabaseQueue

    /// The store's file: `LGC_MARKET_STORE`, else `market.sqlite` in the sessions folder (per user, or the one
    /// `LGC_SESSIONS` names; `sessions` lists only `.lgc` files, so it stays out of the list).
    public static func defaultPath(environment: [String: String], sessionsFolder: String) -> String {
        if let configured = environment["LGC_MARKET_STORE"], !configured.isEmpty { return configured }
        return sessionsFolder + "/market.sqlite"
    }

    /// Opens the store at `path`, creating it (and its folder) when missing.
    public init(path: String) throws {
        self.path = path
        do {
            let folder = (path as NSString).deletingLastPathComponent
            if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(queue)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB || error.resultCode == .SQLITE_CORRUPT {
            throw MarketStoreError.damaged(path: path, detail: error.message ?? "not a database")
        } catch let error as DatabaseError {
            throw MarketStoreError.unavailable(path: path, detail: error.message ?? "\(error.resultCode)")
        } catch let error as MarketStoreError {
            throw error
        } catch {
            throw MarketStoreError.unavailable(path: path, detail: String(describing: error))
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE series (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    symbol TEXT NOT NULL,
                    interval REAL NOT NULL CHECK (interval > 0),
                    UNIQUE (source, symbol, interval)
                );
                CREATE TABLE bars (
                    series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
                    time REAL NOT NULL,
                    open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,
                    volume REAL NOT NULL,
                    PRIMARY KEY (series, time)
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }

    // MARK: Writing

    /// Merges `series` into the store under its source, symbol and interval (`interval` defaults to its median bar
    /// spacing), in one transaction.
    @discardableResult
    public func save(_ series: PriceSeries, interval: TimeInterval? = nil) throws -> MarketStoreWrite {
        guard let interval = interval ?? series.interval, interval > 0 else { throw MarketStoreError.noInterval(symbol: series.symbol) }
        return try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO series (source, symbol, interval) VALUES (?, ?, ?)",
                           arguments: [series.source, series.symbol, interval])
            let id = try Int64.fetchOne(db, sql: "SELECT id FROM series WHERE source = ? AND symbol = ? AND interval = ?",
                                        arguments: [series.source, series.symbol, interval])!
            let before = try Int.fetchOne(db, sql: "SELECT count(*) FROM bars WHERE series = ?", arguments: [id]) ?? 0
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO bars (series, time, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (series, time) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
                    close = excluded.close, volume = excluded.volume
                """)
            for bar in series.bars {
                try upsert.execute(arguments: [id, bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume])
            }
            let after = try Int.fetchOne(db, sql: "SELECT count(*) FROM bars WHERE series = ?", arguments: [id]) ?? 0
            return MarketStoreWrite(added: after - before, replaced: series.bars.count - (after - before))
        }
    }

    /// Removes the series matching every given part of the key (nil matches any); returns the series removed.
    @discardableResult
    public func prune(source: String? = nil, symbol: String? = nil, interval: TimeInterval? = nil) throws -> [StoredSeries] {
        let removed = try list().filter { stored in
            (source.map { $0 == stored.source } ?? true) && (symbol.map { $0 == stored.symbol } ?? true)
                && (interval.map { $0 == stored.interval } ?? true)
        }
        guard !removed.isEmpty else { return [] }
        try write { db in
            for stored in removed {
                let id = try Int64.fetchOne(db, sql: "SELECT id FROM series WHERE source = ? AND symbol = ? AND interval = ?",
                                            arguments: [stored.source, stored.symbol, stored.interval])
                try db.execute(sql: "DELETE FROM bars WHERE series = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM series WHERE id = ?", arguments: [id])
            }
        }
        return removed
    }

    // MARK: Reading

    /// The stored bars of a series from `start` through `end` (inclusive; nil: unbounded), in time order; nil when
    /// the store has no such series.
    public func series(source: String, symbol: String, interval: TimeInterval, from start: TimeInterval? = nil,
                       through end: TimeInterval? = nil) throws -> PriceSeries? {
        try read { db in
            guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM series WHERE source = ? AND symbol = ? AND interval = ?",
                                              arguments: [source, symbol, interval]) else { return nil }
            let rows = try Row.fetchCursor(db, sql: """
                SELECT time, open, high, low, close, volume FROM bars
                WHERE series = ? AND time >= ? AND time <= ? ORDER BY time
                """, arguments: [id, start ?? -Double.greatestFiniteMagnitude, end ?? Double.greatestFiniteMagnitude])
            var bars: [Bar] = []
            while let row = try rows.next() {
                bars.append(Bar(time: row[0], open: row[1], high: row[2], low: row[3], close: row[4], volume: row[5]))
            }
            return PriceSeries(symbol: symbol, source: source, bars: bars)
        }
    }

    /// Every stored series with its span, rows and gaps, ordered by source, symbol and interval.
    public func list() throws -> [StoredSeries] {
        try read { db in
            let keys = try Row.fetchAll(db, sql: "SELECT id, source, symbol, interval FROM series ORDER BY source, symbol, interval")
            return try keys.compactMap { key -> StoredSeries? in
                let id: Int64 = key[0], interval: Double = key[3]
                guard let span = try Row.fetchOne(db, sql: "SELECT min(time), max(time), count(*) FROM bars WHERE series = ?",
                                                  arguments: [id]), let first: Double = span[0], let last: Double = span[1]
                else { return nil }
                // Spacings of more than 1.5 intervals, and the time missing in the longest (as `import` reports).
                let gaps = try Row.fetchOne(db, sql: """
                    SELECT count(*), coalesce(max(step) - ?, 0) FROM (
                        SELECT time - lag(time) OVER (ORDER BY time) AS step FROM bars WHERE series = ?
                    ) WHERE step > ? * 1.5
                    """, arguments: [interval, id, interval])
                return StoredSeries(source: key[1], symbol: key[2], interval: interval, first: first, last: last,
                                    rows: span[2], gaps: gaps?[0] ?? 0, largestGap: gaps?[1] ?? 0)
            }
        }
    }

    // MARK: Errors

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch let error as DatabaseError {
            throw Self.mapped(error, path: path)
        }
    }

    @discardableResult
    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.write(body)
        } catch let error as DatabaseError {
            throw Self.mapped(error, path: path)
        }
    }

    private static func mapped(_ error: DatabaseError, path: String) -> MarketStoreError {
        switch error.resultCode {
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return .damaged(path: path, detail: error.message ?? "damaged")
        default: return .unavailable(path: path, detail: error.message ?? "\(error.resultCode)")
        }
    }
}
