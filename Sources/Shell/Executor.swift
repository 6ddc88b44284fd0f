import FeedbackLoop
import Foundation
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
        engineLock.lock()
        defer { engineLock.unlock() }
        let parsed: ParsedLine
        do {
            parsed = try LineParser.parse(line)
        } catch {
            _ = persist(line, output: "error: \(error)", ok: false)
            return fail(verb: nil, message: String(describing: error))
        }
        guard let verb = parsed.verb else { return .empty }
        guard let command = Commands.find(verb) else {
            let error = ShellError.unknownCommand(parsed.words[0], suggestion: Suggest.closest(to: verb, in: Commands.names))
            _ = persist(line, output: "error: \(error.description)", ok: false)
            return fail(verb: verb, message: error.description)
        }
        let output: CommandOutput
        // Rows a command hands to its transaction belong to this command only.
        pendingReplays = []
        defer { pendingReplays = [] }
        do {
            let arguments = try command.bind(parsed.arguments)
            output = try command.run(self, arguments)
        } catch {
            let message = Self.message(for: error)
            // A failed command changes nothing, but its line still belongs in the session's notebook.
            _ = persist(line, output: "error: " + message, ok: false)
            return fail(verb: command.name, message: message)
        }
        // Acknowledged means committed: the change is written before the command reports success.
        if let problem = persist(line, output: output.text, ok: true, replays: pendingReplays) {
            return fail(verb: command.name, message: problem)
        }
        emit(command: command.name, output: output)
        // A loaded session may bring auto mode with it; `set check_interval` re-plans the next check.
        if let notice = auto.synchronize(announceResume: command.name != "auto") { notices.post(notice) }
        return .ok
    }

    /// Writes what the command changed; returns a one-line problem when the session file could not be written.
    func persist(_ line: String, output: String, ok: Bool, replays: [ReplayEntry] = []) -> String? {
        guard let session else { return nil }
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
        } catch {
            return "could not write the session (\(Self.message(for: error))) — the change is in memory only; free space or 'save' elsewhere"
        }
    }

    /// One line of wording for any error the layers below throw.
    static func message(for error: Error) -> String {
        switch error {
        case let error as CustomStringConvertible: return error.description
        default: return error.localizedDescription
        }
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

    /// In JSON mode the failure is also an object on stdout; the caller prints the human error line to stderr.
    private func fail(verb: String?, message: String) -> LineResult {
        if format == .json {
            let object = JSON.object([("command", verb.map(JSON.string) ?? .null), ("ok", .bool(false)),
                                      ("error", .string(message))])
            StandardStreams.write(object.serialized() + "\n")
        }
        return .failed(message)
    }
}
