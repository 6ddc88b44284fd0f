import Charts
import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let trendModel = Positional("MODEL", ModelNameKind())
    static let trendWindow = Option("window", "N", WholeKind(2...Int(Bounded.largestWhole)), "trainings to compare (≥ 2)")
    /// `chart accuracy` takes up to one of each model.
    static let chartModels = Positional("MODEL", ModelNameKind(), optional: true, upTo: ModelKind.allCases.count)

    static let trend: CommandSpec = CommandSpec(
        "trend", group: .insight,
        abstract: "Is a model's holdout accuracy improving, degrading or stable?",
        discussion: """
        Compares the first and the last of the model's last N trainings (default trend_window = 5): a change \
        above improvement_threshold is improving, below minus it degrading, else stable. Beside it the change's \
        standard error from the two holdouts' sizes (√(a(1−a)/m) each, combined as independent samples): a change \
        of at most 1.96 standard errors is within the holdouts' noise, whatever the threshold says.
        """,
        examples: ["trend logistic", "trend logistic --window 10"],
        arguments: [trendModel.spec],
        flags: [FlagSpec(trendWindow)],
        run: { shell, args in
            let model = args[trendModel]
            let window = args.value(of: trendWindow)
            let trend = shell.engine.trend(model, window: window)
            var text = "\(model.rawValue): \(trend.direction.rawValue.replacingOccurrences(of: "_", with: " "))"
            if let improvement = trend.improvement {
                text += " (\(Format.signedPercent(improvement)) over \(trend.records.count) trainings; latest \(trend.records.last.map(Format.holdoutPhrase) ?? "—"), mean \(Format.percent(trend.averageAccuracy)))"
                text += " — " + noiseText(trend)
            } else {
                text += " — \(trend.records.count) training(s); at least 2 are needed"
            }
            if !trend.records.isEmpty {
                var options = LineChartOptions()
                options.width = shell.terminal.width
                options.height = 8
                options.yFormat = .percent
                options.yLabel = "holdout accuracy"
                options.xAxis = .index
                let points = trend.records.enumerated().map { ChartPoint(x: Double($0.offset + 1), y: $0.element.accuracy) }
                text += "\n" + LineChart.render([ChartSeries(name: model.rawValue, points: points)],
                                                options: options, style: shell.chartStyle)
            }
            return CommandOutput(fields: trendFields(trend), text: text)
        })

    static func trendFields(_ trend: Trend) -> [(String, JSON)] {
        [("model", .string(trend.model.rawValue)),
         ("trend", .string(trend.direction.rawValue)),
         ("improvement", .number(trend.improvement)),
         ("recent_accuracy", .number(trend.recentAccuracy)),
         ("avg_accuracy", .number(trend.averageAccuracy)),
         ("standard_error", .number(trend.changeStandardError)),
         ("exceeds_noise", trend.exceedsNoise.map(JSON.bool) ?? .null),
         ("trainings", .int(trend.records.count))]
    }

    /// Whether the change stands out from the holdouts' own noise, with the 95 % margin and the standard error.
    static func noiseText(_ trend: Trend) -> String {
        guard let standardError = trend.changeStandardError, let exceeds = trend.exceedsNoise else {
            return "no standard error: a holdout has no rows"
        }
        let margin = String(format: "±%.1f pp at 95 %%, standard error %.1f pp",
                            Trend.noiseZ * standardError * 100, standardError * 100)
        return (exceeds ? "beyond" : "within") + " the holdouts' noise (\(margin))"
    }

    static let chart: CommandSpec = CommandSpec(
        "chart", group: .insight,
        abstract: "ASCII charts: model accuracy over trainings, price, live prediction accuracy, sweep heat maps",
        discussion: """
        chart accuracy draws each model's holdout accuracy at each training (all trained models by default); \
        chart price draws the loaded series; chart live draws the rolling accuracy of scored predictions over \
        evaluation_window with performance_threshold as a reference line. chart sweep NAME KEY1 ?KEY2? draws a \
        heat map of a sweep's --metric (default accuracy) with KEY1's values as rows and KEY2's as columns, one map \
        per asset: darker is better, * the best cell, ≈ the cells a paired 95 % interval cannot tell from it, the \
        naive baseline below; each cell is the best over the axes not mapped unless --at KEY=VALUE holds them \
        (under walk-forward selection: the selection span's figures). Charts fit the terminal width \
        (COLUMNS, else 80) and fall back to plain ASCII when the locale is not UTF-8 or TERM=dumb.
        """,
        examples: ["chart accuracy", "chart accuracy logistic", "chart price", "chart live",
                   "chart sweep depth xgboost.max_depth tier2_interval --metric brier"],
        subcommands: [Subcommand("accuracy", [chartModels.spec]), Subcommand("price"), Subcommand("live"),
                      Subcommand("sweep", [chartSweepName.spec, chartSweepRows.spec, chartSweepColumns.spec])],
        flags: [FlagSpec(chartSweepMetric), FlagSpec(chartSweepAt)],
        assetScoped: true,
        run: runChart)

    static func runChart(_ shell: ShellContext, _ args: Arguments) throws -> CommandOutput {
        let kind = args.subcommand ?? ""
        if kind == "sweep" { return try chartSweep(shell, args) }
        if let flag = [chartSweepMetric.name, chartSweepAt.name].first(where: { args.has($0) }) { throw SweepChartError.optionOfSweep(flag, subcommand: kind) }
        var options = LineChartOptions()
        options.width = shell.terminal.width
        var series: [ChartSeries] = []
        switch kind {
        case "accuracy":
            let requested = args.values(of: chartModels)
            let models = requested.isEmpty ? ModelKind.allCases.filter { m in shell.engine.history.contains { $0.model == m } } : requested
            series = models.map { model in
                ChartSeries(name: model.rawValue,
                            points: shell.engine.history.filter { $0.model == model }.map { ChartPoint(x: $0.time, y: $0.accuracy) })
            }
            options.title = "holdout accuracy per training"
            options.yFormat = .percent
            options.xAxis = .time
        case "price":
            guard let data = shell.engine.series else { throw LoopError.noData }
            series = [ChartSeries(name: data.symbol, points: data.bars.map { ChartPoint(x: $0.time, y: $0.close) })]
            options.title = "\(data.symbol) close (USD)"
            options.xAxis = .time
        case "live":
            let config = shell.engine.config, metric = config.performanceMetric
            let rolling = rollingLiveScores(shell.engine.log.entries, window: config.evaluationWindow, metric: metric,
                                            series: shell.engine.series)
            series = [ChartSeries(name: "live \(metric.label)", points: rolling.map { ChartPoint(x: $0.sequence, y: $0.live) }),
                      ChartSeries(name: "naive: \(metric.baseline.rawValue)",
                                  points: rolling.compactMap { point in point.baseline.map { ChartPoint(x: point.sequence, y: $0) } })]
            options.title = "live \(metric.label) over the last \(config.evaluationWindow) scored predictions, beside its naive baseline"
            options.yFormat = metric == .brier ? .auto : .percent
            options.yRange = 0...1
            options.xAxis = .index
            if config.performanceVsBaseline == .off {
                options.referenceLine = (metric == .brier ? config.brierThreshold : config.performanceThreshold, "threshold")
            }
        default:
            preconditionFailure("chart's subcommands are declared: '\(kind)' is not one")
        }
        let points = series.reduce(0) { $0 + $1.points.count }
        let text: String
        if points == 0 {
            switch kind {
            case "accuracy": text = "no trainings yet — run 'train tier1' first"
            default: text = "no scored predictions in a full window yet — 'predict' and 'log' at least \(shell.engine.config.evaluationWindow)"
            }
        } else {
            text = LineChart.render(series, options: options, style: shell.chartStyle)
        }
        let json: [(String, JSON)] = [
            ("chart", .string(kind)),
            ("series", .array(series.map { item in
                .object([("name", .string(item.name)),
                         ("points", .array(item.points.map { .array([kind == "live" ? .int(Int($0.x)) : .time($0.x), .number($0.y)]) }))])
            })),
        ]
        return CommandOutput(fields: json, text: text)
    }

    /// Under status's model table: what `!` and the noise words mean.
    static func statusFootnote(_ trends: [Trend]) -> String {
        var lines = ["within / beyond noise: the change inside / outside the holdouts' 95 % margin ('trend MODEL')"]
        if trends.contains(where: { $0.records.last?.beatsBaseline == false }) {
            lines.insert("! = latest holdout accuracy not above its baseline (training majority class, same holdout)", at: 0)
        }
        return lines.joined(separator: "\n")
    }

    static let status: CommandSpec = CommandSpec(
        "status", group: .insight,
        abstract: "The loop at a glance: trainings, triggers, performance, trends, config, clock",
        examples: ["status"],
        assetScoped: true,
        run: { shell, _ in
            let engine = shell.engine
            let performance = engine.performance()
            let decisions = Tier.all.map { engine.decision(for: $0) }
            let trends = ModelKind.allCases.map { engine.trend($0) }
            let fields: [(String, JSON)] = [
                ("training_in_progress", .bool(engine.trainingInProgress)),
                ("recent_performance", .object(perfFields(performance, config: engine.config))),
                ("prediction_log_size", .int(engine.log.entries.count)),
                ("last_training", .object(Tier.all.map { ($0.label, .time(engine.lastTraining[$0.number])) })),
                ("config", .object(configFields(engine.config))),
                ("model_performance_trends", .object(trends.map { ($0.model.rawValue, .object(trendFields($0))) })),
                ("model_versions", .object(ModelKind.allCases.map { ($0.rawValue, engine.versions[$0].map(JSON.int) ?? .null) })),
                ("should_retrain", .object(decisions.map { decision in
                    ("tier\(decision.tier)", .object([("due", .bool(decision.due)),
                                                     ("reason", .string(decision.reason.code)),
                                                     ("detail", .string(decision.reason.explanation))]))
                })),
                ("pending_prediction", .optionalString(engine.pending?.signal.rawValue)),
                ("data", .optionalString(engine.series.map { "\($0.symbol) \($0.count) rows" })),
                ("clock", .object(clockFields(shell))),
                ("auto", .object(shell.auto.stateFields())),
                ("session", .object(shell.sessionFields())),
                ("adaptive_intervals", .object(adaptiveFields(engine))),
                ("changed_settings", .object(changedSettings(engine.config).map { ($0.name, $0.json) })),
            ]
            let auto = shell.auto
            let autoLine = !auto.settings.enabled ? "off"
                : "on, every \(DurationText.format(engine.config.checkInterval))" + (auto.nextCheck.map { ", next check \(ISOTime.short($0))" } ?? "")
            let trainingLine = auto.background.map { "tier\($0.tier) in the background (auto mode)" } ?? (engine.trainingInProgress ? "in progress" : "idle")
            let tierRows = Tier.all.enumerated().map { index, tier in
                [tier.label, tier.models.map(\.rawValue).joined(separator: "+"), Format.time(engine.lastTraining[tier.number]),
                 decisions[index].due ? "due" : "-", decisions[index].reason.explanation]
            }
            let modelRows = trends.map { trend in
                [trend.model.rawValue, engine.versions[trend.model].map { "v\($0)" } ?? "-",
                 trend.records.last.map(Format.holdout) ?? "—",
                 trend.direction.rawValue.replacingOccurrences(of: "_", with: " ")
                    + (trend.exceedsNoise.map { $0 ? ", beyond noise" : ", within noise" } ?? "")]
            }
            let text = """
            clock     \(ISOTime.format(engine.clock.now)) (offset \(DurationText.format(engine.clock.offset)))
            data      \(engine.series.map { "\($0.symbol), \($0.count) rows, last \(ISOTime.short($0.bars.last!.time))" } ?? "none")
            training  \(trainingLine)
            auto      \(autoLine)
            session   \(shell.sessionLine())
            settings  \(changedSettingsLine(engine.config))\(adaptiveLine(engine).map { "\nadaptive  " + $0 } ?? "")
            live      \(liveLine(performance, config: engine.config)) (\(engine.log.totalLogged) scored, \(engine.log.entries.count) in memory)\(engine.pending.map { "; pending \($0.signal.rawValue)" } ?? "")

            \(shell.table(["tier", "models", "last trained", "due", "why"], tierRows))

            \(shell.table(["model", "version", "latest acc.", "trend"], modelRows, right: [2]))
            """ + (trends.contains { !$0.records.isEmpty } ? "\n" + statusFootnote(trends) : "")
            return CommandOutput(fields: fields, text: text)
        })

    /// The performance metric over each full window of the log (at most ~400 windows, evenly spread, ending with the
    /// latest) and the naive baseline the trigger compares it with, on the same predictions: what `perf` shows, over time.
    static func rollingLiveScores(_ entries: [ScoredPrediction], window: Int, metric: PerformanceMetric, series: PriceSeries?)
        -> [(sequence: Double, live: Double, baseline: Double?)] {
        guard entries.count >= window else { return [] }
        let ends = Array(window - 1..<entries.count)
        let stride = max(1, (ends.count + 399) / 400)
        var picked = Swift.stride(from: ends.count - 1, through: 0, by: -stride).map { ends[$0] }
        picked.reverse()
        return picked.compactMap { end in
            let slice = entries[(end - window + 1)...end]
            let scores = LiveScores(slice, prior: metric.baseline == .climatology ? LiveScores.prior(for: slice, series: series) : .none)
            guard let live = scores.metrics[metric.metric]?.value else { return nil }
            return (Double(entries[end].sequence), live, scores.baseline(metric.baseline)?[metric.metric]?.value)
        }
    }

    /// `directional accuracy 57.1% ± 18.7 pts (n 7) vs always_up 50.0% over the last 10`: the score the performance
    /// trigger reads, its standard error (how noisy the window is) and its naive baseline on the same predictions.
    static func liveLine(_ summary: PerformanceSummary, config: LoopConfig) -> String {
        let metric = config.performanceMetric, window = summary.evaluationWindow
        guard windowIsFull(summary) else { return "\(summary.windowPredictions) of \(window) predictions scored — no live score yet" }
        guard let score = summary.live.metrics[metric.metric] else {
            return "no \(metric.label) over the last \(window) (no prediction it counts)"
        }
        let error = score.standardError.map {
            " ± " + (metric.metric.higherIsBetter ? Format.fixed($0 * 100, 1) + " pts" : Format.fixed($0))
        } ?? ""
        let baseline = summary.live.baseline(metric.baseline)?[metric.metric]
        let flag = summary.live.failsToBeatBaselines(metric.metric) == true ? " ⚑ no better than a naive rule" : ""
        return "\(metric.label) \(metricText(metric.metric, score.value))\(error) (n \(score.n)) vs \(metric.baseline.rawValue) "
            + "\(metricText(metric.metric, baseline?.value)) over the last \(window)\(flag)"
    }

    /// The config keys whose value differs from the default, with their value as `config` shows it.
    static func changedSettings(_ config: LoopConfig) -> [(name: String, display: String, json: JSON)] {
        let defaults = LoopConfig()
        let fields = Dictionary(configFields(config), uniquingKeysWith: { first, _ in first })
        return LoopConfig.keys.filter { $0.value(config) != $0.value(defaults) }.map {
            ($0.name, $0.display(config), fields[$0.name] ?? .null)
        }
    }

    static func changedSettingsLine(_ config: LoopConfig) -> String {
        let changed = changedSettings(config)
        guard !changed.isEmpty else { return "all defaults" }
        return "changed from defaults: " + changed.map { "\($0.name) \($0.display)" }.joined(separator: ", ")
    }

    /// Each tier's interval factor under adaptive intervals (effective over configured interval).
    static func adaptiveFactors(_ engine: LoopEngine) -> [(tier: Tier, factor: Double, effective: TimeInterval)] {
        Tier.all.map { tier in
            let effective = engine.effectiveInterval(forTier: tier.number)
            return (tier, effective / engine.config.interval(forTier: tier.number), effective)
        }
    }

    static func adaptiveFields(_ engine: LoopEngine) -> [(String, JSON)] {
        let enabled = engine.config.adaptiveIntervals == .on
        var fields: [(String, JSON)] = [("enabled", .bool(enabled))]
        guard enabled else { return fields }
        fields.append(("volatility_ratio", .number(engine.volatilityRatio())))
        fields.append(("tiers", .object(adaptiveFactors(engine).map { item in
            (item.tier.label, .object([("factor", .number(item.factor)), ("interval_seconds", .number(item.effective))]))
        })))
        return fields
    }

    /// `tier1 x0.75 (45m), …` with adaptive intervals on; nil when off.
    static func adaptiveLine(_ engine: LoopEngine) -> String? {
        guard engine.config.adaptiveIntervals == .on else { return nil }
        let factors = adaptiveFactors(engine).map {
            "\($0.tier.label) x\(Format.fixed($0.factor, 2)) (\(DurationText.format($0.effective)))"
        }.joined(separator: ", ")
        let ratio = engine.volatilityRatio().map { "recent/long-run volatility \(Format.fixed($0, 2))" }
            ?? "too little data for a volatility ratio (49 bars needed)"
        return "\(factors); \(ratio)"
    }
}
