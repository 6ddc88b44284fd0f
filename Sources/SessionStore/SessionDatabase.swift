import FeedbackLoop
import Foundation
import GRDB
import MarketData

import Glibc

/// A saved session read and validated in full, with the in-memory copy it was read from (see
/// `SessionDatabase.validatedSnapshot`).
public struct ValidatedSession: @unchecked Sendable {
    // @unchecked: the snapshot is a private in-memory database, only read (its queue serialises access).
    public let state: SessionState
    let snapshot: DatabaseQueue
}

/// A session file (SQLite, WAL mode) that every acknowledged change is committed to before the command returns.
///
/// Durability: WAL with `synchronous = NORMAL` commits survive a killed process (SIGKILL, crash) because the
/// WAL is written before `apply` returns; only a power loss or OS crash can drop the last commits.
public final class SessionDatabase: Sendable {
    /// The file's path, as given.
    public let path: String
    private let queue: DatabaseQueue
    /// The descriptor holding this process's `FileLock` on the file while it is open.
    private let lock: HeldLock

    private init(path: String, queue: DatabaseQueue, lock: HeldLock) {
        self.path = path
        self.queue = queue
        self.lock = lock
    }

    deinit {
        try? queue.close()
        lock.release()
    }

    // MARK: - Opening

    /// Creates a new, empty session file (fails if it exists unless `replacing`). `createdAt` (seconds since 1970,
    /// from the caller's clock: nothing in this module reads the wall clock) is stored as meta `created_at`.
    public static func create(at path: String, replacing: Bool = false, createdAt: TimeInterval) throws -> SessionDatabase {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            guard replacing else { throw SessionError.cannotWrite(path: path, reason: "the file exists") }
        }
        // Built under a temporary name and renamed, so a crash never leaves a half-made session at `path`.
        let temp = try FileSafety.createTemporary(beside: path)
        do {
            let builder = try DatabaseQueue(path: temp, configuration: configuration(readonly: false))
            try builder.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
            }
            try Schema.migrator.migrate(builder)
            try builder.write { db in
                try SessionWriter(db: db).initialise(createdAt: createdAt)
            }
            try builder.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try builder.close()
            try FileSafety.install(temp, at: path)
        } catch {
            FileSafety.remove(temp)
            throw mapError(error, path: path, writing: true)
        }
        return try open(at: path)
    }

    /// Opens an existing session for write-through: takes the file's lock (refusing a file another process works
    /// in), checks the application id, format and schema, and migrates files of older formats. `read()` then
    /// validates the content.
    public static func open(at path: String) throws -> SessionDatabase {
        try FileSafety.inspect(path)
        guard let fd = try FileLock.acquire(path) else { throw SessionError.missing(path: path) }
        let lock = HeldLock(fd)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration(readonly: false))
            do {
                let version = try queue.read { try checkIdentity($0, path: path) }
                if version < Schema.currentVersion { try Schema.migrator.migrate(queue) }
                try queue.writeWithoutTransaction { db in
                    _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                }
            } catch {
                try? queue.close()
                throw error
            }
            return SessionDatabase(path: path, queue: queue, lock: lock)
        } catch {
            lock.release()
            throw mapError(error, path: path, writing: false)
        }
    }

    /// Validates a file completely without changing it (read-only): for `load`, before anything is replaced.
    public static func readValidated(path: String) throws -> SessionState {
        try validatedSnapshot(path: path).state
    }

    /// Reads a saved session into memory in one consistent copy (SQLite's backup API), migrates an older format
    /// there (the file itself stays as it is), and validates that copy in full: what was validated is exactly what
    /// `replaceAll(with: ValidatedSession)` copies into a working file, page by page.
    public static func validatedSnapshot(path: String) throws -> ValidatedSession {
        try FileSafety.inspect(path)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration(readonly: true))
            defer { try? queue.close() }
            let version = try queue.read { try checkIdentity($0, path: path) }
            let memory = try DatabaseQueue()
            try queue.backup(to: memory)
            if version < Schema.currentVersion { try Schema.migrator.migrate(memory) }
            let state = try memory.read { try SessionReader(db: $0, path: path).read() }
            return ValidatedSession(state: state, snapshot: memory)
        } catch {
            throw mapError(error, path: path, writing: false)
        }
    }

    // MARK: - Reading and writing

    /// Reads and fully validates everything (integrity, checksums, bounds); throws `SessionError` naming the file.
    public func read() throws -> SessionState {
        do {
            return try queue.read { try SessionReader(db: $0, path: path).read() }
        } catch {
            throw Self.mapError(error, path: path, writing: false)
        }
    }

    /// The stored replay reports only (for listing them), validated as `read()` validates them.
    public func replays() throws -> [ReplayEntry] {
        do {
            return try queue.read { try SessionReader(db: $0, path: path).readReplays() }
        } catch {
            throw Self.mapError(error, path: path, writing: false)
        }
    }

    /// Applies one command's changes in one transaction, committed before it returns; returns the rows it
    /// inserted, updated or deleted. Command text and output longer than `SessionLimits.maxStringBytes` are cut to it.
    @discardableResult
    public func apply(_ change: SessionChange) throws -> Int {
        guard !change.isEmpty else { return 0 }
        do {
            return try queue.write { db in
                let before = db.totalChangesCount
                try SessionWriter(db: db).apply(change)
                return db.totalChangesCount - before
            }
        } catch {
            throw Self.mapError(error, path: path, writing: true)
        }
    }

    /// Applies several commands' changes, in order, in one transaction (a working file made at the first change
    /// takes the commands that came before it together with that change).
    @discardableResult
    public func apply(_ changes: [SessionChange]) throws -> Int {
        let changes = changes.filter { !$0.isEmpty }
        guard !changes.isEmpty else { return 0 }
        do {
            return try queue.write { db in
                let before = db.totalChangesCount
                let writer = SessionWriter(db: db)
                for change in changes { try writer.apply(change) }
                return db.totalChangesCount - before
            }
        } catch {
            throw Self.mapError(error, path: path, writing: true)
        }
    }

    /// Replaces the whole content with `state` in one transaction (after `load` read a saved session), and records
    /// which saved session file this working file is a copy of (`checkpoint`, nil for none).
    public func replaceAll(with state: SessionState, checkpoint: String? = nil) throws {
        do {
            try queue.write { db in
                let writer = SessionWriter(db: db)
                try writer.replaceAll(with: state)
                try writer.setCheckpoint(checkpoint)
            }
        } catch {
            throw Self.mapError(error, path: path, writing: true)
        }
    }

    /// Replaces the whole content with a validated session's, copied page by page from the snapshot that was
    /// validated (a row-by-row copy of a year of bars for three assets took most of `load`'s time), in one atomic
    /// step: the working file's `created_at` and `checkpoint` are written into the snapshot first (the saved copy's
    /// `saved_at` dropped), then SQLite's backup replaces this file's pages (it stays in WAL mode). Where the page
    /// copy cannot run (a file of another page size), the rows are copied as `replaceAll(with: SessionState)` does.
    /// The snapshot is used up.
    public func replaceAll(with validated: ValidatedSession, checkpoint: String? = nil) throws {
        do {
            let createdAt = try queue.read { try Double.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'created_at'") }
            try validated.snapshot.write { db in
                let writer = SessionWriter(db: db)
                if let createdAt { try writer.setMeta("created_at", createdAt) }
                try db.execute(sql: "DELETE FROM meta WHERE key = 'saved_at'")
                try writer.setCheckpoint(checkpoint)
            }
        } catch {
            throw Self.mapError(error, path: path, writing: true)
        }
        do {
            try validated.snapshot.backup(to: queue)
        } catch {
            try replaceAll(with: validated.state, checkpoint: checkpoint)
        }
    }

    /// The saved session file this working file is a copy of (meta row `checkpoint`), if any.
    public func checkpoint() -> String? {
        try? queue.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'checkpoint' AND typeof(value) = 'text'") }
    }

    /// Records which saved session file this working file is a copy of (nil: none).
    public func setCheckpoint(_ checkpoint: String?) throws {
        do {
            try queue.write { try SessionWriter(db: $0).setCheckpoint(checkpoint) }
        } catch {
            throw Self.mapError(error, path: path, writing: true)
        }
    }

    /// Writes a complete copy to `destination` atomically (temporary file in the same directory, fsync, rename).
    /// The copy is a single file (rollback journal, no `-wal`) whose meta `name` is the file name without `.lgc` and
    /// whose meta `saved_at` is `savedAt` (seconds since 1970, from the caller's clock).
    ///
    /// Replacing a file takes its lock first, so a file another process works in is refused (`inUse`), and removes
    /// the old file's write-ahead log, shared memory and journal before the rename: a dead shell's log is never
    /// applied to the new file.
    public func save(to destination: String, overwrite: Bool, savedAt: TimeInterval) throws {
        var info = stat()
        if lstat(destination, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw SessionError.notRegularFile(path: destination) }
            guard overwrite else { throw SessionError.exists(path: destination) }
            if FileSafety.samePath(destination, path) {
                throw SessionError.cannotWrite(path: destination, reason: "it is the open session itself")
            }
        }
        let temp = try FileSafety.createTemporary(beside: destination)
        do {
            let copy = try DatabaseQueue(path: temp, configuration: Self.configuration(readonly: false))
            try queue.backup(to: copy)
            try copy.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = DELETE")
                try db.inTransaction {
                    let writer = SessionWriter(db: db)
                    try writer.setMeta("name", FileSafety.sessionName(destination))
                    try writer.setMeta("saved_at", savedAt)
                    try writer.setCheckpoint(nil)
                    return .commit
                }
            }
            try copy.close()
            try FileSafety.install(temp, at: destination)
        } catch {
            FileSafety.remove(temp)
            throw Self.mapError(error, path: destination, writing: true)
        }
    }

    /// Closes the file and releases its lock; later calls fail.
    public func close() {
        try? queue.close()
        lock.release()
    }

    // MARK: - Listing

    /// One summary per `*.lgc` file in `directory`, by name; files that cannot be loaded carry their `problem`.
    /// Checks identity and counts only (fast); `readValidated` does the full check.
    public static func list(directory: String) -> [SessionSummary] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".lgc") && !$0.hasPrefix(".") }.sorted().map { file in
            let path = (directory as NSString).appendingPathComponent(file)
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
            var summary = SessionSummary(name: FileSafety.sessionName(path), path: path, savedAt: nil, bytes: bytes,
                                         symbols: [], rows: 0, models: 0, predictions: 0, problem: nil)
            do {
                try FileSafety.inspect(path)
                let queue = try DatabaseQueue(path: path, configuration: configuration(readonly: true))
                defer { try? queue.close() }
                try queue.read { db in
                    _ = try checkIdentity(db, path: path)
                    summary.savedAt = try Double.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'saved_at' AND typeof(value) = 'real'")
                    // `rowid` is the asset in format 5 and the single series' id before: every format answers.
                    summary.symbols = try String.fetchAll(db, sql: """
                        SELECT substr(symbol, 1, 100) FROM series ORDER BY rowid LIMIT \(SessionLimits.maxAssets)
                        """)
                    summary.rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM bars") ?? 0
                    summary.models = try Int.fetchOne(db, sql: "SELECT count(*) FROM model_versions") ?? 0
                    summary.predictions = try Int.fetchOne(db, sql: "SELECT count(*) FROM outcomes") ?? 0
                }
            } catch {
                summary.problem = mapError(error, path: path, writing: false).description
            }
            return summary
        }
    }

    // MARK: - Helpers

    private static func configuration(readonly: Bool) -> Configuration {
        var configuration = Configuration()
        configuration.readonly = readonly
        configuration.label = "lgc-session"
        configuration.prepareDatabase { db in
            // The file is untrusted: its schema may not make SQL functions run with side effects.
            try db.execute(sql: "PRAGMA trusted_schema = OFF")
            if !readonly { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        }
        return configuration
    }

    /// Checks application id, format version and the exact schema; returns the format version.
    private static func checkIdentity(_ db: Database, path: String) throws -> Int {
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        guard applicationID == Schema.applicationID else { throw SessionError.foreign(path: path) }
        guard version <= Schema.currentVersion else {
            throw SessionError.newerFormat(path: path, version: version, supported: Schema.currentVersion)
        }
        guard version >= 1, let expected = Schema.expected[version] else {
            throw SessionError.damaged(path: path, detail: "no format version")
        }
        let actual = try Schema.objects(db)
        guard actual == expected else {
            let odd = actual.first { !expected.contains($0) }?.name ?? expected.first { !actual.contains($0) }?.name ?? "?"
            throw SessionError.damaged(path: path, detail: "unexpected schema at '\(odd.prefix(60))'")
        }
        return version
    }

    /// One `SessionError` for any failure, naming `path`.
    static func mapError(_ error: any Error, path: String, writing: Bool) -> SessionError {
        if let error = error as? SessionError { return error }
        guard let error = error as? DatabaseError else {
            return writing ? .cannotWrite(path: path, reason: "\(error)") : .damaged(path: path, detail: "\(error)")
        }
        let message = error.message ?? "SQLite error \(error.resultCode.rawValue)"
        switch error.resultCode {
        case .SQLITE_NOTADB:
            return .notSQLite(path: path)
        case .SQLITE_CORRUPT:
            return .damaged(path: path, detail: message)
        case .SQLITE_FULL:
            return .cannotWrite(path: path, reason: String(cString: strerror(ENOSPC)))
        case .SQLITE_READONLY:
            return .cannotWrite(path: path, reason: "the file or its folder is read-only")
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_PERM, .SQLITE_AUTH:
            return writing ? .cannotWrite(path: path, reason: message) : .cannotRead(path: path, reason: message)
        case .SQLITE_TOOBIG:
            return .tooLarge(path: path, detail: message)
        default:
            return writing ? .cannotWrite(path: path, reason: message) : .damaged(path: path, detail: message)
        }
    }
}

/// File-level steps: pre-open inspection, temporary files, fsync and atomic rename.
enum FileSafety {
    private static let sqliteMagic = Array("SQLite format 3\0".utf8)

    /// Refuses missing, empty, non-SQLite and visibly truncated files before SQLite sees them.
    static func inspect(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw SessionError.missing(path: path) }
            throw SessionError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SessionError.notSQLite(path: path) }
        let size = Int(info.st_size)
        guard size > 0 else { throw SessionError.empty(path: path) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SessionError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        let header = [UInt8]((try? handle.read(upToCount: 100)) ?? Data())
        guard header.count >= 16, Array(header[0..<16]) == sqliteMagic else { throw SessionError.notSQLite(path: path) }
        guard header.count == 100 else { throw SessionError.damaged(path: path, detail: "the file ends inside its header") }
        func word(_ at: Int) -> Int { header[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        let pages = word(28)
        // The header's page count is trustworthy only when its change counter matches; a WAL may hold newer pages.
        if word(24) == word(92), pages > 0, !FileManager.default.fileExists(atPath: path + "-wal"), size < pages * pageSize {
            throw SessionError.damaged(path: path, detail: "the file is \(size) bytes; its header says \(pages * pageSize)")
        }
    }

    /// Creates an empty file beside `path` (same directory, so rename is atomic) and returns its path.
    static func createTemporary(beside path: String) throws -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temp = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        Glibc.close(fd)
        return temp
    }

    /// fsyncs `temp`, renames it over `path` and fsyncs the directory so the rename itself is durable.
    ///
    /// A file already at `path` is replaced under its lock (`inUse` when another process works in it), and its
    /// `-wal`, `-shm` and `-journal` go first: SQLite would otherwise apply the old file's log to the new one.
    static func install(_ temp: String, at path: String) throws {
        try sync(temp, path: path)
        var info = stat()
        var fd: Int32?
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw SessionError.notRegularFile(path: path) }
            fd = try FileLock.acquire(path, attempts: 25)
        }
        defer { if let fd { Glibc.close(fd) } }
        for suffix in ["-wal", "-shm", "-journal"] where unlink(path + suffix) != 0 && errno != ENOENT {
            throw SessionError.cannotWrite(path: path + suffix, reason: String(cString: strerror(errno)))
        }
        guard rename(temp, path) == 0 else {
            throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        let directory = (path as NSString).deletingLastPathComponent
        try sync(directory.isEmpty ? "." : directory, path: path)
    }

    /// Whether `path` names the file open at `fd` (same device and inode).
    static func names(_ path: String, _ fd: Int32) -> Bool {
        var x = stat(), y = stat()
        return fstat(fd, &x) == 0 && stat(path, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    private static func sync(_ file: String, path: String) throws {
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    static func remove(_ temp: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(temp + suffix) }
    }

    static func samePath(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// `sessions/btc.lgc` → `btc`.
    static func sessionName(_ path: String) -> String {
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".lgc") ? String(base.dropLast(4)) : base
    }
}

/// A lock descriptor released exactly once (by `close()` or when the database goes).
final class HeldLock: @unchecked Sendable {
    private var fd: Int32?
    private let mutex = NSLock()

    init(_ fd: Int32) { self.fd = fd }

    func release() {
        mutex.lock()
        defer { mutex.unlock() }
        if let fd { Glibc.close(fd) }
        fd = nil
    }
}
