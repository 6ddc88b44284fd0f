import Charts
import FeedbackLoop
import Foundation
import LoopApp
import Learning
import MarketData
import SessionStore

extension Commands {
    static let importance: CommandSpec = CommandSpec(
        "importance", group: .insight,
        abstract: "Which features a model relies on: XGBoost gain, or logistic coefficients",
        discussion: """
        For xgboost: the average gain of the splits that use each feature (features never split on are left \
        out). For logistic: the coefficients on standardised features (signed: positive pushes towards 'up').
        """,
        examples: ["importance xgboost", "importance logistic --top 5"],
        arguments: [importanceModel.spec],
        flags: [FlagSpec(importanceTop)],
        run: { shell, args in
            let model = args[importanceModel]
            let top = args.value(of: importanceTop) ?? 10
            guard let slot = shell.engine.models[model] else {
                throw ShellError.invalid("\(model.rawValue) is not trained yet — run 'train tier\(model.tier)' first")
            }
            let items: [(label: String, value: Double)]
            let kind: String
            switch slot.model {
            case let xgboost as XGBoostModel:
                items = try xgboost.booster.importanceByGain().map { ($0.feature, $0.gain) }
                kind = "gain"
            case let logistic as LogisticModel:
                items = zip(logistic.featureNames, logistic.regression.coefficients).map { ($0, $1) }
                kind = "standardised_coefficient"
            default:
                throw ShellError.invalid("importance is not available for \(model.rawValue)")
            }
            let ranked = Array(items.sorted { abs($0.value) > abs($1.value) }.prefix(top))
            let json: [(String, JSON)] = [
                ("model", .string(model.rawValue)), ("version", .int(slot.record.version)),
                ("importance_type", .string(kind)),
                ("features", .array(ranked.map { .object([("feature", .string($0.label)), ("value", .number($0.value))]) })),
            ]
            let title = "\(model.rawValue) v\(slot.record.version) — \(kind == "gain" ? "average gain per split" : "coefficient on standardised features")"
            let chart = BarChart.render(ranked, width: shell.terminal.width, style: shell.chartStyle, valueFormat: .fixed(kind == "gain" ? 2 : 3))
            return CommandOutput(fields: json, text: title + "\n" + chart)
        })

    /// The models that have an importance and an export of their own.
    static let importanceModel = Positional("MODEL", ModelNameKind([.xgboost, .logistic]))
    static let importanceTop = Option("top", "N", WholeKind(1...100_000), "show the N most important (default 10)")

    static let exportCSV = Positional("PATH.csv", PathKind())
    static let exportJSON = Positional("PATH.json", PathKind())
    static let exportMarkdown = Positional("PATH.md", PathKind())
    static let exportModelName = Positional("MODEL", ModelNameKind([.xgboost, .logistic]))

    static let export: CommandSpec = CommandSpec(
        "export", group: .data,
        abstract: "Write the feature matrix, a model, the session notebook, the prediction log or the history",
        discussion: """
        'export features' writes what the models see: timestamp, the features in model column order and the \
        target (1 when the next bar closed higher), one row per bar after warm-up; the last row is the latest \
        bar that 'predict' scores, with an empty target. 'export model xgboost' writes XGBoost's own JSON model \
        (Python: xgboost.Booster(model_file=PATH)); 'export model logistic' writes the scaler and coefficients. \
        'export notebook' writes the session as Markdown: each command and its output, in order. 'export log' \
        writes every scored prediction of the session (not only the last log_window in memory); 'export perf' the \
        performance history (one row per training). Files are written completely to a temporary name first, \
        then renamed; PATH must be a new or regular file (not a folder, link, device, FIFO or socket).
        """,
        examples: ["export features features.csv", "export model xgboost model.json"],
        subcommands: [Subcommand(ExportTarget.features, [exportCSV.spec]),
                      Subcommand(ExportTarget.model, [exportModelName.spec, exportJSON.spec]),
                      Subcommand(ExportTarget.notebook, [exportMarkdown.spec]), Subcommand(ExportTarget.log, [exportCSV.spec]),
                      Subcommand(ExportTarget.perf, [exportCSV.spec])],
        assetScoped: true,
        run: { shell, args in
            // With --asset all, each asset's file: features.csv → features-BTCUSDT.csv.
            let path = { (given: String) in shell.eachAsset.map { perAssetPath(given, asset: $0) } ?? given }
            switch args.subcommand(as: ExportTarget.self) {
            case .features?: return try exportFeatures(shell, path: path(args[exportCSV]))
            case .model?: return try exportModel(shell, model: args[exportModelName], path: path(args[exportJSON]))
            case .notebook?: return try exportSessionRecord(shell, kind: ExportTarget.notebook.rawValue, path: path(args[exportMarkdown]))
            case .log?: return try exportSessionRecord(shell, kind: ExportTarget.log.rawValue, path: path(args[exportCSV]))
            case .perf?: return try exportSessionRecord(shell, kind: ExportTarget.perf.rawValue, path: path(args[exportCSV]))
            case nil: preconditionFailure("export's subcommand is required by its declaration")
            }
        })

    /// `dir/name.ext` → `dir/name-ASSET.ext` (an asset's symbol is letters and digits: safe in a file name).
    static func perAssetPath(_ path: String, asset: String) -> String {
        let safe = String(asset.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let ns = path as NSString
        let ext = ns.pathExtension
        let stem = ext.isEmpty ? path : ns.deletingPathExtension
        return stem + "-" + safe + (ext.isEmpty ? "" : "." + ext)
    }

    /// What `export` writes.
    enum ExportTarget: String {
        case features, model, notebook, log, perf
    }

    static func exportFeatures(_ shell: ShellContext, path: String) throws -> CommandOutput {
        guard let series = shell.engine.series else { throw LoopError.noData }
        let features = FeatureBuilder.features(for: series)
        guard features.rows > 0 else {
            throw MarketDataError.tooFewRows(have: series.count, need: FeatureBuilder.warmup + 1)
        }
        var csv = "timestamp," + features.names.joined(separator: ",") + ",target\n"
        csv.reserveCapacity(features.rows * features.cols * 12)
        for row in 0..<features.rows {
            csv += ISOTime.format(features.times[row])
            for value in features.row(row) { csv += "," + (value.isFinite ? "\(value)" : "") }
            let bar = features.barIndices[row]
            if bar + 1 < series.count {
                csv += series.bars[bar + 1].close > series.bars[bar].close ? ",1\n" : ",0\n"
            } else {
                csv += ",\n"
            }
        }
        let written = try AtomicFile.write(Data(csv.utf8), to: path)
        return CommandOutput(fields: [("path", .string(written)), ("rows", .int(features.rows)),
                                      ("columns", .int(features.cols + 2)), ("bytes", .int(csv.utf8.count))],
                             text: "wrote \(features.rows) rows × \(features.cols) features (+ timestamp, target) to \(written)")
    }

    static func exportModel(_ shell: ShellContext, model: ModelKind, path: String) throws -> CommandOutput {
        guard let slot = shell.engine.models[model] else {
            throw ShellError.invalid("\(model.rawValue) is not trained yet — run 'train tier\(model.tier)' first")
        }
        guard path.lowercased().hasSuffix(".json") else {
            throw ShellError.invalid("model exports are JSON: give a PATH ending in .json")
        }
        let data: Data
        switch slot.model {
        case let xgboost as XGBoostModel:
            data = try xgboost.booster.serialized(format: .json)
        case let logistic as LogisticModel:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            data = try encoder.encode(logistic)
        default:
            throw ShellError.invalid("export is not available for \(model.rawValue)")
        }
        let written = try AtomicFile.write(data, to: path)
        return CommandOutput(fields: [("path", .string(written)), ("model", .string(model.rawValue)),
                                      ("version", .int(slot.record.version)), ("bytes", .int(data.count))],
                             text: "wrote \(model.rawValue) v\(slot.record.version) (\(data.count) bytes) to \(written)")
    }
}

extension Commands {
    /// The notebook, the full prediction log or the performance history, from the session database.
    static func exportSessionRecord(_ shell: ShellContext, kind: String, path: String) throws -> CommandOutput {
        let session = try requireSession(shell)
        let state = try session.database.read()
        // The log and the history are the focused asset's (`--asset NAME|all` picks another).
        let focus = shell.engine.focus
        let asset = state.assets.indices.contains(focus) ? state.assets[focus] : StoredAsset()
        var text = ""
        var rows = 0
        switch kind {
        case "notebook":
            text = "# lgc-shell session \(session.name ?? "(unsaved)")\n\n"
            text += "Research and education only — not trading advice.\n\n"
            for entry in state.commands {
                text += "```\nlgc> \(entry.text)\n"
                if !entry.output.isEmpty { text += entry.output.hasSuffix("\n") ? entry.output : entry.output + "\n" }
                text += "```\n\n"
            }
            rows = state.commands.count
        case "log":
            text = "sequence,scored_at,predicted,actual,correct,ensemble,price,bar_time,\(ModelKind.allCases.map { "p_" + $0.rawValue }.joined(separator: ","))\n"
            for entry in asset.outcomes {
                let prediction = entry.prediction
                let probabilities = ModelKind.allCases.map { kind in
                    prediction?.models.first { $0.model == kind }.map { "\($0.value)" } ?? ""
                }
                text += "\(entry.sequence),\(ISOTime.format(entry.scoredAt)),\(entry.predicted.rawValue),\(entry.actual.rawValue),"
                text += "\(entry.correct ? 1 : 0),\(prediction.map { "\($0.ensemble)" } ?? ""),\(prediction.map { "\($0.price)" } ?? ""),"
                text += (prediction.map { ISOTime.format($0.barTime) } ?? "") + "," + probabilities.joined(separator: ",") + "\n"
            }
            rows = asset.outcomes.count
        default:
            text = "trained_at,model,version,tier,accuracy,baseline_accuracy,train_rows,test_rows,seconds,val_mse,naive_val_mse\n"
            for record in asset.history {
                text += "\(ISOTime.format(record.time)),\(record.model.rawValue),\(record.version),\(record.tier),\(record.accuracy),"
                text += "\(record.baselineAccuracy),\(record.trainRows),\(record.testRows),\(record.seconds),"
                let validation = record.details.sequenceValidation
                text += (validation.map { "\($0.mse)" } ?? "") + "," + (validation.map { "\($0.naiveMSE)" } ?? "") + "\n"
            }
            rows = asset.history.count
        }
        let written = try AtomicFile.write(Data(text.utf8), to: path)
        return CommandOutput(fields: [("path", .string(written)), ("rows", .int(rows)), ("bytes", .int(text.utf8.count))],
                             text: "wrote \(rows) \(kind == "notebook" ? "commands" : "rows") to \(written)")
    }
}
