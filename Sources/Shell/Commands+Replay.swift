import Charts
import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let replay: CommandSpec = CommandSpec(
        "replay", group: .training,
        synopsis: "replay ?--days N|--from T --to T? ?--step DURATION? ?--tiers 1,2,3? ?--baselines on|off? ?--compare KEY=V1,V2…?",
        abstract: "Walk the loop forward over the loaded history: would this retraining policy have done well?",
        discussion: """
        Replays the last N days (default: the later half of the loaded bars) in virtual time. At each step the \
        simulated loop sees only the bars up to that moment: the previous prediction is scored from the realised \
        move (hold_band), the triggers run (intervals, performance, drift, as configured), due tiers retrain, and \
        it predicts. Beside it run two baselines: never retrain after the first training, and retrain at every \
        step. Default tiers 1,2 (tier 3 retrains the LSTM, which takes seconds each time). The session's own \
        models and log are untouched. Ctrl-C stops it. --compare runs the same replay once per value of one \
        config key and prints them side by side.
        """,
        examples: ["replay", "replay --days 10 --tiers 1", "replay --from 2026-11-01 --to 2026-11-15", "replay --step 6h --baselines off",
                   "replay --compare performance_threshold=0.5,0.55,0.6"],
        flags: [FlagSpec("days", value: "N", "replay the last N days"),
                FlagSpec("from", value: "TIME", "replay from this time (ISO date or time, UTC)"),
                FlagSpec("to", value: "TIME", "replay up to this time (default: the last bar)"),
                FlagSpec("step", value: "DURATION", "time between steps (default: one bar)"),
                FlagSpec("tiers", value: "LIST", "tiers that take part, e.g. 1,2 (default) or 1,2,3"),
                FlagSpec("baselines", value: "on|off", values: ["on", "off"], "also run the two baselines (default on)"),
                FlagSpec("compare", value: "KEY=V1,V2", "replay once per value of a config key")],
        run: runReplay)

    static func runReplay(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let engine = shell.engine
        guard let series = engine.series else { throw LoopError.noData }
        let interval = series.interval ?? 3600
        var startIndex = series.count / 2
        if let text = args.option("days") {
            guard let days = Double(text), days > 0 else {
                throw ShellError.usage(command: replay, message: "invalid --days '\(text)': expected a number of days > 0")
            }
            startIndex = series.count - Int((days * 86_400 / interval).rounded())
            guard startIndex > 0 else {
                throw ShellError.invalid("--days \(text) reaches before the loaded data (\(series.count) bars): fetch more history or replay fewer days")
            }
        }
        var endIndex = series.count - 1
        if args.option("from") != nil || args.option("to") != nil {
            guard args.option("days") == nil else {
                throw ShellError.usage(command: replay, message: "give --days or --from/--to, not both")
            }
            func time(_ flag: String) throws -> TimeInterval? {
                guard let text = args.option(flag) else { return nil }
                guard let value = TimeText.parse(text) else {
                    throw ShellError.usage(command: replay, message: "invalid --\(flag) '\(text)': expected a time such as 2026-11-20 or 2026-11-20T10:00")
                }
                return value
            }
            let bars = series.bars
            if let from = try time("from") {
                guard let index = bars.firstIndex(where: { $0.time >= from }), index > 0 else {
                    throw ShellError.invalid("--from \(args.option("from")!) is outside the loaded data (\(ISOTime.short(bars[0].time)) → \(ISOTime.short(bars[bars.count - 1].time))): the replay needs earlier bars to train on")
                }
                startIndex = index
            }
            if let to = try time("to") {
                guard let index = bars.lastIndex(where: { $0.time <= to }), index > startIndex else {
                    throw ShellError.invalid("--to \(args.option("to")!) leaves no bars after the start of the replay")
                }
                endIndex = index
            }
        }
        var stepBars = 1
        if let text = args.option("step") {
            guard let seconds = DurationText.parse(text), seconds >= interval else {
                throw ShellError.usage(command: replay, message: "invalid --step '\(text)': expected a duration of at least one bar (\(DurationText.format(interval)))")
            }
            stepBars = max(1, Int((seconds / interval).rounded()))
        }
        var tiers: Set<Int> = [1, 2]
        if let text = args.option("tiers") {
            tiers = Set(try text.split(separator: ",").map { try Tier.parse(String($0)).number })
            guard !tiers.isEmpty else { throw ShellError.usage(command: replay, message: "--tiers needs at least one tier") }
        }
        if let text = args.option("compare") {
            return try compareReplays(shell, text: text, startIndex: startIndex, endIndex: endIndex, stepBars: stepBars, tiers: tiers)
        }
        let policies: [ReplayPolicy] = args.option("baselines") == "off" ? [.triggers] : ReplayPolicy.allCases
        var reports: [ReplayReport] = []
        for policy in policies {
            shell.logger.log(.info, "replaying \(policy.rawValue) over \(series.count - startIndex) bars...")
            let report = try engine.replay(from: startIndex, through: endIndex, stepBars: stepBars, tiers: tiers, policy: policy).report
            reports.append(report)
            if report.cancelled { break }
        }
        let main = reports[0]
        let json: [(String, JSON)] = [
            ("accuracy", .number(main.accuracy)),
            ("scored", .int(main.scored)), ("steps", .int(main.steps)),
            ("start", .time(main.start)), ("end", .time(main.end)),
            ("tiers", .array(tiers.sorted().map { .string("tier\($0)") })),
            ("rolling_accuracy", .array(main.rollingAccuracy.map { .array([.time($0.time), .number($0.accuracy)]) })),
            ("retrains", .object(Tier.all.filter { tiers.contains($0.number) }.map { tier in
                let causes = main.retrains[tier.number] ?? [:]
                return (tier.label, .object([("count", .int(causes.values.reduce(0, +)))]
                                            + causes.sorted { $0.key < $1.key }.map { ($0.key, JSON.int($0.value)) }))
            })),
            ("baselines", .object(reports.dropFirst().map { report in
                (report.policy == .never ? "never_retrain" : "retrain_every_step",
                 .object([("accuracy", .number(report.accuracy)), ("retrains", .int(report.retrainTimes.count)),
                          ("training_seconds", .number(report.trainingSeconds))]))
            })),
            ("training_seconds", .number(main.trainingSeconds)),
            ("cancelled", .bool(reports.contains { $0.cancelled })),
        ]
        var text = replayText(reports, tiers: tiers, shell: shell)
        if reports.contains(where: \.cancelled) { text = "stopped by Ctrl-C — the report covers the steps that ran\n" + text }
        return CommandOutput(fields: json, text: text)
    }

    /// `--compare KEY=V1,V2`: the same replay once per value, every value validated before any runs.
    static func compareReplays(_ shell: ShellContext, text: String, startIndex: Int, endIndex: Int, stepBars: Int,
                               tiers: Set<Int>) throws -> CommandOutput {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else {
            throw ShellError.usage(command: replay, message: "invalid --compare '\(text)': expected KEY=V1,V2 such as performance_threshold=0.5,0.6")
        }
        let key = parts[0], values = parts[1].split(separator: ",").map(String.init)
        let configurations = try values.map { value -> LoopConfig in
            var configuration = shell.engine.config
            try configuration.set(key, to: value)
            return configuration
        }
        var runs: [(String, ReplayReport)] = []
        for (value, configuration) in zip(values, configurations) {
            shell.logger.log(.info, "replaying with \(key) = \(value)...")
            runs.append((value, try shell.engine.replay(from: startIndex, through: endIndex, stepBars: stepBars, tiers: tiers, policy: .triggers,
                                                        configuration: configuration).report))
        }
        let json: [(String, JSON)] = [
            ("compare", .string(key)),
            ("runs", .array(runs.map { value, report in
                .object([("value", .string(value)), ("accuracy", .number(report.accuracy)), ("scored", .int(report.scored)),
                         ("retrains", .int(report.retrainTimes.count)), ("training_seconds", .number(report.trainingSeconds))])
            })),
        ]
        let rows = runs.map { value, report in
            [value, Format.percent(report.accuracy), String(report.retrainTimes.count), Format.seconds(report.trainingSeconds)]
        }
        return CommandOutput(fields: json, text: "replay compared over \(key)\n"
                             + shell.table([key, "live accuracy", "retrains", "training time"], rows, right: [1, 2, 3]))
    }

    static func replayText(_ reports: [ReplayReport], tiers: Set<Int>, shell: ShellContext) -> String {
        let main = reports[0]
        var text = "replay \(ISOTime.short(main.start)) → \(ISOTime.short(main.end)) UTC: \(main.steps) steps, \(main.scored) scored predictions, tiers \(tiers.sorted().map(String.init).joined(separator: ","))\n"
        let rows = reports.map { report in
            [report.policy == .triggers ? "the loop's triggers" : report.policy == .never ? "never retrain" : "retrain every step",
             Format.percent(report.accuracy), String(report.retrainTimes.count), Format.seconds(report.trainingSeconds)]
        }
        text += shell.table(["policy", "live accuracy", "retrains", "training time"], rows, right: [1, 2, 3])
        let causes = main.retrains.sorted { $0.key < $1.key }.map { tier, causes in
            "tier\(tier): " + causes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ")
        }
        if !causes.isEmpty { text += "\nretrains by cause — " + causes.joined(separator: "; ") }
        guard !main.rollingAccuracy.isEmpty else { return text }
        var options = LineChartOptions()
        options.width = shell.terminal.width
        options.title = "rolling live accuracy (\(shell.engine.config.evaluationWindow) predictions); ▲ retrains above tier 1"
        options.yFormat = .percent
        options.yRange = 0...1
        options.xAxis = .time
        options.referenceLine = (shell.engine.config.performanceThreshold, "threshold")
        let curve = ChartSeries(name: "rolling accuracy", points: main.rollingAccuracy.map { ChartPoint(x: $0.time, y: $0.accuracy) })
        // Retrain markers sit on the curve at the moment of each retraining.
        let markers = main.notableRetrainTimes.compactMap { moment -> ChartPoint? in
            guard let last = main.rollingAccuracy.last(where: { $0.time <= moment }) else { return nil }
            return ChartPoint(x: moment, y: last.accuracy)
        }
        text += "\n" + LineChart.render([curve, ChartSeries(name: "retrain", points: markers)], options: options, style: shell.chartStyle)
        return text
    }
}
