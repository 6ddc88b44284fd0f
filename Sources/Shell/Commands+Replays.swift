import FeedbackLoop
import Foundation
import MarketData
import SessionStore

extension Commands {
    static let replays: CommandSpec = CommandSpec(
        "replays", group: .training,
        synopsis: "replays ?show ID?",
        abstract: "List the replay reports stored in the session, or print one again",
        discussion: """
        Every 'replay' stores its report in the session (table replays; a --compare run stores one report per \
        value). 'replays' lists them: when each ran on the loop's clock, the span replayed, the tiers, the loop's \
        live accuracy beside never retraining and retraining every step, its retrains, and whether --apply \
        installed it. 'replays show ID' prints a report as it was printed, or its JSON object with --format json.
        """,
        examples: ["replays", "replays show 1"],
        positionals: 0...2,
        complete: { context in
            if context.words.count == 1 { return ["show"] }
            guard context.words.count == 2, context.words[1].lowercased() == "show",
                  let next = context.shell.session?.nextReplayID, next > 1 else { return [] }
            return (1..<next).map(String.init)
        },
        run: runReplays)

    static func runReplays(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let session = try requireSession(shell)
        let stored = try session.database.replays()
        guard let verb = args.positionals.first else { return listReplays(stored, shell: shell) }
        guard verb.lowercased() == "show" else {
            throw ShellError.usage(command: replays, message: "unknown subcommand '\(verb)' — expected 'show ID'")
        }
        guard args.positionals.count == 2 else {
            throw ShellError.usage(command: replays, message: "'show' needs a replay ID")
        }
        let text = args.positionals[1].hasPrefix("#") ? String(args.positionals[1].dropFirst()) : args.positionals[1]
        guard let id = Int(text), let entry = stored.first(where: { $0.id == id }) else {
            throw ShellError.invalid(stored.isEmpty
                ? "no replay '\(args.positionals[1])' — none is stored yet; 'replay' runs one"
                : "no replay '\(args.positionals[1])' — stored replays are 1…\(stored.count)")
        }
        // The file is read strictly, so the stored JSON parses; failing here means the file changed under us.
        guard let report = try? JSONText.parse(entry.reportJSON) else {
            throw ShellError.invalid("replay \(id)'s stored JSON report cannot be read — the session file is damaged")
        }
        return CommandOutput(fields: [("id", .int(id)), ("report", report)], text: entry.reportText)
    }

    static func listReplays(_ stored: [ReplayEntry], shell: ShellContext) -> CommandOutput {
        let json: [(String, JSON)] = [("replays", .array(stored.map { entry in
            .object([
                ("id", .int(entry.id)), ("at", .time(entry.at)), ("command", .string(entry.command)),
                ("start", .time(entry.start)), ("end", .time(entry.end)), ("steps", .int(entry.steps)),
                ("scored", .int(entry.scored)), ("tiers", .array(entry.tiers.map { .string("tier\($0)") })),
                ("policy", .string(entry.policy)),
                ("compare", entry.compareKey.map { key in
                    .object([("key", .string(key)), ("value", .optionalString(entry.compareValue))])
                } ?? .null),
                ("accuracy", .number(entry.accuracy)),
                ("baselines", .object([("never_retrain", .number(entry.neverRetrainAccuracy)),
                                       ("retrain_every_step", .number(entry.everyStepAccuracy))])),
                ("retrains", .int(entry.retrains)), ("training_seconds", .number(entry.trainingSeconds)),
                ("cancelled", .bool(entry.cancelled)), ("applied", .bool(entry.applied)),
            ])
        }))]
        guard !stored.isEmpty else {
            return CommandOutput(fields: json, text: "no replays stored yet — 'replay' runs one and stores its report")
        }
        let rows = stored.map { entry in
            [String(entry.id), ISOTime.short(entry.at), ISOTime.short(entry.start) + " +" + DurationText.format(entry.end - entry.start),
             entry.tiers.map(String.init).joined(separator: ","),
             Format.percent(entry.accuracy) + (entry.cancelled ? " (stopped)" : ""),
             Format.percent(entry.neverRetrainAccuracy), Format.percent(entry.everyStepAccuracy),
             String(entry.retrains),
             entry.applied ? "yes" : entry.compareKey.map { "\($0)=\(entry.compareValue ?? "")" } ?? ""]
        }
        let table = shell.table(["id", "at", "span", "tiers", "loop", "never", "every", "retrains", "applied / compared"],
                                rows, right: [0, 4, 5, 6, 7])
        return CommandOutput(fields: json, text: table + "\nloop: the triggers' accuracy; never / every: the baselines' — 'replays show ID' prints one")
    }
}

/// Reads JSON text into `JSON` keeping object keys in their order, so a stored report prints as it was printed.
enum JSONText {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> JSON {
        var parser = Parser(bytes: Array(text.utf8))
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw Malformed() }
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let literal = Array(literal.utf8)
            guard index + literal.count <= bytes.count, Array(bytes[index..<(index + literal.count)]) == literal else {
                throw Malformed()
            }
            index += literal.count
        }

        mutating func value(depth: Int) throws -> JSON {
            // Reports nest a few levels; a bound keeps a hostile file from exhausting the stack.
            guard depth < 64 else { throw Malformed() }
            skipSpace()
            guard index < bytes.count else { throw Malformed() }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var fields: [(String, JSON)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(fields) }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    fields.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard index < bytes.count else { throw Malformed() }
                    index += 1
                    if bytes[index - 1] == UInt8(ascii: "}") { return .object(fields) }
                    guard bytes[index - 1] == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "["):
                index += 1
                var items: [JSON] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw Malformed() }
                    index += 1
                    if bytes[index - 1] == UInt8(ascii: "]") { return .array(items) }
                    guard bytes[index - 1] == UInt8(ascii: ",") else { throw Malformed() }
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                return try number()
            }
        }

        mutating func number() throws -> JSON {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            let integral = !text.contains(where: { ".eE".contains($0) })
            if integral, let value = Int(text) { return .int(value) }
            guard !text.isEmpty, let value = Double(text), value.isFinite else { throw Malformed() }
            return .double(value)
        }

        mutating func string() throws -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Malformed() }
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index
            func flush(_ end: Int) { scalars.append(contentsOf: String(decoding: bytes[run..<end], as: UTF8.self).unicodeScalars) }
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    flush(index)
                    index += 1
                    return String(scalars)
                }
                guard byte == UInt8(ascii: "\\") else {
                    guard byte >= 0x20 else { throw Malformed() }
                    index += 1
                    continue
                }
                flush(index)
                index += 1
                guard index < bytes.count else { throw Malformed() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw Malformed() }
                    scalars.append(scalar)
                default: throw Malformed()
                }
                run = index
            }
            throw Malformed()
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16) else {
                throw Malformed()
            }
            index += 4
            return code
        }
    }
}
