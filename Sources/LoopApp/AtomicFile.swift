import Foundation

/// Why a file the user named could not be written. Wording lives in `description`; nothing branches on it.
public enum FileWriteError: Error, Equatable, CustomStringConvertible {
    /// What is at a path that is not a regular file.
    public enum Kind: Equatable {
        case characterDevice, blockDevice, fifo, socket, folder, unknown

        public init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFIFO: self = .fifo
            case S_IFSOCK: self = .socket
            case S_IFDIR: self = .folder
            default: self = .unknown
            }
        }

        public var words: String {
            switch self {
            case .characterDevice: return "a character device"
            case .blockDevice: return "a block device"
            case .fifo: return "a FIFO (named pipe)"
            case .socket: return "a socket"
            case .folder: return "a folder"
            case .unknown: return "not a regular file"
            }
        }
    }

    /// An empty path.
    case noPath
    /// The path names a folder: it is one, or it ends in `/`, `.` or `..`.
    case folder(path: String)
    /// A device node, FIFO or socket is there: export never replaces one.
    case special(path: String, kind: Kind)
    /// A symbolic link is there (to `destination`): export does not write through links, nor replace them.
    case symbolicLink(path: String, destination: String)
    /// The folder the file would go in does not exist.
    case missingFolder(path: String, folder: String)
    /// Something on the way to the file is not a folder.
    case notAFolder(path: String, folder: String)
    /// The system refused (permission, read-only file system, no space …); `code` is the `errno`.
    case system(path: String, code: Int32)

    public var description: String {
        switch self {
        case .noPath:
            return "no file name given — give a PATH, e.g. 'results/perf.csv'"
        case .folder(let path):
            return "'\(path)' names a folder, not a file — give a file name inside it"
        case .special(let path, let kind):
            return "'\(path)' is \(kind.words), not a regular file — export writes only regular files; choose another path"
        case .symbolicLink(let path, let destination):
            return "'\(path)' is a symbolic link (to '\(destination)') — export does not write through links; give the file's own path or another name"
        case .missingFolder(let path, let folder):
            return "cannot write '\(path)': there is no folder '\(folder)' — create it first"
        case .notAFolder(let path, let folder):
            return "cannot write '\(path)': '\(folder)' is not a folder"
        case .system(let path, let code):
            return "cannot write '\(path)': \(String(cString: strerror(code)))"
        }
    }
}

/// Whole-file writes that never leave a half-written file at the destination, and never replace
/// anything but a regular file.
///
/// The data goes to a new temporary file in the destination's folder (created exclusively, never
/// following a link), is flushed to disk, and is renamed over the destination. The destination must be
/// absent or a regular file: a device node, FIFO, socket, folder or symbolic link is refused — so, even
/// as root, `export perf /dev/null` cannot replace `/dev/null`, and a link planted where a file is expected
/// cannot redirect the write. A regular file that is replaced keeps its permission bits. Paths are handled
/// with POSIX calls on the bytes the user typed; `~` and `~/…` expand to `$HOME`.
public enum AtomicFile {
    /// Writes `data` to `path` and returns the path written (after `~` expansion).
    public static func write(_ data: Data, to path: String) throws -> String {
        guard !path.isEmpty else { throw FileWriteError.noPath }
        let target = expandingHome(path)
        let slash = target.lastIndex(of: "/")
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        guard !name.isEmpty, name != ".", name != ".." else { throw FileWriteError.folder(path: path) }
        let folder: String
        if let slash {
            folder = slash == target.startIndex ? "/" : String(target[..<slash])
        } else {
            folder = "."
        }

        let existingMode = try checkDestination(target, shownAs: path, folder: folder)
        var info = stat()
        if stat(folder, &info) != 0 {
            let code = errno
            switch code {
            case ENOENT: throw FileWriteError.missingFolder(path: path, folder: folder)
            case ENOTDIR: throw FileWriteError.notAFolder(path: path, folder: folder)
            default: throw FileWriteError.system(path: path, code: code)
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw FileWriteError.notAFolder(path: path, folder: folder) }

        let temporary = folder + "/.lgc-export-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, existingMode ?? 0o666)
        guard descriptor >= 0 else { throw FileWriteError.system(path: path, code: errno) }
        var closed = false
        defer { if !closed { close(descriptor) } }
        do {
            try writeAll(data, to: descriptor, path: path)
            // open() applied the umask; a replaced file keeps the bits it had.
            if let existingMode, fchmod(descriptor, existingMode) != 0 { throw FileWriteError.system(path: path, code: errno) }
            guard fsync(descriptor) == 0 else { throw FileWriteError.system(path: path, code: errno) }
            closed = true
            guard close(descriptor) == 0 else { throw FileWriteError.system(path: path, code: errno) }
            // Looked at again just before the rename: something else may have appeared there meanwhile.
            _ = try checkDestination(target, shownAs: path, folder: folder)
            guard rename(temporary, target) == 0 else { throw FileWriteError.system(path: path, code: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        return target
    }

    /// The permission bits of the regular file at `target`, nil when nothing is there; throws for anything
    /// that must not be replaced.
    private static func checkDestination(_ target: String, shownAs path: String, folder: String) throws -> mode_t? {
        var info = stat()
        guard lstat(target, &info) == 0 else {
            let code = errno
            // Missing, or a part of the path is not a folder: the folder check says which.
            if code == ENOENT || code == ENOTDIR { return nil }
            throw FileWriteError.system(path: path, code: code)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return info.st_mode & 0o7777
        case S_IFDIR: throw FileWriteError.folder(path: path)
        case S_IFLNK: throw FileWriteError.symbolicLink(path: path, destination: linkDestination(target))
        default: throw FileWriteError.special(path: path, kind: FileWriteError.Kind(mode: info.st_mode))
        }
    }

    private static func linkDestination(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return "?" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func writeAll(_ data: Data, to descriptor: Int32, path: String) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileWriteError.system(path: path, code: errno)
                }
                offset += written
            }
        }
    }

    /// `~` and `~/…` with `$HOME` (the account's home when unset); other paths as typed.
    public static func expandingHome(_ path: String) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + path.dropFirst()
    }
}
