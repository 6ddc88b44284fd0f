import GRDB

/// A session file's format version (`PRAGMA user_version`), read without changing the file; -1 when absent.
func userVersion(_ path: String) throws -> Int {
    let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
    defer { try? queue.close() }
    return try queue.read { try Int.fetchOne($0, sql: "PRAGMA user_version") ?? -1 }
}
