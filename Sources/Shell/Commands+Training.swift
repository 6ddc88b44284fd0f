import FeedbackLoop
import Foundation
import LoopApp
import MarketData

extension Commands {
    static let train: CommandSpec = CommandSpec(
        "train", group: .training,
        abstract: "Train a tier's models now on the loaded data",
        discussion: """
        tier1 = logistic regression; tier2 adds XGBoost; tier3 adds the LSTM. Features are causal; each model \
        trains on the first (1 - test_fraction) of the rows and is scored on the later rows (chronological \
        holdout) beside the same baseline for every model, the LSTM included: the majority class (up / not up) of \
        its training part, scored on its holdout; ! marks an accuracy not above it. Training a tier restarts the clocks of the tiers it covers.
        """,
        examples: ["train tier1"],
        arguments: [trainTier.spec],
        assetScoped: true,
        run: { shell, args in
            let result = try shell.engine.train(args[trainTier])
            return CommandOutput(fields: trainingFields(result), text: trainingText(result, shell: shell))
        })

    static let trainTier = Positional("TIER", TierKind())

    static func recordFields(_ record: TrainingRecord) -> JSON {
        .object([
            ("model", .string(record.model.rawValue)),
            ("version", .int(record.version)),
            ("accuracy", .number(record.accuracy)),
            ("baseline_accuracy", .number(record.baselineAccuracy)),
            ("beats_baseline", record.beatsBaseline.map(JSON.bool) ?? .null),
            ("train_rows", .int(record.trainRows)),
            ("test_rows", .int(record.testRows)),
            ("seconds", .number(record.seconds)),
            ("trained_at", .time(record.time)),
        ] + detailFields(record.details))
    }

    /// A training's typed details under the JSON names they have always had, in that (alphabetical) order.
    static func detailFields(_ details: TrainingDetails) -> [(String, JSON)] {
        var fields: [(String, JSON)] = []
        if let validation = details.sequenceValidation {
            fields += [("val_mse", .number(validation.mse)), ("naive_val_mse", .number(validation.naiveMSE))]
            if let epochs = validation.epochs { fields.append(("epochs", .int(epochs))) }
            if let best = validation.bestEpoch { fields.append(("best_epoch", .int(best))) }
        }
        if let verdict = details.promotion {
            fields += [("promoted", .bool(verdict.promoted)), ("challenger_holdout", .number(verdict.challengerHoldout)),
                       ("incumbent_holdout", .number(verdict.incumbentHoldout))]
        }
        return fields.sorted { $0.0 < $1.0 }
    }

    static func trainingFields(_ result: TierTrainingResult) -> [(String, JSON)] {
        [("tier", .string("tier\(result.tier)")),
         ("seconds", .number(result.seconds)),
         ("results", .object(result.records.map { ($0.model.rawValue, recordFields($0)) }))]
    }

    static func trainingText(_ result: TierTrainingResult, shell: ShellContext) -> String {
        let rows = result.records.map { record in
            [record.model.rawValue, "v\(record.version)", Format.holdout(record),
             Format.percent(record.baselineAccuracy), String(record.trainRows), String(record.testRows),
             Format.seconds(record.seconds)]
        }
        var text = "tier\(result.tier) trained in \(Format.seconds(result.seconds))\n"
            + shell.table(["model", "version", "accuracy", "baseline", "train", "test", "time"], rows,
                          right: [2, 3, 4, 5, 6])
            + "\n" + Format.baselineFootnote(result.records)
        for record in result.records {
            if let verdict = record.details.promotion {
                text += "\n\(record.model.rawValue) v\(record.version) " + (verdict.promoted ? "promoted" : "kept as a challenger")
                    + ": \(Format.percent(verdict.challengerHoldout)) vs the current model's \(Format.percent(verdict.incumbentHoldout)) on the same holdout"
            }
        }
        for record in result.records {
            guard let validation = record.details.sequenceValidation else { continue }
            let mse = validation.mse, naive = validation.naiveMSE
            let epochs = validation.epochs.map { " after \($0) epochs" } ?? ""
            text += String(format: "\n%@: validation MSE %.3g vs persistence %.3g (ratio %.2f)%@ (its train/test counts are sequences)",
                           record.model.rawValue, mse, naive, naive > 0 ? mse / naive : .nan, epochs)
        }
        return text
    }

    static let cycle: CommandSpec = CommandSpec(
        "cycle", group: .training,
        abstract: "Run one feedback-loop cycle: train the tiers that are due",
        discussion: """
        A tier is due when it was never trained, when its interval has elapsed on the loop's clock, or when at \
        least evaluation_window predictions were scored since its last training and their accuracy is below \
        performance_threshold. Due tiers train highest first; a trained tier covers the lower tiers' models. \
        JSON status: success, no_action, skipped (a training is in progress) or error. When the current models \
        were trained on another symbol or bar interval than the loaded data, cycle refuses until a training on \
        the new data ('train tierN'), or with --force.
        """,
        examples: ["cycle", "advance 6h; cycle", "cycle --force"],
        flags: [FlagSpec(cycleForce)],
        assetScoped: true,
        run: { shell, args in
            if !args.has(cycleForce) { try shell.engine.checkModelsMatchData(for: .cycle) }
            let report = shell.engine.cycle()
            // A failure is worded here, with the shell's advice (the loop's own message says only what failed).
            let message = report.failure.map { failure in
                (report.failedTier.map { "tier\($0) failed: " } ?? "") + ShellContext.message(for: failure)
            } ?? report.message
            switch report.status {
            case .success: shell.logger.log(.success, "Training cycle complete: \(report.message)")
            case .skipped: shell.logger.log(.warning, "Training already in progress, skipping cycle")
            case .error, .noAction: break
            }
            let tiers: [(String, JSON)] = report.tiers.map { outcome in
                var fields: [(String, JSON)] = [
                    ("due", .bool(outcome.decision.due)),
                    ("reason", .string(outcome.decision.reason.code)),
                    ("detail", .string(outcome.decision.reason.explanation)),
                    ("trained", .bool(outcome.result != nil)),
                ]
                if let result = outcome.result { fields += trainingFields(result).filter { $0.0 != "tier" } }
                if let error = outcome.error { fields.append(("error", .string(ShellContext.message(for: error)))) }
                return ("tier\(outcome.decision.tier)", .object(fields))
            }
            var lines = ["cycle: \(report.status.rawValue) — \(message)"]
            for outcome in report.tiers {
                let mark = outcome.error != nil ? "✗" : outcome.result != nil ? "✓" : "·"
                var line = "  \(shell.terminal.unicode ? mark : (mark == "✓" ? "+" : mark == "✗" ? "x" : "-")) tier\(outcome.decision.tier)  \(outcome.decision.reason.explanation)"
                if let result = outcome.result {
                    let summary = result.records.map { "\($0.model.rawValue) v\($0.version) \(Format.holdoutPhrase($0))" }
                    line += " → " + summary.joined(separator: ", ")
                }
                // A tier's error is shown like any error: one line, escaped.
                if let error = outcome.error { line += " → error: \(ShellContext.message(for: error))" }
                lines.append(line)
            }
            let output = CommandOutput(fields: [("status", .string(report.status.rawValue)),
                                                ("message", .string(message)),
                                                ("tiers", .object(tiers))],
                                       text: lines.joined(separator: "\n"))
            if report.status == .error { throw ShellError.invalid(message) }
            return output
        })

    static let advance: CommandSpec = CommandSpec(
        "advance", group: .training,
        abstract: "Move the loop's clock forward (90m, 6h, 2d, 1h30m or seconds)",
        discussion: "The loop's clock is system time plus an offset; advance adds to the offset, so time triggers can be explored without waiting. With auto mode on, every check the clock passes runs on the way, in order.",
        examples: ["advance 6h", "advance 90m"],
        arguments: [advanceBy.spec],
        run: { shell, args in
            let seconds = args[advanceBy]
            try LoopEngine.checkAdvance(seconds, from: shell.engine.clock.offset)
            // With auto mode on, the checks this passes over run now, in order: virtual time is deterministic.
            // Many checks get a live bar on a terminal (Ctrl-C stops between checks); a handful need none.
            let planned = shell.auto.checksDuring(advance: seconds)
            if planned >= 20, planned <= AutoScheduler.maxChecksPerAdvance {
                shell.logger.log(.info, "advance runs \(planned) auto checks (Ctrl-C stops after the current one)")
            }
            let started = ContinuousClock.now
            let live = isatty(STDERR_FILENO) == 1 && shell.terminal.isInteractive && shell.format == .text && !shell.logger.quiet
            let checks = try shell.auto.advanceClock(by: seconds) { done, total in
                guard total >= 20 else { return }
                shell.progress.updateReplay(step: done, steps: total, runs: 1, started: started, live: live,
                                            width: shell.terminal.width, unicode: shell.terminal.unicode, label: "auto check")
            }.map(Notice.init)
            shell.progress.finish()
            var output = clockOutput(shell)
            output.text = "advanced \(DurationText.format(seconds)); " + output.text
            if !checks.isEmpty {
                output.text = checks.map { shell.render($0) }.joined(separator: "\n") + "\n" + output.text
                output.fields.append(("auto_checks", .array(checks.map { .object($0.fields) })))
            }
            return output
        })

    static let cycleForce = Switch("force", "run even when the models were trained on other data than is loaded")
    static let advanceBy = Positional("DURATION", DurationKind())

    static let clock: CommandSpec = CommandSpec(
        "clock", group: .training,
        abstract: "Show the loop's clock: now and the offset from system time",
        examples: ["clock"],
        run: { shell, _ in clockOutput(shell) })

    static func clockFields(_ shell: ShellContext) -> [(String, JSON)] {
        [("now", .time(shell.engine.clock.now)), ("offset_seconds", .number(shell.engine.clock.offset))]
    }

    static func clockOutput(_ shell: ShellContext) -> CommandOutput {
        let clock = shell.engine.clock
        return CommandOutput(fields: clockFields(shell),
                             text: "loop clock \(ISOTime.format(clock.now)) (system time + \(DurationText.format(clock.offset)))")
    }
}
