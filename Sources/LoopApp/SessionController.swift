import FeedbackLoop
import Foundation
import MarketData
import SessionStore

/// Keeps the current session's database in step with the loop: after every command, what it changed is
/// written in one transaction before the shell reads the next line ("acknowledged means committed").
///
/// Changes go to a working file, made at the first command that changes the loop's state (not at start-up, which
/// stays fast; a shell that only looks around never makes one). Commands before it changed nothing: their lines are
/// kept in memory and written in the first change's transaction, so the notebook still holds every command.
/// Normally that is a file of this process's own (`.unsaved-PID.lgc` in the sessions
/// folder for interactive shells, `lgc-shell-PID-….lgc` in the temporary folder for scripts): `load` copies a saved
/// session into it and `save` copies it back out, so a saved session changes only when the user saves. A session
/// opened with `--session NAME` is its own working file instead: every change is written through to NAME.lgc.
/// A working file is locked (`flock`) while it is open, so no other shell replaces it or works in it meanwhile.
public final class SessionController {
    public let directory: String
    /// The working file once it exists (nil until the first change, and for a session that never changes).
    private var store: SessionDatabase?
    /// Command lines run before the working file existed (they changed nothing), oldest first; the transaction
    /// that makes the file writes them first.
    private var unwritten: [SessionChange] = []
    /// How many such lines wait in memory at most; the working file is made when there would be more.
    public static let maxUnwritten = 200
    /// Wall-clock time in seconds since 1970, for the file's `created_at` and `saved_at` (the store below never
    /// reads the clock itself).
    private let wallClock: () -> TimeInterval
    /// The saved session this one is (the one `save` without a name writes to), when it has a name.
    public private(set) var name: String?
    /// That saved session's file.
    public private(set) var savedPath: String?
    /// Whether the saved session's file is the working file itself (`--session NAME`): every change is saved.
    public private(set) var writesThrough = false
    /// Whether anything was written since the session was last saved or loaded.
    public private(set) var dirty = false
    /// A working file of our own that disappears on a clean exit (nil while writing through to a saved session);
    /// it is only a name until the first change makes the file.
    private var scratchPath: String?
    /// Whether our own working files live in the sessions folder (interactive) or the temporary folder (scripts).
    private let persistent: Bool
    /// The saved file as it was when loaded or last saved, to notice another shell replacing it.
    private var savedIdentity: FileIdentity?

    /// How many replay reports the session holds (the next one's id follows them).
    private var storedReplays = 0
    /// The focused asset as the session file has it (a focus change is written with the next transaction).
    private var storedFocus = 0
    /// Transactions this controller committed, and the rows the last one changed (what a command cost the file).
    public private(set) var transactions = 0
    public private(set) var lastTransactionRows = 0

    public static let workingPrefix = ".unsaved-"
    /// Scripts' working files in the temporary folder: `lgc-shell-PID-UUID.lgc`.
    public static let scriptPrefix = "lgc-shell-"
    /// How many working files of killed scripts are kept for `recover --script`; older ones are removed at start-up.
    public static let keptScriptFiles = 3
    /// Names the working file of the session an interactive shell has open, when that session has a name; removed
    /// on a clean exit, so finding it at start means the last shell died and that session is reopened.
    public static let openMarker = ".open-session"
    /// Start-up's housekeeping running in the background (see `removeAbandonedFilesInBackground`).
    private let housekeeping = DispatchGroup()
    /// Whether this controller keeps the marker (interactive shells only).
    public var keepsMarker = false

    /// The sessions folder: `LGC_SESSIONS`; else `sessions/` in the current directory when it exists (the
    /// repository's); else `~/.lgc-shell/sessions`, so starting the shell elsewhere does not litter that folder.
    public static func directory(environment: [String: String]) -> String {
        if let configured = environment["LGC_SESSIONS"] { return configured }
        let local = FileManager.default.currentDirectoryPath + "/sessions"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue { return local }
        return ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".lgc-shell/sessions")
    }

    /// Starts an unnamed session whose working file, of this process's own, is made at the first change.
    /// `wallClock`: seconds since 1970 now, for the times the file records.
    public init(directory: String, persistent: Bool, wallClock: @escaping () -> TimeInterval) {
        self.directory = directory
        self.persistent = persistent
        self.wallClock = wallClock
        scratchPath = Self.newScratchPath(directory: directory, persistent: persistent)
    }

    /// The working file's path once it exists (nil before the first change).
    public var workingFile: String? { store?.path }

    /// The working file, made now (with the command lines waiting for it) if it does not exist yet.
    public var database: SessionDatabase {
        get throws {
            if let store { return store }
            return try makeWorkingFile()
        }
    }

    /// Creates our own working file at `scratchPath` and writes the command lines that waited for it.
    /// A failure leaves no file and throws `WorkingFileUnavailable`.
    private func makeWorkingFile() throws -> SessionDatabase {
        let path = scratchPath ?? Self.newScratchPath(directory: directory, persistent: persistent)
        let made: SessionDatabase
        do {
            if persistent { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            made = try SessionDatabase.create(at: path, replacing: true, createdAt: wallClock())
            lastTransactionRows = try made.apply(unwritten)
            transactions += 1
        } catch {
            SessionFiles.remove(path)
            throw WorkingFileUnavailable(underlying: error)
        }
        unwritten = []
        scratchPath = path
        store = made
        return made
    }

    private static func newScratchPath(directory: String, persistent: Bool) -> String {
        if persistent {
            return directory + "/" + workingPrefix + "\(getpid()).lgc"
        }
        // Scripts are reproducible by running them again: their working file lives in the temporary folder.
        return scriptFolder() + "/" + scriptPrefix + "\(getpid())-\(UUID().uuidString).lgc"
    }

    private static func scriptFolder() -> String {
        let path = FileManager.default.temporaryDirectory.path
        return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The file a session name or path means: `NAME` is `sessions/NAME.lgc`; anything with a `/` or ending in
    /// `.lgc` is a path (`~` expanded). Refuses what cannot name a session file, before any file is touched.
    public static func resolve(_ name: String, directory: String) throws -> String {
        guard !name.isEmpty else { throw SessionNameProblem.empty }
        guard !name.unicodeScalars.contains(where: Self.isControl) else { throw SessionNameProblem.controlCharacters }
        guard name.utf8.count <= 1024 else { throw SessionNameProblem.tooLong }
        guard name.contains("/") || name.hasSuffix(".lgc") else {
            guard validName(name) else { throw SessionNameProblem.characters(name) }
            return directory + "/" + name + ".lgc"
        }
        let path = name.hasPrefix("~") ? (name as NSString).expandingTildeInPath : name
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        guard !path.hasSuffix("/"), !last.isEmpty, last != ".", last != ".." else { throw SessionNameProblem.folder(name) }
        guard last != ".lgc" else { throw SessionNameProblem.characters(name) }
        guard last.utf8.count <= 255 else { throw SessionNameProblem.tooLong }
        return path
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// `sessions/btc.lgc` → `btc`.
    public static func sessionName(_ path: String) -> String {
        let base = (path as NSString).lastPathComponent
        return base.hasSuffix(".lgc") ? String(base.dropLast(4)) : base
    }

    // MARK: Write-through

    /// The id the next stored replay report gets.
    public var nextReplayID: Int { storedReplays + 1 }

    /// Writes the loop's unstored changes, the replay reports the command made and the command itself with its
    /// output, in one transaction; only then are the changes marked stored. A failed write keeps them, so the next
    /// command's transaction writes them too.
    public func commit(engine: LoopEngine, command: CommandEntry?, replays: [ReplayEntry] = []) throws {
        let changes = engine.unstoredChanges
        var change = try Self.journalEntry(for: changes)
        if engine.focus != storedFocus { change.focus = engine.focus }
        change.newReplays = replays
        change.command = command
        guard !change.isEmpty else { return }
        // The command's own line does not make a session worth keeping; a change to the loop's state does.
        let changesState = !changes.isEmpty || !replays.isEmpty || change.focus != nil
        if let store {
            lastTransactionRows = try store.apply(change)
            transactions += 1
        } else if changesState || unwritten.count >= Self.maxUnwritten {
            // The first change makes the working file; the lines before it go in the same transaction.
            let pending = unwritten
            unwritten.append(change)
            do {
                _ = try makeWorkingFile()
            } catch {
                unwritten = pending
                throw error
            }
        } else {
            unwritten.append(change)
            return
        }
        engine.markStored(changes.count)
        storedFocus = engine.focus
        storedReplays += replays.count
        if changesState { dirty = true }
    }

    /// The rows that store `changes`: each typed change becomes the rows of its table (appended, or replacing the
    /// table's one value) in its asset, in the order they were made; settings and the clock are the session's.
    public static func journalEntry(for changes: [AssetChange]) throws -> SessionChange {
        var entry = SessionChange()
        for tagged in changes {
            var asset = entry.assets[tagged.asset] ?? AssetUpdate()
            switch tagged.change {
            case .dataLoaded(let series): asset.series = series
            case .configChanged(let config):
                entry.config = config
                continue
            case .clockMoved(let offset):
                entry.clockOffset = offset
                continue
            case .trained(let records, let models):
                asset.newRecords += records
                asset.newModels += try models.map { slot in
                    let (format, data) = try ModelCodec.encode(slot.model)
                    return ModelBlob(record: slot.record, format: format, data: data, dataStart: slot.record.dataStart,
                                     dataEnd: slot.record.dataEnd)
                }
            case .currentVersions(let versions): asset.currentVersions = versions
            case .tierClocks(let lastTraining, let logMarks): asset.tierState = (lastTraining, logMarks)
            case .scored(let outcome): asset.newOutcomes.append(outcome)
            case .predicted(let prediction):
                asset.newPredictions.append(prediction)
                asset.pending = .some(prediction)
            case .pendingCleared: asset.pending = .some(nil)
            }
            entry.assets[tagged.asset] = asset
        }
        return entry
    }

    // MARK: Save, load, recover

    /// `save NAME`: copies the session to `path` atomically; from then on it is that saved session (`save` without
    /// a name writes back to it). `save` (path nil): writes back to the saved session this one is. Writing through
    /// (`--session`), the named file becomes the working file, as it always has.
    public func save(to path: String?, force: Bool) throws -> String {
        guard let path else {
            if writesThrough, let store { return store.path }
            guard let savedPath else { throw SessionProblem.unnamed }
            if !force, let savedIdentity, FileIdentity(savedPath) != savedIdentity {
                throw SessionError.changedSinceLoaded(path: savedPath)
            }
            try database.save(to: savedPath, overwrite: true, savedAt: wallClock())
            savedIdentity = FileIdentity(savedPath)
            dirty = false
            return savedPath
        }
        if writesThrough ? store.map({ SessionFiles.same(path, $0.path) }) == true : savedPath.map({ SessionFiles.same(path, $0) }) == true {
            return try save(to: nil, force: force)
        }
        try Self.makeFolder(for: path)
        try database.save(to: path, overwrite: force, savedAt: wallClock())
        if writesThrough {
            let opened = try SessionDatabase.open(at: path)
            store?.close()
            store = opened
        } else {
            // Only `recover` reads this; a session that cannot record it still saved.
            try? store?.setCheckpoint(path)
        }
        name = Self.sessionName(path)
        savedPath = path
        savedIdentity = FileIdentity(path)
        dirty = false
        writeMarker()
        return path
    }

    private static func makeFolder(for path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SessionError.cannotWrite(path: path, reason: "its folder cannot be made")
        }
    }

    /// Reads and validates a saved session completely, then copies it into the working file and replaces the
    /// loop's state with it. The saved file itself is only read.
    public func load(_ path: String, engine: LoopEngine) throws -> SessionState {
        guard FileManager.default.fileExists(atPath: path) else { throw SessionError.missing(path: path) }
        let identity = FileIdentity(path)
        let validated = try SessionDatabase.validatedSnapshot(path: path)
        let state = validated.state
        let restored = try Self.decoding(path) { try Self.engineState(from: state) }
        // Nothing is replaced until everything above succeeded; a failed copy leaves the current session as it was.
        try intoScratch(.validated(validated), checkpoint: path)
        become(saved: path, identity: identity, state: state, restored: restored, engine: engine)
        return state
    }

    /// `--session NAME`: the saved session becomes the working file itself, so every change is saved as it is
    /// made. Refused while another process works in it.
    public func open(_ path: String, engine: LoopEngine) throws -> SessionState {
        guard FileManager.default.fileExists(atPath: path) else { throw SessionError.missing(path: path) }
        let state = try SessionDatabase.readValidated(path: path)
        let restored = try Self.decoding(path) { try Self.engineState(from: state) }
        let opened = try SessionDatabase.open(at: path)
        finishScratch()
        if writesThrough { store?.close() }
        store = opened
        unwritten = []
        writesThrough = true
        become(saved: path, identity: nil, state: state, restored: restored, engine: engine)
        return state
    }

    /// This session now is the saved session at `saved` (nil: an unnamed one), holding `state`; the loop takes
    /// `restored`. `dirty`: whether it holds changes that saved session lacks.
    private func become(saved: String?, identity: FileIdentity?, state: SessionState, restored: [LoopState],
                        engine: LoopEngine, dirty: Bool = false) {
        name = saved.map(Self.sessionName)
        savedPath = saved
        savedIdentity = identity
        writeMarker()
        engine.restore(restored, focus: state.focus)
        storedFocus = state.focus
        storedReplays = state.replays.count
        self.dirty = dirty
    }

    /// What `intoScratch` copies: a saved session's validated snapshot (copied page by page), or a state read from
    /// a dead shell's working file (copied row by row).
    private enum ScratchContents {
        case validated(ValidatedSession)
        case state(SessionState)

        func write(into store: SessionDatabase, checkpoint: String?) throws {
            switch self {
            case .validated(let validated): try store.replaceAll(with: validated, checkpoint: checkpoint)
            case .state(let state): try store.replaceAll(with: state, checkpoint: checkpoint)
            }
        }
    }

    /// Copies `contents` into a working file of our own (the current one, or a new one when writing through) in one
    /// transaction; only when that succeeded does it become the working file.
    private func intoScratch(_ contents: ScratchContents, checkpoint: String?) throws {
        if !writesThrough, let store {
            try contents.write(into: store, checkpoint: checkpoint)
            return
        }
        // No working file of our own yet (or writing through): a new one, which replaces whatever waited for it.
        let path = writesThrough || scratchPath == nil ? Self.newScratchPath(directory: directory, persistent: persistent)
                                                       : scratchPath!
        if persistent { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let scratch = try SessionDatabase.create(at: path, replacing: true, createdAt: wallClock())
        do {
            try contents.write(into: scratch, checkpoint: checkpoint)
        } catch {
            scratch.close()
            SessionFiles.remove(path)
            throw error
        }
        store?.close()
        store = scratch
        unwritten = []
        scratchPath = path
        writesThrough = false
    }

    private func writeMarker() {
        guard keepsMarker, name != nil, let store else { return }
        try? Data(store.path.utf8).write(to: URL(fileURLWithPath: directory + "/" + Self.openMarker), options: .atomic)
    }

    /// The working file of the named session the previous interactive shell had open when it died, if any:
    /// a saved session it wrote through to, or its own working file with unsaved changes.
    public func sessionLeftOpen() -> String? {
        guard let text = try? String(contentsOfFile: directory + "/" + Self.openMarker, encoding: .utf8),
              text != store?.path, FileManager.default.fileExists(atPath: text), !SessionFiles.isHeld(text) else { return nil }
        if let pid = Self.owner(ofWorkingFile: (text as NSString).lastPathComponent, prefix: Self.workingPrefix),
           !SessionFiles.processIsGone(pid) { return nil }
        return text
    }

    /// Reopens what `sessionLeftOpen` found: a working file is recovered (unsaved changes and the name of the saved
    /// session it belongs to), a saved session is written through to again.
    public func reopen(_ path: String, engine: LoopEngine) throws -> SessionState {
        if Self.owner(ofWorkingFile: (path as NSString).lastPathComponent, prefix: Self.workingPrefix) != nil {
            return try takeOver(path, engine: engine)
        }
        return try open(path, engine: engine)
    }

    /// Removes our own unsaved working file (when it was made) once nothing needs it.
    private func finishScratch() {
        guard let scratchPath else { return }
        if store?.path == scratchPath {
            store?.close()
            store = nil
            SessionFiles.remove(scratchPath)
        }
        self.scratchPath = nil
    }

    /// On a clean exit an unnamed session's working file goes; a named session is already saved in place.
    public func closeCleanly() {
        housekeeping.wait()
        finishScratch()
        store?.close()
        if keepsMarker { try? FileManager.default.removeItem(atPath: directory + "/" + Self.openMarker) }
    }

    /// Changes that only the working file holds: quitting would discard them.
    public var hasUnsavedWork: Bool { !writesThrough && dirty }

    /// The pid in a working file's name (`.unsaved-PID.lgc`, `lgc-shell-PID-UUID.lgc`), nil for other files.
    public static func owner(ofWorkingFile file: String, prefix: String) -> Int32? {
        guard file.hasPrefix(prefix), file.hasSuffix(".lgc") else { return nil }
        let digits = file.dropFirst(prefix.count).prefix { $0 != "-" && $0 != "." }
        guard let pid = Int32(digits), pid > 0 else { return nil }
        return prefix == scriptPrefix && !file.dropFirst(prefix.count + digits.count).hasPrefix("-") ? nil : pid
    }

    /// Working files in `folder` whose process is gone and that nobody has open, newest first.
    /// `names`: the folder's entries starting with `prefix` when the caller has read them already.
    private static func orphans(in folder: String, prefix: String, names: [String]? = nil) -> [String] {
        let names = names ?? SessionFiles.names(in: folder, startingWith: [prefix])
        return names.compactMap { name -> (String, Date)? in
            guard let pid = owner(ofWorkingFile: name, prefix: prefix), pid != getpid(), SessionFiles.processIsGone(pid)
            else { return nil }
            let path = folder + "/" + name
            guard !SessionFiles.isHeld(path) else { return nil }
            let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? .distantPast
            return (path, modified)
        }.sorted { $0.1 > $1.1 }.map(\.0)
    }

    /// Working files left by interactive shells that died (their process is gone), newest first.
    public func orphanedWorkingFiles() -> [String] {
        Self.orphans(in: directory, prefix: Self.workingPrefix)
    }

    /// Working files left by scripts that were killed, newest first (at most `keptScriptFiles` after start-up).
    public func orphanedScriptFiles() -> [String] {
        Self.orphans(in: Self.scriptFolder(), prefix: Self.scriptPrefix)
    }

    /// Start-up (and `recover`) housekeeping: temporary copies of killed saves go, and of killed scripts' working
    /// files only the newest `keptScriptFiles` stay (for `recover --script`). Files of live processes are never
    /// touched. Returns how many files were removed.
    @discardableResult
    public func removeAbandonedFiles() -> Int {
        housekeeping.wait()
        return Self.removeAbandonedFiles(directory: directory)
    }

    /// Start-up's housekeeping, beside the first commands: reading a shared temporary folder of thousands of
    /// files takes milliseconds the prompt need not wait for. It touches only files of processes that are gone;
    /// `recover` and a clean exit wait for it.
    public func removeAbandonedFilesInBackground() {
        let directory = directory
        DispatchQueue.global(qos: .utility).async(group: housekeeping) {
            Self.removeAbandonedFiles(directory: directory)
        }
    }

    @discardableResult
    private static func removeAbandonedFiles(directory: String) -> Int {
        var removed = SessionFiles.removeAbandonedTemporaries(in: directory).count
        let scripts = scriptFolder()
        // The temporary folder is read once, and only its names that can be ours become strings.
        let names = SessionFiles.names(in: scripts, startingWith: [".", scriptPrefix])
        let ours = names.filter { $0.hasPrefix(scriptPrefix) }
        removed += SessionFiles.removeAbandonedTemporaries(in: scripts, names: names.filter { $0.hasPrefix(".") }).count
        for path in orphans(in: scripts, prefix: scriptPrefix, names: ours).dropFirst(keptScriptFiles) {
            SessionFiles.remove(path)
            removed += 1
        }
        // Side files whose session file is gone (a working file removed by a shell killed half-way).
        for name in ours {
            guard let suffix = ["-wal", "-shm", "-journal"].first(where: name.hasSuffix) else { continue }
            let main = String(name.dropLast(suffix.count))
            guard let pid = owner(ofWorkingFile: main, prefix: scriptPrefix), pid != getpid(),
                  SessionFiles.processIsGone(pid), !FileManager.default.fileExists(atPath: scripts + "/" + main) else { continue }
            if unlink(scripts + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Takes back the unsaved work of a shell that died: the newest working file an interactive shell left, else
    /// (or with `scriptsOnly`) the newest a killed script left. Its state becomes the loop's, copied into our
    /// working file; the orphan is then removed. Nil when there is none.
    public func recover(engine: LoopEngine, scriptsOnly: Bool) throws -> (path: String, state: SessionState)? {
        removeAbandonedFiles()
        guard let path = (scriptsOnly ? nil : orphanedWorkingFiles().first) ?? orphanedScriptFiles().first else { return nil }
        return (path, try takeOver(path, engine: engine))
    }

    /// Copies a dead shell's working file into ours (under its lock, so no other shell takes it at the same
    /// time), keeps the name of the saved session it belonged to, and removes it.
    private func takeOver(_ path: String, engine: LoopEngine) throws -> SessionState {
        let orphan = try SessionDatabase.open(at: path)
        let state: SessionState, checkpoint: String?, restored: [LoopState]
        do {
            state = try orphan.read()
            checkpoint = orphan.checkpoint()
            restored = try Self.decoding(path) { try Self.engineState(from: state) }
            try intoScratch(.state(state), checkpoint: checkpoint)
        } catch {
            orphan.close()
            throw error
        }
        orphan.close()
        SessionFiles.remove(path)
        become(saved: checkpoint, identity: checkpoint.flatMap(FileIdentity.init), state: state, restored: restored,
               engine: engine, dirty: true)
        return state
    }

    // MARK: Rollback

    /// Decodes a stored version of `model` and makes it current.
    public func use(_ model: ModelKind, version: Int, engine: LoopEngine) throws -> TrainingRecord {
        let session = try database.read()
        // The focused asset's versions (one loaded since the file was last written has none stored yet).
        let state = session.assets.indices.contains(engine.focus) ? session.assets[engine.focus] : StoredAsset()
        guard let blob = state.models.first(where: { $0.record.model == model && $0.record.version == version }) else {
            let known = state.models.filter { $0.record.model == model }.map { "v\($0.record.version)" }
            throw SessionProblem.noSuchVersion(model: model, version: version, stored: known)
        }
        let decoded = try ModelCodec.decode(format: blob.format, data: blob.data, as: model)
        engine.install(ModelSlot(model: decoded, record: blob.record))
        return blob.record
    }

    /// Model decoding errors, named after the file they came from.
    public static func decoding<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ModelCodecError {
            throw SessionError.damaged(path: path, detail: error.description)
        }
    }

    /// Every asset's loop state from a stored session, decoding each current model; the settings and the clock are
    /// the session's.
    public static func engineState(from session: SessionState) throws -> [LoopState] {
        try session.assets.map { state in
            var slots: [ModelKind: ModelSlot] = [:]
            for (kind, version) in state.currentVersions {
                guard let blob = state.models.first(where: { $0.record.model == kind && $0.record.version == version }) else {
                    throw ModelCodecError.damaged(model: kind, reason: "v\(version) is current but not stored")
                }
                slots[kind] = ModelSlot(model: try ModelCodec.decode(format: blob.format, data: blob.data, as: kind),
                                        record: blob.record)
            }
            let log = PredictionLog(restoring: state.outcomes, totalLogged: state.totalLogged, totalCorrect: state.totalCorrect,
                                    capacity: session.config.logWindow)
            return LoopState(series: state.series, config: session.config, clockOffset: session.clockOffset,
                             history: state.history, models: slots, lastTraining: state.lastTraining,
                             logMarks: state.logMarks, log: log, pending: state.pending)
        }
    }
}

/// The working file could not be made at the first change (its folder cannot be written, say): the session goes
/// on in memory only, as one whose file could not be made at start-up would.
public struct WorkingFileUnavailable: Error, CustomStringConvertible {
    public let underlying: any Error
    public var description: String { String(describing: underlying) }
}

/// A file as it is now (device, inode, size, modification time): a rename over it or a write changes it.
struct FileIdentity: Equatable {
    public let device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int

    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        seconds = info.st_mtim.tv_sec
        nanoseconds = info.st_mtim.tv_nsec
    }
}

/// Why a session name, or the session itself, cannot be saved or loaded as asked.
public enum SessionProblem: Error, Equatable, CustomStringConvertible {
    /// `save` without a name in a session that was never saved or loaded.
    case unnamed
    /// A rollback to a version the session does not store (`stored`: the versions it does, as `v1`, `v2` …).
    case noSuchVersion(model: ModelKind, version: Int, stored: [String])

    public var description: String {
        switch self {
        case .unnamed: return "this session has no name yet"
        case .noSuchVersion(let model, let version, let stored):
            return "\(model.rawValue) has no version \(version)"
                + (stored.isEmpty ? " — it was never trained" : " — stored: \(stored.joined(separator: ", "))")
        }
    }
}

/// Why a text cannot name a session file (the command's usage line follows it).
public enum SessionNameProblem: Error, Equatable, CustomStringConvertible {
    case empty
    case controlCharacters
    case tooLong
    /// A name without `/` with other characters than letters, digits, `-`, `_`, `.` (or starting with `.`).
    case characters(String)
    /// A path that names a folder (`a/`, `./`, `/`, `a/..`), not a file.
    case folder(String)

    public var description: String {
        switch self {
        case .empty: return "a session name is needed, such as btc-1 or a path ending in .lgc"
        case .controlCharacters: return "invalid session name: it contains control characters"
        case .tooLong: return "invalid session name: too long"
        case .characters(let name): return "invalid session name '\(name)': use letters, digits, '-', '_' and '.'"
        case .folder(let name): return "'\(name)' names a folder, not a session file — add a file name such as run1.lgc"
        }
    }
}
