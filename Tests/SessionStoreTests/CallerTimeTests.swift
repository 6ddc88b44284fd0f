import FeedbackLoop
import Foundation
import GRDB
import Testing
@testable import SessionStore

/// The store never reads the wall clock: the times a file records are the ones its caller passes.
@Suite struct CallerTime {
    @Test func createdAtAndSavedAtAreTheCallersTimes() throws {
        let directory = try makeTemporaryDirectory()
        let database = try SessionDatabase.create(at: directory + "/work.lgc", createdAt: 1_234_567)
        try database.save(to: directory + "/kept.lgc", overwrite: false, savedAt: 7_654_321.5)
        database.close()
        let queue = try DatabaseQueue(path: directory + "/kept.lgc")
        defer { try? queue.close() }
        let created = try queue.read { try Double.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'created_at'") }
        #expect(created == 1_234_567)
        let listed = SessionDatabase.list(directory: directory).first { $0.name == "kept" }
        #expect(listed?.savedAt == 7_654_321.5)
    }

    @Test func severalChangesGoInOneTransactionInOrder() throws {
        let directory = try makeTemporaryDirectory()
        let database = try SessionDatabase.create(at: directory + "/work.lgc", createdAt: 0)
        defer { database.close() }
        let lines = (1...3).map { SessionChange.single(command: CommandEntry(at: Double($0), text: "line \($0)", output: "", ok: true)) }
        try database.apply(lines + [SessionChange.single(clockOffset: 60, command: CommandEntry(at: 4, text: "advance 1m", output: "", ok: true))])
        let state = try database.read()
        #expect(state.commands.map(\.text) == ["line 1", "line 2", "line 3", "advance 1m"])
        #expect(state.clockOffset == 60)
        // A change the store refuses leaves none of the batch written.
        let refused = SessionChange.single(command: CommandEntry(at: .nan, text: "bad", output: "", ok: true))
        #expect(throws: SessionError.self) { try database.apply([lines[0], refused]) }
        #expect(try database.read().commands.count == 4)
    }
}

/// Start-up reads the temporary folder for files of killed shells; only names that can be ours are kept.
@Suite struct FolderNames {
    @Test func onlyNamesWithTheGivenPrefixesAreListed() throws {
        let directory = try makeTemporaryDirectory()
        for name in ["lgc-shell-1-a.lgc", ".x.lgc.tmp-1-2", "other", "lgc", "lgc-shell-"] {
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data()))
        }
        #expect(SessionFiles.names(in: directory, startingWith: ["lgc-shell-"]).sorted() == ["lgc-shell-", "lgc-shell-1-a.lgc"])
        #expect(SessionFiles.names(in: directory, startingWith: [".", "lgc-shell-"]).sorted()
                == [".x.lgc.tmp-1-2", "lgc-shell-", "lgc-shell-1-a.lgc"], "never . or ..")
        #expect(SessionFiles.names(in: directory + "/missing", startingWith: ["."]).isEmpty)
    }
}
