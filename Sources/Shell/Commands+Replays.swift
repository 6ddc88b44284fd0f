import FeedbackLoop
import Foundation
import MarketData
import SessionStore

extension Commands {
    static let replays: CommandSpec = CommandSpec(
        "replays", group: .training,
        abstract: "List the replay reports stored in the session, print one again, or compare two",
        discussion: """
        Every 'replay' stores its report in the session (table replays; a --compare run stores one report per \
        value), with the settings it ran with (config, tiers, step, span, baselines, seeds, data source), a SHA-256 \
        fingerprint of the bars it used and the program version. 'replays' lists them: when each ran on the loop's \
        clock, the span replayed, the tiers, the loop's live accuracy beside never retraining and retraining every \
        step, its retrains, whether --apply installed it, and the settings that differ from the defaults. \
        'replays show ID' prints a report as it was printed, or its JSON object with --format json. 'replays diff \
        A B' lists the settings in which two reports differ (and whether their data did) and their results side by side.
        """,
        examples: ["replays", "replays show 1", "replays diff 1 2"],
        subcommands: [Subcommand(ReplaysVerb.show, [replayID.spec]), Subcommand(ReplaysVerb.diff, [replayA.spec, replayB.spec])],
        subcommandOptional: true,
        run: runReplays)

    enum ReplaysVerb: String {
        case show, diff
    }

    static let replayID = Positional("ID", ReplayIDKind())
    static let replayA = Positional("A", ReplayIDKind())
    static let replayB = Positional("B", ReplayIDKind())

    static func runReplays(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let session = try requireSession(shell)
        let stored = try session.database.replays()
        switch args.subcommand(as: ReplaysVerb.self) {
        case .show?:
            let (id, entry, report) = try storedReport(args[replayID], in: stored)
            return CommandOutput(fields: [("id", .int(id)), ("report", report)], text: entry.reportText)
        case .diff?:
            let a = try storedReport(args[replayA], in: stored), b = try storedReport(args[replayB], in: stored)
            return diffReplays(a, b, shell: shell)
        case nil:
            return listReplays(stored, shell: shell)
        }
    }

    /// The stored replay numbered `id` and its JSON report.
    static func storedReport(_ id: Int, in stored: [ReplayEntry]) throws -> (id: Int, entry: ReplayEntry, report: JSON) {
        guard let entry = stored.first(where: { $0.id == id }) else {
            throw ShellError.invalid(stored.isEmpty
                ? "no replay '\(id)' — none is stored yet; 'replay' runs one"
                : "no replay '\(id)' — stored replays are 1…\(stored.count)")
        }
        // The file is read strictly, so the stored JSON parses; failing here means the file changed under us.
        guard let report = try? JSONText.parse(entry.reportJSON) else {
            throw ShellError.invalid("replay \(id)'s stored JSON report cannot be read — the session file is damaged")
        }
        return (id, entry, report)
    }

    /// A stored report's settings as `path value` leaves (`config.tier1_interval`, `span.start`, …), with its data
    /// fingerprint and version; nil for a report stored before reports kept their settings.
    static func settingLeaves(_ report: JSON) -> [(String, JSON)]? {
        guard let settings = report["settings"] else { return nil }
        var leaves: [(String, JSON)] = []
        func walk(_ value: JSON, _ path: String) {
            if case .object(let fields) = value {
                for (key, child) in fields { walk(child, path.isEmpty ? key : path + "." + key) }
            } else {
                leaves.append((path, value))
            }
        }
        walk(settings, "")
        leaves.append(("data_fingerprint", report["data_fingerprint"] ?? .null))
        leaves.append(("version", report["version"] ?? .null))
        return leaves
    }

    /// A setting as people read it: `0.6`, `6h` for a duration key, `1,2` for a list, `—` for none.
    static func plain(_ value: JSON?, key: String = "") -> String {
        switch value {
        case nil, .null?: return "—"
        case .string(let text)?: return text
        case .int(let number)?: return String(number)
        case .double(let number)?:
            if let config = LoopConfig.key(named: key), case .duration = config.kind { return DurationText.format(number) }
            if key == "step_seconds" { return DurationText.format(number) }
            return number == number.rounded() && Swift.abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .array(let items)?: return items.map { plain($0) }.joined(separator: ",")
        case let other?: return other.serialized()
        }
    }

    /// The config keys, step and baselines of a stored report that differ from a default replay's; nil when the
    /// report stores no settings.
    static func changedSettings(_ report: JSON) -> [(String, JSON)]? {
        guard let settings = report["settings"], case .object(let config)? = settings["config"] else { return nil }
        let defaults = configFields(LoopConfig().forReplay)
        var changed = config.filter { key, value in defaults.first { $0.0 == key }?.1 != value }
        if let step = settings["step_bars"], step != .int(1) { changed.append(("step_seconds", settings["step_seconds"] ?? .null)) }
        if let baselines = settings["baselines"], baselines == .bool(false), settings["compare"] == .null {
            changed.append(("baselines", .string("off")))
        }
        return changed
    }

    /// `replays diff A B`: the settings that differ, whether the data did, and the results side by side.
    static func diffReplays(_ a: (id: Int, entry: ReplayEntry, report: JSON), _ b: (id: Int, entry: ReplayEntry, report: JSON),
                            shell: ShellContext) -> CommandOutput {
        let left = settingLeaves(a.report), right = settingLeaves(b.report)
        var keys: [String] = []
        for (key, _) in (left ?? []) + (right ?? []) where !keys.contains(key) { keys.append(key) }
        let differing = keys.compactMap { key -> (String, JSON, JSON)? in
            let x = left?.first { $0.0 == key }?.1 ?? .null, y = right?.first { $0.0 == key }?.1 ?? .null
            return x == y ? nil : (key, x, y)
        }
        // The stored report's scores and P&L where it has them (reports from before issue 12 have accuracy only).
        func results(_ entry: ReplayEntry, _ report: JSON) -> [(String, Double?)] {
            func value(_ path: String...) -> Double? {
                var node: JSON? = report
                for key in path { node = node?[key] }
                return node?.doubleValue
            }
            return [("accuracy", entry.accuracy), ("directional_accuracy", value("directional_accuracy")),
                    ("coverage", value("coverage")), ("brier", value("brier")), ("log_loss", value("log_loss")),
                    ("pnl.strategy_return", value("pnl", "strategy_return")),
                    ("pnl.buy_and_hold_return", value("pnl", "buy_and_hold_return")),
                    ("pnl.sharpe", value("pnl", "sharpe")), ("pnl.max_drawdown", value("pnl", "max_drawdown")),
                    ("pnl.trades", value("pnl", "trades")),
                    ("never_retrain.accuracy", entry.neverRetrainAccuracy),
                    ("retrain_every_step.accuracy", entry.everyStepAccuracy), ("steps", Double(entry.steps)),
                    ("scored", Double(entry.scored)), ("retrains", Double(entry.retrains))]
        }
        let rows = zip(results(a.entry, a.report), results(b.entry, b.report)).map { x, y in
            (x.0, x.1, y.1, x.1.flatMap { first in y.1.map { $0 - first } })
        }
        let json: [(String, JSON)] = [
            ("a", .int(a.id)), ("b", .int(b.id)),
            ("settings_stored", .bool(left != nil && right != nil)),
            ("settings", .array(differing.map { key, x, y in .object([("key", .string(key)), ("a", x), ("b", y)]) })),
            ("same_data", left != nil && right != nil
                ? .bool(a.report["data_fingerprint"] == b.report["data_fingerprint"]) : .null),
            ("results", .array(rows.map { metric, x, y, difference in
                .object([("metric", .string(metric)), ("a", .number(x)), ("b", .number(y)), ("difference", .number(difference))])
            })),
        ]
        var lines: [String] = []
        let missing = [(a.id, left), (b.id, right)].filter { $0.1 == nil }.map { "#\($0.0)" }
        if !missing.isEmpty {
            lines.append("replay \(missing.joined(separator: " and ")) stored no settings (run by an earlier version): only results compare")
        } else if differing.isEmpty {
            lines.append("settings: the same, on the same data")
        } else {
            lines.append("settings that differ:")
            lines.append(shell.table(["setting", "#\(a.id)", "#\(b.id)"], differing.map { key, x, y in
                let leaf = String(key.split(separator: ".").last ?? "")
                let name = key.hasPrefix("config.") ? String(key.dropFirst("config.".count)) : key
                return [name, plain(x, key: name == key ? leaf : name), plain(y, key: name == key ? leaf : name)]
            }))
        }
        enum Kind { case share, score, count }
        func kind(_ metric: String) -> Kind {
            if ["brier", "log_loss", "pnl.sharpe"].contains(metric) { return .score }
            if ["steps", "scored", "retrains", "pnl.trades"].contains(metric) { return .count }
            return .share
        }
        func show(_ metric: String, _ value: Double?) -> String {
            guard let value else { return "—" }
            switch kind(metric) {
            case .share: return metric.hasSuffix("_return") ? returnText(value) : Format.percent(value)
            case .score: return Format.fixed(value)
            case .count: return String(Int(value))
            }
        }
        lines.append("results:")
        lines.append(shell.table(["result", "#\(a.id)", "#\(b.id)", "difference"], rows.map { metric, x, y, difference in
            let change = difference.map { d -> String in
                switch kind(metric) {
                case .share: return String(format: "%+.1f pts", d * 100)
                case .score: return String(format: "%+.3f", d)
                case .count: return String(format: "%+d", Int(d))
                }
            } ?? "—"
            return [metric, show(metric, x), show(metric, y), change]
        }, right: [1, 2, 3]))
        lines.append("differences of stored point estimates; for an interval, compare in one run: 'replay --compare KEY=A,B'")
        return CommandOutput(fields: json, text: lines.joined(separator: "\n"))
    }

    static func listReplays(_ stored: [ReplayEntry], shell: ShellContext) -> CommandOutput {
        let changed = stored.map { entry in (try? JSONText.parse(entry.reportJSON)).flatMap(changedSettings) }
        let json: [(String, JSON)] = [("replays", .array(zip(stored, changed).map { entry, changed in
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
                ("settings_changed", changed.map { JSON.object($0) } ?? .null),
            ])
        }))]
        guard !stored.isEmpty else {
            return CommandOutput(fields: json, text: "no replays stored yet — 'replay' runs one and stores its report")
        }
        let rows = zip(stored, changed).map { entry, changed in
            [String(entry.id), ISOTime.short(entry.at), ISOTime.short(entry.start) + " +" + DurationText.format(entry.end - entry.start),
             entry.tiers.map(String.init).joined(separator: ","),
             Format.percent(entry.accuracy) + (entry.cancelled ? " (stopped)" : ""),
             Format.percent(entry.neverRetrainAccuracy), Format.percent(entry.everyStepAccuracy),
             String(entry.retrains),
             entry.applied ? "yes" : entry.compareKey.map { "\($0)=\(entry.compareValue ?? "")" } ?? "",
             changed.map { $0.isEmpty ? "defaults" : $0.map { "\($0.0)=\(plain($0.1, key: $0.0))" }.joined(separator: " ") } ?? "?"]
        }
        let table = shell.table(["id", "at", "span", "tiers", "loop", "never", "every", "retrains", "applied / compared", "settings changed"],
                                rows, right: [0, 4, 5, 6, 7])
        return CommandOutput(fields: json, text: table + "\nloop: the triggers' accuracy; never / every: the baselines'; ?: stored before reports kept settings — 'replays show ID' prints one, 'replays diff A B' compares two")
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
