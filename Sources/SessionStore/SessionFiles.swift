import Foundation

import Glibc

/// "A process works in this file": an exclusive `flock` held, for as long as the file is open, by every process that
/// writes through to a session file, and taken briefly by whoever replaces a session file.
///
/// On Linux `flock` locks are independent of the POSIX (`fcntl`) locks SQLite takes, belong to the open file (so a
/// second open in the same process conflicts too) and go away with the process: a killed shell never leaves a file
/// locked. The descriptor that holds the lock must stay open until SQLite has closed the file, because closing any
/// descriptor of a file drops this process's POSIX locks on it.
enum FileLock {
    /// Opens `path` and locks the file it names. A file renamed over `path` between the open and the lock is noticed
    /// (the inode differs) and the new one is locked instead. Waits up to `attempts` × 20 ms for another holder.
    /// Returns the descriptor that holds the lock, or nil when there is no file at `path`.
    static func acquire(_ path: String, attempts: Int = 50) throws -> Int32? {
        var attempt = 0
        while true {
            attempt += 1
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                if errno == ENOENT { return nil }
                throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                if FileSafety.names(path, fd) { return fd }
                Glibc.close(fd)   // replaced meanwhile: lock the file that is there now
                continue
            }
            let failure = errno
            let holder = holderPID(fd)
            Glibc.close(fd)
            guard failure == EWOULDBLOCK else {
                throw SessionError.cannotWrite(path: path, reason: String(cString: strerror(failure)))
            }
            guard attempt < attempts else { throw SessionError.inUse(path: path, pid: holder) }
            usleep(20_000)
        }
    }

    /// Whether another open file holds the lock on the file at `path` now (false when there is no file).
    /// Never call it on a file this process has open in SQLite: closing the probe would drop SQLite's locks.
    static func isHeld(_ path: String) -> Bool {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }

    /// The process holding a `flock` on the file open at `fd`, read from `/proc/locks` (nil when it cannot be told).
    static func holderPID(_ fd: Int32) -> Int32? {
        var info = stat()
        guard fstat(fd, &info) == 0,
              let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let dev = UInt64(info.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        // "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF"; waiters are listed with "->" and are skipped.
        var sameInode: [Int32] = [], sameFile: [Int32] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]) else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[2]) == UInt64(info.st_ino) else { continue }
            sameInode.append(pid)
            if UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor { sameFile.append(pid) }
        }
        if sameFile.count == 1 { return sameFile[0] }
        return sameFile.isEmpty && sameInode.count == 1 ? sameInode[0] : nil
    }
}

/// Session files as files: whether a process works in one, removing one with its side files, and clearing
/// the temporary copies that killed saves leave behind.
public enum SessionFiles {
    /// Whether a process (this one included) has the session file at `path` open as its working file.
    /// Never ask about a file this process has open: the probe's close would drop SQLite's locks on it.
    public static func isHeld(_ path: String) -> Bool { FileLock.isHeld(path) }

    /// Whether the process `pid` is gone (not merely owned by another user).
    public static func processIsGone(_ pid: Int32) -> Bool {
        pid > 0 && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Whether two paths name the same file (the same text, or the same device and inode).
    public static func same(_ a: String, _ b: String) -> Bool {
        a == b || FileSafety.samePath(a, b)
    }

    /// Removes a session file and the journal, write-ahead log and shared-memory files beside it.
    public static func remove(_ path: String) {
        FileSafety.remove(path)
    }

    /// The pid in a temporary copy's name (`.NAME.lgc.tmp-PID-RANDOM`, as `save` makes them), or nil.
    static func temporaryOwner(_ file: String) -> Int32? {
        guard file.hasPrefix("."), let range = file.range(of: ".tmp-", options: .backwards) else { return nil }
        let parts = file[range.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 2, let pid = Int32(parts[0]), UInt32(parts[1].prefix { $0.isNumber }) != nil else { return nil }
        return pid
    }

    /// The names in `folder` that start with one of `prefixes`, in no particular order (none when it cannot be
    /// read). Read with `readdir`, making a `String` only of the names that match: this runs at every start, and a
    /// temporary folder can hold thousands of other files.
    public static func names(in folder: String, startingWith prefixes: [String]) -> [String] {
        guard let stream = opendir(folder) else { return [] }
        defer { closedir(stream) }
        let wanted = prefixes.map { Array($0.utf8) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name: String? = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                let bytes = raw.bindMemory(to: UInt8.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                guard wanted.contains(where: { prefix in
                    prefix.count <= length && prefix.indices.allSatisfy { bytes[$0] == prefix[$0] }
                }) else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<length]), as: UTF8.self)
            }
            if let name, name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes the temporary copies (and their journals) in `directory` that saves killed mid-way left behind:
    /// those whose process is gone. Returns the paths removed. `names`: the folder's entries starting with `.`
    /// when the caller has read them already.
    @discardableResult
    public static func removeAbandonedTemporaries(in directory: String, names: [String]? = nil) -> [String] {
        let names = names ?? Self.names(in: directory, startingWith: ["."])
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = temporaryOwner(name), pid != getpid(), processIsGone(pid) else { continue }
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            if unlink(path) == 0 { removed.append(path) }
        }
        return removed
    }
}
