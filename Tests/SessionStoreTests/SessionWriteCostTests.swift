import FeedbackLoop
import Foundation
import GRDB
import GRDBSQLite
import Testing
@testable import SessionStore

@Suite("Session files: write cost")
struct SessionWriteCostTests {
    /// Pages the writer reads and writes (page cache hits and misses) while `body` runs on `db`.
    func pagesTouched(_ db: Database, _ body: () throws -> Void) rethrows -> Int32 {
        func pages() -> Int32 {
            var hits: Int32 = 0, misses: Int32 = 0, high: Int32 = 0
            sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_HIT, &hits, &high, 0)
            sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_MISS, &misses, &high, 0)
            return hits + misses
        }
        let before = pages()
        try body()
        return pages() - before
    }

    @Test("a command's write costs the same at 10,000 stored commands as at 1,000 (pages touched per commit)")
    func constantWriteCost() throws {
        // In memory: the pages a commit touches are the same; syncing 10,000 commits to disk would only be slow.
        let queue = try DatabaseQueue()
        try Schema.migrator.migrate(queue)
        try queue.write { try SessionWriter(db: $0).initialise(createdAt: 0) }
        let output = String(repeating: "output of a command ", count: 5)
        func command(_ index: Int, _ db: Database) throws {
            var change = SessionChange(command: CommandEntry(at: Double(index), text: "predict", output: output, ok: true))
            if index % 10 == 0 { change.assets[0] = AssetUpdate(newPredictions: [prediction(index)]) }
            try SessionWriter(db: db).apply(change)
        }
        var cost: [Int: Int32] = [:]
        for index in 1...10_000 {
            try queue.inDatabase { db in
                if index == 1_000 || index == 10_000 {
                    cost[index] = try pagesTouched(db) { try db.inTransaction { try command(index, db); return .commit } }
                } else {
                    try db.inTransaction { try command(index, db); return .commit }
                }
            }
        }
        let small = try #require(cost[1_000]), large = try #require(cost[10_000])
        // Reading every row (count(*)) touches ~10 times the pages at 10,000 rows; an index step touches the same.
        #expect(large <= 2 * small, "pages per commit: \(small) at 1,000 commands, \(large) at 10,000")
        #expect(try queue.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM commands") } == 10_000)
    }

    func prediction(_ index: Int) -> Prediction {
        makePrediction(signal: .buy, ensemble: 0.6, models: [(.logistic, 0.6)], weights: [(.logistic, 1)],
                       price: 100, barTime: Double(index), madeAt: Double(index))
    }
}
