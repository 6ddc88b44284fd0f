import Foundation
import Testing

/// Exact replay reports, and exactly what `replay --apply` leaves in the session, on the pinned demo market — pinned
/// by files in Golden/ generated from the code before the loop's state was redesigned (LoopEngine → LoopState with
/// typed changes and a journal). The redesign must leave every one of them unchanged: accuracies, Brier scores, log
/// losses, intervals, P&L, retrain counts and times, model versions, holdout metrics, probabilities and predictions are
/// compared digit for digit (every JSON number is decoded and written back as the shortest text that round-trips, so
/// two texts are equal exactly when the doubles are bit-identical; keys are sorted, so only a field's value counts,
/// not its place in the object).
///
/// Only what cannot repeat from run to run is replaced by a placeholder before comparing:
/// - measured durations: `training_seconds` (wall time spent fitting, in reports, baselines, `--compare` runs and the
///   `replays` list), the `seconds` column of `export perf` (each training's measured time), the "training time"
///   column of the text report, and `bytes` of `export` (the perf file's size follows its measured seconds; the
///   exported files' contents are compared themselves);
/// - the wall clock: the loop's clock is system time, so `clock.now`, the `at` of each `replays` entry (when it
///   ran), `predict`'s `made_at` and each model's `age_seconds`, and the ages written into `predict`'s stale-model
///   warnings ("trained 11d21h2m7s ago") and `status`'s trigger details ("(12d2h2m7s since last training ≥ 6h)");
/// - absolute paths holding a process id or a random folder: `status`'s `session.working_file` and `session.path`, and
///   `path` of `save` and `load` (inside the test's own sessions folder).
///
/// `save`'s `bytes` (the session file's size) stays exact: it is the same from run to run, and a change of what a
/// saved session holds should be seen (a journal that changes only the layout would change it too: review that one
/// line then).
///
/// XGBoost runs 25 rounds on one thread (the replay's own choice) so that the whole suite stays within seconds in a
/// debug build; everything else is the default configuration.
///
/// Regenerate (only when a change of results is intended and reviewed): `LGC_UPDATE_GOLDEN=1 swift test --filter
/// ReplayGolden` writes the files beside this source file; review the diff, then rebuild so the bundle copies them.
@Suite struct ReplayGoldenTests {
    static let setup = "set xgboost.threads 1; set xgboost.n_estimators 25; fetch demo 12 --seed 5 --end 2026-11-20"

    /// Tiers 1 and 2 over three days with both baselines: the report as printed (text), then as stored (JSON).
    @Test func replayWithBaselines() throws {
        let result = try ShellProcess.run(["-q", "-c", Self.setup + "; replay --days 3 --tiers 1,2; set format json; replays show 1"],
                                          environment: ["NO_COLOR": "1", "LC_ALL": "C.UTF-8", "TERM": "xterm"])
        #expect(result.status == 0, "\(result.stderr)")
        // The text ends where `set format json` begins: its line is the first JSON object.
        let lines = result.stdoutLines
        let firstJSON = try #require(lines.firstIndex { $0.hasPrefix("{") })
        let text = lines[..<firstJSON].joined(separator: "\n")
        try Self.compare(Self.normalisedText(text), golden: "replay-baselines-text")
        try Self.compare(Self.canonical(jsonLines: Array(lines[firstJSON...])), golden: "replay-baselines-json")
    }

    /// `--compare` runs one replay per value and compares them pairwise.
    @Test func replayCompare() throws {
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           Self.setup + "; replay --days 2 --tiers 1 --compare tier1_interval=3600,7200; replays"])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compare(Self.canonical(jsonLines: result.stdoutLines), golden: "replay-compare")
    }

    /// The other triggers (drift, performance against the naive baseline, promotion only when better, performance
    /// weighting, adaptive intervals), loop only.
    @Test func replayWithOtherTriggers() throws {
        let settings = "set drift_detector page_hinkley; set performance_vs_baseline on; set promotion better; "
            + "set ensemble_weighting performance; set adaptive_intervals on; set evaluation_window 5"
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           Self.setup + "; " + settings + "; replay --days 2 --tiers 1,2 --baselines off"])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compare(Self.canonical(jsonLines: result.stdoutLines), golden: "replay-triggers")
    }

    /// `replay --apply`, then everything the session shows and exports of its models, history and log, before and
    /// after a save and a load.
    @Test func replayApplyLeavesBehind() throws {
        let directory = try ShellProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let after = "models; perf; status; trend logistic; trend xgboost; chart accuracy; chart live; replays; replays show 1; "
            + "predict; export log log.csv; export perf perf.csv; history"
        let reloaded = "save golden; load golden; models; perf; status; predict; export log log-loaded.csv; export perf perf-loaded.csv"
        let result = try ShellProcess.run(["--format", "json", "-q", "-c",
                                           Self.setup + "; replay --days 2 --tiers 1,2 --apply; " + after + "; " + reloaded],
                                          directory: directory)
        #expect(result.status == 0, "\(result.stderr)")
        var output = try Self.canonical(jsonLines: result.stdoutLines)
        for file in ["log.csv", "perf.csv", "log-loaded.csv", "perf-loaded.csv"] {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            output += "=== \(file)\n" + (try Self.normalisedCSV(text, measuredColumns: ["seconds"]))
        }
        try Self.compare(output, golden: "replay-apply")
    }

    // MARK: - Normalising

    static let measured = "<measured duration>"
    static let wallClock = "<wall clock>"
    static let path = "<path>"
    static let fileSize = "<size of a file holding measured durations>"

    /// Keys whose values are measured durations, anywhere.
    static let measuredKeys: Set<String> = ["training_seconds"]
    /// Keys whose values are read from the wall clock, anywhere.
    static let wallClockKeys: Set<String> = ["made_at", "age_seconds"]

    /// Stdout's JSON objects, each normalised and written with sorted keys, one value per line.
    static func canonical(jsonLines: [String]) throws -> String {
        try jsonLines.map { line in
            let value = try JSONDecoder().decode(Canonical.self, from: Data(line.utf8))
            return normalised(value, path: []).text(indent: "") + "\n"
        }.joined()
    }

    static func normalised(_ value: Canonical, path: [String]) -> Canonical {
        let key = path.last ?? ""
        switch value {
        case .object(let fields):
            var result: [String: Canonical] = [:]
            for (name, field) in fields {
                result[name] = normalised(field, path: path + [name])
            }
            if path.isEmpty, case .string(let command)? = fields["command"] {
                // Absolute paths in the test's temporary sessions folder; the export's file size follows the
                // measured seconds written into perf.csv (the files are compared below, normalised).
                if command == "save" || command == "load", result["path"] != nil { result["path"] = .string(Self.path) }
                if command == "export", result["bytes"] != nil { result["bytes"] = .string(fileSize) }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map { normalised($0, path: path + ["[]"]) })
        default:
            if measuredKeys.contains(key) { return .string(measured) }
            if wallClockKeys.contains(key) { return .string(wallClock) }
            if path.suffix(2) == ["clock", "now"] { return .string(wallClock) }
            if path.suffix(3) == ["replays", "[]", "at"] { return .string(wallClock) }
            if path.suffix(2) == ["session", "working_file"] || path.suffix(2) == ["session", "path"], value != .null {
                return .string(Self.path)
            }
            if case .string(let text) = value { return .string(normalisedAges(text)) }
            return value
        }
    }

    /// The model ages that warnings and trigger details write: the time since a training, on the wall clock.
    static func normalisedAges(_ text: String) -> String {
        text.replacing(#/trained [0-9dhms.]+ ago/#, with: "trained \(wallClock) ago")
            .replacing(#/\([0-9dhms.]+ since last training/#, with: "(\(wallClock) since last training")
    }

    /// The text report's "training time" column: the last field of a policy's row, right-aligned.
    static func normalisedText(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line).replacing(#/ +[0-9][0-9.,]* (?:µs|ms|s|min)$/#, with: " \(measured)")
        }.joined(separator: "\n") + "\n"
    }

    /// A CSV file with the named columns replaced.
    static func normalisedCSV(_ text: String, measuredColumns: Set<String>) throws -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.first).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let columns = header.indices.filter { measuredColumns.contains(header[$0]) }
        for index in lines.indices.dropFirst() where !lines[index].isEmpty {
            var fields = lines[index].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(fields.count == header.count, "an unquoted CSV row: \(lines[index])")
            for column in columns where column < fields.count { fields[column] = measured }
            lines[index] = fields.joined(separator: ",")
        }
        return lines.joined(separator: "\n")
    }

    // MARK: - Golden files

    static var sourceFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    static func compare(_ output: String, golden name: String) throws {
        if ProcessInfo.processInfo.environment["LGC_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: sourceFolder, withIntermediateDirectories: true)
            try output.write(to: sourceFolder.appendingPathComponent(name + ".txt"), atomically: true, encoding: .utf8)
            return
        }
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Golden"),
                               "missing Golden/\(name).txt (LGC_UPDATE_GOLDEN=1 writes it)")
        let expected = try String(contentsOf: url, encoding: .utf8)
        guard output != expected else { return }
        let got = output.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        let context = { (lines: [Substring]) in lines[max(0, line - 3)..<min(lines.count, line + 2)].joined(separator: "\n") }
        Issue.record("""
            output differs from Golden/\(name).txt at line \(line + 1) (\(got.count) lines, expected \(want.count)):
            expected:
            \(context(want))
            got:
            \(context(got))
            """)
    }
}

/// A decoded JSON value, written back with sorted keys and numbers in their shortest round-tripping form.
indirect enum Canonical: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([Canonical])
    case object([String: Canonical])

    init(from decoder: any Decoder) throws {
        if var items = try? decoder.unkeyedContainer() {
            var array: [Canonical] = []
            while !items.isAtEnd { array.append(try items.decode(Canonical.self)) }
            self = .array(array)
            return
        }
        if let fields = try? decoder.container(keyedBy: AnyKey.self) {
            var object: [String: Canonical] = [:]
            for key in fields.allKeys { object[key.stringValue] = try fields.decode(Canonical.self, forKey: key) }
            self = .object(object)
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? value.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try value.decode(String.self))
        }
    }

    func text(indent: String) -> String {
        switch self {
        case .null: return "null"
        case .bool(let bool): return bool ? "true" : "false"
        case .integer(let integer): return String(integer)
        // Swift prints the shortest decimal that reads back as the same double: equal text, equal bits.
        case .number(let number): return "\(number)"
        case .string(let string): return Self.quoted(string)
        case .array(let items):
            guard !items.isEmpty else { return "[]" }
            let inner = indent + "  "
            return "[\n" + items.map { inner + $0.text(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let fields):
            guard !fields.isEmpty else { return "{}" }
            let inner = indent + "  "
            return "{\n" + fields.keys.sorted().map { inner + Self.quoted($0) + ": " + fields[$0]!.text(indent: inner) }
                .joined(separator: ",\n") + "\n\(indent)}"
        }
    }

    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 {
                    result += String(format: "\\u%04x", scalar.value)
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
