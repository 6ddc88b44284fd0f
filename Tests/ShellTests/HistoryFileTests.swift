import Foundation
import Testing
@testable import Shell

private func mode(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode
}

/// The history file: only a regular file is written, and its mode is never changed.
@Suite struct HistoryFileMode {
    let directory: URL

    init() throws {
        directory = try ShellProcess.temporaryDirectory()
    }

    @Test func aFIFOIsNeitherWrittenNorChmodded() throws {
        let fifo = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let file = HistoryFile(path: fifo)
        #expect(file.state == .notRegular(.fifo))
        #expect(!file.mayWrite)
        #expect(!file.write(Data("_HiStOrY_V2_\nx\n".utf8)))
        #expect(mode(fifo) == S_IFIFO | 0o644)
    }

    @Test func aRegularFileKeepsItsMode() throws {
        let path = directory.appendingPathComponent("history").path
        try Data("old old old old\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(chmod(path, 0o644) == 0)
        #expect(HistoryFile(path: path).write(Data("new\n".utf8)))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\n")
        #expect(mode(path) == S_IFREG | 0o644)
    }

    @Test func aNewFileIsPrivateAndALinkIsFollowed() throws {
        let path = directory.appendingPathComponent("new-history").path
        #expect(HistoryFile(path: path).state == .absent)
        #expect(HistoryFile(path: path).write(Data("a\n".utf8)))
        #expect(mode(path).map { $0 & 0o777 } == 0o600)

        let link = directory.appendingPathComponent("link").path
        #expect(symlink(path, link) == 0)
        #expect(HistoryFile(path: link).write(Data("b\n".utf8)))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "b\n")
        #expect(mode(link).map { $0 & S_IFMT } == S_IFLNK)
        #expect(mode(path).map { $0 & 0o777 } == 0o600)
    }

    @Test func aFolderIsNotWritten() {
        let file = HistoryFile(path: directory.path)
        #expect(file.state == .notRegular(.folder))
        #expect(!file.write(Data("x".utf8)))
    }

    /// Through the real shell on a terminal: libedit's saving would chmod the file to 0600 after each line,
    /// and its loading would wait forever on a FIFO.
    @Test func theInteractiveShellLeavesModesAlone() throws {
        let regular = directory.appendingPathComponent("shared-history").path
        #expect(FileManager.default.createFile(atPath: regular, contents: Data()))
        #expect(chmod(regular, 0o644) == 0)
        let session = try TerminalSession(environment: ["LGC_HISTORY": regular])
        #expect(session.waitFor("lgc> "), "\(session.screen)")
        var mark = session.mark
        session.type("get evaluation_window\r")
        #expect(session.waitForPrompt(after: "10\r\n", since: mark))
        #expect(session.quit() == 0)
        #expect(mode(regular) == S_IFREG | 0o644)
        #expect(try String(contentsOfFile: regular, encoding: .utf8).contains("evaluation_window"))

        let fifo = directory.appendingPathComponent("history-fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let second = try TerminalSession(environment: ["LGC_HISTORY": fifo])
        #expect(second.waitFor("lgc> "), "the shell must not wait on the FIFO: \(second.screen)")
        #expect(second.screen.contains("is a FIFO (named pipe), not a regular file: history is not kept"))
        mark = second.mark
        second.type("get evaluation_window\r")
        #expect(second.waitForPrompt(after: "10\r\n", since: mark))
        #expect(second.quit() == 0)
        #expect(mode(fifo) == S_IFIFO | 0o644)
    }
}
