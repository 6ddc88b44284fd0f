import CTestPTY
import Foundation

/// The shell on a pseudo-terminal, driven like a person at a keyboard: type keys, wait for what appears.
final class TerminalSession {
    let pid: pid_t
    let master: Int32
    private(set) var screen = ""

    init(arguments: [String] = [], environment extra: [String: String], columns: Int = 80) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm"
        environment.removeValue(forKey: "COLUMNS")
        environment.removeValue(forKey: "NO_COLOR")
        // Interactive shells keep working files in the sessions folder: never the repository's own.
        environment["LGC_SESSIONS"] = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-pty-\(UUID())").path
        for (key, value) in extra { environment[key] = value }
        let path = ShellProcess.executable.path
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var fd: Int32 = -1
        pid = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                lgc_spawn_on_pty(path, argvBuffer.baseAddress, envpBuffer.baseAddress, Int32(columns), &fd)
            }
        }
        guard pid > 0 else { throw POSIXError(.ECHILD) }
        master = fd
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(master)
    }

    /// Types `keys` after a short pause, as a person would: keys that arrive while the editor is switching the
    /// terminal between cooked and raw mode can be taken by the kernel's line discipline instead of the editor.
    func type(_ keys: String) {
        readAvailable(waitMilliseconds: 100)
        _ = keys.withCString { write(master, $0, strlen($0)) }
    }

    /// Reads until `text` has appeared after the first `since` characters of the screen, or fails after `timeout`.
    @discardableResult
    func waitFor(_ text: String, since: Int? = nil, timeout: TimeInterval = 10) -> Bool {
        let start = since ?? 0
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if String(screen.dropFirst(start)).contains(text) { return true }
            readAvailable(waitMilliseconds: 50)
        }
        return String(screen.dropFirst(start)).contains(text)
    }

    /// Waits for `text` after `since`, then for the next prompt after it: the shell is ready for keys again.
    @discardableResult
    func waitForPrompt(after text: String, since: Int, timeout: TimeInterval = 10) -> Bool {
        guard waitFor(text, since: since, timeout: timeout) else { return false }
        let tail = String(screen.dropFirst(since))
        guard let range = tail.range(of: text) else { return false }
        return waitFor("lgc> ", since: since + tail.distance(from: tail.startIndex, to: range.upperBound), timeout: timeout)
    }

    /// Marks the current end of the screen, to wait for output that comes after it.
    var mark: Int { screen.count }

    func readAvailable(waitMilliseconds: Int32) {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, waitMilliseconds) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(master, &buffer, buffer.count)
        if count > 0 { screen += String(decoding: buffer[0..<count], as: UTF8.self) }
    }

    /// Leaves the shell as a person would: `quit`, confirmed once more when it warns that the session is unsaved.
    /// `timeout`: generous, because a loaded machine (parallel builds) can take seconds to stop a background fit.
    func quit(timeout: TimeInterval = 30) -> Int32? {
        let mark = self.mark
        type("quit\r")
        if waitFor("This session is not saved", since: mark, timeout: 2) { type("quit\r") }
        return exitStatus(timeout: timeout)
    }

    /// The child's kernel state, for failure messages.
    var processState: String {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "?"
        let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
        var modes = termios()
        tcgetattr(master, &modes)
        let canonical = modes.c_lflag & tcflag_t(ICANON) != 0
        return "canonical: \(canonical) wchan: \(wchan) stat: \(stat.prefix(60))"
    }

    /// Waits for the process to exit; its exit status, or nil if it is still running after `timeout`.
    func exitStatus(timeout: TimeInterval = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while Date() < deadline {
            readAvailable(waitMilliseconds: 20)
            if waitpid(pid, &status, WNOHANG) == pid {
                return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
            }
        }
        return nil
    }
}
