import FeedbackLoop
import Foundation
import GRDB
import MarketData

/// Reads a whole session and checks everything against the format's rules. The file is untrusted:
/// every count and size is bounded before anything of that size is loaded.
struct SessionReader {
    let db: Database
    let path: String

    private func damaged(_ detail: String) -> SessionError { .damaged(path: path, detail: detail) }

    /// `value` when it is within `bounds` — the same bound `set`, `import` and `fetch` apply; `what` names it otherwise.
    @discardableResult
    private func within(_ value: Double, _ bounds: Bounded, _ what: String) throws -> Double {
        guard bounds.contains(value) else { throw SessionError.outOfRange(path: path, field: what, value: value, bounds: bounds) }
        return value
    }

    private func within(_ value: Double?, _ bounds: Bounded, _ what: String) throws {
        if let value { try within(value, bounds, what) }
    }

    /// The most problems `integrity_check` is asked to list.
    static let integrityLimit = 100

    /// SQLite's report made one error: its rows may hold several problems, one per line, under a
    /// `*** in database main ***` heading; the error names the first and counts the others.
    static func integrityError(_ report: [String], path: String) -> SessionError {
        let problems = report.flatMap { $0.split(whereSeparator: \.isNewline) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !($0.hasPrefix("***") && $0.hasSuffix("***")) }
        guard let first = problems.first else {
            return .integrity(path: path, first: "no answer", others: 0, atLeast: false)
        }
        return .integrity(path: path, first: first, others: problems.count - 1, atLeast: problems.count >= integrityLimit)
    }

    func read() throws -> SessionState {
        let report = try String.fetchAll(db, sql: "PRAGMA integrity_check(\(Self.integrityLimit))")
        guard report == ["ok"] else { throw Self.integrityError(report, path: path) }
        var state = SessionState()
        let meta = try readMeta()
        state.clockOffset = meta.clockOffset
        state.name = meta.name
        state.totalLogged = meta.totalLogged
        state.totalCorrect = meta.totalCorrect
        state.config = try readConfig()
        state.series = try readSeries()
        state.history = try readRecords()
        state.models = try readModels()
        state.currentVersions = try readCurrentVersions()
        state.outcomes = try readOutcomes()
        let correct = state.outcomes.lazy.filter(\.correct).count
        guard state.totalLogged == state.outcomes.count, state.totalCorrect == correct else {
            throw damaged("totals (\(state.totalLogged) logged, \(state.totalCorrect) correct) do not match the \(state.outcomes.count) stored outcomes")
        }
        state.pending = try readPending()
        state.predictions = try readPredictions()
        (state.lastTraining, state.logMarks) = try readTiers()
        state.commands = try readCommands()
        state.replays = try readReplays()
        return state
    }

    // MARK: - Bounds

    /// Rows in `table`, refused above `limit`.
    private func count(_ table: String, limit: Int) throws -> Int {
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        guard count <= limit else {
            throw SessionError.tooLarge(path: path, detail: "\(table) has \(count) rows (at most \(limit))")
        }
        return count
    }

    /// Refuses the table when any of `columns` holds a value longer than `limit` bytes.
    private func checkLengths(_ table: String, _ columns: [String], limit: Int = SessionLimits.maxStringBytes) throws {
        let select = columns.map { "max(length(CAST(\($0) AS BLOB)))" }.joined(separator: ", ")
        guard let row = try Row.fetchOne(db, sql: "SELECT \(select) FROM \(table)") else { return }
        for (index, column) in columns.enumerated() {
            let longest = try row.decode(Int?.self, atIndex: index) ?? 0
            guard longest <= limit else {
                throw SessionError.tooLarge(path: path, detail: "\(table).\(column) holds \(longest) bytes (at most \(limit))")
            }
        }
    }

    private func double(_ row: Row, _ index: Int) throws -> Double { try row.decode(Double.self, atIndex: index) }
    private func optionalDouble(_ row: Row, _ index: Int) throws -> Double? { try row.decode(Double?.self, atIndex: index) }
    private func int(_ row: Row, _ index: Int) throws -> Int { try row.decode(Int.self, atIndex: index) }
    private func string(_ row: Row, _ index: Int) throws -> String { try row.decode(String.self, atIndex: index) }

    private func model(_ text: String, _ what: String) throws -> ModelKind {
        guard let model = ModelKind(rawValue: text) else { throw damaged("\(what) names an unknown model '\(text.prefix(40))'") }
        return model
    }

    private func signal(_ text: String, _ what: String) throws -> Signal {
        guard let signal = Signal(rawValue: text) else { throw damaged("\(what) holds an unknown signal '\(text.prefix(40))'") }
        return signal
    }

    // MARK: - Tables

    private struct Meta {
        var clockOffset: TimeInterval = 0
        var name: String?
        var totalLogged = 0
        var totalCorrect = 0
    }

    private func readMeta() throws -> Meta {
        _ = try count("meta", limit: 64)
        try checkLengths("meta", ["key", "value"])
        var values: [String: DatabaseValue] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta") {
            values[try string(row, 0)] = row[1] as DatabaseValue
        }
        guard case .string("lgc-session") = values["format"]?.storage else { throw damaged("meta has no format row") }
        func number(_ key: String) throws -> Double {
            switch values[key]?.storage {
            case .double(let value)?: return value
            case .int64(let value)?: return Double(value)
            default: throw damaged("meta.\(key) is missing or not a number")
            }
        }
        func integer(_ key: String) throws -> Int {
            guard case .int64(let value)? = values[key]?.storage, value >= 0, value <= SessionLimits.maxOutcomes else {
                throw damaged("meta.\(key) is missing or not a count")
            }
            return Int(value)
        }
        var meta = Meta()
        meta.clockOffset = try within(try number("clock_offset"), .clockOffset, "meta.clock_offset")
        meta.totalLogged = try integer("total_logged")
        meta.totalCorrect = try integer("total_correct")
        switch values["name"]?.storage {
        case nil, .null?: meta.name = nil
        case .string(let name)?: meta.name = name
        default: throw damaged("meta.name is not text")
        }
        return meta
    }

    private func readConfig() throws -> LoopConfig {
        _ = try count("config", limit: 1000)
        try checkLengths("config", ["key", "value"])
        guard let json = try String.fetchOne(db, sql: "SELECT value FROM config WHERE key = ?",
                                             arguments: [ConfigCheck.jsonKey]) else {
            throw damaged("the config has no \(ConfigCheck.jsonKey) row")
        }
        let config: LoopConfig
        do {
            config = try ConfigCheck.decode(json)
        } catch {
            throw damaged("the config is not valid JSON of lgc-shell settings")
        }
        switch ConfigCheck.problem(config) {
        case nil: break
        case .outOfRange(let key, let value, let bounds)?:
            throw SessionError.outOfRange(path: path, field: "config \(key)", value: value, bounds: bounds)
        case .invalid(let message)?:
            throw damaged("config: \(message)")
        }
        return config
    }

    private func readSeries() throws -> PriceSeries? {
        _ = try count("series", limit: 1)
        try checkLengths("series", ["symbol", "source"])
        let bars = try count("bars", limit: SessionLimits.maxBars)
        guard let row = try Row.fetchOne(db, sql: "SELECT symbol, source FROM series") else {
            guard bars == 0 else { throw damaged("bars without a series") }
            return nil
        }
        let symbol = try string(row, 0), source = try string(row, 1)
        if bars > 0 {
            let span = try Row.fetchOne(db, sql: "SELECT min(i), max(i) FROM bars")!
            guard try int(span, 0) == 0, try int(span, 1) == bars - 1 else { throw damaged("bar positions have gaps") }
        }
        var result = [Bar]()
        result.reserveCapacity(bars)
        var previous = -Double.infinity
        let cursor = try Row.fetchCursor(db, sql: "SELECT time, open, high, low, close, volume FROM bars ORDER BY i")
        while let row = try cursor.next() {
            let bar = Bar(time: try double(row, 0), open: try double(row, 1), high: try double(row, 2),
                          low: try double(row, 3), close: try double(row, 4), volume: try double(row, 5))
            // The check `import` and `fetch` make on every bar.
            if let bad = bar.firstOutOfRange {
                throw SessionError.outOfRange(path: path, field: "bar \(result.count + 1) \(bad.field)", value: bad.value,
                                              bounds: bad.bounds)
            }
            guard bar.time >= previous else { throw damaged("bar \(result.count + 1) is out of time order") }
            previous = bar.time
            result.append(bar)
        }
        return PriceSeries(symbol: symbol, source: source, bars: result)
    }

    /// A record from columns time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows, seconds,
    /// extra, data_start, data_end, data_symbol, data_interval.
    private func record(_ row: Row, _ what: String) throws -> TrainingRecord {
        let model = try model(try string(row, 1), what)
        let version = try int(row, 2), tier = try int(row, 3), trainRows = try int(row, 6), testRows = try int(row, 7)
        let time = try within(try double(row, 0), .time, "\(what) time")
        guard version >= 0, (1...Tier.all.count).contains(tier), trainRows >= 0, testRows >= 0 else {
            throw damaged("\(what) has an invalid time, version, tier or row count")
        }
        let dataStart = try optionalDouble(row, 10), dataEnd = try optionalDouble(row, 11)
        try within(dataStart, .time, "\(what) data start")
        try within(dataEnd, .time, "\(what) data end")
        let dataSymbol = try row.decode(String?.self, atIndex: 12), dataInterval = try optionalDouble(row, 13)
        try within(dataInterval, .duration, "\(what) bar interval")
        let details: TrainingDetails
        do {
            details = try ExtraCoding.decode(try string(row, 9))
        } catch {
            throw damaged("\(what) has unreadable extra metrics")
        }
        return TrainingRecord(time: time, model: model, version: version, tier: tier,
                              accuracy: try optionalDouble(row, 4) ?? .nan,
                              baselineAccuracy: try optionalDouble(row, 5) ?? .nan,
                              trainRows: trainRows, testRows: testRows, seconds: try optionalDouble(row, 8) ?? .nan,
                              details: details, dataStart: dataStart, dataEnd: dataEnd,
                              dataSymbol: dataSymbol, dataInterval: dataInterval)
    }

    private static let recordColumns = "time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows, seconds, extra, data_start, data_end, data_symbol, data_interval"

    private func readRecords() throws -> [TrainingRecord] {
        let count = try count("training_runs", limit: SessionLimits.maxRecords)
        try checkLengths("training_runs", ["model", "extra", "data_symbol"])
        var records = [TrainingRecord]()
        records.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: "SELECT \(Self.recordColumns) FROM training_runs ORDER BY id")
        while let row = try cursor.next() {
            records.append(try record(row, "training record \(records.count + 1)"))
        }
        return records
    }

    private func readModels() throws -> [ModelBlob] {
        let count = try count("model_versions", limit: SessionLimits.maxModels)
        try checkLengths("model_versions", ["model", "extra", "sha256", "data_symbol"])
        try checkLengths("model_versions", ["format"], limit: SessionLimits.maxFormatBytes)
        try checkLengths("model_versions", ["data"], limit: SessionLimits.maxBlobBytes)
        let total = try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(data)), 0) FROM model_versions") ?? 0
        guard total <= SessionLimits.maxTotalBlobBytes else {
            throw SessionError.tooLarge(path: path, detail: "model blobs total \(total) bytes (at most \(SessionLimits.maxTotalBlobBytes))")
        }
        var models = [ModelBlob]()
        models.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT \(Self.recordColumns), format, bytes, sha256, blob_start, blob_end, data FROM model_versions ORDER BY id
            """)
        while let row = try cursor.next() {
            let record = try record(row, "model version \(models.count + 1)")
            let data = try row.decode(Data.self, atIndex: 19)
            guard try int(row, 15) == data.count, try string(row, 16) == SHA256.hex(data) else {
                throw SessionError.checksumMismatch(path: path, model: record.model.rawValue, version: record.version)
            }
            let start = try optionalDouble(row, 17), end = try optionalDouble(row, 18)
            try within(start, .time, "model \(record.model.rawValue) v\(record.version) data start")
            try within(end, .time, "model \(record.model.rawValue) v\(record.version) data end")
            models.append(ModelBlob(record: record, format: try string(row, 14), data: data, dataStart: start, dataEnd: end))
        }
        return models
    }

    private func readCurrentVersions() throws -> [ModelKind: Int] {
        _ = try count("current_versions", limit: ModelKind.allCases.count)
        try checkLengths("current_versions", ["model"])
        var versions: [ModelKind: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT model, version FROM current_versions") {
            let version = try int(row, 1)
            guard version >= 0 else { throw damaged("a current model version is negative") }
            versions[try model(try string(row, 0), "current_versions")] = version
        }
        return versions
    }

    private static let predictionColumns = "signal, ensemble, price, bar_time, made_at, p_logistic, p_xgboost, p_lstm, w_logistic, w_xgboost, w_lstm"
    private static let predictionColumnCount = 11
    private let realisedColumn = "realised_return"

    /// The prediction in the 11 columns starting at `first`; nil when `signal` is NULL.
    private func prediction(_ row: Row, from first: Int, _ what: String) throws -> Prediction? {
        guard let signalText = try row.decode(String?.self, atIndex: first) else {
            for index in first..<(first + 11) where !(row[index] as DatabaseValue).isNull {
                throw damaged("\(what) has prediction values without a signal")
            }
            return nil
        }
        guard let ensemble = try optionalDouble(row, first + 1), let price = try optionalDouble(row, first + 2),
              let barTime = try optionalDouble(row, first + 3), let madeAt = try optionalDouble(row, first + 4),
              ensemble.isFinite else {
            throw damaged("\(what) has a prediction with missing or non-finite values")
        }
        // The bounds `import` applies to a price and every source to a time.
        try within(price, .price, "\(what) price")
        try within(barTime, .time, "\(what) bar time")
        try within(madeAt, .time, "\(what) time made")
        var models = [ModelProbability](), weights = [ModelProbability]()
        for (offset, model) in Schema.predictionModels.enumerated() {
            if let value = try optionalDouble(row, first + 5 + offset) { models.append(ModelProbability(model: model, value: value)) }
            if let value = try optionalDouble(row, first + 8 + offset) { weights.append(ModelProbability(model: model, value: value)) }
        }
        guard models.allSatisfy({ $0.value.isFinite }), weights.allSatisfy({ $0.value.isFinite }) else {
            throw damaged("\(what) has a non-finite model probability or weight")
        }
        let fields = PredictionFields(signal: try signal(signalText, what), ensemble: ensemble, price: price,
                                      barTime: barTime, madeAt: madeAt, models: models, weights: weights)
        do {
            return try fields.prediction()
        } catch {
            throw damaged("\(what): its prediction does not match this lgc-shell's Prediction")
        }
    }

    private func readOutcomes() throws -> [ScoredPrediction] {
        let count = try count("outcomes", limit: SessionLimits.maxOutcomes)
        try checkLengths("outcomes", ["predicted", "actual", "signal"])
        if count > 0 {
            let span = try Row.fetchOne(db, sql: "SELECT min(sequence), max(sequence) FROM outcomes")!
            guard try int(span, 0) == 1, try int(span, 1) == count else {
                throw damaged("outcome sequences do not run 1…\(count)")
            }
        }
        // The log rebuilds each entry as `PredictionLog.append` made it; capacity 0 keeps none in memory twice.
        var log = PredictionLog(capacity: 0)
        var outcomes = [ScoredPrediction]()
        outcomes.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT sequence, predicted, actual, correct, scored_at, \(Self.predictionColumns), \(realisedColumn)
                FROM outcomes ORDER BY sequence
            """)
        let realisedIndex = 5 + Self.predictionColumnCount
        while let row = try cursor.next() {
            let what = "outcome #\(outcomes.count + 1)"
            let predicted = try signal(try string(row, 1), what), actual = try signal(try string(row, 2), what)
            let correct = try int(row, 3), scoredAt = try within(try double(row, 4), .time, "\(what) time scored")
            guard correct == (predicted == actual ? 1 : 0) else {
                throw damaged("\(what) is inconsistent (correct flag or time)")
            }
            var realised: Double?
            if !row.hasNull(atIndex: realisedIndex) {
                let value = try double(row, realisedIndex)
                guard value.isFinite, value >= -1 else {
                    throw damaged("\(what) has an impossible realised return \(value)")
                }
                realised = value
            }
            outcomes.append(log.append(predicted: predicted, actual: actual, at: scoredAt,
                                       prediction: try prediction(row, from: 5, what), realisedReturn: realised))
        }
        return outcomes
    }

    private func readPredictions() throws -> [Prediction] {
        _ = try count("predictions", limit: SessionLimits.maxOutcomes)
        try checkLengths("predictions", ["signal"])
        return try Row.fetchAll(db, sql: "SELECT \(Self.predictionColumns) FROM predictions ORDER BY id").map { row in
            guard let prediction = try prediction(row, from: 0, "a prediction") else { throw damaged("a prediction has no signal") }
            return prediction
        }
    }

    private func readPending() throws -> Prediction? {
        _ = try count("pending", limit: 1)
        try checkLengths("pending", ["signal"])
        guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.predictionColumns) FROM pending") else { return nil }
        guard let prediction = try prediction(row, from: 0, "the pending prediction") else {
            throw damaged("the pending prediction has no signal")
        }
        return prediction
    }

    private func readTiers() throws -> ([Int: TimeInterval], [Int: Int]) {
        _ = try count("tiers", limit: Tier.all.count)
        var times: [Int: TimeInterval] = [:], marks: [Int: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT tier, last_training, log_mark FROM tiers") {
            let tier = try int(row, 0)
            let time = try optionalDouble(row, 1), mark = try row.decode(Int?.self, atIndex: 2)
            guard (1...Tier.all.count).contains(tier), (mark ?? 0) >= 0 else {
                throw damaged("tier state holds an invalid tier, time or log mark")
            }
            try within(time, .time, "tier\(tier) last training")
            times[tier] = time
            marks[tier] = mark
        }
        return (times, marks)
    }

    private func readCommands() throws -> [CommandEntry] {
        let count = try count("commands", limit: SessionLimits.maxCommands)
        // The writer's cut leaves room for its marker, so stored text never exceeds the limit.
        try checkLengths("commands", ["text", "output"])
        var commands = [CommandEntry]()
        commands.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: "SELECT at, text, output, ok FROM commands ORDER BY id")
        while let row = try cursor.next() {
            let at = try within(try double(row, 0), .time, "command \(commands.count + 1) time")
            commands.append(CommandEntry(at: at, text: try string(row, 1), output: try string(row, 2), ok: try int(row, 3) != 0))
        }
        return commands
    }

    /// The stored replay reports, ids 1…n, each checked as the writer checks it.
    func readReplays() throws -> [ReplayEntry] {
        let count = try count("replays", limit: SessionLimits.maxReplays)
        try checkLengths("replays", ["command", "tiers", "policy", "compare_key", "compare_value"])
        try checkLengths("replays", ["report_json", "report_text"], limit: SessionLimits.maxReportBytes)
        var replays = [ReplayEntry]()
        replays.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT id, at, command, span_start, span_end, steps, scored, tiers, policy, compare_key, compare_value,
                accuracy, never_retrain_accuracy, every_step_accuracy, retrains, training_seconds, cancelled, applied,
                report_json, report_text FROM replays ORDER BY id
            """)
        while let row = try cursor.next() {
            let what = "replay #\(replays.count + 1)"
            guard try int(row, 0) == replays.count + 1 else { throw damaged("replay ids do not run 1…\(count)") }
            guard let tiers = ReplayCheck.tiers(try string(row, 7)) else { throw damaged("\(what) has invalid tiers") }
            let cancelled = try int(row, 16), applied = try int(row, 17)
            guard [0, 1].contains(cancelled), [0, 1].contains(applied) else {
                throw damaged("\(what) has a cancelled or applied flag that is not 0 or 1")
            }
            let entry = ReplayEntry(
                id: try int(row, 0), at: try double(row, 1), command: try string(row, 2), start: try double(row, 3),
                end: try double(row, 4), steps: try int(row, 5), scored: try int(row, 6), tiers: tiers,
                policy: try string(row, 8), compareKey: try row.decode(String?.self, atIndex: 9),
                compareValue: try row.decode(String?.self, atIndex: 10), accuracy: try optionalDouble(row, 11),
                neverRetrainAccuracy: try optionalDouble(row, 12), everyStepAccuracy: try optionalDouble(row, 13),
                retrains: try int(row, 14), trainingSeconds: try double(row, 15), cancelled: cancelled == 1,
                applied: applied == 1, reportJSON: try string(row, 18), reportText: try string(row, 19))
            try within(entry.at, .time, "\(what) time")
            try within(entry.start, .time, "\(what) start")
            try within(entry.end, .time, "\(what) end")
            if let problem = ReplayCheck.problem(entry) { throw damaged("\(what): \(problem)") }
            replays.append(entry)
        }
        return replays
    }
}
