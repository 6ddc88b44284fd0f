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

    public init(id: Int, at: TimeInterval, command: String, start: TimeInterval, end: TimeInterval, steps: Int,
                scored: Int, tiers: [Int], policy: String, compareKey: String? = nil, compareValue: String? = nil,
                accuracy: Double?, neverRetrainAccuracy: Double? = nil, everyStepAccuracy: Double? = nil,
                retrains: Int, trainingSeconds: Double, cancelled: Bool, applied: Bool, reportJSON: String,
                reportText: String) {
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
    }
}

/// Everything in a session, as values.
public struct SessionState: Sendable, Equatable {
    public var series: PriceSeries?
    public var config: LoopConfig
    public var clockOffset: TimeInterval
    /// Every training, in order.
    public var history: [TrainingRecord]
    /// Every version of every model, in the order they were added.
    public var models: [ModelBlob]
    /// The version in use per model (rollback changes it).
    public var currentVersions: [ModelKind: Int]
    /// The full log: every scored prediction ever, sequences 1, 2, 3 … in order.
    public var outcomes: [ScoredPrediction]
    /// Equal to `outcomes.count`; kept explicit for callers that restore a `PredictionLog`.
    public var totalLogged: Int
    /// Equal to the number of correct outcomes.
    public var totalCorrect: Int
    public var pending: Prediction?
    /// Every prediction `predict` made, scored or not, in order.
    public var predictions: [Prediction] = []
    /// Tier number → time of its last training.
    public var lastTraining: [Int: TimeInterval]
    /// Tier number → log position (`totalLogged`) at its last training.
    public var logMarks: [Int: Int]
    public var commands: [CommandEntry]
    /// Every stored replay report, ids 1, 2, 3 … in order.
    public var replays: [ReplayEntry] = []
    /// The session's own name, set when it is saved (meta row `name`).
    public var name: String?

    public init() {
        series = nil
        config = LoopConfig()
        clockOffset = 0
        history = []
        models = []
        currentVersions = [:]
        outcomes = []
        totalLogged = 0
        totalCorrect = 0
        pending = nil
        lastTraining = [:]
        logMarks = [:]
        commands = []
        name = nil
    }
}

/// What one command changed; `SessionDatabase.apply` writes it in one transaction.
public struct SessionChange: Sendable {
    /// Non-nil: replaces all bars and the series' symbol and source.
    public var series: PriceSeries?
    public var config: LoopConfig?
    public var clockOffset: TimeInterval?
    /// Appended to the training history.
    public var newRecords: [TrainingRecord] = []
    /// Added model versions; a (model, version) pair that exists already is refused.
    public var newModels: [ModelBlob] = []
    /// Non-nil: replaces the whole model → version map.
    public var currentVersions: [ModelKind: Int]?
    /// Appended to the log; their sequences must continue the stored ones (totals follow).
    public var newOutcomes: [ScoredPrediction] = []
    /// `.none` leaves the pending prediction alone, `.some(nil)` clears it.
    public var pending: Prediction?? = .none
    /// Predictions made by this command (appended to every prediction of the session).
    public var newPredictions: [Prediction] = []
    /// Non-nil: replaces every tier's last-training time and log mark.
    public var tierState: (lastTraining: [Int: TimeInterval], logMarks: [Int: Int])?
    /// Replay reports, appended; their ids must continue the stored ones.
    public var newReplays: [ReplayEntry] = []
    /// The command that made the change, appended to the command history.
    public var command: CommandEntry?
    /// `.none` leaves the name alone, `.some(nil)` clears it.
    public var name: String?? = .none

    public init(series: PriceSeries? = nil, config: LoopConfig? = nil, clockOffset: TimeInterval? = nil,
                newRecords: [TrainingRecord] = [], newModels: [ModelBlob] = [],
                currentVersions: [ModelKind: Int]? = nil, newOutcomes: [ScoredPrediction] = [],
                pending: Prediction?? = .none,
                tierState: (lastTraining: [Int: TimeInterval], logMarks: [Int: Int])? = nil,
                newReplays: [ReplayEntry] = [], command: CommandEntry? = nil, name: String?? = .none) {
        self.series = series
        self.config = config
        self.clockOffset = clockOffset
        self.newRecords = newRecords
        self.newModels = newModels
        self.currentVersions = currentVersions
        self.newOutcomes = newOutcomes
        self.pending = pending
        self.tierState = tierState
        self.newReplays = newReplays
        self.command = command
        self.name = name
    }

    /// Whether applying it would change nothing.
    public var isEmpty: Bool {
        series == nil && config == nil && clockOffset == nil && newRecords.isEmpty && newModels.isEmpty
            && currentVersions == nil && newOutcomes.isEmpty && pending == nil && tierState == nil && newPredictions.isEmpty
            && newReplays.isEmpty && command == nil && name == nil
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
    public var symbol: String?
    /// Bars of market data.
    public var rows: Int
    /// Stored model versions.
    public var models: Int
    /// Scored predictions.
    public var predictions: Int
    /// Why the file cannot be loaded (the `SessionError` text); nil for a readable session.
    public var problem: String?

    public init(name: String, path: String, savedAt: TimeInterval?, bytes: Int, symbol: String?, rows: Int,
                models: Int, predictions: Int, problem: String?) {
        self.name = name
        self.path = path
        self.savedAt = savedAt
        self.bytes = bytes
        self.symbol = symbol
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
}
