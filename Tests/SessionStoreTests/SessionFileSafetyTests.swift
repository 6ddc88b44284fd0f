import FeedbackLoop
import Foundation
import GRDB
import MarketData
import Testing
@testable import SessionStore

@Suite("Session files: replacing, locks, side files")
struct SessionFileSafetyTests {
    /// A session file with a dead shell's write-ahead log beside it: `X.lgc` as it was before the shell's last
    /// commits, and `X.lgc-wal` holding them (what SIGKILL leaves). Returns the state the log would add up to.
    func fileWithDeadShellsLog(at path: String) throws -> SessionState {
        let database = try SessionDatabase.create(at: path, createdAt: 1_790_000_000)
        try database.apply(SessionChange.single(series: awkwardSeries(count: 40)))
        database.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let shell = try SessionDatabase.open(at: path)
        try shell.apply(SessionChange.single(newOutcomes: outcomes(20)))
        // The commits are in the log only; a copy of it now is what a killed process leaves behind.
        let log = try Data(contentsOf: URL(fileURLWithPath: path + "-wal"))
        let withLog = try shell.read()
        shell.close()
        try before.write(to: URL(fileURLWithPath: path))
        try log.write(to: URL(fileURLWithPath: path + "-wal"))
        return withLog
    }

    @Test("save --force over a file with a dead shell's log: the log goes with the old file, no rows mix")
    func staleLogIsNotApplied() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let target = directory + "/X.lgc"
        let dead = try fileWithDeadShellsLog(at: target)
        #expect(dead.assets[0].outcomes.count == 20)
        // The log is live: reading the file now applies it.
        #expect(try SessionDatabase.readValidated(path: target).assets[0].outcomes.count == 20)

        let other = try SessionDatabase.create(at: directory + "/other.lgc", createdAt: 1_790_000_000)
        defer { other.close() }
        let series = awkwardSeries(count: 30, seed: 99)
        try other.apply(SessionChange.single(series: series))
        try other.save(to: target, overwrite: true, savedAt: 1_790_000_000)

        let saved = try SessionDatabase.readValidated(path: target)
        #expect(saved.assets[0].series == series)
        #expect(saved.assets[0].outcomes.isEmpty, "no outcome of the dead shell's log")
        #expect(saved.assets[0].totalLogged == 0)
        for suffix in ["-wal", "-shm", "-journal"] {
            #expect(!FileManager.default.fileExists(atPath: target + suffix), "\(suffix)")
        }
        // Opened for write-through (which does not only read), still only the new content.
        let reopened = try SessionDatabase.open(at: target)
        defer { reopened.close() }
        #expect(try reopened.read().assets[0].outcomes.isEmpty)
    }

    @Test("a file another open holds is refused for replacing, names the holder, and stays intact")
    func replacingAFileInUseIsRefused() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let target = directory + "/X.lgc"
        let working = try SessionDatabase.create(at: target, createdAt: 1_790_000_000)
        try working.apply(SessionChange.single(newOutcomes: outcomes(3)))

        let other = try SessionDatabase.create(at: directory + "/other.lgc", createdAt: 1_790_000_000)
        defer { other.close() }
        let refused = thrownError { try other.save(to: target, overwrite: true, savedAt: 1_790_000_000) }
        // The lock is the open file's, so even this process's own second open is refused; /proc/locks names it.
        #expect(refused == .inUse(path: target, pid: getpid()))
        #expect(refused?.description
                == "'\(target)' is in use by process \(getpid())")
        #expect(thrownError { _ = try SessionDatabase.open(at: target) } == .inUse(path: target, pid: getpid()))

        // The working file goes on as if nothing happened.
        try working.apply(SessionChange.single(newOutcomes: outcomes(2, after: 3)))
        #expect(try working.read().assets[0].outcomes.count == 5)
        working.close()
        #expect(try SessionDatabase.readValidated(path: target).assets[0].outcomes.count == 5)
        // Once closed, the lock is gone and the file can be replaced.
        #expect(!SessionFiles.isHeld(target))
        try other.save(to: target, overwrite: true, savedAt: 1_790_000_000)
        #expect(try SessionDatabase.readValidated(path: target).assets[0].outcomes.isEmpty)
    }

    @Test("save refuses folders, devices and FIFOs where the session file would go")
    func saveRefusesOtherThanRegularFiles() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/work.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        try FileManager.default.createDirectory(atPath: directory + "/folder.lgc", withIntermediateDirectories: false)
        #expect(mkfifo(directory + "/fifo.lgc", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: directory + "/link.lgc", withDestinationPath: directory + "/work.lgc")
        for name in ["folder.lgc", "fifo.lgc", "link.lgc"] {
            let path = directory + "/" + name
            let error = thrownError { try database.save(to: path, overwrite: true, savedAt: 1_790_000_000) }
            #expect(error == .notRegularFile(path: path))
            #expect(error?.description == "cannot write '\(path)': it is not a regular file")
        }
        #expect(thrownError { try database.save(to: "/dev/null", overwrite: true, savedAt: 1_790_000_000) } == .notRegularFile(path: "/dev/null"))
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test("temporary copies of killed saves are removed; those of live processes stay")
    func abandonedTemporaries() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let dead = try deadPID()
        let files = [".X.lgc.tmp-\(dead)-12345", ".X.lgc.tmp-\(dead)-12345-journal", ".Y.lgc.tmp-\(getpid())-777",
                     ".Z.lgc.tmp-\(dead)", "X.lgc", ".X.lgc.tmp-abc-1"]
        for file in files { try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/" + file)) }
        let removed = SessionFiles.removeAbandonedTemporaries(in: directory)
        #expect(removed == [directory + "/.X.lgc.tmp-\(dead)-12345", directory + "/.X.lgc.tmp-\(dead)-12345-journal"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
                == [".X.lgc.tmp-abc-1", ".Y.lgc.tmp-\(getpid())-777", ".Z.lgc.tmp-\(dead)", "X.lgc"])
    }
}

/// The pid of a process that has exited (and been reaped), so it is gone.
func deadPID() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}
