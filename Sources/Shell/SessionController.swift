import FeedbackLoop
import Foundation
import MarketData
import SessionStore

/// Keeps the current session's database in step with the loop: after every command, what it changed is
/// written in one transaction before the shell reads the next line ("acknowledged means committed").
final class SessionController {
    let directory: String
    private(set) var database: SessionDatabase
    /// The saved session this one is, when it has a name (its file is the working file).
    private(set) var name: String?
    /// Whether anything was written since the session was last saved or loaded.
    private(set) var dirty = false
    /// A working file of our own that disappears on a clean exit (unnamed sessions only).
    private var scratchPath: String?

    /// What is already in the database, to write only what a command changed.
    private struct Written {
        var seriesGeneration = -1
        var config = LoopConfig()
        var clockOffset: TimeInterval = 0
        var historyCount = 0
        var totalLogged = 0
        var pending: Prediction?
        var lastTraining: [Int: TimeInterval] = [:]
        var logMarks: [Int: Int] = [:]
        var currentVersions: [ModelKind: Int] = [:]
        var predictionsMade = 0
        var replays = 0
    }
    private var written = Written()

    static let workingPrefix = ".unsaved-"
    /// Names the named session an interactive shell has open; removed on a clean exit, so finding it at start
    /// means the last shell died and that session is reopened.
    static let openMarker = ".open-session"
    /// Whether this controller keeps the marker (interactive shells only).
    var keepsMarker = false

    /// The sessions folder: `LGC_SESSIONS`; else `sessions/` in the current directory when it exists (the
    /// repository's); else `~/.lgc-shell/sessions`, so starting the shell elsewhere does not litter that folder.
    static func directory(environment: [String: String]) -> String {
        if let configured = environment["LGC_SESSIONS"] { return configured }
        let local = FileManager.default.currentDirectoryPath + "/sessions"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue { return local }
        return ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".lgc-shell/sessions")
    }

    /// Starts an unnamed session in a working file of this process's own.
    init(directory: String, persistent: Bool) throws {
        self.directory = directory
        let path: String
        if persistent {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            path = directory + "/" + Self.workingPrefix + "\(getpid()).lgc"
        } else {
            // Scripts are reproducible by running them again: their working file lives in the temporary folder.
            path = FileManager.default.temporaryDirectory.appendingPathComponent("lgc-shell-\(getpid())-\(UUID().uuidString).lgc").path
        }
        database = try SessionDatabase.create(at: path, replacing: true)
        scratchPath = path
    }

    static func path(forName name: String, directory: String) -> String {
        if name.contains("/") || name.hasSuffix(".lgc") { return (name as NSString).expandingTildeInPath }
        return directory + "/" + name + ".lgc"
    }

    static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    // MARK: Write-through

    /// The id the next stored replay report gets.
    var nextReplayID: Int { written.replays + 1 }

    /// Writes what the last command changed, the replay reports it made and the command itself with its output,
    /// in one transaction.
    func commit(engine: LoopEngine, command: CommandEntry?, replays: [ReplayEntry] = []) throws {
        var change = SessionChange()
        if engine.seriesGeneration != written.seriesGeneration, let series = engine.series {
            change.series = series
        }
        if engine.config != written.config { change.config = engine.config }
        if engine.clock.offset != written.clockOffset { change.clockOffset = engine.clock.offset }
        if engine.history.count > written.historyCount {
            let records = Array(engine.history[written.historyCount...])
            change.newRecords = records
            change.newModels = try records.compactMap { record in
                // The last training's models, promoted or not; else the current slot when it is this version.
                guard let slot = [engine.lastFitted[record.model], engine.models[record.model]].compactMap({ $0 })
                    .first(where: { $0.record.version == record.version }) else { return nil }
                let (format, data) = try ModelCodec.encode(slot.model)
                return ModelBlob(record: record, format: format, data: data, dataStart: record.dataStart, dataEnd: record.dataEnd)
            }
        }
        let currentVersions = engine.models.mapValues(\.record.version)
        if currentVersions != written.currentVersions { change.currentVersions = currentVersions }
        if engine.log.totalLogged > written.totalLogged {
            change.newOutcomes = engine.log.entries.filter { $0.sequence > written.totalLogged }
        }
        if engine.pending != written.pending { change.pending = .some(engine.pending) }
        if engine.predictionsMade > written.predictionsMade, let prediction = engine.pending {
            change.newPredictions = [prediction]
        }
        if engine.lastTraining != written.lastTraining || engine.logMarkAtTraining != written.logMarks {
            change.tierState = (engine.lastTraining, engine.logMarkAtTraining)
        }
        change.newReplays = replays
        change.command = command
        guard !change.isEmpty else { return }
        try database.apply(change)
        // The command's own line does not make a session worth keeping; a change to the loop's state does.
        var pendingChanged = false
        if case .some = change.pending { pendingChanged = true }
        if change.series != nil || change.config != nil || change.clockOffset != nil || !change.newRecords.isEmpty
            || change.currentVersions != nil || !change.newOutcomes.isEmpty || pendingChanged || change.tierState != nil
            || !change.newPredictions.isEmpty || !replays.isEmpty {
            dirty = true
        }
        markWritten(engine, replays: written.replays + replays.count)
    }

    private func markWritten(_ engine: LoopEngine, replays: Int) {
        written = Written(seriesGeneration: engine.seriesGeneration, config: engine.config, clockOffset: engine.clock.offset,
                          historyCount: engine.history.count, totalLogged: engine.log.totalLogged, pending: engine.pending,
                          lastTraining: engine.lastTraining, logMarks: engine.logMarkAtTraining,
                          currentVersions: engine.models.mapValues(\.record.version),
                          predictionsMade: engine.predictionsMade, replays: replays)
    }

    // MARK: Save, load, recover

    /// Copies the session to `sessions/NAME.lgc` atomically; the named file becomes the working file.
    func save(as name: String, force: Bool, engine: LoopEngine) throws -> String {
        let path = Self.path(forName: name, directory: directory)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        if path != database.path {
            try database.save(to: path, overwrite: force)
            try adopt(path: path, name: name)
        }
        dirty = false
        return path
    }

    /// Reads and validates a saved session completely, then replaces the loop's state with it.
    func load(_ nameOrPath: String, engine: LoopEngine) throws -> (path: String, state: SessionState) {
        let path = Self.path(forName: nameOrPath, directory: directory)
        guard FileManager.default.fileExists(atPath: path) else { throw SessionError.missing(path: path) }
        let state = try SessionDatabase.readValidated(path: path)
        let restored = try Self.decoding(path) { try Self.engineState(from: state) }
        // Nothing is replaced until everything above succeeded.
        let opened = try SessionDatabase.open(at: path)
        finishScratch()
        database = opened
        name = (path as NSString).lastPathComponent.replacingOccurrences(of: ".lgc", with: "")
        writeMarker()
        restored(engine)
        markWritten(engine, replays: state.replays.count)
        dirty = false
        return (path, state)
    }

    /// Switches write-through to the file at `path` (already a complete copy of this session).
    private func adopt(path: String, name: String) throws {
        let opened = try SessionDatabase.open(at: path)
        finishScratch()
        database = opened
        self.name = name
        writeMarker()
    }

    private func writeMarker() {
        guard keepsMarker else { return }
        try? Data(database.path.utf8).write(to: URL(fileURLWithPath: directory + "/" + Self.openMarker), options: .atomic)
    }

    /// The named session the previous interactive shell had open when it died, if any.
    func sessionLeftOpen() -> String? {
        guard let text = try? String(contentsOfFile: directory + "/" + Self.openMarker, encoding: .utf8),
              FileManager.default.fileExists(atPath: text) else { return nil }
        return text
    }

    /// Removes our own unsaved working file once nothing needs it.
    private func finishScratch() {
        guard let scratchPath else { return }
        database.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratchPath + suffix) }
        self.scratchPath = nil
    }

    /// On a clean exit an unnamed session's working file goes; a named session is already saved in place.
    func closeCleanly() {
        finishScratch()
        database.close()
        if keepsMarker { try? FileManager.default.removeItem(atPath: directory + "/" + Self.openMarker) }
    }

    /// An unnamed session with changes that only its working file holds.
    var hasUnsavedWork: Bool { name == nil && dirty }

    /// Working files left by shells that died (their process is gone), newest first.
    func orphanedWorkingFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (String, Date)? in
            guard name.hasPrefix(Self.workingPrefix), name.hasSuffix(".lgc"),
                  let pid = Int32(name.dropFirst(Self.workingPrefix.count).dropLast(4)), pid != getpid(),
                  kill(pid, 0) != 0 else { return nil }
            let path = directory + "/" + name
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            return (path, modified)
        }.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// Takes over the newest orphaned working file: its state becomes the loop's, and it stays the working file.
    func recover(engine: LoopEngine) throws -> (path: String, state: SessionState)? {
        guard let path = orphanedWorkingFiles().first else { return nil }
        let state = try SessionDatabase.readValidated(path: path)
        let restored = try Self.decoding(path) { try Self.engineState(from: state) }
        let mine = directory + "/" + Self.workingPrefix + "\(getpid()).lgc"
        finishScratch()
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.moveItem(atPath: path + suffix, toPath: mine + suffix)
        }
        try FileManager.default.moveItem(atPath: path, toPath: mine)
        database = try SessionDatabase.open(at: mine)
        scratchPath = mine
        name = nil
        restored(engine)
        markWritten(engine, replays: state.replays.count)
        dirty = true
        return (path, state)
    }

    // MARK: Rollback

    /// Decodes a stored version of `model` and makes it current.
    func use(_ model: ModelKind, version: Int, engine: LoopEngine) throws -> TrainingRecord {
        let state = try database.read()
        guard let blob = state.models.first(where: { $0.record.model == model && $0.record.version == version }) else {
            let known = state.models.filter { $0.record.model == model }.map { "v\($0.record.version)" }
            throw ShellError.invalid("\(model.rawValue) has no version \(version)"
                                     + (known.isEmpty ? " — it was never trained" : " — stored: \(known.joined(separator: ", "))"))
        }
        let decoded = try ModelCodec.decode(format: blob.format, data: blob.data, as: model)
        engine.install(ModelSlot(model: decoded, record: blob.record))
        return blob.record
    }

    /// Model decoding errors, named after the file they came from.
    static func decoding<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ModelCodecError {
            throw SessionError.damaged(path: path, detail: error.description)
        }
    }

    /// Builds everything the loop needs from a stored state, decoding each current model; applying it cannot fail.
    static func engineState(from state: SessionState) throws -> (LoopEngine) -> Void {
        var slots: [ModelKind: ModelSlot] = [:]
        for (kind, version) in state.currentVersions {
            guard let blob = state.models.first(where: { $0.record.model == kind && $0.record.version == version }) else {
                throw ModelCodecError.damaged(model: kind, reason: "v\(version) is current but not stored")
            }
            slots[kind] = ModelSlot(model: try ModelCodec.decode(format: blob.format, data: blob.data, as: kind),
                                    record: blob.record)
        }
        var versions: [ModelKind: Int] = [:]
        for record in state.history { versions[record.model] = max(versions[record.model] ?? 0, record.version) }
        let log = PredictionLog(restoring: state.outcomes, totalLogged: state.totalLogged, totalCorrect: state.totalCorrect,
                                capacity: state.config.logWindow)
        return { engine in
            engine.restore(series: state.series, config: state.config, clockOffset: state.clockOffset,
                           history: state.history, models: slots, versions: versions, lastTraining: state.lastTraining,
                           logMarks: state.logMarks, log: log, pending: state.pending)
        }
    }
}
