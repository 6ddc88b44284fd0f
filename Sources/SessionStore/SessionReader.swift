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
        state.config = try readConfig()
        state.assets = try readAssets()
        let count = state.assets.count
        guard (0..<count).contains(meta.focus) else {
            throw damaged("meta.focus is asset \(meta.focus); the session has assets 0…\(count - 1)")
        }
        state.focus = meta.focus
        // Every per-asset row must belong to an asset `assets` lists; tables keyed by asset answer from their index.
        for table in ["series", "bars", "model_versions", "current_versions", "outcomes", "pending", "tiers"] {
            try checkAssetColumn(table, count: count)
        }
        try readSeries(into: &state.assets)
        try readRecords(into: &state.assets)
        try readModels(into: &state.assets)
        try readCurrentVersions(into: &state.assets)
        try readOutcomes(into: &state.assets)
        for (position, asset) in state.assets.enumerated() {
            let correct = asset.outcomes.lazy.filter(\.correct).count
            guard asset.totalLogged == asset.outcomes.count, asset.totalCorrect == correct else {
                throw damaged(SessionWriter.of(position,
                    "totals (\(asset.totalLogged) logged, \(asset.totalCorrect) correct) do not match the \(asset.outcomes.count) stored outcomes"))
            }
        }
        try readPending(into: &state.assets)
        try readPredictions(into: &state.assets)
        try readTiers(into: &state.assets)
        state.commands = try readCommands()
        state.replays = try readReplays(assets: count)
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
        var focus = 0
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
        var meta = Meta()
        meta.clockOffset = try within(try number("clock_offset"), .clockOffset, "meta.clock_offset")
        switch values["focus"]?.storage {
        case nil: meta.focus = 0
        case .int64(let value)? where value >= 0 && value < SessionLimits.maxAssets: meta.focus = Int(value)
        default: throw damaged("meta.focus is not an asset position")
        }
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

    /// The assets `assets` lists, positions 0..<n, each with its log totals (its other values follow).
    private func readAssets() throws -> [StoredAsset] {
        let count = try count("assets", limit: SessionLimits.maxAssets)
        guard count > 0 else { throw damaged("the session has no asset") }
        var assets = [StoredAsset]()
        assets.reserveCapacity(count)
        for row in try Row.fetchAll(db, sql: "SELECT asset, total_logged, total_correct FROM assets ORDER BY asset") {
            guard try int(row, 0) == assets.count else { throw damaged("asset positions do not run 0…\(count - 1)") }
            let logged = try int(row, 1), correct = try int(row, 2)
            guard (0...SessionLimits.maxOutcomes).contains(logged), (0...logged).contains(correct) else {
                throw damaged(SessionWriter.of(assets.count, "the log totals are not counts"))
            }
            var asset = StoredAsset()
            asset.totalLogged = logged
            asset.totalCorrect = correct
            assets.append(asset)
        }
        return assets
    }

    /// Refuses `table` when a row's asset is not one of the `count` assets. Its key leads with `asset`, so the
    /// smallest and largest are one index step each (one query each: SQLite only shortcuts a lone min or max).
    private func checkAssetColumn(_ table: String, count: Int) throws {
        for query in ["min", "max"] {
            guard let asset = try Int.fetchOne(db, sql: "SELECT \(query)(asset) FROM \(table)") else { return }
            try checkAsset(asset, count: count, table)
        }
    }

    private func checkAsset(_ asset: Int, count: Int, _ table: String) throws {
        guard (0..<count).contains(asset) else {
            throw damaged("\(table) holds a row of asset \(asset), which the session does not have")
        }
    }

    private func readSeries(into assets: inout [StoredAsset]) throws {
        _ = try count("series", limit: assets.count)
        try checkLengths("series", ["symbol", "source"])
        _ = try count("bars", limit: SessionLimits.maxBars)
        for position in assets.indices {
            assets[position].series = try readSeries(asset: position)
        }
    }

    private func readSeries(asset: Int) throws -> PriceSeries? {
        let span = try Row.fetchOne(db, sql: "SELECT count(*), min(i), max(i) FROM bars WHERE asset = ?", arguments: [asset])!
        let bars = try int(span, 0)
        guard let row = try Row.fetchOne(db, sql: "SELECT symbol, source FROM series WHERE asset = ?", arguments: [asset]) else {
            guard bars == 0 else { throw damaged(SessionWriter.of(asset, "bars without a series")) }
            return nil
        }
        let symbol = try string(row, 0), source = try string(row, 1)
        if bars > 0 {
            guard try int(span, 1) == 0, try int(span, 2) == bars - 1 else {
                throw damaged(SessionWriter.of(asset, "bar positions have gaps"))
            }
        }
        let label = asset == 0 ? "" : "asset \(asset) "
        var result = [Bar]()
        result.reserveCapacity(bars)
        var previous = -Double.infinity
        let cursor = try Row.fetchCursor(db, sql: "SELECT time, open, high, low, close, volume FROM bars WHERE asset = ? ORDER BY i",
                                         arguments: [asset])
        while let row = try cursor.next() {
            let bar = Bar(time: try double(row, 0), open: try double(row, 1), high: try double(row, 2),
                          low: try double(row, 3), close: try double(row, 4), volume: try double(row, 5))
            // The check `import` and `fetch` make on every bar.
            if let bad = bar.firstOutOfRange {
                throw SessionError.outOfRange(path: path, field: "\(label)bar \(result.count + 1) \(bad.field)",
                                              value: bad.value, bounds: bad.bounds)
            }
            guard bar.time >= previous else {
                throw damaged(SessionWriter.of(asset, "bar \(result.count + 1) is out of time order"))
            }
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

    /// `what`, named after its asset unless that is asset 0 (the words single-asset sessions always had).
    private func label(_ asset: Int, _ what: String) -> String { asset == 0 ? what : "asset \(asset) \(what)" }

    private static let recordColumns = "time, model, version, tier, accuracy, baseline_accuracy, train_rows, test_rows, seconds, extra, data_start, data_end, data_symbol, data_interval"

    /// Every training, one pass over the table in order, each row to its asset.
    private func readRecords(into assets: inout [StoredAsset]) throws {
        _ = try count("training_runs", limit: SessionLimits.maxRecords)
        try checkLengths("training_runs", ["model", "extra", "data_symbol"])
        let cursor = try Row.fetchCursor(db, sql: "SELECT \(Self.recordColumns), asset FROM training_runs ORDER BY id")
        while let row = try cursor.next() {
            let asset = try int(row, 14)
            try checkAsset(asset, count: assets.count, "training_runs")
            assets[asset].history.append(try record(row, label(asset, "training record \(assets[asset].history.count + 1)")))
        }
    }

    /// Every stored model version, one pass over the table in order, each row to its asset.
    private func readModels(into assets: inout [StoredAsset]) throws {
        _ = try count("model_versions", limit: SessionLimits.maxModels)
        try checkLengths("model_versions", ["model", "extra", "sha256", "data_symbol"])
        try checkLengths("model_versions", ["format"], limit: SessionLimits.maxFormatBytes)
        try checkLengths("model_versions", ["data"], limit: SessionLimits.maxBlobBytes)
        let total = try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(data)), 0) FROM model_versions") ?? 0
        guard total <= SessionLimits.maxTotalBlobBytes else {
            throw SessionError.tooLarge(path: path, detail: "model blobs total \(total) bytes (at most \(SessionLimits.maxTotalBlobBytes))")
        }
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT \(Self.recordColumns), format, bytes, sha256, blob_start, blob_end, data, asset FROM model_versions ORDER BY id
            """)
        while let row = try cursor.next() {
            let asset = try int(row, 20)
            try checkAsset(asset, count: assets.count, "model_versions")
            let record = try record(row, label(asset, "model version \(assets[asset].models.count + 1)"))
            let data = try row.decode(Data.self, atIndex: 19)
            guard try int(row, 15) == data.count, try string(row, 16) == SHA256.hex(data) else {
                throw SessionError.checksumMismatch(path: path, model: record.model.rawValue, version: record.version)
            }
            let start = try optionalDouble(row, 17), end = try optionalDouble(row, 18)
            let name = label(asset, "model \(record.model.rawValue) v\(record.version)")
            try within(start, .time, "\(name) data start")
            try within(end, .time, "\(name) data end")
            assets[asset].models.append(ModelBlob(record: record, format: try string(row, 14), data: data,
                                                  dataStart: start, dataEnd: end))
        }
    }

    private func readCurrentVersions(into assets: inout [StoredAsset]) throws {
        _ = try count("current_versions", limit: ModelKind.allCases.count * assets.count)
        try checkLengths("current_versions", ["model"])
        for position in assets.indices {
            var versions: [ModelKind: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT model, version FROM current_versions WHERE asset = ? ORDER BY model",
                                        arguments: [position]) {
                let version = try int(row, 1)
                guard version >= 0 else { throw damaged(SessionWriter.of(position, "a current model version is negative")) }
                versions[try model(try string(row, 0), "current_versions")] = version
            }
            assets[position].currentVersions = versions
        }
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

    private func readOutcomes(into assets: inout [StoredAsset]) throws {
        _ = try count("outcomes", limit: SessionLimits.maxOutcomes)
        try checkLengths("outcomes", ["predicted", "actual", "signal"])
        for position in assets.indices {
            assets[position].outcomes = try readOutcomes(asset: position)
        }
    }

    /// One asset's log, sequences 1…n.
    private func readOutcomes(asset: Int) throws -> [ScoredPrediction] {
        let span = try Row.fetchOne(db, sql: "SELECT count(*), min(sequence), max(sequence) FROM outcomes WHERE asset = ?",
                                    arguments: [asset])!
        let count = try int(span, 0)
        if count > 0 {
            guard try int(span, 1) == 1, try int(span, 2) == count else {
                throw damaged(SessionWriter.of(asset, "outcome sequences do not run 1…\(count)"))
            }
        }
        // The log rebuilds each entry as `PredictionLog.append` made it; capacity 0 keeps none in memory twice.
        var log = PredictionLog(capacity: 0)
        var outcomes = [ScoredPrediction]()
        outcomes.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT sequence, predicted, actual, correct, scored_at, \(Self.predictionColumns), \(realisedColumn)
                FROM outcomes WHERE asset = ? ORDER BY sequence
            """, arguments: [asset])
        let realisedIndex = 5 + Self.predictionColumnCount
        while let row = try cursor.next() {
            let what = label(asset, "outcome #\(outcomes.count + 1)")
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

    /// Every prediction, one pass over the table in order, each row to its asset.
    private func readPredictions(into assets: inout [StoredAsset]) throws {
        _ = try count("predictions", limit: SessionLimits.maxOutcomes)
        try checkLengths("predictions", ["signal"])
        let cursor = try Row.fetchCursor(db, sql: "SELECT \(Self.predictionColumns), asset FROM predictions ORDER BY id")
        while let row = try cursor.next() {
            let asset = try int(row, Self.predictionColumnCount)
            try checkAsset(asset, count: assets.count, "predictions")
            let what = label(asset, "a prediction")
            guard let prediction = try prediction(row, from: 0, what) else { throw damaged("\(what) has no signal") }
            assets[asset].predictions.append(prediction)
        }
    }

    private func readPending(into assets: inout [StoredAsset]) throws {
        _ = try count("pending", limit: assets.count)
        try checkLengths("pending", ["signal"])
        for position in assets.indices {
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.predictionColumns) FROM pending WHERE asset = ?",
                                             arguments: [position]) else { continue }
            let what = label(position, "the pending prediction")
            guard let prediction = try prediction(row, from: 0, what) else { throw damaged("\(what) has no signal") }
            assets[position].pending = prediction
        }
    }

    private func readTiers(into assets: inout [StoredAsset]) throws {
        _ = try count("tiers", limit: Tier.all.count * assets.count)
        for position in assets.indices {
            var times: [Int: TimeInterval] = [:], marks: [Int: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT tier, last_training, log_mark FROM tiers WHERE asset = ? ORDER BY tier",
                                        arguments: [position]) {
                let tier = try int(row, 0)
                let time = try optionalDouble(row, 1), mark = try row.decode(Int?.self, atIndex: 2)
                guard (1...Tier.all.count).contains(tier), (mark ?? 0) >= 0 else {
                    throw damaged(SessionWriter.of(position, "tier state holds an invalid tier, time or log mark"))
                }
                try within(time, .time, label(position, "tier\(tier) last training"))
                times[tier] = time
                marks[tier] = mark
            }
            assets[position].lastTraining = times
            assets[position].logMarks = marks
        }
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

    /// The stored replay reports, ids 1…n, each checked as the writer checks it; `assets`: how many the session has
    /// (nil: count them).
    func readReplays(assets: Int? = nil) throws -> [ReplayEntry] {
        let assets = try assets ?? (Int.fetchOne(db, sql: "SELECT count(*) FROM assets") ?? 0)
        let count = try count("replays", limit: SessionLimits.maxReplays)
        try checkLengths("replays", ["command", "tiers", "policy", "compare_key", "compare_value"])
        try checkLengths("replays", ["report_json", "report_text"], limit: SessionLimits.maxReportBytes)
        var replays = [ReplayEntry]()
        replays.reserveCapacity(count)
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT id, at, command, span_start, span_end, steps, scored, tiers, policy, compare_key, compare_value,
                accuracy, never_retrain_accuracy, every_step_accuracy, retrains, training_seconds, cancelled, applied,
                report_json, report_text, asset FROM replays ORDER BY id
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
                applied: applied == 1, reportJSON: try string(row, 18), reportText: try string(row, 19),
                asset: try row.decode(Int?.self, atIndex: 20))
            try within(entry.at, .time, "\(what) time")
            try within(entry.start, .time, "\(what) start")
            try within(entry.end, .time, "\(what) end")
            if let problem = ReplayCheck.problem(entry) { throw damaged("\(what): \(problem)") }
            if let asset = entry.asset, !(0..<assets).contains(asset) {
                throw damaged("\(what) ran on asset \(asset), which the session does not have")
            }
            replays.append(entry)
        }
        return replays
    }
}
