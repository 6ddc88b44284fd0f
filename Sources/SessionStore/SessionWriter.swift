import FeedbackLoop
import Foundation
import GRDB
import MarketData

/// Writes session values into an open transaction. Everything written is checked against the same rules
/// the reader enforces, so a write can never produce a file that reading refuses.
struct SessionWriter {
    let db: Database

    func apply(_ change: SessionChange) throws {
        if let series = change.series { try replaceSeries(series) }
        if let config = change.config { try replaceConfig(config) }
        if let offset = change.clockOffset { try setMeta("clock_offset", finite(offset, "the clock offset")) }
        if !change.newRecords.isEmpty {
            try checkCount("training_runs", adding: change.newRecords.count, limit: SessionLimits.maxRecords,
                           what: "training records")
            for record in change.newRecords { try insertRecord(record) }
        }
        if !change.newModels.isEmpty {
            try checkCount("model_versions", adding: change.newModels.count, limit: SessionLimits.maxModels,
                           what: "model versions")
            for model in change.newModels { try insertModel(model) }
        }
        if let versions = change.currentVersions { try replaceCurrentVersions(versions) }
        if !change.newOutcomes.isEmpty { try appendOutcomes(change.newOutcomes) }
        if let pending = change.pending { try replacePending(pending) }
        if !change.newPredictions.isEmpty { try appendPredictions(change.newPredictions) }
        if let tiers = change.tierState { try replaceTiers(lastTraining: tiers.lastTraining, logMarks: tiers.logMarks) }
        if !change.newReplays.isEmpty { try appendReplays(change.newReplays) }
        if let command = change.command {
            try checkCount("commands", adding: 1, limit: SessionLimits.maxCommands, what: "commands")
            try insertCommand(command)
        }
        if let name = change.name { try setName(name) }
    }

    /// Writes the meta rows of an empty session and the default config.
    func initialise(createdAt: TimeInterval) throws {
        try setMeta("format", "lgc-session")
        try setMeta("created_at", createdAt)
        try setMeta("clock_offset", 0.0)
        try setMeta("total_logged", 0)
        try setMeta("total_correct", 0)
        try replaceConfig(LoopConfig())
    }

    /// Replaces every value with `state`'s, keeping `format` and `created_at`.
    func replaceAll(with state: SessionState) throws {
        guard state.totalLogged == state.outcomes.count,
              state.totalCorrect == state.outcomes.lazy.filter(\.correct).count else {
            throw SessionError.invalidChange(
                "totals (\(state.totalLogged) logged, \(state.totalCorrect) correct) do not match the \(state.outcomes.count) outcomes")
        }
        guard state.history.count <= SessionLimits.maxRecords, state.models.count <= SessionLimits.maxModels,
              state.commands.count <= SessionLimits.maxCommands, state.replays.count <= SessionLimits.maxReplays else {
            throw SessionError.invalidChange("more training records, model versions or commands than a session holds")
        }
        for table in ["series", "bars", "training_runs", "model_versions", "current_versions", "outcomes", "pending",
                      "predictions", "tiers", "commands", "replays"] {
            try db.execute(sql: "DELETE FROM \(table)")
        }
        try db.execute(sql: "DELETE FROM meta WHERE key NOT IN ('format', 'created_at')")
        try setMeta("total_logged", 0)
        try setMeta("total_correct", 0)
        if let series = state.series { try replaceSeries(series) }
        try replaceConfig(state.config)
        try setMeta("clock_offset", finite(state.clockOffset, "the clock offset"))
        for record in state.history { try insertRecord(record) }
        for model in state.models { try insertModel(model) }
        try replaceCurrentVersions(state.currentVersions)
        try appendOutcomes(state.outcomes)
        try replacePending(state.pending)
        try appendPredictions(state.predictions)
        try replaceTiers(lastTraining: state.lastTraining, logMarks: state.logMarks)
        for command in state.commands { try insertCommand(command) }
        try appendReplays(state.replays)
        try setName(state.name)
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

    private func setName(_ name: String?) throws {
        if let name {
            try checkString(name, "the session name")
            try setMeta("name", name)
        } else {
            try db.execute(sql: "DELETE FROM meta WHERE key = 'name'")
        }
    }

    private func replaceSeries(_ series: PriceSeries) throws {
        guard series.bars.count <= SessionLimits.maxBars else {
            throw SessionError.invalidChange("\(series.bars.count) bars; a session holds at most \(SessionLimits.maxBars)")
        }
        try checkString(series.symbol, "the symbol")
        try checkString(series.source, "the data source")
        var previous = -Double.infinity
        for (index, bar) in series.bars.enumerated() {
            guard bar.time.isFinite, bar.open.isFinite, bar.high.isFinite, bar.low.isFinite, bar.close.isFinite,
                  bar.volume.isFinite else {
                throw SessionError.invalidChange("bar \(index + 1) holds a value that is not a finite number")
            }
            guard bar.time >= previous else {
                throw SessionError.invalidChange("bar \(index + 1) is earlier than the bar before it")
            }
            previous = bar.time
        }
        try db.execute(sql: "DELETE FROM bars")
        try db.execute(sql: "INSERT OR REPLACE INTO series (id, symbol, source) VALUES (1, ?, ?)",
                       arguments: [series.symbol, series.source])
        let insert = try db.cachedStatement(sql: "INSERT INTO bars (i, time, open, high, low, close, volume) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for (index, bar) in series.bars.enumerated() {
            try insert.execute(arguments: [index, bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume])
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

    private func insertRecord(_ record: TrainingRecord) throws {
        try db.cachedStatement(sql: """
            INSERT INTO training_runs (time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows,
                seconds, extra, data_start, data_end, data_symbol, data_interval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: try recordArguments(record))
    }

    private func insertModel(_ blob: ModelBlob) throws {
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
        let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM model_versions WHERE model = ? AND version = ?",
                                       arguments: [model, version]) ?? false
        if exists { throw SessionError.invalidChange("model \(model) v\(version) is stored already") }
        let total = try Int.fetchOne(db, sql: "SELECT coalesce(sum(bytes), 0) FROM model_versions") ?? 0
        guard total + blob.data.count <= SessionLimits.maxTotalBlobBytes else {
            throw SessionError.invalidChange("model blobs would exceed \(SessionLimits.maxTotalBlobBytes) bytes in all")
        }
        var arguments = try recordArguments(blob.record)
        arguments += [blob.format, blob.data.count, SHA256.hex(blob.data), blob.dataStart, blob.dataEnd, blob.data]
        try db.cachedStatement(sql: """
            INSERT INTO model_versions (time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows,
                seconds, extra, data_start, data_end, data_symbol, data_interval, format, bytes, sha256, blob_start,
                blob_end, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments)
    }

    private func replaceCurrentVersions(_ versions: [ModelKind: Int]) throws {
        try db.execute(sql: "DELETE FROM current_versions")
        for (model, version) in versions.sorted(by: { $0.key < $1.key }) {
            guard version >= 0 else { throw SessionError.invalidChange("\(model.rawValue) version \(version) is negative") }
            try db.execute(sql: "INSERT INTO current_versions (model, version) VALUES (?, ?)",
                           arguments: [model.rawValue, version])
        }
    }

    private func appendOutcomes(_ outcomes: [ScoredPrediction]) throws {
        var logged = try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'total_logged'") ?? 0
        var correct = try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'total_correct'") ?? 0
        guard logged + outcomes.count <= SessionLimits.maxOutcomes else {
            throw SessionError.invalidChange("a session holds at most \(SessionLimits.maxOutcomes) scored predictions")
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outcomes (sequence, predicted, actual, correct, scored_at, signal, ensemble, price, bar_time,
                made_at, p_logistic, p_xgboost, p_lstm, w_logistic, w_xgboost, w_lstm, realised_return)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for outcome in outcomes {
            // The log is rebuilt by appending, so sequences must run 1, 2, 3 … and `correct` must follow the signals.
            guard outcome.sequence == logged + 1 else {
                throw SessionError.invalidChange("outcome #\(outcome.sequence) does not follow the stored log (next is #\(logged + 1))")
            }
            guard outcome.correct == (outcome.predicted == outcome.actual), outcome.scoredAt.isFinite else {
                throw SessionError.invalidChange("outcome #\(outcome.sequence) is inconsistent (correct flag or time)")
            }
            var arguments: StatementArguments = [outcome.sequence, outcome.predicted.rawValue, outcome.actual.rawValue,
                                                 outcome.correct, outcome.scoredAt]
            arguments += try predictionArguments(outcome.prediction, what: "outcome #\(outcome.sequence)")
            if let realised = outcome.realisedReturn, !(realised.isFinite && realised >= -1) {
                throw SessionError.invalidChange("outcome #\(outcome.sequence) has an impossible return \(realised)")
            }
            arguments += [outcome.realisedReturn]
            try insert.execute(arguments: arguments)
            logged += 1
            if outcome.correct { correct += 1 }
        }
        try setMeta("total_logged", logged)
        try setMeta("total_correct", correct)
    }

    private func appendPredictions(_ predictions: [Prediction]) throws {
        try checkCount("predictions", adding: predictions.count, limit: SessionLimits.maxOutcomes, what: "predictions")
        let insert = try db.cachedStatement(sql: """
            INSERT INTO predictions (signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm,
                w_logistic, w_xgboost, w_lstm) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for prediction in predictions {
            try insert.execute(arguments: try predictionArguments(prediction, what: "a prediction"))
        }
    }

    private func replacePending(_ pending: Prediction?) throws {
        try db.execute(sql: "DELETE FROM pending")
        guard let pending else { return }
        var arguments: StatementArguments = [1]
        arguments += try predictionArguments(pending, what: "the pending prediction")
        try db.execute(sql: """
            INSERT INTO pending (id, signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm,
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

    private func replaceTiers(lastTraining: [Int: TimeInterval], logMarks: [Int: Int]) throws {
        try db.execute(sql: "DELETE FROM tiers")
        for tier in Set(lastTraining.keys).union(logMarks.keys).sorted() {
            guard (1...Tier.all.count).contains(tier) else { throw SessionError.invalidChange("there is no tier \(tier)") }
            let time = lastTraining[tier], mark = logMarks[tier]
            guard time?.isFinite ?? true, (mark ?? 0) >= 0 else {
                throw SessionError.invalidChange("tier \(tier) has an invalid training time or log mark")
            }
            try db.execute(sql: "INSERT INTO tiers (tier, last_training, log_mark) VALUES (?, ?, ?)",
                           arguments: [tier, time, mark])
        }
    }

    private func insertCommand(_ command: CommandEntry) throws {
        guard command.at.isFinite else { throw SessionError.invalidChange("the command's time is not finite") }
        // A command's record must never fail the command, so overlong text is cut rather than refused.
        try db.cachedStatement(sql: "INSERT INTO commands (at, text, output, ok) VALUES (?, ?, ?, ?)")
            .execute(arguments: [command.at, Self.cut(command.text), Self.cut(command.output), command.ok])
    }

    private func appendReplays(_ replays: [ReplayEntry]) throws {
        var count = try Int.fetchOne(db, sql: "SELECT count(*) FROM replays") ?? 0
        guard count + replays.count <= SessionLimits.maxReplays else {
            throw SessionError.invalidChange("a session holds at most \(SessionLimits.maxReplays) replay reports")
        }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO replays (id, at, command, span_start, span_end, steps, scored, tiers, policy, compare_key,
                compare_value, accuracy, never_retrain_accuracy, every_step_accuracy, retrains, training_seconds,
                cancelled, applied, report_json, report_text)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for replay in replays {
            // Ids run 1, 2, 3 … so `replays show ID` can name the valid range.
            guard replay.id == count + 1 else {
                throw SessionError.invalidChange("replay #\(replay.id) does not follow the stored ones (next is #\(count + 1))")
            }
            if let problem = ReplayCheck.problem(replay) {
                throw SessionError.invalidChange("replay #\(replay.id): \(problem)")
            }
            try insert.execute(arguments: [
                replay.id, replay.at, replay.command, replay.start, replay.end, replay.steps, replay.scored,
                ReplayCheck.tiersText(replay.tiers), replay.policy, replay.compareKey, replay.compareValue,
                replay.accuracy, replay.neverRetrainAccuracy, replay.everyStepAccuracy, replay.retrains,
                replay.trainingSeconds, replay.cancelled, replay.applied, replay.reportJSON, replay.reportText,
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
