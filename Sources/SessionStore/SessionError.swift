import Foundation
import MarketData

/// Why a session file could not be read or written. Wording lives in `description`: one line naming the file.
public enum SessionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path.
    case missing(path: String)
    /// The file is not a SQLite database at all (a text file, random bytes).
    case notSQLite(path: String)
    /// A zero-byte file.
    case empty(path: String)
    /// SQLite or the structure check found damage; `detail` says where.
    case damaged(path: String, detail: String)
    /// SQLite's `integrity_check` found problems: the first one, and how many others (`atLeast` when the
    /// check stopped counting at its limit).
    case integrity(path: String, first: String, others: Int, atLeast: Bool)
    /// A SQLite database with another application id or another schema.
    case foreign(path: String)
    /// Written by a newer lgc-shell.
    case newerFormat(path: String, version: Int, supported: Int)
    /// A model blob whose SHA-256 differs from the one stored with it.
    case checksumMismatch(path: String, model: String, version: Int)
    /// Something larger than `SessionLimits` allows (reading or writing).
    case tooLarge(path: String, detail: String)
    /// `save` without overwrite onto an existing file.
    case exists(path: String)
    /// The file system refused a write (read-only, full, no permission …).
    case cannotWrite(path: String, reason: String)
    /// The file system refused a read (permission, I/O error …).
    case cannotRead(path: String, reason: String)
    /// A number in the file outside the bound `set`, `import` and `fetch` apply (`Bounded`): the file was changed
    /// outside lgc-shell. `field` names the first such value.
    case outOfRange(path: String, field: String, value: Double, bounds: Bounded)
    /// A change or state the store refuses to write because reading it back would fail.
    case invalidChange(String)
    /// Another process (`pid` when it can be told) has the file open as its working file.
    case inUse(path: String, pid: Int32?)
    /// Something other than a regular file (folder, device, FIFO) where a session file would go.
    case notRegularFile(path: String)
    /// `save` without a name after another process replaced the loaded session's file.
    case changedSinceLoaded(path: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "no session file '\(path)'"
        case .notSQLite(let path):
            return "'\(path)' is not an lgc-shell session (not a SQLite database)"
        case .empty(let path):
            return "'\(path)' is not an lgc-shell session (the file is empty)"
        case .damaged(let path, let detail):
            return "'\(path)' is truncated or damaged (\(detail))"
        case .integrity(let path, let first, let others, let atLeast):
            let more = others == 0 ? "" : "; and \(others)\(atLeast ? " or more" : "") other problem\(others == 1 && !atLeast ? "" : "s")"
            return "'\(path)' is truncated or damaged (integrity check: \(SafeText.oneLine(first, limit: 200))\(more))"
        case .foreign(let path):
            return "'\(path)' is a SQLite database of another application, not an lgc-shell session"
        case .newerFormat(let path, let version, let supported):
            return "'\(path)' was written by a newer lgc-shell (format \(version); this one reads up to \(supported))"
        case .checksumMismatch(let path, let model, let version):
            return "'\(path)': model \(model) v\(version) failed its SHA-256 check — the file is damaged"
        case .tooLarge(let path, let detail):
            return "'\(path)' holds more than this lgc-shell accepts: \(detail)"
        case .exists(let path):
            return "'\(path)' exists"
        case .cannotWrite(let path, let reason):
            return "cannot write '\(path)': \(reason)"
        case .cannotRead(let path, let reason):
            return "cannot read '\(path)': \(reason)"
        case .outOfRange(let path, let field, let value, let bounds):
            return "'\(path)': \(field) is \(value), out of range (expected \(bounds.expected)); the file was changed outside lgc-shell"
        case .invalidChange(let message):
            return "session not updated: \(message)"
        case .inUse(let path, let pid):
            let holder = pid.map { "by process \($0)" } ?? "by another process"
            return "'\(path)' is in use \(holder)"
        case .notRegularFile(let path):
            return "cannot write '\(path)': it is not a regular file"
        case .changedSinceLoaded(let path):
            return "'\(path)' was saved by another shell since this one loaded or saved it"
        }
    }
}
