import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let predict: CommandSpec = CommandSpec(
        "predict", group: .predictions,
        abstract: "Ensemble prediction on the latest bar: BUY, SELL or HOLD",
        discussion: """
        Each trained model gives a probability that the next bar closes higher; the ensemble weights them \
        (weights.* renormalised over the trained models). Above buy_threshold is BUY, below sell_threshold \
        SELL, else HOLD. The prediction stays pending until 'log ACTUAL' scores it. Each model's age (time since \
        its training, on the loop's clock) is shown; past max_model_age the prediction carries a stale warning. \
        When the models were trained on another symbol or bar interval than the loaded data, predict refuses \
        until a training on the new data, or with --force. Research only — not advice.
        """,
        examples: ["predict", "predict; log BUY", "predict --force"],
        flags: [FlagSpec(predictForce)],
        assetScoped: true,
        run: { shell, args in
            let engine = shell.engine
            if !args.has(predictForce) { try engine.checkModelsMatchData(for: .predict) }
            let prediction = try engine.predict()
            let ages = Dictionary(engine.modelAges().map { ($0.model, $0) }, uniquingKeysWith: { first, _ in first })
            let warnings = engine.predictionWarnings()
            let weights = Dictionary(prediction.weights.map { ($0.model, $0.value) }, uniquingKeysWith: { first, _ in first })
            let models: [(String, JSON)] = prediction.models.map { probability in
                let age = ages[probability.model]
                let own = warnings.filter { $0.model == probability.model }
                return (probability.model.rawValue, .object([
                    ("probability", .number(probability.value)),
                    ("weight", .number(weights[probability.model])),
                    ("age_seconds", .number(age?.seconds)),
                    ("max_age_seconds", .number(age?.limit)),
                    ("stale", .bool(age?.stale ?? false)),
                    ("warnings", .array(own.map { .string(ShellContext.message(for: $0)) })),
                ]))
            }
            let fields: [(String, JSON)] = [
                ("signal", .string(prediction.signal.rawValue)),
                ("ensemble", .number(prediction.ensemble)),
                ("models", .object(models)),
                ("weights", .object(prediction.weights.map { ($0.model.rawValue, .number($0.value)) })),
                ("price", .number(prediction.price)),
                ("at", .time(prediction.barTime)),
                ("made_at", .time(prediction.madeAt)),
                ("stale", .bool(warnings.contains { $0.model != nil })),
                ("warnings", .array(warnings.map { .string(ShellContext.message(for: $0)) })),
            ]
            for warning in warnings { shell.logger.log(.warning, ShellContext.message(for: warning)) }
            let paint = shell.paint
            let signal: String
            switch prediction.signal {
            case .buy: signal = paint.green(paint.bold("BUY"))
            case .sell: signal = paint.red(paint.bold("SELL"))
            case .hold: signal = paint.yellow(paint.bold("HOLD"))
            }
            let rows = zip(prediction.models, prediction.weights).map { pair -> [String] in
                let age = ages[pair.0.model]
                let ageText = age.map { DurationText.format($0.seconds) + ($0.stale ? " " + paint.red("stale") : "") } ?? "?"
                return [pair.0.model.rawValue, Format.fixed(pair.0.value), Format.fixed(pair.1.value, 2), ageText]
            }
            let text = """
            \(signal)  P(up) = \(Format.fixed(prediction.ensemble)) for the bar after \(ISOTime.short(prediction.barTime)) UTC \
            (price \(Format.price(prediction.price)))
            \(shell.table(["model", "P(up)", "weight", "age"], rows, right: [1, 2, 3]))
            pending — score it with 'log BUY|SELL|HOLD'
            """
            return CommandOutput(fields: fields, text: text)
        })

    static let predictForce = Switch("force", "predict even when the models were trained on other data than is loaded")
    static let logActual = Positional("ACTUAL", ChoiceKind(Signal.allCases))
    static let logPredicted = Option("predicted", "SIGNAL", ChoiceKind(Signal.allCases),
                                     "score this signal instead of the pending prediction")

    static let log: CommandSpec = CommandSpec(
        "log", group: .predictions,
        abstract: "Score the pending prediction (or --predicted) against the actual outcome",
        discussion: """
        The outcome joins the prediction log (the last log_window in memory; counts cover all). Scored \
        outcomes drive 'perf' and the performance trigger of 'cycle'.
        """,
        examples: ["log BUY", "log SELL --predicted HOLD"],
        arguments: [logActual.spec],
        flags: [FlagSpec(logPredicted)],
        run: { shell, args in
            let actual = args[logActual]
            let predicted = args.value(of: logPredicted)
            let entry = try shell.engine.logOutcome(actual: actual, predicted: predicted)
            let log = shell.engine.log
            let fields: [(String, JSON)] = [
                ("actual", .string(entry.actual.rawValue)),
                ("predicted", .string(entry.predicted.rawValue)),
                ("correct", .bool(entry.correct)),
                ("log_size", .int(log.entries.count)),
                ("total_logged", .int(log.totalLogged)),
            ]
            let verdict = entry.correct ? shell.paint.green("correct") : shell.paint.red("wrong")
            return CommandOutput(fields: fields,
                                 text: "\(entry.predicted.rawValue) vs actual \(entry.actual.rawValue): \(verdict) (#\(entry.sequence))")
        })

    static let perf: CommandSpec = CommandSpec(
        "perf", group: .predictions,
        abstract: "Live scores over the last evaluation_window scored predictions, beside naive baselines",
        discussion: """
        Scores the last evaluation_window scored predictions: accuracy (three classes: BUY, SELL, HOLD against \
        outcomes split by hold_band), directional_accuracy (BUY/SELL signals whose move had a direction: sign right \
        or wrong), coverage (share not HOLD), and the Brier score and log loss of the ensemble's P(up) (lower is \
        better; 0.25 and 0.693 are a constant 0.5). Each has its standard error (s/√n, steps taken as independent: \
        how noisy a short window is) and its naive baselines on the same predictions: constant (the best single \
        signal in hindsight, an upper bound), persistence (repeat the last outcome), always_up, climatology (P(up) = \
        the share of up moves so far). A score that does not beat persistence, always_up or climatology is flagged. \
        Outcomes logged by hand have no return: they count for direction by their class (BUY up, SELL down) and \
        for Brier only with their prediction's P(up). Scores are null until evaluation_window predictions are \
        scored. JSON pairs count the same predictions: window_correct of window_total (the last evaluation_window \
        scored), lifetime_correct of lifetime_total (every scored prediction; total_correct and total_predictions \
        are the same pair's older names). models gives each model's own signal (its probability against \
        buy_threshold and sell_threshold) scored against the same outcomes, over the predictions in the window it \
        took part in. trigger is what the performance trigger reads from this window (performance_metric).
        """,
        examples: ["perf"],
        assetScoped: true,
        run: { shell, _ in
            let summary = shell.engine.performance()
            return CommandOutput(fields: perfFields(summary, config: shell.engine.config),
                                 text: perfText(summary, config: shell.engine.config, shell: shell))
        })

    /// The window is full: scores are shown (every score is null before, like `accuracy`).
    static func windowIsFull(_ summary: PerformanceSummary) -> Bool { summary.windowPredictions >= summary.evaluationWindow }

    static func perfFields(_ summary: PerformanceSummary, config: LoopConfig) -> [(String, JSON)] {
        let full = windowIsFull(summary), metrics = summary.live.metrics
        func perMetric(_ value: (Score) -> JSON) -> JSON {
            .object(MetricName.allCases.map { name in (name.rawValue, full ? metrics[name].map(value) ?? .null : .null) })
        }
        // Each pair counts the same predictions: window_* the last evaluation_window scored, lifetime_* every
        // scored one. total_predictions/total_correct are kept as the lifetime pair's older names.
        return [("accuracy", .number(summary.accuracy))]
            + MetricName.allCases.filter { $0 != .accuracy }.map { ($0.rawValue, JSON.number(full ? metrics[$0]?.value : nil)) }
            + [("standard_error", perMetric { .number($0.standardError) }),
               ("n", perMetric { .int($0.n) }),
               ("naive", full ? naiveField(summary.live.baselines) : .null),
               ("beats_naive", .object(MetricName.allCases.filter { $0 != .coverage }.map { name in
                   (name.rawValue, full ? summary.live.failsToBeatBaselines(name).map { .bool(!$0) } ?? .null : .null)
               })),
               ("trigger", triggerField(summary.trigger)),
               ("window_correct", .int(summary.correctPredictions)),
               ("window_total", .int(summary.windowPredictions)),
               ("lifetime_correct", .int(summary.totalCorrect)),
               ("lifetime_total", .int(summary.totalPredictions)),
               ("total_predictions", .int(summary.totalPredictions)),
               ("total_correct", .int(summary.totalCorrect)),
               ("evaluation_window", .int(summary.evaluationWindow)),
               ("models", .object(ModelKind.allCases.compactMap { kind in
                   summary.models[kind].map { record in
                       (kind.rawValue, .object([("accuracy", .number(record.accuracy)), ("correct", .int(record.correct)),
                                                ("scored", .int(record.scored))]))
                   }
               }))]
    }

    /// The performance trigger's reading: `{metric, score, threshold | baseline, below}`.
    static func triggerField(_ verdict: PerformanceVerdict) -> JSON {
        switch verdict {
        case .notEnoughOutcomes(let scored, let window):
            return .object([("below", .null), ("scored", .int(scored)), ("window", .int(window))])
        case .fine(let metric, let score, _):
            return .object([("metric", .string(metric.rawValue)), ("score", .number(score)), ("below", .bool(false))])
        case .belowThreshold(let metric, let score, let threshold, _):
            return .object([("metric", .string(metric.rawValue)), ("score", .number(score)),
                            ("threshold", .number(threshold)), ("below", .bool(true))])
        case .belowBaseline(let metric, let score, let baseline, let baselineScore, _):
            return .object([("metric", .string(metric.rawValue)), ("score", .number(score)), ("baseline", .string(baseline.rawValue)),
                            ("baseline_score", .number(baselineScore)), ("below", .bool(true))])
        }
    }

    /// A metric's value as people read it: percentages for hit rates, three decimals for Brier and log loss.
    static func metricText(_ name: MetricName, _ value: Double?) -> String {
        guard let value else { return "—" }
        return name.higherIsBetter ? Format.percent(value) : Format.fixed(value)
    }

    static func perfText(_ summary: PerformanceSummary, config: LoopConfig, shell: ShellContext) -> String {
        let lifetime = "all time \(summary.totalCorrect)/\(summary.totalPredictions) correct (three classes)"
        guard windowIsFull(summary) else {
            return "live scores: not enough scored predictions (\(summary.windowPredictions) of \(summary.evaluationWindow))\n" + lifetime
        }
        let live = summary.live
        let baselines = NaiveBaseline.allCases.map { live.baseline($0) }
        let rows = MetricName.allCases.map { name -> [String] in
            let score = live.metrics[name]
            let error = score?.standardError.map { name.higherIsBetter ? Format.fixed($0 * 100, 1) + " pts" : Format.fixed($0) } ?? "—"
            let flag = live.failsToBeatBaselines(name) == true ? " ⚑" : ""
            return [name.rawValue.replacingOccurrences(of: "_", with: " "), metricText(name, score?.value) + flag, error,
                    score.map { String($0.n) } ?? "0"] + baselines.map { metricText(name, $0?[name]?.value) }
        }
        var text = "live scores over the last \(summary.evaluationWindow) scored predictions\n"
        text += shell.table(["metric", "live", "± s.e.", "n"] + NaiveBaseline.allCases.map { $0 == .constant ? "constant*" : $0.rawValue },
                            rows, right: Set(1...(3 + NaiveBaseline.allCases.count)))
        text += "\n* best single signal in hindsight: an upper bound for any constant rule, not a rule one could follow"
        let flagged = MetricName.allCases.filter { live.failsToBeatBaselines($0) == true }
        if !flagged.isEmpty {
            text += "\n⚑ does not beat a naive rule (persistence, always up, climatology) on the same predictions: "
                + flagged.map { $0.rawValue.replacingOccurrences(of: "_", with: " ") }.joined(separator: ", ")
        }
        text += "\n" + triggerLine(summary.trigger, shell: shell)
        text += "\n" + lifetime
        let perModel = ModelKind.allCases.compactMap { kind in
            summary.models[kind].map { "\(kind.rawValue) \(Format.percent($0.accuracy)) (\($0.correct)/\($0.scored))" }
        }
        if !perModel.isEmpty { text += "\nper model, own signal (three classes): " + perModel.joined(separator: ", ") }
        return text
    }

    /// What the performance trigger reads from a window, in words.
    static func triggerLine(_ verdict: PerformanceVerdict, shell: ShellContext) -> String {
        switch verdict {
        case .notEnoughOutcomes(let scored, let window):
            return "trigger: \(scored) of \(window) scored predictions — not judged yet"
        case .fine(let metric, let score, _):
            return "trigger: " + shell.paint.green("\(metric.label) \(metricText(metric.metric, score)) — not below its mark")
        case .belowThreshold(let metric, let score, let threshold, _):
            let relation = metric == .brier ? ">" : "<"
            return "trigger: " + shell.paint.red("\(metric.label) \(metricText(metric.metric, score)) \(relation) threshold "
                + "\(metricText(metric.metric, threshold)) — tiers trained before this window will retrain")
        case .belowBaseline(let metric, let score, let baseline, let baselineScore, _):
            return "trigger: " + shell.paint.red("\(metric.label) \(metricText(metric.metric, score)) worse than \(baseline.rawValue) "
                + "\(metricText(metric.metric, baselineScore)) — tiers trained before this window will retrain")
        }
    }
}
