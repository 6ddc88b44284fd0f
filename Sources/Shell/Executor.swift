import FeedbackLoop
import Foundation
import Learning
import MarketData

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
        let parsed: ParsedLine
        do {
            parsed = try LineParser.parse(line)
        } catch {
            return fail(verb: nil, message: String(describing: error))
        }
        guard let verb = parsed.verb else { return .empty }
        guard let command = Commands.find(verb) else {
            let error = ShellError.unknownCommand(parsed.words[0], suggestion: Suggest.closest(to: verb, in: Commands.names))
            return fail(verb: verb, message: error.description)
        }
        do {
            let arguments = try command.bind(parsed.arguments)
            let output = try command.run(self, arguments)
            emit(command: command.name, output: output)
            return .ok
        } catch {
            return fail(verb: command.name, message: Self.message(for: error))
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
