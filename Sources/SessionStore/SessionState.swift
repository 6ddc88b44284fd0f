import FeedbackLoop
import Foundation
import MarketData

/// A trained model version as stored: callers encode and decode `data` per `format`
/// (`lr-json-v1`, `xgboost-ubj`, `lstm-f32-v1`); the store only keeps, checksums and bounds it.
public struct ModelBlob: Sendable, Equatable {
    /// The training that produced this version (model, version, tier, time, accuracy …).
    public var record: TrainingRecord
    /// How `data` is encoded; at most 64 bytes.
    public var format: String
    public var data: Data
    /// Time of the first bar the model was trained on.
    public var dataStart: TimeInterval?
    /// Time of the last bar the model was trained on.
    public var dataEnd: TimeInterval?

    public init(record: TrainingRecord, format: String, data: Data,
                dataStart: TimeInterval? = nil, dataEnd: TimeInterval? = nil) {
        self.record = record
        self.format = format
        self.data = data
        self.dataStart = dataStart
        self.dataEnd = dataEnd
    }
}

/// One command typed in the shell, with what it printed.
public struct CommandEntry: Sendable, Equatable {
    public var at: TimeInterval
    public var text: String
    /// What the command printed; the store cuts it to `SessionLimits.maxStringBytes` (see `SessionDatabase.apply`).
    public var output: String
    public var ok: Bool

    public init(at: TimeInterval, text: String, output: String, ok: Bool) {
        self.at = at
        self.text = text
        self.output = output
        self.ok = ok
    }
}

/// One replay run as stored in the session (table `replays`, format 2): the figures to query, and the report
/// as the `replay` command printed it. A `replay --compare` stores one entry per compared value.
public struct ReplayEntry: Sendable, Equatable {
    /// 1, 2, 3 … in the order the replays ran.
    public var id: Int
    /// The loop's clock when the replay ran.
    public var at: TimeInterval
    /// The command line that ran it.
    public var command: String
    /// Bar times of the first and last step.
    public var start: TimeInterval
    public var end: TimeInterval
    public var steps: Int
    public var scored: Int
    /// Tier numbers that took part, ascending.
    public var tiers: [Int]
    /// The retraining policy of this entry's figures (`triggers`: the loop's own).
    public var policy: String
    /// The config key and value of one `--compare` run; nil otherwise.
    public var compareKey: String?
    public var compareValue: String?
    /// Live accuracy of the policy, and of the two baselines when they ran; nil when nothing was scored.
    public var accuracy: Double?
    public var neverRetrainAccuracy: Double?
    public var everyStepAccuracy: Double?
    public var retrains: Int
    public var trainingSeconds: Double
    /// Stopped by Ctrl-C: the figures cover the steps that ran.
    public var cancelled: Bool
    /// `--apply` installed the replayed loop's models, history and log into the session.
    public var applied: Bool
    /// The JSON object the command printed (for a `--compare` value: that run's report).
    public var reportJSON: String
    /// The text report as it was printed.
    public var reportText: String
    /// The asset (position) the replay ran on; nil for reports stored before format 5.
    public var asset: Int?

    public init(id: Int, at: TimeInterval, command: String, start: TimeInterval, end: TimeInterval, steps: Int,
                scored: Int, tiers: [Int], policy: String, compareKey: String? = nil, compareValue: String? = nil,
                accuracy: Double?, neverRetrainAccuracy: Double? = nil, everyStepAccuracy: Double? = nil,
                retrains: Int, trainingSeconds: Double, cancelled: Bool, applied: Bool, reportJSON: String,
                reportText: String, asset: Int? = nil) {
        self.id = id
        self.at = at
        self.command = command
        self.start = start
        self.end = end
        self.steps = steps
        self.scored = scored
        self.tiers = tiers
        self.policy = policy
        self.compareKey = compareKey
        self.compareValue = compareValue
        self.accuracy = accuracy
        self.neverRetrainAccuracy = neverRetrainAccuracy
        self.everyStepAccuracy = everyStepAccuracy
        self.retrains = retrains
        self.trainingSeconds = trainingSeconds
        self.cancelled = cancelled
        self.applied = applied
        self.reportJSON = reportJSON
        self.reportText = reportText
        self.asset = asset
    }
}

/// One asset's stored values (an asset is a market the session follows; it is known by its position, 0-based).
public struct StoredAsset: Sendable, Equatable {
    public var series: PriceSeries?
    /// Every training, in order.
    public var history: [TrainingRecord]
    /// Every stored version of every model, in the order they were added.
    public var models: [ModelBlob]
    /// The version in use per model (rollback changes it).
    public var currentVersions: [ModelKind: Int]
    /// This asset's full log: every scored prediction ever, sequences 1, 2, 3 … in order.
    public var outcomes: [ScoredPrediction]
    /// Equal to `outcomes.count`; kept explicit for callers that restore a `PredictionLog`.
    public var totalLogged: Int
    /// Equal to the number of correct outcomes.
    public var totalCorrect: Int
    public var pending: Prediction?
    /// Every prediction made for this asset, scored or not, in order.
    public var predictions: [Prediction]
    /// Tier number → time of its last training.
    public var lastTraining: [Int: TimeInterval]
    /// Tier number → log position (`totalLogged`) at its last training.
    public var logMarks: [Int: Int]

    /// An empty asset: no data, no models, an empty log.
    public init() {
        series = nil
        history = []
        models = []
        currentVersions = [:]
        outcomes = []
        totalLogged = 0
        totalCorrect = 0
        pending = nil
        predictions = []
        lastTraining = [:]
        logMarks = [:]
    }
}

/// Everything in a session, as values: the session-wide settings, notebook and replay reports, and every asset.
public struct SessionState: Sendable, Equatable {
    public var config: LoopConfig
    public var clockOffset: TimeInterval
    public var commands: [CommandEntry]
    /// Every stored replay report, ids 1, 2, 3 … in order.
    public var replays: [ReplayEntry]
    /// The session's own name, set when it is saved (meta row `name`).
    public var name: String?
    /// Every asset, by position; never empty (a new session has one empty asset).
    public var assets: [StoredAsset]
    /// The asset commands use by default (index into `assets`).
    public var focus: Int

    /// A new session: default config, one empty asset, focused.
    public init() {
        config = LoopConfig()
        clockOffset = 0
        commands = []
        replays = []
        name = nil
        assets = [StoredAsset()]
        focus = 0
    }
}

/// One asset's part of a `SessionChange`.
public struct AssetUpdate: Sendable {
    /// Non-nil: replaces that asset's bars and its series' symbol and source.
    public var series: PriceSeries?
    /// Appended to the asset's training history.
    public var newRecords: [TrainingRecord] = []
    /// Added model versions; an (asset, model, version) that exists already is refused.
    public var newModels: [ModelBlob] = []
    /// Non-nil: replaces the asset's whole model → version map.
    public var currentVersions: [ModelKind: Int]?
    /// Appended to the asset's log; their sequences must continue this asset's stored ones (its totals follow).
    public var newOutcomes: [ScoredPrediction] = []
    /// `.none` leaves the pending prediction alone, `.some(nil)` clears it.
    public var pending: Prediction?? = .none
    /// Predictions made for this asset (appended to its every prediction).
    public var newPredictions: [Prediction] = []
    /// Non-nil: replaces every tier's last-training time and log mark of this asset.
    public var tierState: (lastTraining: [Int: TimeInterval], logMarks: [Int: Int])?

    public init(series: PriceSeries? = nil, newRecords: [TrainingRecord] = [], newModels: [ModelBlob] = [],
                currentVersions: [ModelKind: Int]? = nil, newOutcomes: [ScoredPrediction] = [],
                pending: Prediction?? = .none, newPredictions: [Prediction] = [],
                tierState: (lastTraining: [Int: TimeInterval], logMarks: [Int: Int])? = nil) {
        self.series = series
        self.newRecords = newRecords
        self.newModels = newModels
        self.currentVersions = currentVersions
        self.newOutcomes = newOutcomes
        self.pending = pending
        self.newPredictions = newPredictions
        self.tierState = tierState
    }

    /// Whether it changes none of the asset's values.
    public var isEmpty: Bool {
        series == nil && newRecords.isEmpty && newModels.isEmpty && currentVersions == nil && newOutcomes.isEmpty
            && pending == nil && newPredictions.isEmpty && tierState == nil
    }
}

/// What one command changed; `SessionDatabase.apply` writes it in one transaction: the session-wide values, then
/// each asset's update in position order, then the focus, the replay reports, the command and the name.
public struct SessionChange: Sendable {
    public var config: LoopConfig?
    public var clockOffset: TimeInterval?
    /// Non-nil: the asset commands use by default; it must be one the session has after this change.
    public var focus: Int?
    /// Per asset, by position. An update for position == the stored asset count adds that asset (even an empty
    /// update), so positions stay contiguous 0..<n; a position beyond that is refused (`SessionError.invalidChange`).
    public var assets: [Int: AssetUpdate] = [:]
    /// Replay reports, appended; their ids must continue the stored ones.
    public var newReplays: [ReplayEntry] = []
    /// The command that made the change, appended to the command history.
    public var command: CommandEntry?
    /// `.none` leaves the name alone, `.some(nil)` clears it.
    public var name: String?? = .none

    public init(config: LoopConfig? = nil, clockOffset: TimeInterval? = nil, focus: Int? = nil,
                assets: [Int: AssetUpdate] = [:], newReplays: [ReplayEntry] = [], command: CommandEntry? = nil,
                name: String?? = .none) {
        self.config = config
        self.clockOffset = clockOffset
        self.focus = focus
        self.assets = assets
        self.newReplays = newReplays
        self.command = command
        self.name = name
    }

    /// Whether applying it would change nothing (an asset update, even an empty one, counts: it may add the asset).
    public var isEmpty: Bool {
        config == nil && clockOffset == nil && focus == nil && assets.isEmpty && newReplays.isEmpty && command == nil
            && name == nil
    }
}

/// One saved session, for the `sessions` command.
public struct SessionSummary: Sendable, Equatable {
    /// The file name without `.lgc`.
    public var name: String
    public var path: String
    public var savedAt: TimeInterval?
    /// File size.
    public var bytes: Int
    /// Every asset's symbol, in position order (assets without data are left out).
    public var symbols: [String]
    /// Bars of market data, of all assets together.
    public var rows: Int
    /// Stored model versions, of all assets.
    public var models: Int
    /// Scored predictions, of all assets.
    public var predictions: Int
    /// Why the file cannot be loaded (the `SessionError` text); nil for a readable session.
    public var problem: String?

    public init(name: String, path: String, savedAt: TimeInterval?, bytes: Int, symbols: [String], rows: Int,
                models: Int, predictions: Int, problem: String?) {
        self.name = name
        self.path = path
        self.savedAt = savedAt
        self.bytes = bytes
        self.symbols = symbols
        self.rows = rows
        self.models = models
        self.predictions = predictions
        self.problem = problem
    }
}

/// Upper bounds on what a session file may hold; reading refuses anything larger, writing too.
public enum SessionLimits {
    public static let maxBars = 10_000_000
    public static let maxOutcomes = 10_000_000
    public static let maxRecords = 10_000_000
    public static let maxCommands = 10_000_000
    public static let maxReplays = 100_000
    /// One replay report (its JSON or its text); a year of hourly steps takes about 0.4 MiB.
    public static let maxReportBytes = 16 << 20
    public static let maxModels = 100_000
    /// One model blob.
    public static let maxBlobBytes = 256 << 20
    /// All model blobs together.
    public static let maxTotalBlobBytes = 4 << 30
    /// Any one string (symbol, command text, command output, config JSON …).
    public static let maxStringBytes = 1 << 20
    /// A model blob's format tag.
    public static let maxFormatBytes = 64
    /// Assets (markets) in one session.
    public static let maxAssets = 1_000
}
