import FeedbackLoop
import Foundation
import GRDB
import MarketData
@testable import SessionStore

extension SessionChange {
    /// A change to the session-wide values and to asset 0 only, with the labels one asset's change had before format
    /// 5 (tests only; an empty asset part is left out, so a session-wide change stays one).
    static func single(series: PriceSeries? = nil, config: LoopConfig? = nil, clockOffset: TimeInterval? = nil,
                       newRecords: [TrainingRecord] = [], newModels: [ModelBlob] = [],
                       currentVersions: [ModelKind: Int]? = nil, newOutcomes: [ScoredPrediction] = [],
                       pending: Prediction?? = .none, newPredictions: [Prediction] = [],
                       tierState: (lastTraining: [Int: TimeInterval], logMarks: [Int: Int])? = nil,
                       newReplays: [ReplayEntry] = [], command: CommandEntry? = nil,
                       name: String?? = .none) -> SessionChange {
        let asset = AssetUpdate(series: series, newRecords: newRecords, newModels: newModels,
                                currentVersions: currentVersions, newOutcomes: newOutcomes, pending: pending,
                                newPredictions: newPredictions, tierState: tierState)
        return SessionChange(config: config, clockOffset: clockOffset, assets: asset.isEmpty ? [:] : [0: asset],
                             newReplays: newReplays, command: command, name: name)
    }
}

/// A fresh directory per test, removed by the caller's `defer`.
func makeTemporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "lgc-sessions-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A deterministic generator (SplitMix64) so every test run sees the same values.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `Prediction` has no public initialiser; tests build one through its `Codable` conformance.
func makePrediction(signal: Signal, ensemble: Double, models: [(ModelKind, Double)], weights: [(ModelKind, Double)],
                    price: Double, barTime: TimeInterval, madeAt: TimeInterval) -> Prediction {
    struct Shape: Encodable {
        let signal: Signal, ensemble: Double, models: [ModelProbability], weights: [ModelProbability]
        let price: Double, barTime: Double, madeAt: Double
    }
    let shape = Shape(signal: signal, ensemble: ensemble, models: models.map { ModelProbability(model: $0.0, value: $0.1) },
                      weights: weights.map { ModelProbability(model: $0.0, value: $0.1) }, price: price,
                      barTime: barTime, madeAt: madeAt)
    return try! JSONDecoder().decode(Prediction.self, from: JSONEncoder().encode(shape))
}

/// Values chosen to catch lossy storage: thirds, sums that are not what they look like, tiny and huge numbers.
func awkwardSeries(count: Int, seed: UInt64 = 7) -> PriceSeries {
    var generator = SeededGenerator(state: seed)
    var bars = [Bar]()
    bars.reserveCapacity(count)
    var price = 41_234.567_890_123
    for index in 0..<count {
        price *= 1 + Double.random(in: -0.01...0.01, using: &generator)
        let spread = price * Double.random(in: 0...0.003, using: &generator)
        bars.append(Bar(time: 1_700_000_000 + Double(index) * 3600 + 0.1 + 0.2, open: price / 3, high: price + spread,
                        low: price - spread, close: price, volume: index == 0 ? Double.leastNormalMagnitude : Double.random(in: 0...1e12, using: &generator)))
    }
    return PriceSeries(symbol: "BTC-USD", source: "csv:/data/btc ü.csv", bars: bars)
}

func record(_ model: ModelKind, version: Int, time: TimeInterval, details: TrainingDetails = .none) -> TrainingRecord {
    TrainingRecord(time: time, model: model, version: version, tier: model.tier, accuracy: 0.5 + Double(version) / 97,
                   baselineAccuracy: 1.0 / 3, trainRows: 800, testRows: 200, seconds: 0.012_345_678_9, details: details,
                   dataStart: 1_700_000_000.3, dataEnd: time - 0.7)
}

func blob(_ model: ModelKind, version: Int, bytes: Int, seed: UInt64) -> ModelBlob {
    var generator = SeededGenerator(state: seed)
    let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    return ModelBlob(record: record(model, version: version, time: 1_700_100_000 + Double(version)),
                     format: model == .xgboost ? "xgboost-ubj" : model == .lstm ? "lstm-f32-v1" : "lr-json-v1",
                     data: data, dataStart: 1_700_000_000.3, dataEnd: 1_700_099_999.9)
}

/// `count` scored predictions continuing a log that holds `after` entries; with `realisedReturns`, those scored with
/// a prediction carry the move (awkward values: thirds, a total loss, a tiny gain), as automatic scoring records it.
func outcomes(_ count: Int, after: Int = 0, seed: UInt64 = 3, realisedReturns: Bool = true) -> [ScoredPrediction] {
    var generator = SeededGenerator(state: seed)
    var log = PredictionLog(capacity: 0)
    // Advance the log's counter to `after` so sequences continue the stored ones.
    for _ in 0..<after { log.append(predicted: .hold, actual: .hold, at: 0, prediction: nil) }
    return (0..<count).map { index in
        let signals = Signal.allCases
        let predicted = signals[Int.random(in: 0..<3, using: &generator)]
        let actual = signals[Int.random(in: 0..<3, using: &generator)]
        let p = Double.random(in: 0...1, using: &generator)
        let prediction = index % 5 == 4 ? nil : makePrediction(
            signal: predicted, ensemble: p, models: [(.logistic, p / 3), (.xgboost, 0.1 + 0.2)] + (index % 2 == 0 ? [(.lstm, 1e-300)] : []),
            weights: [(.logistic, 0.3), (.xgboost, 0.5)] + (index % 2 == 0 ? [(.lstm, 0.2)] : []),
            price: 40_000 + Double(index) / 7, barTime: 1_700_000_000 + Double(after + index) * 3600,
            madeAt: 1_700_000_000 + Double(after + index) * 3600 + 0.001)
        let moves = [1.0 / 3, -1, 5e-324, -0.001_7]
        return log.append(predicted: predicted, actual: actual, at: 1_700_000_000 + Double(after + index) * 3600 + 3599.5,
                          prediction: prediction,
                          realisedReturn: realisedReturns && prediction != nil ? moves[index % moves.count] : nil)
    }
}

/// A session touching every table, as the changes that built it and the state they should read back as.
/// `realisedReturns: false` leaves the outcomes' returns out, as files before format 4 have none.
func richChanges(realisedReturns: Bool = true) -> (changes: [SessionChange], expected: SessionState) {
    var config = LoopConfig()
    try! config.set("tier1_interval", to: "90m")
    try! config.set("performance_threshold", to: "0.5731")
    try! config.set("xgboost.learning_rate", to: "0.0333")
    try! config.set("lstm.patience", to: "7")
    let series = awkwardSeries(count: 600)
    let first = outcomes(40, realisedReturns: realisedReturns)
    let second = outcomes(25, after: 40, seed: 11, realisedReturns: realisedReturns)
    let pending = makePrediction(signal: .buy, ensemble: 0.61, models: [(.logistic, 0.6), (.xgboost, 0.62)],
                                 weights: [(.logistic, 0.375), (.xgboost, 0.625)], price: 43_210.987_654_321,
                                 barTime: 1_700_360_000, madeAt: 1_700_360_000.25)
    let models = [blob(.logistic, version: 1, bytes: 300, seed: 1), blob(.xgboost, version: 1, bytes: 40_000, seed: 2),
                  blob(.logistic, version: 2, bytes: 310, seed: 3), blob(.lstm, version: 1, bytes: 0, seed: 4)]
    let history = [models[0].record, models[1].record, models[2].record,
                   record(.lstm, version: 1, time: 1_700_200_000, details: TrainingDetails(
                       sequenceValidation: SequenceValidation(mse: 0.001_234_5, naiveMSE: 1.0 / 3, epochs: 50, bestEpoch: nil),
                       promotion: PromotionVerdict(promoted: false, challengerHoldout: 0.5, incumbentHoldout: 2.0 / 3)))]

    var changes = [SessionChange]()
    changes.append(SessionChange.single(series: series, config: config,
                                 command: CommandEntry(at: 1_700_000_000.5, text: "import btc.csv", output: "imported 600 rows", ok: true)))
    changes.append(SessionChange.single(newRecords: Array(history[0...1]), newModels: Array(models[0...1]),
                                 currentVersions: [.logistic: 1, .xgboost: 1],
                                 tierState: ([1: 1_700_100_001, 2: 1_700_100_001], [1: 0, 2: 0]),
                                 command: CommandEntry(at: 1_700_100_002, text: "train tier2", output: "trained", ok: true)))
    var predicted = SessionChange.single(clockOffset: 12_345.678, newOutcomes: first, pending: .some(pending),
                                  command: CommandEntry(at: 1_700_200_000, text: "advance 40h", output: "ü → 40 scored\n", ok: true))
    // Every prediction made is kept, scored or not.
    let unscored = makePrediction(signal: .hold, ensemble: 0.5, models: [(.logistic, 0.5)], weights: [(.logistic, 1)],
                                  price: 43_000.5, barTime: 1_700_350_000, madeAt: 1_700_350_000.5)
    predicted.assets[0]?.newPredictions = [unscored, pending]
    changes.append(predicted)
    changes.append(SessionChange.single(newRecords: Array(history[2...3]), newModels: Array(models[2...3]),
                                 currentVersions: [.logistic: 1, .xgboost: 1, .lstm: 1], newOutcomes: second,
                                 tierState: ([1: 1_700_300_000, 2: 1_700_100_001, 3: 1_700_300_000], [1: 40, 2: 0, 3: 65]),
                                 command: CommandEntry(at: 1_700_300_001, text: "bogus", output: "unknown command", ok: false),
                                 name: .some("research")))

    var expected = SessionState()
    expected.assets[0].series = series
    expected.config = config
    expected.clockOffset = 12_345.678
    expected.assets[0].history = history
    expected.assets[0].models = models
    expected.assets[0].currentVersions = [.logistic: 1, .xgboost: 1, .lstm: 1]
    expected.assets[0].outcomes = first + second
    expected.assets[0].totalLogged = 65
    expected.assets[0].totalCorrect = expected.assets[0].outcomes.filter(\.correct).count
    expected.assets[0].pending = pending
    expected.assets[0].predictions = [unscored, pending]
    expected.assets[0].lastTraining = [1: 1_700_300_000, 2: 1_700_100_001, 3: 1_700_300_000]
    expected.assets[0].logMarks = [1: 40, 2: 0, 3: 65]
    expected.commands = changes.compactMap(\.command)
    expected.name = "research"
    return (changes, expected)
}

/// A session file holding `richChanges()`; returns its path.
func writeRichSession(in directory: String, name: String = "work.lgc",
                      realisedReturns: Bool = true) throws -> (path: String, expected: SessionState) {
    let path = directory + "/" + name
    let database = try SessionDatabase.create(at: path, createdAt: 1_790_000_000)
    defer { database.close() }
    let (changes, expected) = richChanges(realisedReturns: realisedReturns)
    for change in changes { try database.apply(change) }
    return (path, expected)
}

/// Expects `body` to throw exactly `expected`, and returns its description for text checks.
func thrownError(_ body: () throws -> Void) -> SessionError? {
    do {
        try body()
        return nil
    } catch let error as SessionError {
        return error
    } catch {
        return .invalidChange("unexpected error type: \(error)")
    }
}

/// A session file of an older format (1…4) holding `richChanges(realisedReturns: false)` as that format's lgc-shell
/// wrote it: today's writer writes the rows into a current file beside it, and they are copied into the old tables
/// (asset 0's rows; `series` and `pending` get their old `id` 1, `meta` its totals back). `tables`: the old format's
/// schema, as frozen statements (with `grdb_migrations`), instead of the migrations up to `format`.
func writeOldFormatSession(at path: String, format: Int, tables: [String]? = nil) throws -> SessionState {
    let directory = (path as NSString).deletingLastPathComponent
    let (source, expected) = try writeRichSession(in: directory, name: ".source-\(UUID().uuidString).lgc",
                                                  realisedReturns: false)
    defer { FileSafety.remove(source) }
    let queue = try DatabaseQueue(path: path)
    defer { try? queue.close() }
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA application_id = \(Schema.applicationID)")
        guard let tables else { return }
        for statement in tables { try db.execute(sql: statement) }
        try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v1')")
        try db.execute(sql: "PRAGMA user_version = \(format)")
    }
    if tables == nil { try Schema.migrator.migrate(queue, upTo: "v\(format)") }
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "ATTACH DATABASE ? AS current", arguments: [source])
        try db.inTransaction {
            let names = try String.fetchAll(db, sql: """
                SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT IN ('grdb_migrations', 'meta')
                """)
            for table in names {
                let columns = try Row.fetchAll(db, sql: "PRAGMA main.table_info(\(table))").map { $0["name"] as String }
                let values = columns.map { $0 == "id" && ["series", "pending"].contains(table) ? "1" : $0 }
                let filter = table == "commands" || table == "replays" || table == "config" ? "" : "WHERE asset = 0"
                try db.execute(sql: """
                    INSERT INTO main.\(table) (\(columns.joined(separator: ", ")))
                        SELECT \(values.joined(separator: ", ")) FROM current.\(table) \(filter) ORDER BY rowid
                    """)
            }
            try db.execute(sql: "INSERT INTO main.meta (key, value) SELECT key, value FROM current.meta WHERE key <> 'focus'")
            try db.execute(sql: """
                INSERT INTO main.meta (key, value) SELECT 'total_logged', total_logged FROM current.assets WHERE asset = 0
                    UNION ALL SELECT 'total_correct', total_correct FROM current.assets WHERE asset = 0
                """)
            return .commit
        }
        try db.execute(sql: "DETACH DATABASE current")
    }
    return expected
}
