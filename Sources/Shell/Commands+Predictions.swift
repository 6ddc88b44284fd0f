import FeedbackLoop
import Foundation
import MarketData

extension Commands {
    static let predict: CommandSpec = CommandSpec(
        "predict", group: .predictions,
        synopsis: "predict ?--force?",
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
        flags: [FlagSpec("force", "predict even when the models were trained on other data than is loaded")],
        run: { shell, args in
            let engine = shell.engine
            if !args.has("force") { try engine.checkModelsMatchData(for: .predict) }
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
                    ("warnings", .array(own.map { .string($0.description) })),
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
                ("warnings", .array(warnings.map { .string($0.description) })),
            ]
            for warning in warnings { shell.logger.log(.warning, warning.description) }
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

    static let signals = Signal.allCases.map(\.rawValue)

    static let log: CommandSpec = CommandSpec(
        "log", group: .predictions,
        synopsis: "log BUY|SELL|HOLD ?--predicted SIGNAL?",
        abstract: "Score the pending prediction (or --predicted) against the actual outcome",
        discussion: """
        The outcome joins the prediction log (the last log_window in memory; counts cover all). Scored \
        outcomes drive 'perf' and the performance trigger of 'cycle'.
        """,
        examples: ["log BUY", "log SELL --predicted HOLD"],
        positionals: 1...1,
        flags: [FlagSpec("predicted", value: "SIGNAL", values: ["buy", "sell", "hold"], "score this signal instead of the pending prediction")],
        complete: { context in context.words.count == 1 ? signals : [] },
        run: { shell, args in
            guard let actual = Signal(text: args.positionals[0]) else {
                throw ShellError.usage(command: log, message: "invalid outcome '\(args.positionals[0])': expected BUY, SELL or HOLD")
            }
            let predicted = args.option("predicted").flatMap { Signal(text: $0) }
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
        synopsis: "perf",
        abstract: "Live accuracy over the last evaluation_window scored predictions",
        discussion: """
        accuracy is null until evaluation_window predictions are scored. JSON pairs count the same predictions: \
        window_correct of window_total (the last evaluation_window scored), lifetime_correct of lifetime_total \
        (every scored prediction; total_correct and total_predictions are the same pair's older names). \
        models gives each model's own signal (its probability against buy_threshold and sell_threshold) scored \
        against the same outcomes, over the predictions in the window it took part in.
        """,
        examples: ["perf"],
        run: { shell, _ in
            let summary = shell.engine.performance()
            return CommandOutput(fields: perfFields(summary), text: perfText(summary, shell: shell))
        })

    static func perfFields(_ summary: PerformanceSummary) -> [(String, JSON)] {
        // Each pair counts the same predictions: window_* the last evaluation_window scored, lifetime_* every
        // scored one. total_predictions/total_correct are kept as the lifetime pair's older names.
        [("accuracy", .number(summary.accuracy)),
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

    static func perfText(_ summary: PerformanceSummary, shell: ShellContext) -> String {
        let threshold = shell.engine.config.performanceThreshold
        guard let accuracy = summary.accuracy else {
            return "recent accuracy: not enough scored predictions (\(summary.windowPredictions) of \(summary.evaluationWindow))\n"
                + "all time \(summary.totalCorrect)/\(summary.totalPredictions) correct"
        }
        let verdict = accuracy < threshold
            ? shell.paint.red("below threshold \(Format.percent(threshold)) — tiers will retrain")
            : shell.paint.green("at or above threshold \(Format.percent(threshold))")
        var text = """
        recent accuracy \(Format.percent(accuracy)) (\(summary.correctPredictions)/\(summary.windowPredictions) of the last \(summary.evaluationWindow)), \(verdict)
        all time \(summary.totalCorrect)/\(summary.totalPredictions) correct
        """
        let perModel = ModelKind.allCases.compactMap { kind in
            summary.models[kind].map { "\(kind.rawValue) \(Format.percent($0.accuracy)) (\($0.correct)/\($0.scored))" }
        }
        if !perModel.isEmpty { text += "\nper model, own signal: " + perModel.joined(separator: ", ") }
        return text
    }
}
