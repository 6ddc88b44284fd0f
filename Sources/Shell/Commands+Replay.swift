import Charts
import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

extension Commands {
    static let replay: CommandSpec = CommandSpec(
        "replay", group: .training,
        abstract: "Walk the loop forward over the loaded history: would this retraining policy have done well?",
        discussion: """
        Replays the last N days (default: the later half of the loaded bars) in virtual time. At each step the \
        simulated loop sees only the bars up to that moment: the previous prediction is scored from the realised \
        move (hold_band), the triggers run (intervals, performance, drift, as configured), due tiers retrain, and \
        it predicts. Beside it run two baselines: never retrain after the first training, and retrain at every \
        step. Default tiers 1,2 (tier 3 retrains the LSTM, which takes seconds each time). Each report is \
        stored in the session ('replays' lists them). The session's own models, history and log are untouched \
        unless --apply: then the replayed loop's current models become the session's, its trainings are added \
        as new versions, its scored predictions join the log (at their replay times) and the tiers' clocks \
        restart at its last trainings (only the final models' weights are stored). Ctrl-C stops it and applies \
        nothing. --compare runs the same replay once per value of one config key and prints them side by side.
        """,
        examples: ["replay", "replay --days 10 --tiers 1", "replay --from 2026-11-01 --to 2026-11-15", "replay --step 6h --baselines off",
                   "replay --days 7 --apply", "replay --compare performance_threshold=0.5,0.55,0.6"],
        flags: [FlagSpec(ReplayArguments.days), FlagSpec(ReplayArguments.from), FlagSpec(ReplayArguments.to),
                FlagSpec(ReplayArguments.step), FlagSpec(ReplayArguments.tiers), FlagSpec(ReplayArguments.baselines),
                FlagSpec(ReplayArguments.apply),
                FlagSpec(ReplayArguments.compare), FlagSpec(assetsOption)],
        // A span is the last days or from/to; a replay is applied or compared.
        exclusive: [[["days"], ["from", "to"]], [["apply"], ["compare"]]],
        assetScoped: true,
        run: runReplay)

    enum ReplayArguments {
        /// Above 0 and at most 100 years; how many of them the loaded data serves is checked after.
        static let days = Option("days", "N", NumberKind(Bounded(.decimal, 0, Bounded.century / 86_400, excludesLower: true)),
                                 "replay the last N days")
        static let from = Option("from", "TIME", TimeKind(), "replay from this time (ISO date or time, UTC)")
        static let to = Option("to", "TIME", TimeKind(), "replay up to this time (default: the last bar)")
        /// At least one bar too, which only the loaded data says: checked when the replay runs.
        static let step = Option("step", "DURATION", DurationKind(), "time between steps (default: one bar)")
        static let tiers = Option("tiers", "LIST", TierListKind(), "tiers that take part, e.g. 1,2 (default) or 1,2,3")
        static let baselines = Option("baselines", "on|off", ChoiceKind([LoopConfig.Switch.on, .off]),
                                      "also run the two baselines (default on)")
        static let apply = Switch("apply", "install the replayed loop's models, history and log into the session")
        static let compare = Option("compare", "KEY=V1,V2", KeyValuesKind(), "replay once per value of a config key")
    }

    static func runReplay(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        guard let series = shell.engine.series else { throw LoopError.noData }
        let plan = try ReplayPlan(args, series: series)
        if let compare = plan.compare { return try compareReplays(shell, plan, compare: compare) }
        defer { shell.progress.finish() }
        let outcome = try runPlan(shell, plan)
        let main = outcome.main
        let id = main.steps > 0 ? nextReplayID(shell) : nil
        let json = replayFields(shell, plan, outcome, id: id)
        let text = replayReportText(shell, plan, outcome)
        guard let id else { return CommandOutput(fields: json, text: text) }
        shell.pendingReplays.append(replayEntry(shell, plan, outcome, id: id, json: json, text: text))
        return CommandOutput(fields: json, text: text + "\nstored as replay #\(id) — 'replays show \(id)' prints it again")
    }

    /// Walks the plan's policies forward and, with `--apply`, installs the loop's own run into the session.
    static func runPlan(_ shell: ShellContext, _ plan: ReplayPlan) throws -> ReplayOutcome {
        let engine = shell.engine, policies = plan.policies
        shell.logger.log(.info, "replaying \(policies.map(\.rawValue).joined(separator: ", ")) over \(plan.endIndex - plan.startIndex + 1) bars...")
        // The policies walk forward together, sharing one feature matrix and every fit they have in common.
        let runs = try engine.replay(policies.map { ReplayRun(policy: $0, configuration: engine.config.forReplay) },
                                     from: plan.startIndex, through: plan.endIndex, stepBars: plan.stepBars, tiers: plan.tiers,
                                     execution: shell.replayExecution, progress: progressBar(shell, runs: policies.count))
        let reports = runs.map(\.report)
        let cancelled = reports.contains { $0.cancelled }
        // Only the loop's own policy is applied, and only a replay that ran to its end.
        var application: ReplayApplication?
        if plan.apply, !cancelled, let replayed = runs.first?.loop { application = try engine.adopt(replay: replayed) }
        return ReplayOutcome(reports: reports, cancelled: cancelled, application: application)
    }

    /// The fields `replay` prints in JSON mode: the loop's report against its baselines, provenance, and what
    /// `--apply` installed. Read after applying: the config and series are the session's as they are now.
    static func replayFields(_ shell: ShellContext, _ plan: ReplayPlan, _ outcome: ReplayOutcome, id: Int?) -> [(String, JSON)] {
        let engine = shell.engine
        var json: [(String, JSON)] = [("replay_id", id.map(JSON.int) ?? .null)]
        json += reportFields(outcome.main, baselines: Array(outcome.reports.dropFirst()), tiers: plan.tiers,
                             pnl: engine.config.pnlSettings, series: engine.series)
        json.append(("cancelled", .bool(outcome.cancelled)))
        json += provenance(config: engine.config.forReplay, series: plan.series, startIndex: plan.startIndex,
                           endIndex: plan.endIndex, stepBars: plan.stepBars, tiers: plan.tiers,
                           baselines: plan.policies.count > 1, compare: nil)
        json.append(("applied", .bool(outcome.application != nil)))
        if let application = outcome.application { json.append(("application", applicationField(application))) }
        return json
    }

    /// What `--apply` added: trainings, scored predictions and the models now current.
    static func applicationField(_ application: ReplayApplication) -> JSON {
        .object([
            ("trainings", .int(application.records.count)), ("outcomes", .int(application.outcomes)),
            ("current_versions", .object(application.currentVersions.sorted { $0.key < $1.key }
                .map { ($0.key.rawValue, JSON.int($0.value)) })),
        ])
    }

    /// The text report: a Ctrl-C line first when stopped, then the policy table and its analysis, then what
    /// `--apply` installed.
    static func replayReportText(_ shell: ShellContext, _ plan: ReplayPlan, _ outcome: ReplayOutcome) -> String {
        var text = replayText(outcome.reports, tiers: plan.tiers, config: shell.engine.config, shell: shell)
        if outcome.cancelled {
            text = stoppedLine(outcome.reports, noun: "policy") + (plan.apply ? "; nothing was applied" : "") + "\n" + text
        }
        if let application = outcome.application {
            let versions = application.currentVersions.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) v\($0.value)" }
            text += "\napplied to the session: \(versions.joined(separator: ", ")) now current; "
                + "\(application.records.count) trainings and \(application.outcomes) scored predictions added"
        }
        return text
    }

    /// The session's record of a replay with steps: its summary, and the report as printed (`json`, `text`).
    static func replayEntry(_ shell: ShellContext, _ plan: ReplayPlan, _ outcome: ReplayOutcome, id: Int,
                            json: [(String, JSON)], text: String) -> ReplayEntry {
        let main = outcome.main, reports = outcome.reports
        return ReplayEntry(
            id: id, at: shell.engine.clock.now, command: "", start: main.start, end: main.end, steps: main.steps,
            scored: main.scored, tiers: plan.tiers.sorted(), policy: main.policy.rawValue, accuracy: main.accuracy,
            neverRetrainAccuracy: reports.first { $0.policy == .never }?.accuracy,
            everyStepAccuracy: reports.first { $0.policy == .everyStep }?.accuracy,
            retrains: main.retrainTimes.count, trainingSeconds: main.trainingSeconds, cancelled: outcome.cancelled,
            applied: outcome.application != nil, reportJSON: reportObject(json).serialized(), reportText: text,
            asset: shell.engine.focus)
    }

    /// The first line of a report stopped by Ctrl-C: every run is reported over the steps all of them completed.
    static func stoppedLine(_ reports: [ReplayReport], noun: String) -> String {
        let steps = reports.map(\.steps).min() ?? 0
        guard reports.count > 1 else { return "stopped by Ctrl-C — the report covers the steps that ran" }
        let ran = reports.map { $0.truncatedFrom ?? $0.steps }
        let cut = ran.contains { $0 != steps } ? " (they had run \(ran.map(String.init).joined(separator: ", ")); later steps are left out)" : ""
        return "stopped by Ctrl-C — every \(noun) is reported over the \(steps) steps all of them completed\(cut)"
    }

    /// What makes a stored report reproducible and comparable: `settings` (the config it ran with, tiers, step, span,
    /// baselines, seeds, the data's source), `data_fingerprint` (SHA-256 of the bars it could see) and `version`.
    static func provenance(config: LoopConfig, series: PriceSeries, startIndex: Int, endIndex: Int,
                           stepBars: Int, tiers: Set<Int>, baselines: Bool, compare: (key: String, value: String)?) -> [(String, JSON)] {
        let bars = series.bars
        let fetch = config.automation.source(forAsset: series.symbol).map(FetchRequest.init(source:))
        let interval = series.interval ?? 3600
        let settings: [(String, JSON)] = [
            ("config", .object(configFields(config))),
            ("tiers", .array(tiers.sorted().map(JSON.int))),
            ("step_bars", .int(stepBars)), ("step_seconds", .number(Double(stepBars) * interval)),
            ("span", .object([("start", .time(bars[startIndex].time)), ("end", .time(bars[endIndex].time)),
                              ("bars", .int(endIndex - startIndex + 1))])),
            ("baselines", .bool(baselines)),
            ("compare", compare.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) } ?? .null),
            ("seeds", .object([("demo", fetch.flatMap { $0.demo && series.source == "demo" ? JSON.int(Int($0.seed)) : nil } ?? .null),
                               ("xgboost", .int(config.xgboost.seed)), ("lstm", Int(exactly: config.lstm.seed).map(JSON.int) ?? .string(String(config.lstm.seed)))])),
            ("data", .object([("symbol", .string(series.symbol)), ("source", .string(series.source)),
                              ("first", .time(bars[0].time)), ("bars", .int(endIndex + 1)),
                              ("fetch", fetch.map { .string("fetch " + $0.canonical) } ?? .null)])),
        ]
        return [("settings", .object(settings)),
                ("data_fingerprint", .string(dataFingerprint(series, through: endIndex))),
                ("version", .string(ShellMain.version))]
    }

    /// SHA-256 over the time, open, high, low and close of every bar the replay could see: from the first loaded bar
    /// (the first trainings learn from the history before the replayed span) to its last. Each value is its IEEE-754
    /// bit pattern, little-endian, so equal bars give the same digest on every machine.
    static func dataFingerprint(_ series: PriceSeries, through last: Int) -> String {
        DataFingerprint.of(series, through: last)
    }

    /// The object `replay` prints in JSON mode, as stored with the report.
    static func reportObject(_ fields: [(String, JSON)]) -> JSON {
        .object([("command", .string("replay")), ("ok", .bool(true))] + fields)
    }

    /// The name a policy has in `comparisons` and in the baselines object.
    static func policyKey(_ policy: ReplayPolicy) -> String {
        switch policy {
        case .triggers: return "loop"
        case .never: return "never_retrain"
        case .everyStep: return "retrain_every_step"
        }
    }

    static func scoreFields(_ metrics: MetricSet) -> [(String, JSON)] {
        [("directional_accuracy", .number(metrics.directionalAccuracy?.value)), ("coverage", .number(metrics.coverage?.value)),
         ("brier", .number(metrics.brier?.value)), ("log_loss", .number(metrics.logLoss?.value))]
    }

    /// The metrics a naive rule competes on (coverage is activity, not skill).
    static let flaggedMetrics: [MetricName] = [.accuracy, .directionalAccuracy, .brier, .logLoss]

    /// Per metric, whether the scores beat every naive rule one could have followed on the same steps (null: no score).
    static func beatsNaiveField(_ metrics: MetricSet, _ baselines: [BaselineScores]) -> JSON {
        .object(flaggedMetrics.map { metric in
            (metric.rawValue, HonestMetrics.failsToBeat(metrics, baselines, on: metric).map { .bool(!$0) } ?? .null)
        })
    }

    static func pnlField(_ pnl: SignalPnL?) -> JSON {
        guard let pnl else { return .null }
        return .object([("strategy_return", .number(pnl.strategyReturn)), ("buy_and_hold_return", .number(pnl.buyAndHoldReturn)),
                        ("fee_bps", .number(pnl.feeBps)), ("sharpe", .number(pnl.sharpe)),
                        ("max_drawdown", .number(pnl.maxDrawdown)), ("trades", .int(pnl.trades)),
                        ("exposure", .number(pnl.exposure)), ("shorting", .bool(pnl.settings.shorting)),
                        ("hold", .string(pnl.settings.hold.rawValue))])
    }

    /// The naive baselines on a replay's steps; climatology starts from the loaded history before the first step.
    static func replayBaselines(_ steps: [ScoredStep], series: PriceSeries?) -> [BaselineScores] {
        let prior = series.flatMap { series in steps.first.map { UpCount(series: series, through: $0.barTime) } } ?? .none
        return HonestMetrics.baselines(steps, prior: prior)
    }

    /// Each baseline's scores; the hindsight constant also says what it chose (`signal` for accuracy and coverage,
    /// `directional_signal` for direction, `probability_up` for Brier and log loss).
    static func naiveField(_ baselines: [BaselineScores]) -> JSON {
        .object(baselines.map { baseline in
            var fields: [(String, JSON)] = []
            for metric in baseline.baseline.metrics {
                fields.append((metric.rawValue, .number(baseline.metrics[metric]?.value)))
            }
            if baseline.isHindsightUpperBound { fields.append(("hindsight", .bool(true))) }
            if let choice = baseline.constantChoice {
                fields += [("signal", .optionalString(choice.accuracySignal?.rawValue)),
                           ("directional_signal", .optionalString(choice.directionalSignal?.rawValue)),
                           ("probability_up", .number(choice.probabilityUp))]
            }
            return (baseline.baseline.rawValue, .object(fields))
        })
    }

    static func comparisonFields(_ comparisons: [ReplayAnalysis.Comparison]) -> JSON {
        .array(comparisons.map { comparison in
            .object([("a", .string(comparison.a)), ("b", .string(comparison.b)), ("metric", .string(comparison.metric.rawValue)),
                     ("difference", .number(comparison.interval.mean)), ("ci_low", .number(comparison.interval.low)),
                     ("ci_high", .number(comparison.interval.high)), ("significant", .bool(comparison.interval.significant)),
                     ("n", .int(comparison.interval.n)), ("block_length", .int(comparison.interval.blockLength)),
                     ("resamples", .int(comparison.interval.resamples)),
                     ("no_interval", noIntervalField(comparison.interval.noInterval)),
                     ("identical", .bool(comparison.identical))])
        })
    }

    /// Why a comparison has a point estimate only: `too_few_steps` (fewer than two blocks) or `no_steps`.
    static func noIntervalField(_ reason: NoIntervalReason?) -> JSON {
        switch reason {
        case .none: return .null
        case .noSteps: return .string("no_steps")
        case .tooFewSteps: return .string("too_few_steps")
        }
    }

    /// The loop against each baseline policy, paired on the bars both scored.
    static func comparisons(_ main: ReplayReport, _ baselines: [ReplayReport]) -> [ReplayAnalysis.Comparison] {
        baselines.flatMap { baseline in
            ReplayAnalysis.compare((policyKey(main.policy), main.scoredSteps), (policyKey(baseline.policy), baseline.scoredSteps))
        }
    }

    /// One replay's figures: accuracy, span, rolling accuracy, retrains per tier and cause, baselines, training time,
    /// the honest scores with their naive baselines, paired comparisons with intervals, and P&L against buy-and-hold.
    static func reportFields(_ main: ReplayReport, baselines: [ReplayReport], tiers: Set<Int>, pnl: PnLSettings,
                             series: PriceSeries?) -> [(String, JSON)] {
        let mainScores = ReplayAnalysis.PolicyScores(main.scoredSteps, pnl: pnl)
        let naive = replayBaselines(main.scoredSteps, series: series)
        return [
            ("accuracy", .number(main.accuracy)),
        ] + scoreFields(mainScores.metrics) + [
            ("naive", naiveField(naive)),
            ("beats_naive", beatsNaiveField(mainScores.metrics, naive)),
            ("pnl", pnlField(mainScores.pnl)),
            ("comparisons", comparisonFields(comparisons(main, baselines))),
            ("scored", .int(main.scored)), ("steps", .int(main.steps)),
            ("start", .time(main.start)), ("end", .time(main.end)),
            ("tiers", .array(tiers.sorted().map { .string("tier\($0)") })),
            ("rolling_metric", .string(main.rollingMetric.metric.rawValue)),
            ("rolling_score", .array(main.rollingScore.map { .array([.time($0.time), .number($0.score)]) })),
            ("retrains", .object(Tier.all.filter { tiers.contains($0.number) }.map { tier in
                let causes = main.retrains[tier.number] ?? [:]
                return (tier.label, .object([("count", .int(causes.values.reduce(0, +)))]
                                            + causes.sorted { $0.key < $1.key }.map { ($0.key.rawValue, JSON.int($0.value)) }))
            })),
            ("baselines", .object(baselines.map { report in
                let scores = ReplayAnalysis.PolicyScores(report.scoredSteps, pnl: pnl)
                return (policyKey(report.policy),
                        .object([("accuracy", .number(report.accuracy))] + scoreFields(scores.metrics)
                                + [("beats_naive", beatsNaiveField(scores.metrics, replayBaselines(report.scoredSteps, series: series))),
                                   ("pnl", pnlField(scores.pnl)), ("retrains", .int(report.retrainTimes.count)),
                                   ("training_seconds", .number(report.trainingSeconds))]))
            })),
            ("training_seconds", .number(main.trainingSeconds)),
        ]
    }

    /// A live progress bar on stderr while a replay runs on a terminal: what the replay reports its progress to.
    static func progressBar(_ shell: ShellContext, runs: Int) -> ReplayProgress {
        let started = ContinuousClock.now
        let live = isatty(STDERR_FILENO) == 1 && shell.terminal.isInteractive && shell.format == .text && !shell.logger.quiet
        return { step, steps in
            shell.progress.updateReplay(step: step, steps: steps, runs: runs, started: started, live: live,
                                        width: shell.terminal.width, unicode: shell.terminal.unicode)
        }
    }

    /// One value's run in `--compare`: the report and the replay ID it was stored as (nil: no steps, not stored).
    typealias ComparedRun = (value: String, report: ReplayReport, id: Int?)

    /// The id the next replay report gets: after the stored ones and those this command made already (`--asset all`
    /// runs one replay per asset before the command's one transaction stores them all).
    static func nextReplayID(_ shell: ShellContext) -> Int? {
        shell.session.map { $0.nextReplayID + shell.pendingReplays.count }
    }

    /// `--compare KEY=V1,V2`: the same replay once per value, every value validated before any runs.
    /// Each value's run is stored as its own replay report.
    static func compareReplays(_ shell: ShellContext, _ plan: ReplayPlan, compare: KeyValuesKind.Value) throws -> CommandOutput {
        let key = compare.key, values = compare.values
        let configurations = try values.map { value -> LoopConfig in
            var configuration = shell.engine.config
            try configuration.set(key, to: value)
            return configuration
        }
        var nextID = nextReplayID(shell)
        shell.logger.log(.info, "replaying with \(key) = \(values.joined(separator: ", "))...")
        // One walk for every value: fits that the values have in common are made once.
        defer { shell.progress.finish() }
        let reports = try shell.engine.replay(configurations.map {
            ReplayRun(policy: .triggers, configuration: comparedConfiguration($0, key: key))
        }, from: plan.startIndex, through: plan.endIndex, stepBars: plan.stepBars, tiers: plan.tiers,
           execution: shell.replayExecution, progress: progressBar(shell, runs: configurations.count)).map(\.report)
        var runs: [ComparedRun] = []
        for ((value, configuration), report) in zip(zip(values, configurations), reports) {
            let id = report.steps > 0 ? nextID : nil
            if let id {
                nextID = id + 1
                try storeComparedRun(shell, plan, (value, report, id), key: key, configuration: configuration, reports: reports)
            }
            runs.append((value, report, id))
        }
        if let asset = shell.eachAsset {
            shell.comparedAcrossAssets.append((asset, key, runs.map { ($0.value, $0.report.scoredSteps) }))
        }
        return compareOutput(shell, key: key, runs: runs, configurations: configurations, reports: reports)
    }

    /// The config a compared value runs with: replay settings, except that a comparison over `xgboost.threads`
    /// keeps the thread count it is comparing.
    static func comparedConfiguration(_ configuration: LoopConfig, key: String) -> LoopConfig {
        key == "xgboost.threads" ? configuration : configuration.forReplay
    }

    /// Stores one compared value's run as its own replay report, as `replays show` prints it.
    static func storeComparedRun(_ shell: ShellContext, _ plan: ReplayPlan, _ run: (value: String, report: ReplayReport, id: Int),
                                 key: String, configuration: LoopConfig, reports: [ReplayReport]) throws {
        let (value, report, id) = run, tiers = plan.tiers
        var fields: [(String, JSON)] = [("replay_id", .int(id)),
                                        ("compare", .object([("key", .string(key)), ("value", .string(value))]))]
        fields += reportFields(report, baselines: [], tiers: tiers, pnl: configuration.pnlSettings, series: shell.engine.series)
        fields.append(("cancelled", .bool(report.cancelled)))
        fields.append(("applied", .bool(false)))
        guard let series = shell.engine.series else { throw LoopError.noData }
        fields += provenance(config: comparedConfiguration(configuration, key: key), series: series,
                             startIndex: plan.startIndex, endIndex: plan.endIndex, stepBars: plan.stepBars,
                             tiers: tiers, baselines: false, compare: (key, value))
        var text = "replay with \(key) = \(value)\n" + replayText([report], tiers: tiers, config: configuration, shell: shell)
        if report.cancelled { text = stoppedLine(reports, noun: "value") + "\n" + text }
        shell.pendingReplays.append(ReplayEntry(
            id: id, at: shell.engine.clock.now, command: "", start: report.start, end: report.end,
            steps: report.steps, scored: report.scored, tiers: tiers.sorted(), policy: report.policy.rawValue,
            compareKey: key, compareValue: value, accuracy: report.accuracy, retrains: report.retrainTimes.count,
            trainingSeconds: report.trainingSeconds, cancelled: report.cancelled, applied: false,
            reportJSON: reportObject(fields).serialized(), reportText: text, asset: shell.engine.focus))
    }

    /// The side-by-side of a `--compare`: each value against the first, paired on the bars both scored, scored
    /// with its own P&L settings (a comparison over fee_bps changes them).
    static func compareOutput(_ shell: ShellContext, key: String, runs: [ComparedRun], configurations: [LoopConfig],
                              reports: [ReplayReport]) -> CommandOutput {
        let cancelled = runs.contains { $0.report.cancelled }
        let comparisons = runs.dropFirst().flatMap { run in
            ReplayAnalysis.compare(("\(key)=\(run.value)", run.report.scoredSteps), ("\(key)=\(runs[0].value)", runs[0].report.scoredSteps))
        }
        let scores = zip(runs, configurations).map { ReplayAnalysis.PolicyScores($0.report.scoredSteps, pnl: $1.pnlSettings) }
        let json: [(String, JSON)] = [
            ("compare", .string(key)),
            ("runs", .array(zip(runs, scores).map { run, scores in
                let (value, report, id) = run
                return .object([("value", .string(value)), ("replay_id", id.map(JSON.int) ?? .null),
                                ("accuracy", .number(report.accuracy))] + scoreFields(scores.metrics)
                               + [("pnl", pnlField(scores.pnl)), ("scored", .int(report.scored)),
                                  ("retrains", .int(report.retrainTimes.count)), ("training_seconds", .number(report.trainingSeconds))])
            })),
            ("comparisons", comparisonFields(comparisons)),
            ("cancelled", .bool(cancelled)),
        ]
        let header = (cancelled ? stoppedLine(reports, noun: "value") + "\n" : "") + "replay compared over \(key)\n"
        return CommandOutput(fields: json, text: header + compareText(shell, key: key, runs: runs, scores: scores, comparisons: comparisons))
    }

    /// `replay --asset all --compare KEY=…`: each value against the first over every asset together (see
    /// `ReplayAnalysis.comparePanel`), after the per-asset reports; nil when no asset compared anything.
    static func overAllComparison(_ shell: ShellContext) -> CommandOutput? {
        let collected = shell.comparedAcrossAssets
        guard let first = collected.first, collected.count > 1,
              collected.allSatisfy({ $0.key == first.key && $0.runs.map(\.value) == first.runs.map(\.value) }) else { return nil }
        let key = first.key, values = first.runs.map(\.value)
        let comparisons = values.indices.dropFirst().flatMap { index in
            ReplayAnalysis.comparePanel("\(key)=\(values[index])", "\(key)=\(values[0])",
                                        assets: collected.map { ($0.runs[index].steps, $0.runs[0].steps) })
        }
        var text = shell.paint.bold("── over all \(collected.count) assets (\(collected.map(\.asset).joined(separator: ", "))) ──")
            + "\npaired on each asset's own bars, averaged over the assets at each bar time, block-bootstrapped in time"
        for comparison in comparisons where comparison.metric == .accuracy || comparison.metric == .directionalAccuracy {
            text += "\n" + comparisonLine(comparison)
        }
        let fields: [(String, JSON)] = [("over_all", .object([
            ("compare", .string(key)), ("assets", .array(collected.map { .string($0.asset) })),
            ("comparisons", comparisonFields(comparisons)),
        ]))]
        return CommandOutput(fields: fields, text: text)
    }

    /// The table of compared values, the paired accuracy and direction lines, and where the runs were stored.
    static func compareText(_ shell: ShellContext, key: String, runs: [ComparedRun], scores: [ReplayAnalysis.PolicyScores],
                            comparisons: [ReplayAnalysis.Comparison]) -> String {
        let rows = zip(runs, scores).map { run, scores in
            let (value, report, _) = run
            return [value, Format.percent(report.accuracy), Format.percent(scores.metrics.directionalAccuracy?.value),
                    scores.pnl.map { returnText($0.strategyReturn) } ?? "—",
                    String(report.retrainTimes.count), Format.seconds(report.trainingSeconds)]
        }
        var output = shell.table([key, "accuracy", "direction", "return", "retrains", "training time"], rows, right: [1, 2, 3, 4, 5])
        for comparison in comparisons where comparison.metric == .accuracy || comparison.metric == .directionalAccuracy {
            output += "\n" + comparisonLine(comparison)
        }
        let ids = runs.compactMap(\.id)
        if let first = ids.first, let last = ids.last {
            output += "\nstored as replay" + (first == last ? " #\(first)" : "s #\(first)…#\(last)") + " — 'replays show ID' prints each"
        }
        return output
    }

    /// A compounded return: `+8.5%`.
    static func returnText(_ value: Double) -> String { String(format: "%+.1f%%", value * 100) }

    /// The naive baselines on the loop's own steps, so its scores have something to beat.
    static func naiveLine(_ scores: [BaselineScores]) -> String {
        let baselines = Dictionary(uniqueKeysWithValues: scores.map { ($0.baseline, $0.metrics) })
        func value(_ baseline: NaiveBaseline, _ metric: MetricName, brier: Bool = false) -> String {
            guard let score = baselines[baseline]?[metric] else { return "—" }
            return brier ? Format.fixed(score.value) : Format.percent(score.value)
        }
        return "naive on the same steps: constant (best in hindsight) \(value(.constant, .accuracy)), persistence "
            + "\(value(.persistence, .accuracy)); direction: always up \(value(.alwaysUp, .directionalAccuracy)); "
            + "Brier: climatology \(value(.climatology, .brier, brier: true))"
    }

    /// `loop − never: accuracy +1.2 pts, 95 % CI −0.8…+3.1 (n 700, block 24) — no detectable difference`.
    static func comparisonLine(_ comparison: ReplayAnalysis.Comparison) -> String {
        let interval = comparison.interval
        func points(_ value: Double) -> String { String(format: "%+.1f", value * 100) }
        // Direction pairs only the steps where both policies gave BUY or SELL: say how many that was.
        let name = comparison.metric == .accuracy ? "accuracy" : "direction on the \(interval.n) steps both called"
        var line = "\(comparison.a) − \(comparison.b): \(name) \(interval.mean.map(points) ?? "—") pts"
        if comparison.identical {
            line += " — the same on every one of the \(interval.n) paired steps"
        } else if let low = interval.low, let high = interval.high {
            line += ", 95 % CI \(points(low))…\(points(high)) (\(comparison.metric == .accuracy ? "n \(interval.n), " : "")block \(interval.blockLength))"
            line += interval.significant
                ? " — \((interval.mean ?? 0) > 0 ? comparison.a : comparison.b) does better"
                : " — no detectable difference"
        } else {
            line += " (too few steps for an interval: n \(interval.n), block \(interval.blockLength) — a longer replay gives one)"
        }
        return line
    }

    /// `config`: the settings the replay ran with (its window and threshold label the chart).
    static func replayText(_ reports: [ReplayReport], tiers: Set<Int>, config: LoopConfig, shell: ShellContext) -> String {
        let main = reports[0]
        var text = "replay \(ISOTime.short(main.start)) → \(ISOTime.short(main.end)) UTC: \(main.steps) steps, \(main.scored) scored predictions, tiers \(tiers.sorted().map(String.init).joined(separator: ","))\n"
        let scores = reports.map { ReplayAnalysis.PolicyScores($0.scoredSteps, pnl: config.pnlSettings) }
        let (rows, anyFlag) = policyRows(reports, scores: scores, shell: shell)
        text += shell.table(["policy", "accuracy", "direction", "coverage", "Brier", "return", "retrains", "training time"],
                            rows, right: [1, 2, 3, 4, 5, 6, 7])
        text += "\n" + naiveLine(replayBaselines(main.scoredSteps, series: shell.engine.series))
        if anyFlag { text += "\n⚑ no better than a naive rule one could have followed (persistence, always up, climatology) on the same steps" }
        for comparison in comparisons(main, Array(reports.dropFirst())) where comparison.metric == .accuracy || comparison.metric == .directionalAccuracy {
            text += "\n" + comparisonLine(comparison)
        }
        if let pnl = scores[0].pnl { text += "\n" + pnlLine(pnl) }
        let causes = main.retrains.sorted { $0.key < $1.key }.map { tier, causes in
            "tier\(tier): " + causes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.rawValue.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", ")
        }
        if !causes.isEmpty { text += "\nretrains by cause — " + causes.joined(separator: "; ") }
        guard !main.rollingScore.isEmpty else { return text }
        return text + "\n" + rollingChart(main, config: config, shell: shell)
    }

    /// One table row per policy, and whether any score was flagged ⚑: no better than a naive rule (persistence,
    /// always up, climatology) on that policy's own steps.
    static func policyRows(_ reports: [ReplayReport], scores: [ReplayAnalysis.PolicyScores],
                           shell: ShellContext) -> (rows: [[String]], anyFlag: Bool) {
        var anyFlag = false
        let rows = zip(reports, scores).map { report, scores in
            let naive = replayBaselines(report.scoredSteps, series: shell.engine.series)
            func flag(_ metric: MetricName) -> String {
                guard HonestMetrics.failsToBeat(scores.metrics, naive, on: metric) == true else { return "" }
                anyFlag = true
                return " ⚑"
            }
            return [report.policy == .triggers ? "the loop's triggers" : report.policy == .never ? "never retrain" : "retrain every step",
             Format.percent(report.accuracy) + flag(.accuracy), Format.percent(scores.metrics.directionalAccuracy?.value) + flag(.directionalAccuracy),
             Format.percent(scores.metrics.coverage?.value), (scores.metrics.brier.map { Format.fixed($0.value) } ?? "—") + flag(.brier),
             scores.pnl.map { returnText($0.strategyReturn) } ?? "—",
             String(report.retrainTimes.count), Format.seconds(report.trainingSeconds)]
        }
        return (rows, anyFlag)
    }

    /// What acting on the loop's signals would have returned after fees, against buy-and-hold.
    static func pnlLine(_ pnl: SignalPnL) -> String {
        "acting on the loop's signals: \(returnText(pnl.strategyReturn)) after \(Format.fixed(pnl.feeBps, 0)) bps fees "
            + "(\(pnl.trades) trades, in the market \(Format.percent(pnl.exposure)) of steps, max drawdown \(Format.percent(pnl.maxDrawdown))"
            + (pnl.sharpe.map { ", Sharpe \(Format.fixed($0, 2))" } ?? "") + ") vs buy-and-hold \(returnText(pnl.buyAndHoldReturn))"
            + " — research and education only, not trading advice"
    }

    /// The rolling live score over the replay, with the retrainings above tier 1 marked on the curve.
    static func rollingChart(_ main: ReplayReport, config: LoopConfig, shell: ShellContext) -> String {
        let metric = main.rollingMetric
        var options = LineChartOptions()
        options.width = shell.terminal.width
        options.title = "rolling live \(metric.label) (\(config.evaluationWindow) predictions); ▲ retrains above tier 1"
        options.yFormat = metric == .brier ? .auto : .percent
        options.yRange = 0...1
        options.xAxis = .time
        if config.performanceVsBaseline == .off {
            options.referenceLine = (metric == .brier ? config.brierThreshold : config.performanceThreshold, "threshold")
        }
        let curve = ChartSeries(name: "rolling \(metric.label)", points: main.rollingScore.map { ChartPoint(x: $0.time, y: $0.score) })
        // Retrain markers sit on the curve at the moment of each retraining.
        let markers = main.notableRetrainTimes.compactMap { moment -> ChartPoint? in
            guard let last = main.rollingScore.last(where: { $0.time <= moment }) else { return nil }
            return ChartPoint(x: moment, y: last.score)
        }
        return LineChart.render([curve, ChartSeries(name: "retrain", points: markers)], options: options, style: shell.chartStyle)
    }
}
