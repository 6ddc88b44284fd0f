import Foundation
@testable import Shell
import Testing

/// Two sessions never mix, a saved session changes only on `save`, and what killed shells leave is cleaned or
/// recovered: real processes, on pipes and pseudo-terminals.
@Suite struct SessionSafety {
    let directory: URL
    /// The temporary folder the shells under test use (`TMPDIR`), so their scripts' working files are ours alone.
    let temporary: URL
    var environment: [String: String] {
        ["LGC_SESSIONS": directory.path, "TMPDIR": temporary.path, "LGC_HISTORY": temporary.appendingPathComponent("h").path]
    }

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
        temporary = try ShellProcess.temporaryDirectory()
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name + ".lgc").path }

    func run(_ arguments: [String], _ commands: String) throws -> ShellProcess.Result {
        try ShellProcess.run(arguments + ["-c", commands], environment: environment)
    }

    func json(_ commands: String) throws -> [[String: Any]] {
        let result = try run(["--json", "-q"], commands)
        #expect(result.status == 0, "\(result.stderr)")
        return try result.jsonObjects()
    }

    func terminal(_ arguments: [String] = []) throws -> TerminalSession {
        let session = try TerminalSession(arguments: arguments, environment: environment)
        #expect(session.waitFor("lgc> "), "\(session.screen)")
        return session
    }

    func type(_ session: TerminalSession, _ line: String, until text: String) {
        let mark = session.mark
        session.type(line + "\r")
        #expect(session.waitForPrompt(after: text, since: mark, timeout: 20), "\(session.screen)")
    }

    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    /// The issue's case: a shell writing through to X is killed with commits only in X.lgc-wal; another shell
    /// saves over X; loading X shows the new session only, none of the killed shell's outcomes.
    @Test func aKilledShellsLogNeverReachesTheFileSavedOverIt() throws {
        let setup = try run(["-q"], "fetch demo 100 --seed 1; set xgboost.threads 1; train tier1; save X")
        #expect(setup.status == 0, "\(setup.stderr)")
        let first = try terminal(["--session", "X"])
        for index in 1...10 { type(first, "log BUY --predicted BUY", until: "(#\(index))") }
        #expect(FileManager.default.fileExists(atPath: path("X") + "-wal"), "the outcomes are in the log")
        kill(first.pid, SIGKILL)
        #expect(first.exitStatus() == -1)

        let second = try json("fetch demo 100 --seed 2; set xgboost.threads 1; train tier1; save X --force; data")
        #expect(!FileManager.default.fileExists(atPath: path("X") + "-wal"))
        let objects = try json("load X; perf; data")
        #expect(objects[0]["predictions"] as? Int == 0)
        #expect(objects[0]["rows"] as? Int == 2400)
        #expect(objects[1]["total_predictions"] as? Int == 0, "no outcome of the killed shell")
        for key in ["first_price", "last_price", "end"] {
            #expect("\(objects[2][key] ?? "-")" == "\(second[4][key] ?? "?")", "\(key): the second shell's data")
        }
    }

    /// A second shell may neither save over nor open a session a live shell works in; the first goes on intact.
    @Test func aSessionALiveShellWorksInIsRefusedToOthers() throws {
        #expect(try run(["-q"], "fetch demo 5; save X").status == 0)
        let first = try terminal(["--session", "X"])
        type(first, "log BUY --predicted BUY", until: "(#1)")

        let inUse = "'\(path("X"))' is in use by process \(first.pid) — quit that shell first or save under another name"
        let saveOver = try run(["-q"], "fetch demo 6; save X --force")
        #expect(saveOver.status == 1)
        #expect(saveOver.stderr == "-c:2: error: \(inUse)\n")
        let openToo = try run(["-q", "--session", "X"], "data")
        #expect(openToo.status == 1)
        #expect(openToo.stderr == "lgc-shell: cannot start with session 'X': \(inUse)\n")
        // Loading a copy is only reading: allowed, and it sees what the first shell acknowledged.
        #expect(try json("load X; perf")[1]["total_predictions"] as? Int == 1)

        type(first, "log SELL --predicted BUY", until: "(#2)")
        #expect(first.quit() == 0)
        let after = try json("load X; perf; data")
        #expect(after[1]["total_predictions"] as? Int == 2)
        #expect(after[0]["rows"] as? Int == 120, "the first shell's data, not the refused shell's")
        // Once that shell is gone, saving over it is allowed.
        #expect(try run(["-q"], "fetch demo 6; save X --force").status == 0)
    }

    @Test func loadWorksOnACopyUntilSave() throws {
        #expect(try run(["-q"], "fetch demo 30; set xgboost.threads 1; train tier1; save s1").status == 0)
        let saved = try bytes("s1")
        let edit = try run(["-q"], "load s1; set xgboost.threads 1; train tier1; log BUY --predicted BUY; set log_window 20; advance 1h")
        #expect(edit.status == 0, "\(edit.stderr)")
        #expect(try bytes("s1") == saved, "commands after load leave the saved file's bytes alone")
        #expect(edit.stderr == "[WARNING] session 's1' has changes that were not saved and are discarded — end the script with 'save' to keep them\n")
        for suffix in ["-wal", "-shm", "-journal"] { #expect(!FileManager.default.fileExists(atPath: path("s1") + suffix)) }

        let write = try json("load s1; set xgboost.threads 1; train tier1; log BUY --predicted BUY; save")
        #expect(write[4]["name"] as? String == "s1" && write[4]["path"] as? String == path("s1"))
        #expect(try bytes("s1") != saved)
        let reloaded = try json("load s1; models logistic; perf")
        #expect((reloaded[1]["models"] as? [[String: Any]])?.count == 2)
        #expect(reloaded[2]["total_predictions"] as? Int == 1)

        let unnamed = try run(["-q"], "fetch demo 5; save")
        #expect(unnamed.stderr == "-c:2: error: this session has no name yet — 'save NAME' saves it\n")
    }

    @Test func saveWithoutANameRefusesAFileAnotherShellSavedMeanwhile() throws {
        #expect(try run(["-q"], "fetch demo 5; save s1").status == 0)
        let first = quietShell(), second = quietShell()
        for shell in [first, second] { shell.openSession(directory: directory.path, persistent: false) }
        defer { [first, second].forEach { $0.closeSession() } }
        #expect(first.execute("load s1") == .ok && second.execute("load s1") == .ok)
        #expect(second.execute("log BUY --predicted BUY") == .ok && second.execute("save") == .ok)
        #expect(first.execute("log SELL --predicted BUY") == .ok)
        #expect(first.execute("save") == .failed(
            "'\(path("s1"))' was saved by another shell since this one loaded or saved it — 'save OTHER-NAME' keeps both; 'save --force' overwrites it"))
        #expect(first.execute("save s1-mine") == .ok)
        #expect(first.execute("save") == .ok, "after 'save NAME' the session is that one")
        #expect(second.execute("save --force") == .ok)
    }

    @Test func quittingAfterLoadWithUnsavedChangesWarnsAndSaveWritesBack() throws {
        #expect(try run(["-q"], "fetch demo 5; save s1").status == 0)
        let shell = try terminal()
        type(shell, "load s1", until: "loaded")
        type(shell, "status", until: "session   's1', saved")
        type(shell, "log BUY --predicted BUY", until: "(#1)")
        type(shell, "status", until: "session   's1', changes not saved — 'save' writes them")
        var mark = shell.mark
        shell.type("quit\r")
        #expect(shell.waitForPrompt(
            after: "This session is not saved: 'save' writes its changes to 's1'; quit again (or Ctrl-D) to discard them.",
            since: mark), "\(shell.screen)")
        type(shell, "save", until: "saved session 's1'")
        mark = shell.mark
        shell.type("quit\r")
        #expect(shell.exitStatus() == 0)
        #expect(!shell.screen.dropFirst(mark).contains("not saved"))
        #expect(try json("load s1; perf")[1]["total_predictions"] as? Int == 1)
    }

    /// A killed shell that had loaded a saved session: the saved file is as it was, `recover` finds the work and
    /// the session's name, and `save` writes the work back.
    @Test func recoverAfterAKilledShellThatHadLoadedASession() throws {
        #expect(try run(["-q"], "fetch demo 5; save s1").status == 0)
        let saved = try bytes("s1")
        let first = try terminal()
        type(first, "load s1", until: "loaded")
        type(first, "log BUY --predicted BUY", until: "(#1)")
        kill(first.pid, SIGKILL)
        #expect(first.exitStatus() == -1)
        #expect(try bytes("s1") == saved)

        let objects = try json("recover; perf; save")
        #expect(objects[0]["name"] as? String == "s1")
        #expect(objects[1]["total_predictions"] as? Int == 1)
        #expect(objects[2]["path"] as? String == path("s1"))
        #expect(try json("load s1; perf")[1]["total_predictions"] as? Int == 1)
        let again = try run(["-q"], "recover")
        #expect(again.stderr == "-c:1: error: no unsaved session to recover in \(directory.path)\n", "the orphan was taken")
    }

    /// Lines of a script fed through a pipe that stays open, so the script can be killed mid-way.
    func killedScript(_ lines: [String], after text: String) throws -> Int32 {
        let (seen, pid) = try ShellProcess.killed(["-q"], environment: environment, lines: lines, after: text)
        #expect(seen.contains(text), "\(seen)")
        return pid
    }

    func scriptFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: temporary.path).filter { $0.hasPrefix("lgc-shell-") }.sorted()
    }

    @Test func aKilledScriptsWorkCanBeRecovered() throws {
        let pid = try killedScript(["fetch demo 5", "log BUY --predicted BUY"], after: "(#1)")
        let left = try scriptFiles().filter { $0.hasSuffix(".lgc") }
        #expect(left.count == 1 && left[0].hasPrefix("lgc-shell-\(pid)-"))

        let objects = try json("recover; perf; data")
        #expect(objects[0]["path"] as? String == temporary.appendingPathComponent(left[0]).path)
        #expect(objects[1]["total_predictions"] as? Int == 1)
        #expect(objects[2]["rows"] as? Int == 120)
        #expect(try scriptFiles().isEmpty, "the orphan was taken, and this script's own file went at exit")
        let none = try run(["-q"], "recover --script")
        #expect(none.stderr == "-c:1: error: no unsaved session to recover in \(directory.path)\n")
    }

    @Test func startUpRemovesKilledSavesCopiesAndOldKilledScriptsFiles() throws {
        let dead = try deadPID()
        let now = Date()
        var scripts: [String] = []
        for age in 1...5 {
            let name = "lgc-shell-\(dead)-\(UUID().uuidString).lgc"
            let url = temporary.appendingPathComponent(name)
            try Data("x".utf8).write(to: url)
            try Data("x".utf8).write(to: URL(fileURLWithPath: url.path + "-wal"))
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(Double(-age * 3600))],
                                                  ofItemAtPath: url.path)
            scripts.append(name)
        }
        let live = "lgc-shell-\(getpid())-\(UUID().uuidString).lgc"
        let strayLog = "lgc-shell-\(dead)-\(UUID().uuidString).lgc-shm"
        let unrelated = "lgc-shell-tests-\(UUID().uuidString)"
        for name in [live, strayLog, unrelated] { try Data("x".utf8).write(to: temporary.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let copies = [".X.lgc.tmp-\(dead)-4242", ".X.lgc.tmp-\(dead)-4242-journal"]
        for name in copies { try Data("x".utf8).write(to: directory.appendingPathComponent(name)) }
        let mine = ".Y.lgc.tmp-\(getpid())-1"
        try Data("x".utf8).write(to: directory.appendingPathComponent(mine))

        #expect(try run(["-q"], "clock").status == 0)
        let kept = scripts.prefix(3).flatMap { [$0, $0 + "-wal"] }
        #expect(try scriptFiles() == (kept + [live, unrelated]).sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [mine])
    }

    @Test(arguments: [
        ("save a/", "save: 'a/' names a folder, not a session file — add a file name such as run1.lgc — usage: save ?NAME? ?--force?"),
        ("save ./", "save: './' names a folder, not a session file — add a file name such as run1.lgc — usage: save ?NAME? ?--force?"),
        ("save /", "save: '/' names a folder, not a session file — add a file name such as run1.lgc — usage: save ?NAME? ?--force?"),
        ("save a/b/", "save: 'a/b/' names a folder, not a session file — add a file name such as run1.lgc — usage: save ?NAME? ?--force?"),
        ("save a/..", "save: 'a/..' names a folder, not a session file — add a file name such as run1.lgc — usage: save ?NAME? ?--force?"),
        ("save ''", "save: a session name is needed, such as btc-1 or a path ending in .lgc — usage: save ?NAME? ?--force?"),
        ("save ..", "save: invalid session name '..': use letters, digits, '-', '_' and '.' — usage: save ?NAME? ?--force?"),
        ("save .lgc", "save: invalid session name '.lgc': use letters, digits, '-', '_' and '.' — usage: save ?NAME? ?--force?"),
        ("save 'a\u{1}b'", "save: invalid session name: it contains control characters — usage: save ?NAME? ?--force?"),
        ("save 'x/a\u{7f}b.lgc'", "save: invalid session name: it contains control characters — usage: save ?NAME? ?--force?"),
        ("save 'a\u{2028}b'", "save: invalid session name: it contains control characters — usage: save ?NAME? ?--force?"),
        ("load ./", "load: './' names a folder, not a session file — add a file name such as run1.lgc — usage: load NAME|PATH ?--in-place?"),
        ("load ''", "load: a session name is needed, such as btc-1 or a path ending in .lgc — usage: load NAME|PATH ?--in-place?"),
    ])
    func oddSessionPathsAreOneLineErrors(line: String, error: String) throws {
        let shell = quietShell()
        shell.openSession(directory: directory.path, persistent: false)
        defer { shell.closeSession() }
        #expect(shell.execute("fetch demo 5") == .ok)
        #expect(shell.execute(line) == .failed(error))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "nothing written")
    }

    @Test func oddSessionPathsDoNotCrashTheBinary() throws {
        let lines = ["save a/", "save ./", "save ''", "save /", "save ..", "save a/b/", "save 'a\u{1}b'", "load a/", "load /",
                     "save /dev/null --force", "load /dev/null", "save .", "save ~"]
        let result = try run(["-q", "--keep-going"], "fetch demo 5; " + lines.joined(separator: "; "))
        #expect(result.status == 1)
        let errors = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(errors.count == lines.count, "\(result.stderr)")
        for (index, error) in errors.enumerated() { #expect(error.hasPrefix("-c:\(index + 2): error: "), "\(error)") }
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    }
}

/// The pid of a process that has exited and been reaped: gone.
func deadPID() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}
