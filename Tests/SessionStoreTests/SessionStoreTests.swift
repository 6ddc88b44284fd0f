import FeedbackLoop
import Foundation
import GRDB
import MarketData
import Testing
@testable import SessionStore

@Suite("Session files: round trips")
struct SessionRoundTripTests {
    @Test("an empty session reads back as SessionState()")
    func emptySession() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/empty.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        #expect(try database.read() == SessionState())
    }

    @Test("changes applied one command at a time read back equal, doubles bit for bit")
    func applyRoundTrip() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let state = try SessionDatabase.open(at: path).read()
        #expect(state == expected)
        let bars = try #require(state.assets[0].series?.bars), want = try #require(expected.assets[0].series?.bars)
        for (a, b) in zip(bars, want) {
            #expect([a.time, a.open, a.high, a.low, a.close, a.volume].map(\.bitPattern)
                    == [b.time, b.open, b.high, b.low, b.close, b.volume].map(\.bitPattern))
        }
        #expect(state.assets[0].outcomes.map(\.sequence) == Array(1...65))
        #expect(state.config.xgboost.learningRate.bitPattern == 0.0333.bitPattern)
        // The readable config rows sit beside the JSON row.
        let queue = try DatabaseQueue(path: path)
        let interval = try queue.read { try String.fetchOne($0, sql: "SELECT value FROM config WHERE key = 'tier1_interval'") }
        #expect(interval == "5400")
    }

    @Test("replaceAll swaps the whole content in one go")
    func replaceAll() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (_, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.create(at: directory + "/other.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        try database.apply(SessionChange.single(series: awkwardSeries(count: 10, seed: 99), newOutcomes: outcomes(3)))
        try database.replaceAll(with: expected)
        #expect(try database.read() == expected)
        try database.replaceAll(with: SessionState())
        #expect(try database.read() == SessionState())
    }

    @Test("replaceAll refuses totals that disagree with the outcomes, and changes nothing")
    func replaceAllInconsistent() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        var wrong = expected
        wrong.assets[0].totalCorrect += 1
        #expect(thrownError { try database.replaceAll(with: wrong) }
                == .invalidChange("totals (65 logged, \(expected.assets[0].totalCorrect + 1) correct) do not match the 65 outcomes"))
        #expect(try database.read() == expected)
    }

    @Test("a refused change leaves the file as it was (one transaction per command)")
    func refusedChangeIsAtomic() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        // Valid parts first, then an outcome that skips a sequence number.
        let change = SessionChange.single(config: LoopConfig(), newOutcomes: outcomes(2, after: 66),
                                   command: CommandEntry(at: 1, text: "x", output: "", ok: true))
        let error = thrownError { try database.apply(change) }
        #expect(error == .invalidChange("outcome #67 does not follow the stored log (next is #66)"))
        #expect(error?.description == "session not updated: outcome #67 does not follow the stored log (next is #66)")
        #expect(try database.read() == expected)
        #expect(thrownError { try database.apply(SessionChange.single(newModels: [expected.assets[0].models[0]])) }
                == .invalidChange("model logistic v1 is stored already"))
    }

    @Test("stored details keep the column's names; half a set or a fractional count is damage, unknown names pass")
    func detailsColumn() throws {
        let details = TrainingDetails(sequenceValidation: SequenceValidation(mse: 0.25, naiveMSE: 0.5, epochs: 7, bestEpoch: 3),
                                      promotion: PromotionVerdict(promoted: true, challengerHoldout: 0.6, incumbentHoldout: 0.55))
        let text = try ExtraCoding.encode(details)
        #expect(text == #"{"best_epoch":3,"challenger_holdout":0.6,"epochs":7,"incumbent_holdout":0.55,"naive_val_mse":0.5,"promoted":1,"val_mse":0.25}"#)
        #expect(try ExtraCoding.decode(text) == details)
        #expect(try ExtraCoding.decode(#"{"val_mse":0.1,"naive_val_mse":0.2,"from_the_future":9}"#)
                == TrainingDetails(sequenceValidation: SequenceValidation(mse: 0.1, naiveMSE: 0.2, epochs: nil, bestEpoch: nil)))
        for bad in [#"{"val_mse":0.1}"#, #"{"val_mse":0.1,"naive_val_mse":0.2,"epochs":2.5}"#, #"{"promoted":2,"challenger_holdout":1,"incumbent_holdout":1}"#,
                    #"{"promoted":1}"#] {
            #expect(throws: ExtraCoding.Inconsistent.self) { _ = try ExtraCoding.decode(bad) }
        }
    }

    @Test("NaN metrics round trip as NaN; long command output is cut to the string limit")
    func nanAndCut() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/nan.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        let nanRecord = TrainingRecord(time: 5, model: .lstm, version: 1, tier: 3, accuracy: .nan, baselineAccuracy: 0.5,
                                       trainRows: 1, testRows: 0, seconds: 1,
                                       details: TrainingDetails(sequenceValidation: SequenceValidation(
                                           mse: .nan, naiveMSE: .infinity, epochs: nil, bestEpoch: nil)))
        let huge = String(repeating: "é", count: SessionLimits.maxStringBytes)
        try database.apply(SessionChange.single(newRecords: [nanRecord], command: CommandEntry(at: 1, text: "export", output: huge, ok: true)))
        let state = try database.read()
        let stored = try #require(state.assets[0].history.first)
        #expect(stored.accuracy.isNaN && stored.details.sequenceValidation!.mse.isNaN
                && stored.details.sequenceValidation!.naiveMSE == .infinity)
        let output = try #require(state.commands.first?.output)
        #expect(output.utf8.count <= SessionLimits.maxStringBytes && output.hasSuffix(" … [cut]") && output.hasPrefix("éé"))
    }

    @Test("changes that would make an unreadable file are refused")
    func invalidChanges() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let database = try SessionDatabase.create(at: directory + "/bad.lgc", createdAt: 1_790_000_000)
        defer { database.close() }
        var series = awkwardSeries(count: 3)
        series.bars[1].close = .nan
        #expect(thrownError { try database.apply(SessionChange.single(series: series)) }
                == .invalidChange("bar 2 holds a value that is not a finite number"))
        let unordered = makePrediction(signal: .buy, ensemble: 0.7, models: [(.xgboost, 0.7), (.logistic, 0.6)],
                                       weights: [], price: 1, barTime: 1, madeAt: 1)
        #expect(thrownError { try database.apply(SessionChange.single(pending: .some(unordered))) }
                == .invalidChange("the pending prediction: per-model values must be finite, one per model, in ensemble order"))
        #expect(thrownError { try database.apply(SessionChange.single(tierState: ([4: 1], [:]))) } == .invalidChange("there is no tier 4"))
        #expect(try database.read() == SessionState())
    }
}

@Suite("Session files: save")
struct SessionSaveTests {
    @Test("save writes a complete single-file copy named after the file, atomically, and refuses to overwrite")
    func saveCopy() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        let target = directory + "/saved/btc-1.lgc"
        try FileManager.default.createDirectory(atPath: directory + "/saved", withIntermediateDirectories: false)
        try database.save(to: target, overwrite: false, savedAt: 1_790_000_000)
        var want = expected
        want.name = "btc-1"
        #expect(try SessionDatabase.readValidated(path: target) == want)
        // Only the copy: no temporary file, journal or WAL beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/saved") == ["btc-1.lgc"])

        let refused = thrownError { try database.save(to: target, overwrite: false, savedAt: 1_790_000_000) }
        #expect(refused == .exists(path: target))
        // The store says what failed; the shell adds "use 'save NAME --force' to overwrite" (SessionTests).
        #expect(refused?.description == "'\(target)' exists")

        try database.apply(SessionChange.single(command: CommandEntry(at: 9, text: "status", output: "ok", ok: true)))
        try database.save(to: target, overwrite: true, savedAt: 1_790_000_000)
        #expect(try SessionDatabase.readValidated(path: target).commands.count == expected.commands.count + 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/saved") == ["btc-1.lgc"])
        #expect(thrownError { try database.save(to: path, overwrite: true, savedAt: 1_790_000_000) }
                == .cannotWrite(path: path, reason: "it is the open session itself"))
    }

    @Test("list summarises saved sessions and marks broken ones")
    func list() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory, name: ".unsaved-1.lgc")
        let database = try SessionDatabase.open(at: path)
        try database.save(to: directory + "/a.lgc", overwrite: false, savedAt: 1_790_000_000)
        database.close()
        try Data("not a session".utf8).write(to: URL(fileURLWithPath: directory + "/b.lgc"))
        let list = SessionDatabase.list(directory: directory)
        #expect(list.map(\.name) == ["a", "b"])
        #expect(list[0].rows == 600 && list[0].models == expected.assets[0].models.count && list[0].predictions == 65)
        #expect(list[0].symbols == ["BTC-USD"] && list[0].savedAt != nil && list[0].problem == nil && list[0].bytes > 0)
        #expect(list[1].problem == "'\(directory)/b.lgc' is not an lgc-shell session (not a SQLite database)")
    }

    @Test("writes the file system refuses name the file and the reason")
    func unwritable() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        defer { database.close() }
        // Tests may run as root, where chmod 555 does not stop writes; /proc refuses new files for everyone.
        #expect(thrownError { try database.save(to: "/proc/lgc-test.lgc", overwrite: false, savedAt: 1_790_000_000) }
                == .cannotWrite(path: "/proc/lgc-test.lgc", reason: "No such file or directory"))
        // A file where a folder should be.
        let blocked = path + "/inside.lgc"
        #expect(thrownError { try database.save(to: blocked, overwrite: false, savedAt: 1_790_000_000) }
                == .cannotWrite(path: blocked, reason: "Not a directory"))
        #expect(thrownError { _ = try SessionDatabase.create(at: blocked, createdAt: 1_790_000_000) }
                == .cannotWrite(path: blocked, reason: "Not a directory"))
        // A full disk needs a mountable tiny tmpfs, which test environments do not offer; the mapping of
        // SQLITE_FULL to "No space left on device" is the only code involved.
        #expect(SessionDatabase.mapError(DatabaseError(resultCode: .SQLITE_FULL), path: "x.lgc", writing: true).description
                == "cannot write 'x.lgc': No space left on device")
    }
}

@Suite("Session files: untrusted input")
struct SessionBadInputTests {
    @Test("a missing file")
    func missing() {
        let error = thrownError { _ = try SessionDatabase.readValidated(path: "/nonexistent/x.lgc") }
        #expect(error?.description == "no session file '/nonexistent/x.lgc'")
        #expect(thrownError { _ = try SessionDatabase.open(at: "/nonexistent/x.lgc") } == .missing(path: "/nonexistent/x.lgc"))
    }

    @Test("a text file and an empty file")
    func textAndEmpty() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let text = directory + "/notes.lgc", empty = directory + "/empty.lgc"
        try Data("timestamp,close\n1,2\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: text) }?.description
                == "'\(text)' is not an lgc-shell session (not a SQLite database)")
        #expect(thrownError { _ = try SessionDatabase.open(at: text) } == .notSQLite(path: text))
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: empty) }?.description
                == "'\(empty)' is not an lgc-shell session (the file is empty)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: text)) == Data("timestamp,close\n1,2\n".utf8))
    }

    /// A saved (single-file) copy of the rich session, and its bytes.
    private func savedCopy(in directory: String) throws -> (path: String, bytes: Data, expected: SessionState) {
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        let copy = directory + "/copy.lgc"
        try database.save(to: copy, overwrite: false, savedAt: 1_790_000_000)
        database.close()
        var want = expected
        want.name = "copy"
        return (copy, try Data(contentsOf: URL(fileURLWithPath: copy)), want)
    }

    @Test("a truncated copy")
    func truncated() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (_, bytes, _) = try savedCopy(in: directory)
        let cut = directory + "/cut.lgc"
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let error = thrownError { _ = try SessionDatabase.readValidated(path: cut) }
        #expect(error == .damaged(path: cut, detail: "the file is \(bytes.count / 2) bytes; its header says \(bytes.count)"))
        #expect(error?.description.hasPrefix("'\(cut)' is truncated or damaged (") == true)
        let header = directory + "/header.lgc"
        try bytes.prefix(50).write(to: URL(fileURLWithPath: header))
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: header) }
                == .damaged(path: header, detail: "the file ends inside its header"))
    }

    @Test("byte flips inside a model blob fail the SHA-256 check", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func blobFlip(seed: UInt64) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, bytes, expected) = try savedCopy(in: directory)
        // The xgboost blob is 40 kB of random bytes spread over overflow pages; find a run of it in the file.
        let data = expected.assets[0].models[1].data
        var generator = SeededGenerator(state: seed)
        // Overflow pages interleave 4-byte page pointers with the blob, so look for short runs until one is found.
        var found: Int?
        while found == nil {
            let start = Int.random(in: 0..<(data.count - 16), using: &generator)
            found = bytes.range(of: data[data.startIndex + start..<data.startIndex + start + 16])?.lowerBound
        }
        let at = try #require(found) + Int.random(in: 0..<16, using: &generator)
        var flipped = bytes
        flipped[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        try flipped.write(to: URL(fileURLWithPath: path))
        let error = thrownError { _ = try SessionDatabase.readValidated(path: path) }
        #expect(error == .checksumMismatch(path: path, model: "xgboost", version: 1))
        #expect(error?.description == "'\(path)': model xgboost v1 failed its SHA-256 check — the file is damaged")
    }

    @Test("random byte flips anywhere are refused or, in plain numbers SQLite cannot check, read as values",
          arguments: Array(10..<30) as [UInt64])
    func randomFlips(seed: UInt64) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, bytes, expected) = try savedCopy(in: directory)
        var generator = SeededGenerator(state: seed)
        var flipped = bytes
        for _ in 0..<3 {
            flipped[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        }
        try flipped.write(to: URL(fileURLWithPath: path))
        do {
            let state = try SessionDatabase.readValidated(path: path)
            // Pages carry no checksums: a flip in a bar's price or in free space goes unseen; blobs stay exact.
            #expect(state.assets[0].models == expected.assets[0].models)
            #expect(state.assets[0].outcomes.count == expected.assets[0].outcomes.count)
        } catch let error as SessionError {
            #expect(error.description.hasPrefix("'\(path)'"))
        }
    }

    @Test("a SQLite database of another application")
    func foreign() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let path = directory + "/contacts.lgc"
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada')") }
        try queue.close()
        let error = thrownError { _ = try SessionDatabase.readValidated(path: path) }
        #expect(error?.description == "'\(path)' is a SQLite database of another application, not an lgc-shell session")
        #expect(thrownError { _ = try SessionDatabase.open(at: path) } == .foreign(path: path))
        // Refusing it did not convert it to WAL or otherwise touch it.
        let mode = try DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "delete")
    }

    @Test("a session with an unexpected table or trigger is refused")
    func alteredSchema() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _, _) = try savedCopy(in: directory)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "CREATE TRIGGER sneaky AFTER INSERT ON commands BEGIN DELETE FROM bars; END") }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.open(at: path) }
                == .damaged(path: path, detail: "unexpected schema at 'sneaky'"))
    }

    @Test("a session written by a newer format")
    func newerFormat() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _, _) = try savedCopy(in: directory)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA user_version = 7") }
        try queue.close()
        let error = thrownError { _ = try SessionDatabase.readValidated(path: path) }
        #expect(error?.description == "'\(path)' was written by a newer lgc-shell (format 7; this one reads up to 5)")
        #expect(thrownError { _ = try SessionDatabase.open(at: path) } == error)
    }

    @Test("a blob changed through SQL fails its checksum; a size beyond the limits is refused")
    func tamperedThroughSQL() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _, _) = try savedCopy(in: directory)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "UPDATE commands SET output = zeroblob(1048577) || '' WHERE id = 1") }
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: path) }
                == .tooLarge(path: path, detail: "commands.output holds 1048577 bytes (at most 1048576)"))
        try queue.write { try $0.execute(sql: "UPDATE commands SET output = 'short' WHERE id = 1") }
        try queue.write { try $0.execute(sql: "UPDATE model_versions SET data = zeroblob(300) WHERE model = 'logistic' AND version = 2") }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: path) }
                == .checksumMismatch(path: path, model: "logistic", version: 2))
    }

    @Test("totals or sequences that disagree with the log are refused")
    func inconsistentLog() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, _, _) = try savedCopy(in: directory)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "DELETE FROM outcomes WHERE sequence = 10") }
        try queue.close()
        #expect(thrownError { _ = try SessionDatabase.readValidated(path: path) }
                == .damaged(path: path, detail: "outcome sequences do not run 1…64"))
    }
}

@Suite("Session files: crashes")
struct SessionCrashTests {
    @Test("a writer killed inside a transaction leaves the last committed state")
    func killedMidTransaction() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeDirectory(directory) }
        let (path, expected) = try writeRichSession(in: directory)
        let database = try SessionDatabase.open(at: path)
        // Committed and acknowledged, but only in the WAL so far (no checkpoint yet).
        try database.apply(SessionChange.single(command: CommandEntry(at: 7, text: "status", output: "fine", ok: true)))
        var committed = expected
        committed.commands.append(CommandEntry(at: 7, text: "status", output: "fine", ok: true))

        // A second writer spills a large uncommitted transaction into the WAL; copying the files at that moment
        // is what a SIGKILL leaves on disk.
        let other = try DatabaseQueue(path: path)
        let crashed = directory + "/crashed.lgc"
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA cache_size = 10")
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "DELETE FROM bars")
            for index in 0..<200 {
                try db.execute(sql: "INSERT INTO commands (at, text, output, ok) VALUES (?, 'lost', ?, 1)",
                               arguments: [Double(index), String(repeating: "x", count: 4000)])
            }
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.copyItem(atPath: path + suffix, toPath: crashed + suffix)
            }
            try db.execute(sql: "ROLLBACK")
        }
        try other.close()
        database.close()
        #expect(FileManager.default.fileExists(atPath: crashed + "-wal"))
        let recovered = try SessionDatabase.open(at: crashed)
        defer { recovered.close() }
        #expect(try recovered.read() == committed)
        #expect(try SessionDatabase.readValidated(path: path) == committed)
    }
}
