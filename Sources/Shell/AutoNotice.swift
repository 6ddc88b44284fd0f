import FeedbackLoop
import Foundation
import LoopApp
import MarketData

/// Something auto mode did, shown above the prompt (text) or as one JSON object (tools).
struct Notice: @unchecked Sendable {
    // @unchecked: JSON is an immutable value tree of strings and numbers.
    var text: String
    var fields: [(String, JSON)]
    var warning = false
}

/// Notices posted by the background scheduler, waiting for the main thread to print them. A byte written to a pipe
/// per notice wakes the line editor, which waits on the terminal and this pipe at once.
final class Notices: @unchecked Sendable {
    // @unchecked: `queue` is guarded by `lock`; the descriptors never change after init.
    private let lock = NSLock()
    private var queue: [Notice] = []
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        if pipe(&descriptors) == 0 {
            for descriptor in descriptors {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            }
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func post(_ notice: Notice) {
        lock.withLock { queue.append(notice) }
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Everything posted so far, oldest first.
    func drain() -> [Notice] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
        return lock.withLock {
            defer { queue.removeAll() }
            return queue
        }
    }
}

// MARK: Auto mode's words

extension Notice {
    /// One check: `[auto TIME] what happened · …` and the same as JSON fields.
    init(_ report: AutoCheckReport) {
        self.init(text: "[auto \(ISOTime.short(report.time))] \(report.asset.map { "\($0): " } ?? "")\(report.summary)", fields: report.fields, warning: report.warning)
    }

    /// A loaded session switched auto mode on.
    static func autoResumed(_ resumed: AutoResumed) -> Notice {
        let (every, nextCheck) = (resumed.every, resumed.nextCheck)
        return Notice(text: "auto mode is on in this session: next check in \(DurationText.format(every)) ('auto off' stops it)",
               fields: [("event", .string("auto_resumed")), ("next_check", .time(nextCheck))])
    }

    /// A check could not be written to the session.
    static func autoError(_ problem: String) -> Notice {
        Notice(text: "[auto] \(problem)", fields: [("event", .string("auto_error")), ("error", .string(problem))], warning: true)
    }
}

extension AutoCheckReport {
    /// What the check did in one line (`auto` and `status` show it as the last check).
    var summary: String {
        let parts = self.parts
        return parts.isEmpty ? "nothing to do" : parts.joined(separator: " · ")
    }

    /// The summary's parts, in the order the check ran.
    private var parts: [String] {
        switch skipped {
        case .trainingInProgress(let tier)?:
            let who = tier.map { "tier\($0) is" } ?? "a training is"
            return ["skipped: \(who) still training (the loop never runs two trainings at once)"]
        case .sessionReplaced?:
            return ["skipped: another session was loaded during the check"]
        case nil:
            break
        }
        var parts = refresh.map(Self.parts(of:)) ?? []
        if noData { parts.append("no data loaded") }
        if let training { parts.append(Self.part(of: training)) }
        if let prediction {
            parts.append("predicts \(prediction.signal.rawValue) (\(String(format: "%.3f", prediction.ensemble)))")
        }
        return parts
    }

    /// The same as JSON, after `event` and `time`.
    var fields: [(String, JSON)] {
        var fields: [(String, JSON)] = [("event", .string("auto_check")), ("time", .time(time))]
        if let asset { fields.append(("asset", .string(asset))) }
        if let refresh { fields += Self.fields(of: refresh) }
        switch skipped {
        case .trainingInProgress?: fields.append(("skipped", .string("training_in_progress")))
        case .sessionReplaced?: fields.append(("skipped", .string("session_replaced")))
        case nil: break
        }
        if let training, let object = Self.object(of: training) { fields.append(("training", .object(object))) }
        if let prediction {
            fields.append(("prediction", .object([("signal", .string(prediction.signal.rawValue)),
                                                  ("ensemble", .number(prediction.ensemble)),
                                                  ("bar_time", .time(prediction.barTime))])))
        }
        return fields
    }

    private static func parts(of refresh: Refresh) -> [String] {
        switch refresh {
        case .noSource, .sourceReplaced:
            return []
        case .notAsked:
            return ["CoinGecko not asked during 'advance' (no data after real time)"]
        case .failed(let error):
            return ["could not refresh the data (\(ShellContext.message(for: error))); using what is loaded"]
        case .unchanged(let pinnedEnd):
            return [pinnedEnd.map { "no new bar: the demo is pinned at \(ISOTime.short($0)) (fetch without --end to follow the clock)" }
                    ?? "no new bar"]
        case .loaded(let added, let lastClose, let fate):
            var parts = ["+\(added) bar\(added == 1 ? "" : "s") (\(Format.price(lastClose ?? .nan)))"]
            switch fate {
            case .resolved(let entry, let realised):
                parts.append("scored \(entry.predicted.rawValue): moved \(String(format: "%+.3f%%", realised * 100)) → "
                             + "\(entry.actual.rawValue), \(entry.correct ? "correct" : "wrong")")
            case .dropped:
                parts.append("the pending prediction's bar is gone from the new data; dropped")
            case .none, .waiting:
                break
            }
            return parts
        }
    }

    private static func fields(of refresh: Refresh) -> [(String, JSON)] {
        switch refresh {
        case .noSource, .notAsked, .sourceReplaced:
            return []
        case .failed(let error):
            return [("fetch_error", .string(ShellContext.message(for: error)))]
        case .unchanged:
            return [("bars_added", .int(0))]
        case .loaded(let added, _, let fate):
            var fields: [(String, JSON)] = [("bars_added", .int(added))]
            if case .resolved(let entry, let realised) = fate {
                fields.append(("resolved", .object([("predicted", .string(entry.predicted.rawValue)),
                                                    ("actual", .string(entry.actual.rawValue)),
                                                    ("correct", .bool(entry.correct)),
                                                    ("realised_return", .number(realised))])))
            }
            return fields
        }
    }

    private static func part(of training: Training) -> String {
        switch training {
        case .none:
            return "no tier due"
        case .couldNotStart(let tier, let error):
            return "tier\(tier) could not start: \(ShellContext.message(for: error))"
        case .started(let tier, let reason):
            return "tier\(tier) due (\(reason.spokenCode)): training in the background…"
        case .finished(let trained, let reason):
            let models = trained.records.map { record in
                let kept = record.details.promotion?.promoted ?? true
                return "\(record.model.rawValue) v\(record.version) \(Format.holdoutPhrase(record))\(kept ? "" : " (not promoted)")"
            }
            return "tier\(trained.tier) trained (\(reason.spokenCode), \(Format.seconds(trained.seconds))): \(models.joined(separator: ", "))"
        case .failed(let tier, _, stopping: true):
            return "tier\(tier)'s background training stopped because the shell is quitting; the previous models stay"
        case .failed(let tier, let error, stopping: false):
            if case LoopError.cancelled = error { return "tier\(tier) training failed: \(ShellContext.message(for: error))" }
            return "tier\(tier) training failed: \(ShellContext.message(for: error)) — the previous models stay"
        case .superseded(let tier):
            return LoopError.trainingSuperseded(tier: tier).description
        }
    }

    /// The `training` object; nil where the check says nothing about a training in JSON.
    private static func object(of training: Training) -> [(String, JSON)]? {
        switch training {
        case .none, .couldNotStart:
            return nil
        case .started(let tier, let reason):
            return [("tier", .int(tier)), ("reason", .string(reason.code)), ("state", .string("started"))]
        case .finished(let trained, let reason):
            return [("tier", .int(trained.tier)), ("reason", .string(reason.code)), ("state", .string("finished")),
                    ("seconds", .number(trained.seconds)),
                    ("models", .array(trained.records.map { record in
                        .object([("model", .string(record.model.rawValue)), ("version", .int(record.version)),
                                 ("accuracy", .number(record.accuracy))])
                    }))]
        case .failed(let tier, let error, _):
            return [("tier", .int(tier)), ("state", .string("failed")), ("error", .string(ShellContext.message(for: error)))]
        case .superseded(let tier):
            return [("tier", .int(tier)), ("state", .string("superseded"))]
        }
    }
}

extension TriggerReason {
    /// The code with spaces, as auto mode's lines say it (`interval elapsed`).
    var spokenCode: String { code.replacingOccurrences(of: "_", with: " ") }
}

// MARK: `auto` and `status`

extension AutoScheduler {
    /// `auto` and `status`: on/off, interval, tiers, source, next and last check, a background training.
    func stateFields() -> [(String, JSON)] {
        var fields: [(String, JSON)] = [("enabled", .bool(settings.enabled)),
                                        ("check_interval_seconds", .number(checkInterval)),
                                        ("tiers", .array(settings.tiers.sorted().map { .int($0) })),
                                        ("source", settings.source.map { .string("fetch " + Commands.FetchRequest(source: $0).canonical) } ?? .null),
                                        ("next_check", nextCheck.map { .time($0) } ?? .null),
                                        ("checks_run", .int(checksRun)), ("checks_skipped", .int(checksSkipped))]
        if let lastCheck { fields.append(("last_check", .object([("time", .time(lastCheck.time)), ("summary", .string(lastCheck.summary))]))) }
        if let background {
            fields.append(("training", .object([("tier", .int(background.tier)), ("reason", .string(background.reason.code)),
                                               ("elapsed_seconds", .number(background.measuredSeconds))])))
        }
        return fields
    }

    func stateText() -> String {
        guard settings.enabled else { return "auto mode is off — 'auto on' checks the triggers every \(DurationText.format(checkInterval))" }
        var lines = ["auto mode is on: every \(DurationText.format(checkInterval)), tiers \(settings.tiers.sorted().map(String.init).joined(separator: ","))"]
        // A demo pinned with --end is fetched the same at every check: say that no bar will come.
        let request = settings.source.map(Commands.FetchRequest.init(source:))
        let pinned = request.map { $0.demo && $0.end != nil } ?? false
        lines.append("  data        " + (request.map { "refreshed with 'fetch \($0.canonical)' at each check" + (pinned ? " (pinned: no new bars)" : "") } ?? "imported from a file: checks use what is loaded"))
        if let nextCheck {
            lines.append("  next check  \(ISOTime.short(nextCheck)) UTC (in \(DurationText.format(max(0, nextCheck - now).rounded())))")
        }
        if let background {
            lines.append("  training    tier\(background.tier) in the background (\(background.reason.spokenCode), \(Format.seconds(background.measuredSeconds)) so far)")
        }
        if let lastCheck { lines.append("  last check  \(ISOTime.short(lastCheck.time)): \(lastCheck.summary)") }
        lines.append("  checks      \(checksRun) run, \(checksSkipped) skipped while a training ran")
        return lines.joined(separator: "\n")
    }
}
