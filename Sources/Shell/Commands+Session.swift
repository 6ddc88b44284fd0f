import FeedbackLoop
import Foundation
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

    static let save: CommandSpec = CommandSpec(
        "save", group: .sessions,
        synopsis: "save NAME ?--force?",
        abstract: "Save the session to sessions/NAME.lgc (data, config, log, history, every model version)",
        discussion: """
        Writes a complete copy to a temporary file in the same folder, syncs it to disk and renames it into \
        place, so a crash never leaves half a file. From then on every change is written through to that file. \
        An existing NAME is kept unless --force.
        """,
        examples: ["save btc-experiment", "save btc-experiment --force"],
        positionals: 1...1,
        flags: [FlagSpec("force", "overwrite an existing session of that name")],
        complete: { context in context.words.count == 1 ? sessionNames(context.shell) : [] },
        run: { shell, args in
            let session = try requireSession(shell)
            let name = args.positionals[0]
            guard SessionController.validName(name) || name.contains("/") else {
                throw ShellError.usage(command: save, message: "invalid session name '\(name)': use letters, digits, '-', '_' and '.'")
            }
            let path = try session.save(as: name, force: args.has("force"), engine: shell.engine)
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            return CommandOutput(fields: [("name", .string(name)), ("path", .string(path)), ("bytes", .int(bytes))],
                                 text: "saved session '\(name)' to \(path) (\(bytes / 1024) KiB)")
        })

    static let load: CommandSpec = CommandSpec(
        "load", group: .sessions,
        synopsis: "load NAME|PATH",
        abstract: "Load a saved session; the file is checked completely before anything is replaced",
        examples: ["load btc-experiment", "load ~/research/run1.lgc"],
        positionals: 1...1,
        complete: { context in
            guard context.words.count == 1 else { return [] }
            return context.partial.contains("/") ? PathCompletion.candidates(for: context.partial) : sessionNames(context.shell)
        },
        run: { shell, args in
            let session = try requireSession(shell)
            let (path, state) = try session.load(args.positionals[0], engine: shell.engine)
            let fields: [(String, JSON)] = [
                ("path", .string(path)), ("symbol", .optionalString(state.series?.symbol)),
                ("rows", .int(state.series?.count ?? 0)), ("model_versions", .int(state.models.count)),
                ("predictions", .int(state.totalLogged)), ("trainings", .int(state.history.count)),
            ]
            return CommandOutput(fields: fields, text: """
            loaded \(path): \(state.series.map { "\($0.symbol), \($0.count) rows" } ?? "no data"), \
            \(state.models.count) model versions, \(state.totalLogged) scored predictions, \(state.history.count) trainings
            """)
        })

    static let sessions: CommandSpec = CommandSpec(
        "sessions", group: .sessions,
        synopsis: "sessions",
        abstract: "List saved sessions: name, saved at, size, symbol, rows, models, predictions",
        examples: ["sessions"],
        run: { shell, _ in
            let session = try requireSession(shell)
            let list = SessionDatabase.list(directory: session.directory)
            let rows = list.map { item in
                [item.name, Format.time(item.savedAt), "\(item.bytes / 1024) KiB", item.symbol ?? "-", String(item.rows),
                 String(item.models), String(item.predictions)]
            }
            let json: [(String, JSON)] = [("directory", .string(session.directory)), ("sessions", .array(list.map { item in
                .object([("name", .string(item.name)), ("path", .string(item.path)), ("saved_at", .time(item.savedAt)),
                         ("bytes", .int(item.bytes)), ("symbol", .optionalString(item.symbol)), ("rows", .int(item.rows)),
                         ("models", .int(item.models)), ("predictions", .int(item.predictions))])
            }))]
            let text = list.isEmpty
                ? "no saved sessions in \(session.directory) — 'save NAME' saves this one"
                : shell.table(["name", "saved", "size", "symbol", "rows", "models", "predictions"], rows, right: [2, 4, 5, 6])
            return CommandOutput(fields: json, text: text)
        })

    static let recover: CommandSpec = CommandSpec(
        "recover", group: .sessions,
        synopsis: "recover",
        abstract: "Take back the unsaved session of a shell that was killed or crashed",
        examples: ["recover"],
        run: { shell, _ in
            let session = try requireSession(shell)
            guard let (path, state) = try session.recover(engine: shell.engine) else {
                throw ShellError.invalid("no unsaved session to recover in \(session.directory)")
            }
            return CommandOutput(fields: [("path", .string(path)), ("predictions", .int(state.totalLogged)),
                                          ("trainings", .int(state.history.count))],
                                 text: "recovered the unsaved session (\(state.totalLogged) scored predictions, \(state.history.count) trainings) — 'save NAME' to keep it")
        })

    static let models: CommandSpec = CommandSpec(
        "models", group: .sessions,
        synopsis: "models ?MODEL?",
        abstract: "Every version of every model: trained at, tier, holdout accuracy, data span; * marks the current",
        examples: ["models", "models xgboost"],
        positionals: 0...1,
        complete: { context in context.words.count == 1 ? modelNames : [] },
        run: { shell, args in
            let only = try args.positionals.first.map(parseModel)
            let engine = shell.engine
            let records = engine.history.filter { only == nil || $0.model == only }
            let current = engine.models.mapValues(\.record.version)
            let rows = records.map { record in
                [record.model.rawValue, (current[record.model] == record.version ? "*" : " ") + "v\(record.version)",
                 ISOTime.short(record.time), "tier\(record.tier)", Format.percent(record.accuracy),
                 Format.percent(record.baselineAccuracy),
                 record.dataStart.map { ISOTime.short($0) + " → " + ISOTime.short(record.dataEnd ?? $0) } ?? "—"]
            }
            let json: [(String, JSON)] = [("models", .array(records.map { record in
                .object([("model", .string(record.model.rawValue)), ("version", .int(record.version)),
                         ("current", .bool(current[record.model] == record.version)), ("trained_at", .time(record.time)),
                         ("tier", .int(record.tier)), ("accuracy", .number(record.accuracy)),
                         ("baseline_accuracy", .number(record.baselineAccuracy)),
                         ("data_start", .time(record.dataStart)), ("data_end", .time(record.dataEnd))])
            }))]
            let text = records.isEmpty
                ? "no trained models yet — 'train tier1' trains one"
                : shell.table(["model", "version", "trained", "tier", "accuracy", "baseline", "data"], rows, right: [4, 5])
            return CommandOutput(fields: json, text: text)
        })

    static let use: CommandSpec = CommandSpec(
        "use", group: .sessions,
        synopsis: "use MODEL VERSION",
        abstract: "Make an earlier version of a model current again (rollback)",
        examples: ["use xgboost 2", "use lstm v1"],
        positionals: 2...2,
        complete: { context in context.words.count == 1 ? modelNames : [] },
        run: { shell, args in
            let model = try parseModel(args.positionals[0])
            let text = args.positionals[1].lowercased()
            let version = try use.boundedWhole(text.hasPrefix("v") ? String(text.dropFirst()) : text, argument: "VERSION",
                                               .whole(1...Int(Bounded.largestWhole)))
            let session = try requireSession(shell)
            let record = try session.use(model, version: version, engine: shell.engine)
            return CommandOutput(fields: [("model", .string(model.rawValue)), ("version", .int(version)),
                                          ("accuracy", .number(record.accuracy))],
                                 text: "\(model.rawValue) v\(version) (trained \(ISOTime.short(record.time)), holdout \(Format.percent(record.accuracy))) is current again")
        })
}
