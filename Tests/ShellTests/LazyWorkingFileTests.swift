import FeedbackLoop
import Foundation
import LoopApp
import SessionStore
@testable import Shell
import Testing

/// The working file is made at the first change, not at start-up: a start that changes nothing writes nothing, and
/// the first change is committed, with every line before it, before its command returns.
@Suite struct LazyWorkingFile {
    /// The session files (working files included) in `folder`.
    func sessionFiles(in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".lgc") }
    }

    @Test func aShellThatChangesNothingMakesNoFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-lazy-\(UUID())").path
        let shell = quietShell()
        shell.openSession(directory: folder, persistent: true)
        let session = try #require(shell.session)
        #expect(session.workingFile == nil)
        for line in ["help", "status", "get evaluation_window", "trian"] { shell.execute(line) }
        #expect(session.workingFile == nil, "looking around changes nothing")
        #expect(!FileManager.default.fileExists(atPath: folder), "not even the sessions folder is made")
        #expect(shell.sessionFields().first { $0.0 == "working_file" }?.1 == .null)
        shell.closeSession()
        #expect(sessionFiles(in: folder).isEmpty)
    }

    @Test func theFirstChangeMakesTheFileWithTheLinesBeforeIt() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-lazy-\(UUID())").path
        let shell = quietShell()
        shell.openSession(directory: folder, persistent: true)
        let session = try #require(shell.session)
        #expect(shell.execute("help") == .ok)
        #expect(shell.execute("trian") != .ok)
        #expect(shell.execute("fetch demo 5") == .ok)
        // Committed before `execute` returned: another reader sees it now.
        let path = try #require(session.workingFile)
        #expect(sessionFiles(in: folder) == [".unsaved-\(getpid()).lgc"])
        let state = try SessionDatabase.readValidated(path: path)
        #expect(state.assets[0].series?.count == 120)
        #expect(state.commands.map(\.text) == ["help", "trian", "fetch demo 5"])
        #expect(state.commands.map(\.ok) == [true, false, true])
        #expect(session.hasUnsavedWork)
        #expect(shell.execute("help") == .ok)
        #expect(try SessionDatabase.readValidated(path: path).commands.count == 4, "from then on every line is written as it runs")
        shell.closeSession()
        #expect(sessionFiles(in: folder).isEmpty, "a clean exit removes it")
    }

    @Test func aFolderThatCannotBeWrittenLeavesTheSessionInMemory() throws {
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-lazy-file-\(UUID())").path
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        defer { try? FileManager.default.removeItem(atPath: blocker) }
        let shell = quietShell()
        shell.openSession(directory: blocker + "/sessions", persistent: true)
        #expect(shell.execute("help") == .ok)
        #expect(shell.session != nil, "nothing was to be written yet")
        #expect(shell.execute("fetch demo 5") == .ok, "the change stands in memory")
        #expect(shell.session == nil)
        #expect(shell.sessionProblem != nil)
        #expect(shell.engine.series?.count == 120)
    }

    @Test func aLongRunOfLinesThatChangeNothingIsWrittenOnceItIsLong() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-lazy-\(UUID())").path
        let shell = quietShell()
        shell.openSession(directory: folder, persistent: false)
        let session = try #require(shell.session)
        for _ in 0..<SessionController.maxUnwritten { shell.execute("get evaluation_window") }
        #expect(session.workingFile == nil)
        shell.execute("get evaluation_window")
        let path = try #require(session.workingFile)
        #expect(try SessionDatabase.readValidated(path: path).commands.count == SessionController.maxUnwritten + 1)
        #expect(!session.hasUnsavedWork, "lines alone are not work to save")
        shell.closeSession()
    }
}

/// The same through the real executable on a pseudo-terminal, as a person starts it.
@Suite struct LazyWorkingFileOnATerminal {
    @Test func aPlainStartMakesNoFileAndTheFirstChangeIsCommittedAtItsPrompt() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let shell = try TerminalSession(environment: ["LGC_SESSIONS": directory.path,
                                                      "LGC_HISTORY": directory.appendingPathComponent("h").path])
        #expect(shell.waitFor("lgc> "))
        let working = directory.appendingPathComponent(".unsaved-\(shell.pid).lgc").path
        var mark = shell.mark
        shell.type("status\r")
        #expect(shell.waitForPrompt(after: "session", since: mark), "\(shell.screen)")
        #expect(!FileManager.default.fileExists(atPath: working), "nothing changed: no working file")
        mark = shell.mark
        shell.type("fetch demo 5\r")
        #expect(shell.waitForPrompt(after: "bars of DEMO", since: mark), "\(shell.screen)")
        // The prompt is back: the change is in the file (a SIGKILL now loses nothing).
        kill(shell.pid, SIGKILL)
        #expect(shell.exitStatus() == -1)
        let state = try SessionDatabase.readValidated(path: working)
        #expect(state.assets[0].series?.count == 120)
        #expect(state.commands.map(\.text) == ["status", "fetch demo 5"])
    }
}

/// Start-up loads only what a start needs: the model libraries open when a model first needs them, and HTTP's
/// libraries (libcurl, TLS) when a fetch runs.
@Suite struct StartUpLibraries {
    @Test func aStartedShellHasNoModelOrNetworkLibraryLoaded() throws {
        let directory = try ShellProcess.temporaryDirectory()
        let shell = try TerminalSession(environment: ["LGC_SESSIONS": directory.path,
                                                      "LGC_HISTORY": directory.appendingPathComponent("h").path])
        #expect(shell.waitFor("lgc> "))
        // /proc files say they are empty: read to the end, not by their size.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/\(shell.pid)/maps"))
        let maps = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        try handle.close()
        let libraries = Set(maps.split(separator: "\n").compactMap { $0.split(separator: "/").last.map(String.init) })
        #expect(libraries.contains { $0.hasPrefix("libsqlite3") }, "the maps were read: \(libraries.sorted())")
        for unwanted in ["libxgboost", "libopenblas", "libcurl", "libFoundationNetworking", "libgnutls", "libssl"] {
            #expect(!libraries.contains { $0.hasPrefix(unwanted) }, "\(unwanted) loaded at start")
        }
    }
}
