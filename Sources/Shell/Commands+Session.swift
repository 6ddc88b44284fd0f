import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

extension Commands {
    static func requireSession(_ shell: ShellContext) throws -> SessionController {
        guard let session = shell.session else { throw ShellError.invalid("sessions are unavailable: \(shell.sessionProblem ?? "no session store")") }
        return session
    }

    static func sessionNames(_ shell: ShellContext) -> [String] {
        guard let session = shell.session else { return [] }
        return SessionDatabase.list(directory: session.directory).map(\.name)
    }

    /// The file a NAME|PATH argument means, or `command`'s usage error saying why it names none.
    static func sessionPath(_ text: String, for command: CommandSpec, _ session: SessionController) throws -> String {
        do {
            return try SessionController.resolve(text, directory: session.directory)
        } catch let problem as SessionNameProblem {
            throw ShellError.usage(command: command, message: problem.description)
        }
    }

    /// A session name or a path to a session file: which file it means is the session store's to resolve (it
    /// knows the sessions folder), so the word is kept as typed.
    static let saveName = Positional("NAME", WordKind(candidates: { sessionNames($0.shell) }), optional: true)
    static let loadName = Positional("NAME|PATH", WordKind(candidates: { context in
        context.partial.contains("/") ? PathCompletion.candidates(for: context.partial) : sessionNames(context.shell)
    }))

    static let saveForce = Switch("force", "overwrite an existing session of that name")
    static let loadInPlace = Switch("in-place", "work in the saved file itself: every change is saved at once")
    static let recoverScripts = Switch("script", "take back the work of a killed script (its working file in the temporary folder)")

    static let save: CommandSpec = CommandSpec(
        "save", group: .sessions,
        abstract: "Save the session to sessions/NAME.lgc (data, config, log, history, every model version)",
        discussion: """
        Writes a complete copy to a temporary file in the same folder, syncs it to disk and renames it into \
        place, so a crash never leaves half a file. From then on this is session NAME: 'save' without a name \
        writes it again, and quitting with changes not yet saved warns first. A saved session changes only when \
        you save it. An existing NAME is kept unless --force; one that another shell works in (--session) is \
        refused even then. A session opened with --session NAME or 'load NAME --in-place' is saved as it changes.
        """,
        examples: ["save btc-experiment", "save", "save btc-experiment --force", "save ~/research/run1.lgc"],
        arguments: [saveName.spec],
        flags: [FlagSpec(saveForce)],
        run: { shell, args in
            let session = try requireSession(shell)
            let path = try args.value(of: saveName).map { try sessionPath($0, for: save, session) }
            let saved = try session.save(to: path, force: args.has(saveForce))
            let name = session.name ?? SessionController.sessionName(saved)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: saved)[.size] as? Int) ?? 0
            return CommandOutput(fields: [("name", .string(name)), ("path", .string(saved)), ("bytes", .int(bytes))],
                                 text: "saved session '\(name)' to \(saved) (\(bytes / 1024) KiB)")
        })

    static let load: CommandSpec = CommandSpec(
        "load", group: .sessions,
        abstract: "Load a saved session; the file is checked completely before anything is replaced",
        discussion: """
        The shell works on a copy: the saved file changes only when you 'save' (without a name: back to this \
        session). With --in-place the saved file itself is the working file and every change is saved as it is \
        made (what --session NAME does); another shell working in it is refused.
        """,
        examples: ["load btc-experiment", "load ~/research/run1.lgc", "load btc-experiment --in-place"],
        arguments: [loadName.spec],
        flags: [FlagSpec(loadInPlace)],
        run: { shell, args in
            let session = try requireSession(shell)
            let path = try sessionPath(args[loadName], for: load, session)
            let inPlace = args.has(loadInPlace)
            let loaded = inPlace ? try session.open(path, engine: shell.engine) : try session.load(path, engine: shell.engine)
            let state = loaded.assets[loaded.focus]
            let symbols = loaded.assets.compactMap { $0.series?.symbol }
            let fields: [(String, JSON)] = [
                ("path", .string(path)), ("name", .optionalString(session.name)), ("in_place", .bool(inPlace)),
                ("symbol", .optionalString(state.series?.symbol)), ("assets", .array(symbols.map(JSON.string))),
                ("rows", .int(state.series?.count ?? 0)), ("model_versions", .int(state.models.count)),
                ("predictions", .int(state.totalLogged)), ("trainings", .int(state.history.count)),
            ]
            return CommandOutput(fields: fields, text: """
            loaded \(path): \(state.series.map { "\($0.symbol), \($0.count) rows" } ?? "no data"), \
            \(state.models.count) model versions, \(state.totalLogged) scored predictions, \(state.history.count) trainings\
            \(symbols.count > 1 ? "\nthe focused asset of \(symbols.count): \(symbols.joined(separator: ", ")) — 'assets' lists them" : "")
            """)
        })

    static let sessions: CommandSpec = CommandSpec(
        "sessions", group: .sessions,
        abstract: "List saved sessions: name, saved at, size, symbol, rows, models, predictions",
        examples: ["sessions"],
        run: { shell, _ in
            let session = try requireSession(shell)
            let list = SessionDatabase.list(directory: session.directory)
            let rows = list.map { item in
                [item.name, Format.time(item.savedAt), "\(item.bytes / 1024) KiB", item.symbols.isEmpty ? "-" : item.symbols.joined(separator: ","), String(item.rows),
                 String(item.models), String(item.predictions)]
            }
            let json: [(String, JSON)] = [("directory", .string(session.directory)), ("sessions", .array(list.map { item in
                .object([("name", .string(item.name)), ("path", .string(item.path)), ("saved_at", .time(item.savedAt)),
                         ("bytes", .int(item.bytes)), ("symbols", .array(item.symbols.map { .string($0) })),
                         ("symbol", .optionalString(item.symbols.first)), ("rows", .int(item.rows)),
                         ("models", .int(item.models)), ("predictions", .int(item.predictions))])
            }))]
            let text = list.isEmpty
                ? "no saved sessions in \(session.directory) — 'save NAME' saves this one"
                : shell.table(["name", "saved", "size", "symbol", "rows", "models", "predictions"], rows, right: [2, 4, 5, 6])
            return CommandOutput(fields: json, text: text)
        })

    static let recover: CommandSpec = CommandSpec(
        "recover", group: .sessions,
        abstract: "Take back the unsaved session of a shell that was killed or crashed",
        discussion: """
        Every shell works in a working file of its own: an interactive shell's is sessions/.unsaved-PID.lgc, a \
        script's lgc-shell-PID-….lgc in the temporary folder ($TMPDIR). When its process is gone, 'recover' \
        copies the newest such file into this session and removes it: first those of interactive shells, then \
        those of killed scripts (--script: only those). A session that had been saved or loaded keeps its name, \
        so 'save' writes the recovered work back to it. At start-up, and on 'recover', temporary copies left by \
        killed saves are removed, and of killed scripts' working files only the newest 3 are kept.
        """,
        examples: ["recover", "recover --script"],
        flags: [FlagSpec(recoverScripts)],
        run: { shell, args in
            let session = try requireSession(shell)
            let scriptsOnly = args.has(recoverScripts)
            guard let (path, recovered) = try session.recover(engine: shell.engine, scriptsOnly: scriptsOnly) else {
                throw ShellError.invalid("no unsaved session to recover in \(session.directory)")
            }
            let state = recovered.assets[recovered.focus]
            let named = session.name.map { "'save' writes it to '\($0)'" } ?? "'save NAME' to keep it"
            return CommandOutput(fields: [("path", .string(path)), ("name", .optionalString(session.name)),
                                          ("predictions", .int(state.totalLogged)),
                                          ("trainings", .int(state.history.count))],
                                 text: "recovered the unsaved session (\(state.totalLogged) scored predictions, \(state.history.count) trainings) — \(named)")
        })

    static let modelsModel = Positional("MODEL", ModelNameKind(), optional: true)
    static let useModel = Positional("MODEL", ModelNameKind())
    /// `2` or `v2`.
    static let useVersion = Positional("VERSION", WholeKind(1...Int(Bounded.largestWhole), versionPrefix: true))

    static let models: CommandSpec = CommandSpec(
        "models", group: .sessions,
        abstract: "Every version of every model: trained at, tier, holdout accuracy, data span; * marks the current",
        examples: ["models", "models xgboost"],
        arguments: [modelsModel.spec],
        run: { shell, args in
            let only = args.value(of: modelsModel)
            let engine = shell.engine
            let records = engine.history.filter { only == nil || $0.model == only }
            let current = engine.models.mapValues(\.record.version)
            let rows = records.map { record in
                [record.model.rawValue, (current[record.model] == record.version ? "*" : " ") + "v\(record.version)",
                 ISOTime.short(record.time), "tier\(record.tier)", Format.holdout(record),
                 Format.percent(record.baselineAccuracy),
                 record.dataStart.map { ISOTime.short($0) + " → " + ISOTime.short(record.dataEnd ?? $0) } ?? "—"]
            }
            let json: [(String, JSON)] = [("models", .array(records.map { record in
                .object([("model", .string(record.model.rawValue)), ("version", .int(record.version)),
                         ("current", .bool(current[record.model] == record.version)), ("trained_at", .time(record.time)),
                         ("tier", .int(record.tier)), ("accuracy", .number(record.accuracy)),
                         ("baseline_accuracy", .number(record.baselineAccuracy)),
                         ("beats_baseline", record.beatsBaseline.map(JSON.bool) ?? .null),
                         ("data_start", .time(record.dataStart)), ("data_end", .time(record.dataEnd))])
            }))]
            let text = records.isEmpty
                ? "no trained models yet — 'train tier1' trains one"
                : shell.table(["model", "version", "trained", "tier", "accuracy", "baseline", "data"], rows, right: [4, 5])
                    + "\n" + Format.baselineFootnote(records)
            return CommandOutput(fields: json, text: text)
        })

    static let use: CommandSpec = CommandSpec(
        "use", group: .sessions,
        abstract: "Make an earlier version of a model current again (rollback)",
        examples: ["use xgboost 2", "use lstm v1"],
        arguments: [useModel.spec, useVersion.spec],
        run: { shell, args in
            let model = args[useModel], version = args[useVersion]
            let session = try requireSession(shell)
            let record = try session.use(model, version: version, engine: shell.engine)
            return CommandOutput(fields: [("model", .string(model.rawValue)), ("version", .int(version)),
                                          ("accuracy", .number(record.accuracy))],
                                 text: "\(model.rawValue) v\(version) (trained \(ISOTime.short(record.time)), holdout \(Format.holdoutPhrase(record))) is current again")
        })
}

extension ShellContext {
    /// At interactive start-up: takes back the named session the last shell had open when it died.
    func reopen(_ path: String) -> LineResult {
        live.serially { reopenSerially(path) }
    }

    private func reopenSerially(_ path: String) -> LineResult {
        guard let session else { return .failed(sessionProblem ?? "no session store") }
        do {
            let reopened = try session.reopen(path, engine: engine)
            let state = reopened.assets[reopened.focus]
            let name = session.name ?? "the unsaved session"
            let unsaved = session.hasUnsavedWork ? " (with changes not saved yet)" : ""
            StandardStreams.write("reopened \(name)\(unsaved): \(state.series.map { "\($0.symbol), \($0.count) rows" } ?? "no data"), \(state.totalLogged) scored predictions\n")
        } catch {
            return .failed(Self.message(for: error))
        }
        if let resumed = auto.synchronize(announceResume: true) { notices.post(.autoResumed(resumed)) }
        return .ok
    }

    /// Which session this is, for `status`: its name, the saved file, whether changes are not saved yet.
    func sessionFields() -> [(String, JSON)] {
        guard let session else { return [("name", .null), ("working_file", .null)] }
        return [("name", .optionalString(session.name)), ("path", .optionalString(session.savedPath)),
                ("working_file", .optionalString(session.workingFile)), ("in_place", .bool(session.writesThrough)),
                ("unsaved_changes", .bool(session.hasUnsavedWork))]
    }

    /// One line for `status`: `btc-1 (changes not saved)`, `unnamed (saved: no)`, `btc-1 (saved as it changes)`.
    func sessionLine() -> String {
        guard let session else { return "none (\(sessionProblem ?? "no session store"))" }
        let name = session.name.map { "'\($0)'" } ?? "unnamed"
        if session.writesThrough { return "\(name), saved as it changes in \(session.workingFile ?? "?")" }
        if session.name == nil { return session.hasUnsavedWork ? "unnamed, not saved — 'save NAME' keeps it" : "unnamed" }
        return session.hasUnsavedWork ? "\(name), changes not saved — 'save' writes them" : "\(name), saved"
    }
}
