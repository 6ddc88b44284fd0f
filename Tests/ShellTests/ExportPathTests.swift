import Foundation
import MarketData
import Testing

/// `export` with every odd path a user can type: one-line errors, never a crash, never a special file replaced.
@Suite struct ExportPaths {
    static let kinds = ["features", "model logistic", "notebook", "log", "perf"]

    let directory: URL
    let readOnly: String

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("folder"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: directory.appendingPathComponent("plain"))
        if geteuid() == 0 {
            // Root writes anywhere a mode allows nothing; sysfs refuses new files even to root.
            readOnly = "/sys"
        } else {
            let folder = directory.appendingPathComponent("read-only")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            chmod(folder.path, 0o555)
            readOnly = folder.path
        }
    }

    /// Runs `fetch demo 10; train tier1` and then each export line, on after errors; stderr's lines.
    func run(_ exports: [String]) throws -> (result: ShellProcess.Result, errors: [String]) {
        let script = (["fetch demo 10", "train tier1"] + exports).joined(separator: "; ")
        let result = try ShellProcess.run(["--keep-going", "-q", "-c", script], environment: ["NO_COLOR": "1"], directory: directory)
        let errors = result.stderr.split(separator: "\n").map(String.init)
        return (result, errors)
    }

    @Test("odd paths are one-line errors", arguments: kinds)
    func oddPaths(kind: String) throws {
        let json = kind.hasPrefix("model") ? ".json" : ""
        let folder = directory.appendingPathComponent("folder").path
        let cases: [(path: String, error: String)] = [
            ("''", "no file name given — give a PATH, e.g. 'results/perf.csv'"),
            ("/", "'/' names a folder, not a file — give a file name inside it"),
            (".", "'.' names a folder, not a file — give a file name inside it"),
            ("..", "'..' names a folder, not a file — give a file name inside it"),
            ("a/", "'a/' names a folder, not a file — give a file name inside it"),
            ("./", "'./' names a folder, not a file — give a file name inside it"),
            ("\"\(folder)\"", "'\(folder)' names a folder, not a file — give a file name inside it"),
            ("missing/x\(json)", "cannot write 'missing/x\(json)': there is no folder 'missing' — create it first"),
            ("plain/x\(json)", "cannot write 'plain/x\(json)': 'plain' is not a folder"),
            ("\(readOnly)/x\(json)", "cannot write '\(readOnly)/x\(json)': Permission denied"),
        ]
        let (result, errors) = try run(cases.map { "export \(kind) \($0.path)" })
        #expect(result.status == 1)
        #expect(errors.count == cases.count, "\(result.stderr)")
        for (index, entry) in cases.enumerated() where index < errors.count {
            let expected: String
            if kind.hasPrefix("model") && !entry.path.hasSuffix(".json") {
                expected = "model exports are JSON: give a PATH ending in .json"
            } else {
                expected = entry.error
            }
            #expect(errors[index] == "-c:\(index + 3): error: \(expected)", "export \(kind) \(entry.path)")
        }
        // Nothing half-written is left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!left.contains { $0.hasPrefix(".lgc-export") }, "\(left)")
    }

    @Test("short relative names that used to crash are written", arguments: kinds)
    func shortNames(kind: String) throws {
        let names = kind.hasPrefix("model") ? ["x.json", "-.json", ".json"] : ["x", "-", "~x"]
        let (result, errors) = try run(names.map { "export \(kind) \($0)" })
        #expect(result.status == 0, "\(errors)")
        for name in names {
            let size = (try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            #expect(size > 0, "\(name) not written")
        }
    }

    @Test func exportReplacesARegularFileAndKeepsItsMode() throws {
        let file = directory.appendingPathComponent("perf.csv")
        try Data("old".utf8).write(to: file)
        chmod(file.path, 0o640)
        let (result, _) = try run(["export perf perf.csv"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOf: file, encoding: .utf8).hasPrefix("trained_at,model"))
        var info = stat()
        #expect(stat(file.path, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o640)
    }

    /// What is at a special path, to compare before and after.
    private func identity(_ path: String) -> [UInt64] {
        var info = stat()
        guard lstat(path, &info) == 0 else { return [] }
        return [UInt64(info.st_ino), UInt64(info.st_mode), UInt64(info.st_rdev), UInt64(info.st_size)]
    }

    @Test("non-regular destinations are refused and left as they were", arguments: kinds)
    func specialDestinations(kind: String) throws {
        let json = kind.hasPrefix("model") ? ".json" : ""
        let fifo = directory.appendingPathComponent("pipe\(json)").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let target = directory.appendingPathComponent("target.txt").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: target))
        let link = directory.appendingPathComponent("link\(json)").path
        #expect(symlink(target, link) == 0)
        let dangling = directory.appendingPathComponent("dangling\(json)").path
        #expect(symlink(directory.appendingPathComponent("nowhere").path, dangling) == 0)
        // A character device like /dev/null (1, 3), made here when allowed (root); else /dev/null itself,
        // which a non-root export could not replace anyway.
        var device = directory.appendingPathComponent("null\(json)").path
        if mknod(device, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) != 0 {   // makedev(1, 3)
            device = "/dev/null"
        }
        let socketPath = directory.appendingPathComponent("sock\(json)").path
        let socketFD = try bindUnixSocket(socketPath)
        defer { close(socketFD) }
        let paths = [fifo, link, dangling, device, socketPath]
        let before = paths.map(identity)
        let (result, errors) = try run(paths.map { "export \(kind) \"\($0)\"" })
        #expect(result.status == 1)
        let expected = [
            "'\(fifo)' is a FIFO (named pipe), not a regular file — export writes only regular files; choose another path",
            "'\(link)' is a symbolic link (to '\(target)') — export does not write through links; give the file's own path or another name",
            "'\(dangling)' is a symbolic link (to '\(directory.appendingPathComponent("nowhere").path)') — export does not write through links; give the file's own path or another name",
            "'\(device)' is a character device, not a regular file — export writes only regular files; choose another path",
            "'\(socketPath)' is a socket, not a regular file — export writes only regular files; choose another path",
        ]
        #expect(errors == expected.enumerated().map { "-c:\($0.offset + 3): error: \($0.element)" })
        #expect(paths.map(identity) == before, "a special file changed")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("nowhere").path))
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(!left.contains { $0.hasPrefix(".lgc-export") }, "\(left)")
    }

    private func bindUnixSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        return fd
    }
}
