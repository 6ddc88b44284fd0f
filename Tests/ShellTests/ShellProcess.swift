import Foundation

/// Runs the built `lgc-shell` as a user would, through pipes.
enum ShellProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// Ended by a signal (a crash, or our kill after `timeout`), not by exit.
        var signalled = false
        /// Killed because it ran past the `timeout` given to `run`.
        var timedOut = false

        var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

        /// Each stdout line parsed as a JSON object.
        func jsonObjects() throws -> [[String: Any]] {
            try stdoutLines.map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw CocoaError(.coderReadCorrupt)
                }
                return object
            }
        }
    }

    /// Runs the shell with `lines` fed through a pipe that stays open, reads its stdout until `text` appears (or 60 s
    /// pass), then kills it with SIGKILL: a shell killed between acknowledged commands. Returns what it printed and
    /// its pid.
    static func killed(_ arguments: [String], environment extra: [String: String], lines: [String],
                       after text: String) throws -> (stdout: String, pid: Int32) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains(text), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? input.fileHandleForWriting.close()
        return (seen, process.processIdentifier)
    }

    /// The executable built beside the test bundle.
    static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lgc-shell")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/lgc-shell")
    }

    static func run(_ arguments: [String] = [], stdin: String? = nil, stdinFile: String? = nil,
                    environment extra: [String: String] = [:], directory: URL? = nil,
                    timeout: TimeInterval? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LGC_HISTORY"] = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-test-history-\(UUID())").path
        environment.removeValue(forKey: "COLUMNS")
        environment["LGC_SESSIONS"] = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-sessions-\(UUID())").path
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        if let stdinFile {
            process.standardInput = FileHandle(forReadingAtPath: stdinFile)
        } else {
            process.standardInput = input
        }
        try process.run()
        if stdinFile == nil {
            input.fileHandleForWriting.write(Data((stdin ?? "").utf8))
            try input.fileHandleForWriting.close()
        }
        // A hang is a failure, not a stuck test run: past the deadline the child is killed.
        let killed = Flag()
        var watchdog: DispatchWorkItem?
        if let timeout {
            let pid = process.processIdentifier
            let item = DispatchWorkItem {
                killed.set()
                kill(pid, SIGKILL)
            }
            watchdog = item
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: item)
        }
        // Read both pipes fully before waiting, so a large output cannot block the child.
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        let errHandle = err.fileHandleForReading
        nonisolated(unsafe) var errBox = Data()
        group.enter()
        DispatchQueue.global().async {
            errBox = errHandle.readDataToEndOfFile()
            group.leave()
        }
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        errData = errBox
        process.waitUntilExit()
        watchdog?.cancel()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self),
                      signalled: process.terminationReason == .uncaughtSignal, timedOut: killed.isSet)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-shell-tests-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A flag set from another thread (the watchdog) and read after the child ended.
final class Flag: @unchecked Sendable {
    // @unchecked: `value` is guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
