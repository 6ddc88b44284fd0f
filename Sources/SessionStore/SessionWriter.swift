import FeedbackLoop
import Foundation
import GRDB
import MarketData

/// Writes session values into an open transaction. Everything written is checked against the same rules
/// the reader enforces, so a write can never produce a file that reading refuses.
struct SessionWriter {
    let db: Database

    /// Writes the session-wide values, then each asset's update in position order (an update for the next position
    /// adds that asset), then the focus, the replay reports, the command and the name.
    func apply(_ change: SessionChange) throws {
        if let config = change.config { try replaceConfig(config) }
        if let offset = change.clockOffset { try setMeta("clock_offset", finite(offset, "the clock offset")) }
        if !change.assets.isEmpty {
            var count = try assetCount()
            for (asset, update) in change.assets.sorted(by: { $0.key < $1.key }) {
                guard asset >= 0, asset <= count else {
                    throw SessionError.invalidChange("asset \(asset) does not follow the stored assets (next is \(count))")
                }
                if asset == count {
                    try addAsset(asset)
                    count += 1
                }
                try apply(update, to: asset)
            }
        }
        if let focus = change.focus { try setFocus(focus, assets: try assetCount()) }
        if !change.newReplays.isEmpty { try appendReplays(change.newReplays, assets: try assetCount()) }
        if let command = change.command {
            try checkCount("commands", adding: 1, limit: SessionLimits.maxCommands, what: "commands")
            try insertCommand(command)
        }
        if let name = change.name { try setName(name) }
    }

    private func apply(_ update: AssetUpdate, to asset: Int) throws {
        if let series = update.series { try replaceSeries(series, asset: asset) }
        if !update.newRecords.isEmpty {
            try checkCount("training_runs", adding: update.newRecords.count, limit: SessionLimits.maxRecords,
                           what: "training records")
            for record in update.newRecords { try insertRecord(record, asset: asset) }
        }
        if !update.newModels.isEmpty {
            try checkCount("model_versions", adding: update.newModels.count, limit: SessionLimits.maxModels,
                           what: "model versions")
            for model in update.newModels { try insertModel(model, asset: asset) }
        }
        if let versions = update.currentVersions { try replaceCurrentVersions(versions, asset: asset) }
        if !update.newOutcomes.isEmpty { try appendOutcomes(update.newOutcomes, asset: asset) }
        if let pending = update.pending { try replacePending(pending, asset: asset) }
        if !update.newPredictions.isEmpty { try appendPredictions(update.newPredictions, asset: asset) }
        if let tiers = update.tierState {
            try replaceTiers(lastTraining: tiers.lastTraining, logMarks: tiers.logMarks, asset: asset)
        }
    }

    /// Writes the meta rows of an empty session (one empty asset) and the default config.
    func initialise(createdAt: TimeInterval) throws {
        try setMeta("format", "lgc-session")
        try setMeta("created_at", createdAt)
        try setMeta("clock_offset", 0.0)
        try db.execute(sql: "DELETE FROM assets")
        try addAsset(0)
        try replaceConfig(LoopConfig())
    }

    /// Replaces every value with `state`'s, keeping `format` and `created_at`.
    func replaceAll(with state: SessionState) throws {
        guard !state.assets.isEmpty, state.assets.count <= SessionLimits.maxAssets else {
            throw SessionError.invalidChange("a session holds 1 to \(SessionLimits.maxAssets) assets, not \(state.assets.count)")
        }
        for (position, asset) in state.assets.enumerated() {
            guard asset.totalLogged == asset.outcomes.count,
                  asset.totalCorrect == asset.outcomes.lazy.filter(\.correct).count else {
                throw SessionError.invalidChange(Self.of(position,
                    "totals (\(asset.totalLogged) logged, \(asset.totalCorrect) correct) do not match the \(asset.outcomes.count) outcomes"))
            }
        }
        func total(_ count: (StoredAsset) -> Int) -> Int { state.assets.reduce(0) { $0 + count($1) } }
        guard total({ $0.history.count }) <= SessionLimits.maxRecords, total({ $0.models.count }) <= SessionLimits.maxModels,
              state.commands.count <= SessionLimits.maxCommands, state.replays.count <= SessionLimits.maxReplays else {
            throw SessionError.invalidChange("more training records, model versions or commands than a session holds")
        }
        for table in ["assets", "series", "bars", "training_runs", "model_versions", "current_versions", "outcomes",
                      "pending", "predictions", "tiers", "commands", "replays"] {
            try db.execute(sql: "DELETE FROM \(table)")
        }
        try db.execute(sql: "DELETE FROM meta WHERE key NOT IN ('format', 'created_at')")
        try replaceConfig(state.config)
        try setMeta("clock_offset", finite(state.clockOffset, "the clock offset"))
        for (position, asset) in state.assets.enumerated() {
            try addAsset(position)
            if let series = asset.series { try replaceSeries(series, asset: position) }
            for record in asset.history { try insertRecord(record, asset: position) }
            for model in asset.models { try insertModel(model, asset: position) }
            try replaceCurrentVersions(asset.currentVersions, asset: position)
            try appendOutcomes(asset.outcomes, asset: position)
            try replacePending(asset.pending, asset: position)
            try appendPredictions(asset.predictions, asset: position)
            try replaceTiers(lastTraining: asset.lastTraining, logMarks: asset.logMarks, asset: position)
        }
        try setFocus(state.focus, assets: state.assets.count)
        for command in state.commands { try insertCommand(command) }
        try appendReplays(state.replays, assets: state.assets.count)
        try setName(state.name)
    }

    /// `message` about asset `asset`: as it always read for asset 0, named for the others.
    static func of(_ asset: Int, _ message: String) -> String {
        asset == 0 ? message : "asset \(asset): \(message)"
    }

    // MARK: - Pieces

    func setMeta(_ key: String, _ value: (any DatabaseValueConvertible)?) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
            .execute(arguments: [key, value])
    }

    /// The saved session file a working file is a copy of; never part of a saved file.
    func setCheckpoint(_ checkpoint: String?) throws {
        if let checkpoint {
            try checkString(checkpoint, "the saved session's path")
            try setMeta("checkpoint", checkpoint)
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'checkpoint'")
        }
    }

    /// How many assets the session holds (positions 0..<count).
    private func assetCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM assets") ?? 0
    }

    /// Adds the empty asset at `position` (the next one).
    private func addAsset(_ position: Int) throws {
        guard position < SessionLimits.maxAssets else {
            throw SessionError.invalidChange("a session holds at most \(SessionLimits.maxAssets) assets")
        }
        try db.execute(sql: "INSERT INTO assets (asset, total_logged, total_correct) VALUES (?, 0, 0)", arguments: [position])
    }

    private func setFocus(_ focus: Int, assets: Int) throws {
        guard (0..<assets).contains(focus) else {
            throw SessionError.invalidChange("the focus is asset \(focus); the session has assets 0…\(assets - 1)")
        }
        try setMeta("focus", focus)
    }

    private func setName(_ name: String?) throws {
        if let name {
            try checkString(name, "the session name")
            try setMeta("name", name)
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'name'")
        }
    }

    private func replaceSeries(_ series: PriceSeries, asset: Int) throws {
        guard series.bars.count <= SessionLimits.maxBars else {
            throw SessionError.invalidChange("\(series.bars.count) bars; a session holds at most \(SessionLimits.maxBars)")
        }
        try checkString(series.symbol, "the symbol")
        try checkString(series.source, "the data source")
        var previous = -Double.infinity
        for (index, bar) in series.bars.enumerated() {
            guard bar.time.isFinite, bar.open.isFinite, bar.high.isFinite, bar.low.isFinite, bar.close.isFinite,
                  bar.volume.isFinite else {
                throw SessionError.invalidChange(Self.of(asset, "bar \(index + 1) holds a value that is not a finite number"))
            }
            guard bar.time >= previous else {
                throw SessionError.invalidChange(Self.of(asset, "bar \(index + 1) is earlier than the bar before it"))
            }
            previous = bar.time
        }
        try db.execute(sql: "DELETE FROM bars WHERE asset = ?", arguments: [asset])
        // The limit is the whole file's: the other assets' bars count too.
        let others = try Int.fetchOne(db, sql: "SELECT count(*) FROM bars") ?? 0
        guard others + series.bars.count <= SessionLimits.maxBars else {
            throw SessionError.invalidChange("\(others + series.bars.count) bars in all; a session holds at most \(SessionLimits.maxBars)")
        }
        try db.execute(sql: "INSERT OR REPLACE INTO series (asset, symbol, source) VALUES (?, ?, ?)",
                       arguments: [asset, series.symbol, series.source])
        let insert = try db.cachedStatement(
            sql: "INSERT INTO bars (asset, i, time, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for (index, bar) in series.bars.enumerated() {
            try insert.execute(arguments: [asset, index, bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume])
        }
    }

    private func replaceConfig(_ config: LoopConfig) throws {
        if let problem = ConfigCheck.problem(config) { throw SessionError.invalidChange("config: \(problem)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        try db.execute(sql: "DELETE FROM config")
        let insert = try db.cachedStatement(sql: "INSERT INTO config (key, value) VALUES (?, ?)")
        // The JSON row is what reading uses; the per-key rows are for people querying the file.
        try insert.execute(arguments: [ConfigCheck.jsonKey, json])
        for key in LoopConfig.keys { try insert.execute(arguments: [key.name, key.display(config)]) }
    }

    private func recordArguments(_ record: TrainingRecord) throws -> StatementArguments {
        guard (1...Tier.all.count).contains(record.tier) else {
            throw SessionError.invalidChange("training record of \(record.model.rawValue) has tier \(record.tier)")
        }
        guard record.time.isFinite, record.version >= 0, record.trainRows >= 0, record.testRows >= 0 else {
            throw SessionError.invalidChange("training record of \(record.model.rawValue) v\(record.version) has an invalid time, version or row count")
        }
        guard record.dataStart?.isFinite ?? true, record.dataEnd?.isFinite ?? true else {
            throw SessionError.invalidChange("training record of \(record.model.rawValue) v\(record.version) has a non-finite data span")
        }
        guard record.dataInterval.map(Bounded.duration.contains) ?? true,
              (record.dataSymbol?.utf8.count ?? 0) <= SessionLimits.maxStringBytes else {
            throw SessionError.invalidChange("training record of \(record.model.rawValue) v\(record.version) has an invalid data symbol or bar interval")
        }
        // NaN metrics become NULL (SQLite has no NaN) and read back as NaN.
        return [record.time, record.model.rawValue, record.version, record.tier, nanAsNull(record.accuracy),
                nanAsNull(record.baselineAccuracy), record.trainRows, record.testRows, nanAsNull(record.seconds),
                try ExtraCoding.encode(record.details), record.dataStart, record.dataEnd, record.dataSymbol, record.dataInterval]
    }

    private func insertRecord(_ record: TrainingRecord, asset: Int) throws {
        var arguments: StatementArguments = [asset]
        arguments += try recordArguments(record)
        try db.cachedStatement(sql: """
            INSERT INTO training_runs (asset, time, model, version, tier, accuracy, baseline_accuracy, train_rows,
                test_rows, seconds, extra, data_start, data_end, data_symbol, data_interval)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments)
    }

    private func insertModel(_ blob: ModelBlob, asset: Int) throws {
        let model = blob.record.model.rawValue, version = blob.record.version
        guard !blob.format.isEmpty, blob.format.utf8.count <= SessionLimits.maxFormatBytes else {
            throw SessionError.invalidChange("model \(model) v\(version): format tag must be 1 to \(SessionLimits.maxFormatBytes) bytes")
        }
        guard blob.data.count <= SessionLimits.maxBlobBytes else {
            throw SessionError.invalidChange("model \(model) v\(version) is \(blob.data.count) bytes; at most \(SessionLimits.maxBlobBytes)")
        }
        guard blob.dataStart?.isFinite ?? true, blob.dataEnd?.isFinite ?? true else {
            throw SessionError.invalidChange("model \(model) v\(version): its data span is not finite")
        }
        let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM model_versions WHERE asset = ? AND model = ? AND version = ?",
                                       arguments: [asset, model, version]) ?? false
        if exists { throw SessionError.invalidChange(Self.of(asset, "model \(model) v\(version) is stored already")) }
        let total = try Int.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) FROM model_versions") ?? 0
        guard total + blob.data.count <= SessionLimits.maxTotalBlobBytes else {
            throw SessionError.invalidChange("model blobs would exceed \(SessionLimits.maxTotalBlobBytes) bytes in all")
        }
        var arguments: StatementArguments = [asset]
        arguments += try recordArguments(blob.record)
        arguments += [blob.format, blob.data.count, SHA256.hex(blob.data), blob.dataStart, blob.dataEnd, blob.data]
        try db.cachedStatement(sql: """
            INSERT INTO model_versions (asset, time, model, version, tier, accuracy, baseline_accuracy, train_rows,
                test_rows, seconds, extra, data_start, data_end, data_symbol, data_interval, format, bytes, sha256,
                blob_start, blob_end, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments)
    }

    private func replaceCurrentVersions(_ versions: [ModelKind: Int], asset: Int) throws {
        try db.execute(sql: "DELETE FROM current_versions WHERE asset = ?", arguments: [asset])
        for (model, version) in versions.sorted(by: { $0.key < $1.key }) {
            guard version >= 0 else {
                throw SessionError.invalidChange(Self.of(asset, "\(model.rawValue) version \(version) is negative"))
            }
            try db.execute(sql: "INSERT INTO current_versions (asset, model, version) VALUES (?, ?, ?)",
                           arguments: [asset, model.rawValue, version])
        }
    }

    private func appendOutcomes(_ outcomes: [ScoredPrediction], asset: Int) throws {
        guard !outcomes.isEmpty else { return }
        guard let totals = try Row.fetchOne(db, sql: "SELECT total_logged, total_correct FROM assets WHERE asset = ?",
                                            arguments: [asset]) else {
            throw SessionError.invalidChange("there is no asset \(asset)")
        }
        var logged: Int = totals[0], correct: Int = totals[1]
        // The limit is the whole file's: every asset's log counts.
        let stored = try Int.fetchOne(db, sql: "SELECT coalesce(sum(total_logged), 0) FROM assets") ?? 0
        guard stored + outcomes.count <= SessionLimits.maxOutcomes else {
            throw SessionError.invalidChange("a session holds at most \(SessionLimits.maxOutcomes) scored predictions")
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outcomes (asset, sequence, predicted, actual, correct, scored_at, signal, ensemble, price,
                bar_time, made_at, p_logistic, p_xgboost, p_lstm, w_logistic, w_xgboost, w_lstm, realised_return)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for outcome in outcomes {
            // The log is rebuilt by appending, so sequences must run 1, 2, 3 … and `correct` must follow the signals.
            guard outcome.sequence == logged + 1 else {
                throw SessionError.invalidChange(Self.of(asset,
                    "outcome #\(outcome.sequence) does not follow the stored log (next is #\(logged + 1))"))
            }
            guard outcome.correct == (outcome.predicted == outcome.actual), outcome.scoredAt.isFinite else {
                throw SessionError.invalidChange(Self.of(asset, "outcome #\(outcome.sequence) is inconsistent (correct flag or time)"))
            }
            var arguments: StatementArguments = [asset, outcome.sequence, outcome.predicted.rawValue,
                                                 outcome.actual.rawValue, outcome.correct, outcome.scoredAt]
            arguments += try predictionArguments(outcome.prediction, what: Self.of(asset, "outcome #\(outcome.sequence)"))
            if let realised = outcome.realisedReturn, !(realised.isFinite && realised >= -1) {
                throw SessionError.invalidChange(Self.of(asset, "outcome #\(outcome.sequence) has an impossible return \(realised)"))
            }
            arguments += [outcome.realisedReturn]
            try insert.execute(arguments: arguments)
            logged += 1
            if outcome.correct { correct += 1 }
        }
        try db.execute(sql: "UPDATE assets SET total_logged = ?, total_correct = ? WHERE asset = ?",
                       arguments: [logged, correct, asset])
    }

    private func appendPredictions(_ predictions: [Prediction], asset: Int) throws {
        guard !predictions.isEmpty else { return }
        try checkCount("predictions", adding: predictions.count, limit: SessionLimits.maxOutcomes, what: "predictions")
        let insert = try db.cachedStatement(sql: """
            INSERT INTO predictions (asset, signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm,
                w_logistic, w_xgboost, w_lstm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for prediction in predictions {
            var arguments: StatementArguments = [asset]
            arguments += try predictionArguments(prediction, what: Self.of(asset, "a prediction"))
            try insert.execute(arguments: arguments)
        }
    }

    private func replacePending(_ pending: Prediction?, asset: Int) throws {
        try db.execute(sql: "DELETE FROM pending WHERE asset = ?", arguments: [asset])
        guard let pending else { return }
        var arguments: StatementArguments = [asset]
        arguments += try predictionArguments(pending, what: Self.of(asset, "the pending prediction"))
        try db.execute(sql: """
            INSERT INTO pending (asset, signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm,
                w_logistic, w_xgboost, w_lstm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: arguments)
    }

    /// signal, ensemble, price, bar_time, made_at, then a probability and a weight column per model.
    private func predictionArguments(_ prediction: Prediction?, what: String) throws -> StatementArguments {
        guard let prediction else {
            return StatementArguments(Array(repeating: nil as (any DatabaseValueConvertible)?,
                                            count: 5 + 2 * Schema.predictionModels.count))
        }
        guard prediction.ensemble.isFinite, prediction.price.isFinite, prediction.barTime.isFinite,
              prediction.madeAt.isFinite else {
            throw SessionError.invalidChange("\(what) holds a value that is not a finite number")
        }
        var values: [(any DatabaseValueConvertible)?] = [prediction.signal.rawValue, prediction.ensemble,
                                                          prediction.price, prediction.barTime, prediction.madeAt]
        for list in [prediction.models, prediction.weights] {
            // One column per model keeps the table plain; that needs each model once, in ensemble order.
            guard zip(list, list.dropFirst()).allSatisfy({ $0.model < $1.model }),
                  list.allSatisfy({ Schema.predictionModels.contains($0.model) && $0.value.isFinite }) else {
                throw SessionError.invalidChange("\(what): per-model values must be finite, one per model, in ensemble order")
            }
            for model in Schema.predictionModels {
                values.append(list.first { $0.model == model }?.value)
            }
        }
        return StatementArguments(values)
    }

    private func replaceTiers(lastTraining: [Int: TimeInterval], logMarks: [Int: Int], asset: Int) throws {
        try db.execute(sql: "DELETE FROM tiers WHERE asset = ?", arguments: [asset])
        for tier in Set(lastTraining.keys).union(logMarks.keys).sorted() {
            guard (1...Tier.all.count).contains(tier) else {
                throw SessionError.invalidChange(Self.of(asset, "there is no tier \(tier)"))
            }
            let time = lastTraining[tier], mark = logMarks[tier]
            guard time?.isFinite ?? true, (mark ?? 0) >= 0 else {
                throw SessionError.invalidChange(Self.of(asset, "tier \(tier) has an invalid training time or log mark"))
            }
            try db.execute(sql: "INSERT INTO tiers (asset, tier, last_training, log_mark) VALUES (?, ?, ?, ?)",
                           arguments: [asset, tier, time, mark])
        }
    }

    private func insertCommand(_ command: CommandEntry) throws {
        guard command.at.isFinite else { throw SessionError.invalidChange("the command's time is not finite") }
        // A command's record must never fail the command, so overlong text is cut rather than refused.
        try db.cachedStatement(sql: "INSERT INTO commands (at, text, output, ok) VALUES (?, ?, ?, ?)")
            .execute(arguments: [command.at, Self.cut(command.text), Self.cut(command.output), command.ok])
    }

    /// `assets`: how many the session holds, for the asset each replay names.
    private func appendReplays(_ replays: [ReplayEntry], assets: Int) throws {
        var count = try Int.fetchOne(db, sql: "SELECT count(*) FROM replays") ?? 0
        guard count + replays.count <= SessionLimits.maxReplays else {
            throw SessionError.invalidChange("a session holds at most \(SessionLimits.maxReplays) replay reports")
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO replays (id, at, command, span_start, span_end, steps, scored, tiers, policy, compare_key,
                compare_value, accuracy, never_retrain_accuracy, every_step_accuracy, retrains, training_seconds,
                cancelled, applied, report_json, report_text, asset)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for replay in replays {
            // Ids run 1, 2, 3 … so `replays show ID` can name the valid range.
            guard replay.id == count + 1 else {
                throw SessionError.invalidChange("replay #\(replay.id) does not follow the stored ones (next is #\(count + 1))")
            }
            if let problem = ReplayCheck.problem(replay) {
                throw SessionError.invalidChange("replay #\(replay.id): \(problem)")
            }
            if let asset = replay.asset, !(0..<assets).contains(asset) {
                throw SessionError.invalidChange("replay #\(replay.id) ran on asset \(asset), which the session does not have")
            }
            try insert.execute(arguments: [
                replay.id, replay.at, replay.command, replay.start, replay.end, replay.steps, replay.scored,
                ReplayCheck.tiersText(replay.tiers), replay.policy, replay.compareKey, replay.compareValue,
                replay.accuracy, replay.neverRetrainAccuracy, replay.everyStepAccuracy, replay.retrains,
                replay.trainingSeconds, replay.cancelled, replay.applied, replay.reportJSON, replay.reportText,
                replay.asset,
            ])
            count += 1
        }
    }

    /// `text` cut to at most `SessionLimits.maxStringBytes` of UTF-8, on a character boundary.
    static func cut(_ text: String) -> String {
        guard text.utf8.count > SessionLimits.maxStringBytes else { return text }
        let marker = " … [cut]"
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: SessionLimits.maxStringBytes - marker.utf8.count)
        while end.samePosition(in: text.unicodeScalars) == nil { end = text.utf8.index(before: end) }
        return String(text.unicodeScalars[..<end]) + marker
    }

    private func checkString(_ text: String, _ what: String) throws {
        guard text.utf8.count <= SessionLimits.maxStringBytes else {
            throw SessionError.invalidChange("\(what) is longer than \(SessionLimits.maxStringBytes) bytes")
        }
    }

    /// `table`'s rows are appended with ids 1, 2, 3 …, so its largest id is its count, found in one index step
    /// where `count(*)` would read every row on every command. (A file with gaps in its ids only reaches the
    /// limit sooner.)
    private func checkCount(_ table: String, adding: Int, limit: Int, what: String) throws {
        let count = try Int.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM \(table)") ?? 0
        guard count + adding <= limit else {
            throw SessionError.invalidChange("a session holds at most \(limit) \(what)")
        }
    }

    private func finite(_ value: Double, _ what: String) throws -> Double {
        guard value.isFinite else { throw SessionError.invalidChange("\(what) is not a finite number") }
        return value
    }

    private func nanAsNull(_ value: Double) -> Double? { value.isNaN ? nil : value }
}

/// `TrainingRecord.details` in the `extra` column: a JSON object of named numbers, the layout every format has used
/// (`val_mse`, `naive_val_mse`, `epochs`, `best_epoch`; `promoted` 1/0, `challenger_holdout`, `incumbent_holdout`).
/// Non-finite values are the strings "NaN", "Infinity", "-Infinity". Only this type knows the names.
enum ExtraCoding {
    enum Key: String, CaseIterable {
        case valMSE = "val_mse", naiveValMSE = "naive_val_mse", epochs, bestEpoch = "best_epoch"
        case promoted, challengerHoldout = "challenger_holdout", incumbentHoldout = "incumbent_holdout"
    }

    /// A stored object that is not a whole set of known names (one of a pair missing, a count that is not whole).
    struct Inconsistent: Error {}

    static func encode(_ details: TrainingDetails) throws -> String {
        var values: [String: Double] = [:]
        if let validation = details.sequenceValidation {
            values[Key.valMSE.rawValue] = validation.mse
            values[Key.naiveValMSE.rawValue] = validation.naiveMSE
            if let epochs = validation.epochs { values[Key.epochs.rawValue] = Double(epochs) }
            if let best = validation.bestEpoch { values[Key.bestEpoch.rawValue] = Double(best) }
        }
        if let verdict = details.promotion {
            values[Key.promoted.rawValue] = verdict.promoted ? 1 : 0
            values[Key.challengerHoldout.rawValue] = verdict.challengerHoldout
            values[Key.incumbentHoldout.rawValue] = verdict.incumbentHoldout
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(values), as: UTF8.self)
    }

    /// Names this build does not know are passed over (a newer build's measurements); known names must form
    /// whole sets.
    static func decode(_ text: String) throws -> TrainingDetails {
        if text == "{}" { return .none }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        let values = try decoder.decode([String: Double].self, from: Data(text.utf8))
        func value(_ key: Key) -> Double? { values[key.rawValue] }
        func count(_ key: Key) throws -> Int? {
            guard let number = value(key) else { return nil }
            guard number.isFinite, number == number.rounded(), number >= 0, number <= 1e9 else { throw Inconsistent() }
            return Int(number)
        }
        var details = TrainingDetails.none
        switch (value(.valMSE), value(.naiveValMSE)) {
        case (nil, nil): break
        case (let mse?, let naive?):
            details.sequenceValidation = SequenceValidation(mse: mse, naiveMSE: naive, epochs: try count(.epochs),
                                                            bestEpoch: try count(.bestEpoch))
        default: throw Inconsistent()
        }
        switch (value(.promoted), value(.challengerHoldout), value(.incumbentHoldout)) {
        case (nil, nil, nil): break
        case (let promoted?, let challenger?, let incumbent?) where promoted == 0 || promoted == 1:
            details.promotion = PromotionVerdict(promoted: promoted == 1, challengerHoldout: challenger, incumbentHoldout: incumbent)
        default: throw Inconsistent()
        }
        return details
    }
}

/// The rules a stored replay entry follows, shared by writing and reading.
enum ReplayCheck {
    static func tiersText(_ tiers: [Int]) -> String { tiers.map(String.init).joined(separator: ",") }

    /// `1,2` → [1, 2]; nil unless ascending tier numbers.
    static func tiers(_ text: String) -> [Int]? {
        let numbers = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.allSatisfy({ $0 != nil }) else { return nil }
        let tiers = numbers.compactMap { $0 }
        guard tiers.allSatisfy((1...Tier.all.count).contains), zip(tiers, tiers.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return nil
        }
        return tiers
    }

    /// Why `replay` cannot be stored (or was not stored by lgc-shell); nil when it is fine.
    static func problem(_ replay: ReplayEntry) -> String? {
        guard replay.at.isFinite, replay.start.isFinite, replay.end.isFinite, replay.start <= replay.end else {
            return "its times are not finite or out of order"
        }
        guard replay.steps >= 0, replay.scored >= 0, replay.scored <= replay.steps, replay.retrains >= 0 else {
            return "its step, scored or retrain counts are invalid"
        }
        guard replay.trainingSeconds.isFinite, replay.trainingSeconds >= 0,
              [replay.accuracy, replay.neverRetrainAccuracy, replay.everyStepAccuracy]
                .allSatisfy({ $0.map { (0...1).contains($0) } ?? true }) else {
            return "its accuracy or training time is not a valid number"
        }
        guard tiers(tiersText(replay.tiers)) == replay.tiers else { return "its tiers are not ascending tier numbers" }
        guard (replay.compareKey == nil) == (replay.compareValue == nil) else {
            return "a compared run needs both its key and its value"
        }
        for text in [replay.command, replay.policy, replay.compareKey ?? "", replay.compareValue ?? ""]
            where text.utf8.count > SessionLimits.maxStringBytes {
            return "a text field is longer than \(SessionLimits.maxStringBytes) bytes"
        }
        guard replay.reportJSON.utf8.count <= SessionLimits.maxReportBytes,
              replay.reportText.utf8.count <= SessionLimits.maxReportBytes else {
            return "its report is longer than \(SessionLimits.maxReportBytes) bytes"
        }
        // Reading hands the JSON report to tools as an object, so it must be one.
        guard (try? JSONSerialization.jsonObject(with: Data(replay.reportJSON.utf8))) is [String: Any] else {
            return "its JSON report is not a JSON object"
        }
        return nil
    }
}
