import FeedbackLoop
import Foundation
import LoopApp
import Learning
import MarketData
import SessionStore

/// The outcome of one line: nothing to run, success, or a one-line error.
public enum LineResult: Equatable {
    case empty
    case ok
    case failed(String)
}

extension ShellContext {
    /// Parses and runs one line, printing its text or JSON to stdout. Never throws: errors become `.failed`.
    @discardableResult
    public func execute(_ line: String) -> LineResult {
        live.serially { executeSerially(line) }
    }

    private func executeSerially(_ line: String) -> LineResult {
        let parsed: ParsedLine
        do {
            parsed = try LineParser.parse(line)
        } catch {
            return fail(line, verb: nil, message: Self.message(for: error))
        }
        guard let verb = parsed.verb else { return .empty }
        guard let command = Commands.find(verb) else {
            let error = ShellError.unknownCommand(parsed.words[0], suggestion: Suggest.closest(to: verb, in: Commands.names))
            return fail(line, verb: verb, message: Self.message(for: error))
        }
        let output: CommandOutput
        // Rows a command hands to its transaction belong to this command only.
        pendingReplays = []
        defer { pendingReplays = [] }
        do {
            let arguments = try command.bind(parsed.arguments)
            output = try command.run(self, arguments)
        } catch {
            return fail(line, verb: command.name, message: Self.message(for: error))
        }
        // Acknowledged means committed: the change is written before the command reports success.
        if let problem = persist(line, output: output.text, ok: true, replays: pendingReplays) {
            return fail(nil, verb: command.name, message: problem)
        }
        emit(command: command.name, output: output)
        // A loaded session may bring auto mode with it; `set check_interval` re-plans the next check.
        if let resumed = auto.synchronize(announceResume: command.name != "auto") { notices.post(.autoResumed(resumed)) }
        return .ok
    }

    /// Writes what the command changed; returns a one-line problem when the session file could not be written.
    func persist(_ line: String, output: String, ok: Bool, replays: [ReplayEntry] = []) -> String? {
        guard let session else {
            // No session file: nothing will store the changes.
            engine.discardUnstoredChanges()
            return nil
        }
        do {
            let text = line.trimmingCharacters(in: .whitespaces)
            // A replay report records the line that made it; handlers do not see the line.
            let replays = replays.map { entry in
                var entry = entry
                entry.command = text
                return entry
            }
            try session.commit(engine: engine, command: CommandEntry(at: engine.clock.now, text: text, output: output, ok: ok),
                               replays: replays)
            return nil
        } catch let error as WorkingFileUnavailable {
            // As when no working file could be made at start-up: the session goes on in memory.
            self.session = nil
            engine.discardUnstoredChanges()
            sessionProblem = Self.message(for: error)
            logger.log(.warning, "no session file (\(sessionProblem!)): changes stay in memory and 'save' is unavailable")
            return nil
        } catch {
            return "could not write the session (\(Self.message(for: error))) — the change is in memory only; free space or 'save' elsewhere"
        }
    }

    /// The one place where an error becomes text: its wording on one line, control characters escaped
    /// (see `SafeText`), so no layer can print a second line or drive the terminal. Both the human error
    /// line and JSON's "error" field are made from it, as are auto mode's notices.
    static func message(for error: Error) -> String {
        // The working file could not be made: what went wrong with it is the message.
        if let unavailable = error as? WorkingFileUnavailable { return message(for: unavailable.underlying) }
        let wording: String
        switch error {
        case let error as CustomStringConvertible: wording = error.description
        default: wording = error.localizedDescription
        }
        return SafeText.escaped(Advice.line(for: error).map { wording + " — " + $0 } ?? wording)
    }

    /// A prediction's warning as the user reads it: what is wrong with the prediction, then what to type about it.
    static func message(for warning: PredictionWarning) -> String {
        warning.description + " — " + Advice.line(for: warning)
    }

    private func emit(command: String, output: CommandOutput) {
        guard printsOutput else { return }
        switch format {
        case .json:
            let object = JSON.object([("command", .string(command)), ("ok", .bool(true))] + output.fields)
            StandardStreams.write(object.serialized() + "\n")
        case .text:
            if !output.text.isEmpty { StandardStreams.write(output.text + "\n") }
        }
    }

    /// The one way a line fails: the error line joins the session's notebook (when `line` is given: a failed
    /// command changes nothing, but its line still belongs there), in JSON mode it is also an object on stdout,
    /// and the caller prints it to stderr. The message is escaped here again, so nothing reaches a terminal raw.
    private func fail(_ line: String?, verb: String?, message: String) -> LineResult {
        let message = SafeText.escaped(message)
        if let line { _ = persist(line, output: "error: " + message, ok: false) }
        if format == .json {
            let object = JSON.object([("command", verb.map { .string(SafeText.escaped($0)) } ?? .null), ("ok", .bool(false)),
                                      ("error", .string(message))])
            StandardStreams.write(object.serialized() + "\n")
        }
        return .failed(message)
    }
}
