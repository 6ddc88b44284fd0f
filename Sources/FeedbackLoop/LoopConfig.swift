import Foundation
import Learning
import MarketData

/// The feedback loop's tunable settings, with the seed app's defaults.
public struct LoopConfig: Sendable, Equatable, Codable {
    public var tier1Interval: TimeInterval = 3600
    public var tier2Interval: TimeInterval = 21_600
    public var tier3Interval: TimeInterval = 86_400
    /// The live score below which (above, for Brier) a tier is due: see `performanceMetric`.
    public var performanceThreshold = 0.55
    /// What the performance trigger judges (directional accuracy: 0.55 means better than a coin flip on direction).
    public var performanceMetric = PerformanceMetric.directional
    /// With `performance_metric brier`: due when the live Brier score is above this (0.25 is a constant P(up) = 0.5).
    public var brierThreshold = 0.25
    /// On: a tier is due when its live score is worse than its naive baseline's over the same window, instead of
    /// a fixed threshold.
    public var performanceVsBaseline = Switch.off
    public var improvementThreshold = 0.02
    public var evaluationWindow = 10
    public var logWindow = 1000
    public var trendWindow = 5
    public var weightLogistic = 0.3
    public var weightXGBoost = 0.5
    public var weightLSTM = 0.2
    public var buyThreshold = 0.6
    public var sellThreshold = 0.4
    public var testFraction = 0.2
    /// A realised move within ±band counts as HOLD when outcomes are scored automatically.
    public var holdBand = HoldBand.auto
    /// What acting on the signals costs in a replay's P&L: basis points per unit of position change.
    public var feeBps = PnLSettings.defaultFeeBps
    /// Whether a replay's P&L goes short on SELL (on) or stays flat (off).
    public var pnlShort = Switch.on

    /// The P&L settings a replay trades its signals with (HOLD goes flat).
    public var pnlSettings: PnLSettings {
        (try? PnLSettings(feeBps: feeBps, shorting: pnlShort == .on, hold: .flat)) ?? .standard
    }
    public var promotion = Promotion.always
    /// What each tier trains on: its own asset's rows, or the stacked rows of every loaded asset of the same interval.
    public var trainingPool = TrainingPool.own
    public var driftDetector = DriftDetector.off
    public var adaptiveIntervals = Switch.off
    public var ensembleWeighting = EnsembleWeighting.staticWeights
    /// How often auto mode checks the triggers (the seed app's `check_interval`).
    public var checkInterval: TimeInterval = 3600
    /// How old a current model may be (time since its training, on the loop's clock) before `predict` warns that it
    /// is stale.
    public var maxModelAge = ModelAgeLimit.auto
    /// Auto mode's state. Not a `set` key (the `auto` command drives it); kept with the settings so a reloaded or
    /// recovered session resumes it.
    public var automation = Automation()

    public struct Automation: Sendable, Equatable, Codable {
        public var enabled = false
        /// The tiers auto mode may train.
        public var tiers: [Int] = [1, 2, 3]
        /// What refreshes each asset's data at each check, one per asset (by `DataSource.symbol`); an asset imported
        /// from a file has none.
        public private(set) var sources: [DataSource] = []

        /// The source of a session with one asset (the first asset's).
        public var source: DataSource? {
            get { sources.first }
            set { sources = newValue.map { [$0] } ?? [] }
        }

        /// What refreshes the asset `symbol`'s data, if anything.
        public func source(forAsset symbol: String) -> DataSource? {
            sources.first { $0.symbol == symbol }
        }

        /// Makes `source` (nil: none) the one that refreshes the asset `symbol`.
        public mutating func setSource(_ source: DataSource?, forAsset symbol: String) {
            sources.removeAll { $0.symbol == symbol }
            if let source { sources.append(source) }
        }

        public init() {}

        private enum CodingKeys: String, CodingKey { case enabled, tiers, sources, source, refetch }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
            tiers = try container.decodeIfPresent([Int].self, forKey: .tiers) ?? [1, 2, 3]
            // Sessions before several assets stored one `source`; before that, the `fetch` arguments as text
            // (`refetch`): read those once more.
            if let sources = try container.decodeIfPresent([DataSource].self, forKey: .sources) {
                self.sources = sources
            } else if let source = try container.decodeIfPresent(DataSource.self, forKey: .source) {
                self.source = source
            } else if let text = try container.decodeIfPresent(String.self, forKey: .refetch) {
                guard let source = DataSource(legacyArguments: text) else {
                    throw DecodingError.dataCorruptedError(forKey: .refetch, in: container,
                                                           debugDescription: "unreadable data source")
                }
                self.source = source
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(enabled, forKey: .enabled)
            try container.encode(tiers, forKey: .tiers)
            try container.encode(sources, forKey: .sources)
        }
    }

    public enum Switch: String, Sendable, Codable, CaseIterable { case off, on }

    /// How `predict` weights the trained models.
    public enum EnsembleWeighting: String, Sendable, Codable, CaseIterable {
        /// The configured weights.
        case staticWeights = "static"
        /// The configured weights scaled by each model's recent live accuracy (see `LoopEngine.ensembleWeights`).
        case performance
    }
    /// The band of automatic scoring: a realised move within ±band is HOLD, above BUY, below SELL.
    public enum HoldBand: Sendable, Equatable, Codable {
        /// ±`autoMultiple` × the sample standard deviation of the last `autoReturns` bar returns known at the
        /// predicted bar (the returns ending at it: causal). For normal returns Φ(0.43) − Φ(−0.43) ≈ 1/3, so the
        /// three outcomes are about equally likely on any asset and bar interval. With fewer than two returns
        /// known the band is 0.
        case auto
        /// A fixed fraction, e.g. 0.001 = ±0.1 %.
        case fixed(Double)

        public static let autoMultiple = 0.43
        public static let autoReturns = 24

        /// The band for the move after bar `index` of `bars`.
        public func band(at index: Int, bars: [Bar]) -> Double {
            switch self {
            case .fixed(let band): return band
            case .auto:
                let first = max(1, index - Self.autoReturns + 1)
                guard index < bars.count, index - first + 1 >= 2 else { return 0 }
                let returns = (first...index).map { bars[$0].close / bars[$0 - 1].close - 1 }
                let mean = returns.reduce(0, +) / Double(returns.count)
                let variance = returns.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(returns.count - 1)
                let band = Self.autoMultiple * variance.squareRoot()
                return band.isFinite ? band : 0
            }
        }

        /// The `set` key's number: -1 for auto, else the band.
        var number: Double {
            switch self {
            case .auto: return -1
            case .fixed(let band): return band
            }
        }

        init(number: Double) {
            self = number == -1 ? .auto : .fixed(number)
        }

        // One JSON number (-1 auto), so sessions written when the band was a plain number read as `fixed`.
        public init(from decoder: Decoder) throws {
            self.init(number: try decoder.singleValueContainer().decode(Double.self))
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(number)
        }
    }

    /// When a current model counts as stale.
    public enum ModelAgeLimit: Sendable, Equatable, Codable {
        /// Twice the configured interval of the tier that last trained it.
        case auto
        /// Never stale (`max_model_age 0`).
        case never
        /// Stale once older than this many seconds.
        case after(TimeInterval)

        /// The `set` key's number: -1 for auto, 0 for never, else the seconds.
        var number: Double {
            switch self {
            case .auto: return -1
            case .never: return 0
            case .after(let seconds): return seconds
            }
        }

        init(number: Double) {
            self = number == -1 ? .auto : number == 0 ? .never : .after(number)
        }

        // One JSON number (-1 auto, 0 never, else seconds), so the reader's overlay of a stored config on the
        // defaults never mixes two cases' objects.
        public init(from decoder: Decoder) throws {
            self.init(number: try decoder.singleValueContainer().decode(Double.self))
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(number)
        }
    }

    /// The age past which a model last trained by `tier` is stale; nil when models never go stale.
    public func maxAge(forTier tier: Int) -> TimeInterval? {
        switch maxModelAge {
        case .auto: return 2 * interval(forTier: tier)
        case .never: return nil
        case .after(let seconds): return seconds > 0 ? seconds : nil
        }
    }

    /// Page–Hinkley's tolerance δ, or ADWIN's confidence δ.
    public var driftDelta = 0.005
    /// Page–Hinkley's threshold λ (in errors).
    public var driftLambda = 3.0

    /// Which assets' rows a training uses (`training_pool`). Prediction is always per asset.
    public enum TrainingPool: String, Sendable, Codable, CaseIterable {
        /// The asset's own rows (`self`).
        case own = "self"
        /// Its own rows and every other loaded asset's of the same bar interval, cut chronologically.
        case all
    }

    /// Whether a retrained model replaces the current one.
    public enum Promotion: String, Sendable, Codable, CaseIterable {
        /// Always (the seed app's behaviour).
        case always
        /// Only when it beats the current model on the same most recent holdout by improvement_threshold.
        case better
    }
    public var xgboost = XGBoostParameters()
    public var lstm = LSTMConfiguration()

    public init() {}

    public func interval(forTier tier: Int) -> TimeInterval {
        switch tier {
        case 1: return tier1Interval
        case 2: return tier2Interval
        default: return tier3Interval
        }
    }

    public func weight(for model: ModelKind) -> Double {
        switch model {
        case .logistic: return weightLogistic
        case .xgboost: return weightXGBoost
        case .lstm: return weightLSTM
        }
    }
}

/// How a key's value is written and checked.
public enum ConfigValueKind: Sendable, Equatable {
    /// Seconds; accepts `90m`, `6h`, `2d` or a number of seconds; must be > 0.
    case duration
    /// A real number in `range`.
    case real(ClosedRange<Double>)
    /// A real number above 0 and at most `maximum`.
    case positive(maximum: Double)
    /// A real number from 0 up to, not including, `limit`.
    case below(limit: Double)
    /// One of a few words; stored as the word's position.
    case choice([String])
    /// An integer in `range`.
    case integer(ClosedRange<Int>)
    /// `auto` (stored as -1), `0` (never) or a duration within `Bounded.duration`.
    case ageLimit
    /// `auto` (stored as -1) or a real number in `range` (which starts at 0 or above).
    case autoOrReal(ClosedRange<Double>)

    /// The range a number of this kind must be in (`Bounded`, shared with command arguments and the session
    /// reader); nil for a choice.
    public var bounds: Bounded? {
        switch self {
        case .duration, .ageLimit: return .duration
        case .real(let range), .autoOrReal(let range): return .number(range)
        case .positive(let maximum): return .positive(maximum: maximum)
        case .below(let limit): return .fraction(below: limit)
        case .integer(let range): return .whole(range)
        case .choice: return nil
        }
    }

    /// Whether a stored value is within this kind's range (for values that did not come from text, e.g. a file).
    public func accepts(_ value: Double) -> Bool {
        switch self {
        case .choice(let words):
            return value.isFinite && value == value.rounded() && value >= 0 && value < Double(words.count)
        case .ageLimit:
            return value == -1 || value == 0 || Bounded.duration.contains(value)
        case .autoOrReal:
            return value == -1 || bounds!.contains(value)
        default:
            return bounds!.contains(value)
        }
    }

    /// What a value of this kind looks like, for errors: `a number from 0 to 1`, `always or better`.
    public var expected: String {
        if case .choice(let words) = self { return words.joined(separator: " or ") }
        if case .ageLimit = self { return "auto, 0 (never stale) or \(Bounded.duration.expected)" }
        if case .autoOrReal = self { return "auto or \(bounds!.expected)" }
        return bounds!.expected
    }

    public var typeName: String {
        switch self {
        case .duration, .ageLimit: return "duration"
        case .real, .positive, .below, .autoOrReal: return "number"
        case .choice: return "word"
        case .integer: return "integer"
        }
    }
}

/// One configurable key: its name, meaning and storage.
public struct ConfigKey: Sendable {
    public let name: String
    public let kind: ConfigValueKind
    public let summary: String
    fileprivate let read: @Sendable (LoopConfig) -> Double
    fileprivate let write: @Sendable (inout LoopConfig, Double) -> Void

    /// The value as the user sees it (`3600`, `0.55`, `10`).
    public func display(_ config: LoopConfig) -> String {
        let value = read(config)
        switch kind {
        case .ageLimit where value == -1, .autoOrReal where value == -1:
            return "auto"
        case .integer, .duration, .ageLimit:
            // Within bounds an integral value fits an Int; anything else (a crafted file's) shows as it is.
            return value == value.rounded() && Swift.abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .real, .positive, .below, .autoOrReal:
            return String(value)
        case .choice(let words):
            return kind.accepts(value) ? words[Int(value)] : String(value)
        }
    }

    public func value(_ config: LoopConfig) -> Double { read(config) }
}

/// Errors from reading or changing configuration.
public enum ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownKey(String, suggestion: String?)
    case invalidValue(key: String, value: String, expected: String)
    case inconsistent(String)

    public var description: String {
        switch self {
        case .unknownKey(let key, _):
            return "unknown config key '\(key)'"
        case .invalidValue(let key, let value, let expected):
            return "invalid value '\(value)' for \(key): expected \(expected)"
        case .inconsistent(let message):
            return message
        }
    }
}

extension LoopConfig {
    /// Every key, in display order. The single source for `config`, `get`, `set`, `reset` and completion.
    public static let keys: [ConfigKey] = [
        ConfigKey(name: "tier1_interval", kind: .duration, summary: "retrain tier 1 (logistic) after this long",
                  read: { $0.tier1Interval }, write: { $0.tier1Interval = $1 }),
        ConfigKey(name: "tier2_interval", kind: .duration, summary: "retrain tier 2 (+ XGBoost) after this long",
                  read: { $0.tier2Interval }, write: { $0.tier2Interval = $1 }),
        ConfigKey(name: "tier3_interval", kind: .duration, summary: "retrain tier 3 (+ LSTM) after this long",
                  read: { $0.tier3Interval }, write: { $0.tier3Interval = $1 }),
        ConfigKey(name: "check_interval", kind: .duration, summary: "auto mode checks the triggers this often",
                  read: { $0.checkInterval }, write: { $0.checkInterval = $1 }),
        ConfigKey(name: "max_model_age", kind: .ageLimit,
                  summary: "predict warns when a model is older than this (auto: 2x its tier's interval; 0: never)",
                  read: { $0.maxModelAge.number }, write: { $0.maxModelAge = ModelAgeLimit(number: $1) }),
        ConfigKey(name: "performance_threshold", kind: .real(0...1),
                  summary: "retrain when the live score (performance_metric accuracy or directional) over evaluation_window falls below this",
                  read: { $0.performanceThreshold }, write: { $0.performanceThreshold = $1 }),
        ConfigKey(name: "performance_metric", kind: .choice(PerformanceMetric.allCases.map(\.rawValue)),
                  summary: "what the performance trigger judges: accuracy (three classes), directional (sign of BUY/SELL), brier (P(up))",
                  read: { Double(PerformanceMetric.allCases.firstIndex(of: $0.performanceMetric)!) },
                  write: { $0.performanceMetric = PerformanceMetric.allCases[Int($1)] }),
        ConfigKey(name: "brier_threshold", kind: .real(0...1),
                  summary: "with performance_metric brier: retrain when the live Brier score rises above this (0.25 = always 0.5)",
                  read: { $0.brierThreshold }, write: { $0.brierThreshold = $1 }),
        ConfigKey(name: "performance_vs_baseline", kind: .choice(Switch.allCases.map(\.rawValue)),
                  summary: "on: retrain when the live score is worse than its naive baseline's over the same window (persistence, always_up, climatology)",
                  read: { Double(Switch.allCases.firstIndex(of: $0.performanceVsBaseline)!) },
                  write: { $0.performanceVsBaseline = Switch.allCases[Int($1)] }),
        ConfigKey(name: "improvement_threshold", kind: .real(0...1),
                  summary: "accuracy change that counts as improving/degrading in trends",
                  read: { $0.improvementThreshold }, write: { $0.improvementThreshold = $1 }),
        ConfigKey(name: "evaluation_window", kind: .integer(1...100_000),
                  summary: "scored predictions that make up recent performance",
                  read: { Double($0.evaluationWindow) }, write: { $0.evaluationWindow = Int($1) }),
        ConfigKey(name: "log_window", kind: .integer(10...1_000_000),
                  summary: "scored predictions kept in memory (rolling)",
                  read: { Double($0.logWindow) }, write: { $0.logWindow = Int($1) }),
        ConfigKey(name: "trend_window", kind: .integer(2...1000),
                  summary: "trainings compared by trend (first vs last)",
                  read: { Double($0.trendWindow) }, write: { $0.trendWindow = Int($1) }),
        ConfigKey(name: "weights.logistic", kind: .real(0...1), summary: "ensemble weight of logistic regression",
                  read: { $0.weightLogistic }, write: { $0.weightLogistic = $1 }),
        ConfigKey(name: "weights.xgboost", kind: .real(0...1), summary: "ensemble weight of XGBoost",
                  read: { $0.weightXGBoost }, write: { $0.weightXGBoost = $1 }),
        ConfigKey(name: "weights.lstm", kind: .real(0...1), summary: "ensemble weight of the LSTM",
                  read: { $0.weightLSTM }, write: { $0.weightLSTM = $1 }),
        ConfigKey(name: "buy_threshold", kind: .real(0...1), summary: "ensemble probability above which the signal is BUY",
                  read: { $0.buyThreshold }, write: { $0.buyThreshold = $1 }),
        ConfigKey(name: "sell_threshold", kind: .real(0...1), summary: "ensemble probability below which the signal is SELL",
                  read: { $0.sellThreshold }, write: { $0.sellThreshold = $1 }),
        ConfigKey(name: "test_fraction", kind: .real(0.05...0.5),
                  summary: "chronological holdout: the latest fraction of rows used for evaluation",
                  read: { $0.testFraction }, write: { $0.testFraction = $1 }),
        ConfigKey(name: "promotion", kind: .choice(Promotion.allCases.map(\.rawValue)),
                  summary: "always: a retrained model replaces the current one; better: only if it beats it on the same holdout by improvement_threshold",
                  read: { Double(Promotion.allCases.firstIndex(of: $0.promotion)!) },
                  write: { $0.promotion = Promotion.allCases[Int($1)] }),
        ConfigKey(name: "training_pool", kind: .choice(TrainingPool.allCases.map(\.rawValue)),
                  summary: "self: each asset's tiers train on its own rows; all: on the stacked rows of every loaded asset of the same interval (no row later than the asset's test rows)",
                  read: { Double(TrainingPool.allCases.firstIndex(of: $0.trainingPool)!) },
                  write: { $0.trainingPool = TrainingPool.allCases[Int($1)] }),
        ConfigKey(name: "drift_detector", kind: .choice(DriftDetector.allCases.map(\.rawValue)),
                  summary: "off, page_hinkley or adwin on the live error stream: when it fires, the tiers are due",
                  read: { Double(DriftDetector.allCases.firstIndex(of: $0.driftDetector)!) },
                  write: { $0.driftDetector = DriftDetector.allCases[Int($1)] }),
        ConfigKey(name: "drift.delta", kind: .positive(maximum: 1),
                  summary: "Page-Hinkley tolerance per outcome, or ADWIN confidence",
                  read: { $0.driftDelta }, write: { $0.driftDelta = $1 }),
        ConfigKey(name: "drift.lambda", kind: .positive(maximum: 1000),
                  summary: "Page-Hinkley threshold, in errors above the running mean",
                  read: { $0.driftLambda }, write: { $0.driftLambda = $1 }),
        ConfigKey(name: "adaptive_intervals", kind: .choice(Switch.allCases.map(\.rawValue)),
                  summary: "on: tier intervals shrink when recent volatility is above its long-run level, grow when below (x0.5 to x2)",
                  read: { Double(Switch.allCases.firstIndex(of: $0.adaptiveIntervals)!) },
                  write: { $0.adaptiveIntervals = Switch.allCases[Int($1)] }),
        ConfigKey(name: "ensemble_weighting", kind: .choice(EnsembleWeighting.allCases.map(\.rawValue)),
                  summary: "static: the weights.* values; performance: scaled by each model's live accuracy",
                  read: { Double(EnsembleWeighting.allCases.firstIndex(of: $0.ensembleWeighting)!) },
                  write: { $0.ensembleWeighting = EnsembleWeighting.allCases[Int($1)] }),
        ConfigKey(name: "hold_band", kind: .autoOrReal(0...0.1),
                  summary: "automatic scoring: a move within ±band is HOLD, above BUY, below SELL (auto: 0.43 x the std. dev. of the last 24 returns, about a third each)",
                  read: { $0.holdBand.number }, write: { $0.holdBand = HoldBand(number: $1) }),
        ConfigKey(name: "fee_bps", kind: .real(0...1000),
                  summary: "replay P&L: fee in basis points per unit of position change (10 = 0.1 %)",
                  read: { $0.feeBps }, write: { $0.feeBps = $1 }),
        ConfigKey(name: "pnl.short", kind: .choice(Switch.allCases.map(\.rawValue)),
                  summary: "replay P&L: on = SELL goes short, off = SELL goes flat",
                  read: { Double(Switch.allCases.firstIndex(of: $0.pnlShort)!) },
                  write: { $0.pnlShort = Switch.allCases[Int($1)] }),
        ConfigKey(name: "xgboost.n_estimators", kind: .integer(XGBoostParameters.roundsRange), summary: "XGBoost boosting rounds",
                  read: { Double($0.xgboost.rounds) }, write: { $0.xgboost.rounds = Int($1) }),
        ConfigKey(name: "xgboost.max_depth", kind: .integer(XGBoostParameters.maxDepthRange), summary: "XGBoost maximum tree depth",
                  read: { Double($0.xgboost.maxDepth) }, write: { $0.xgboost.maxDepth = Int($1) }),
        ConfigKey(name: "xgboost.learning_rate", kind: .positive(maximum: 1), summary: "XGBoost shrinkage per round (eta)",
                  read: { $0.xgboost.learningRate }, write: { $0.xgboost.learningRate = $1 }),
        ConfigKey(name: "xgboost.subsample", kind: .positive(maximum: 1), summary: "XGBoost row sampling per tree",
                  read: { $0.xgboost.subsample }, write: { $0.xgboost.subsample = $1 }),
        ConfigKey(name: "xgboost.colsample_bytree", kind: .positive(maximum: 1),
                  summary: "XGBoost column sampling per tree",
                  read: { $0.xgboost.columnSample }, write: { $0.xgboost.columnSample = $1 }),
        ConfigKey(name: "xgboost.min_child_weight", kind: .real(0...1000),
                  summary: "XGBoost minimum hessian sum in a leaf",
                  read: { $0.xgboost.minChildWeight }, write: { $0.xgboost.minChildWeight = $1 }),
        ConfigKey(name: "xgboost.reg_lambda", kind: .real(0...1000), summary: "XGBoost L2 regularisation of leaf weights",
                  read: { $0.xgboost.lambda }, write: { $0.xgboost.lambda = $1 }),
        ConfigKey(name: "xgboost.seed", kind: .integer(0...2_147_483_647), summary: "XGBoost random seed",
                  read: { Double($0.xgboost.seed) }, write: { $0.xgboost.seed = Int($1) }),
        ConfigKey(name: "xgboost.threads", kind: .integer(0...256), summary: "XGBoost threads (0 = one per core)",
                  read: { Double($0.xgboost.threads) }, write: { $0.xgboost.threads = Int($1) }),
        ConfigKey(name: "lstm.epochs", kind: .integer(1...10_000), summary: "LSTM passes over the training sequences",
                  read: { Double($0.lstm.epochs) }, write: { $0.lstm.epochs = Int($1) }),
        ConfigKey(name: "lstm.units", kind: .integer(1...1024), summary: "LSTM hidden units in each of its two layers",
                  read: { Double($0.lstm.units) }, write: { $0.lstm.units = Int($1) }),
        ConfigKey(name: "lstm.sequence_length", kind: .integer(2...2000), summary: "LSTM input window, in bars",
                  read: { Double($0.lstm.sequenceLength) }, write: { $0.lstm.sequenceLength = Int($1) }),
        ConfigKey(name: "lstm.batch_size", kind: .integer(1...4096), summary: "LSTM sequences per minibatch",
                  read: { Double($0.lstm.batchSize) }, write: { $0.lstm.batchSize = Int($1) }),
        ConfigKey(name: "lstm.learning_rate", kind: .positive(maximum: 1), summary: "LSTM Adam step size",
                  read: { $0.lstm.learningRate }, write: { $0.lstm.learningRate = $1 }),
        ConfigKey(name: "lstm.dropout", kind: .below(limit: 1), summary: "LSTM dropout after each LSTM layer",
                  read: { $0.lstm.dropout }, write: { $0.lstm.dropout = $1 }),
        ConfigKey(name: "lstm.dense_units", kind: .integer(1...1024), summary: "LSTM hidden dense layer width",
                  read: { Double($0.lstm.denseUnits) }, write: { $0.lstm.denseUnits = Int($1) }),
        ConfigKey(name: "lstm.patience", kind: .integer(0...10_000),
                  summary: "LSTM early stopping: epochs without a better validation loss (0 = off)",
                  read: { Double($0.lstm.patience ?? 0) }, write: { $0.lstm.patience = $1 > 0 ? Int($1) : nil }),
        ConfigKey(name: "lstm.seed", kind: .integer(0...2_147_483_647), summary: "LSTM seed (weights, shuffles, dropout)",
                  read: { Double($0.lstm.seed) }, write: { $0.lstm.seed = UInt64($1) }),
    ]

    public static func key(named name: String) -> ConfigKey? {
        keys.first { $0.name == name.lowercased() }
    }

    /// Sets `name` from user text, validating the value and the config as a whole; `self` is unchanged on error.
    public mutating func set(_ name: String, to text: String) throws {
        guard let key = Self.key(named: name) else {
            throw ConfigError.unknownKey(name, suggestion: Suggest.closest(to: name, in: Self.keys.map(\.name)))
        }
        let value = try Self.parse(text, for: key)
        var candidate = self
        key.write(&candidate, value)
        try candidate.validate()
        self = candidate
    }

    /// Restores one key's default.
    public mutating func reset(_ name: String) throws {
        guard let key = Self.key(named: name) else {
            throw ConfigError.unknownKey(name, suggestion: Suggest.closest(to: name, in: Self.keys.map(\.name)))
        }
        var candidate = self
        key.write(&candidate, key.read(LoopConfig()))
        try candidate.validate()
        self = candidate
    }

    static func parse(_ text: String, for key: ConfigKey) throws -> Double {
        if case .autoOrReal = key.kind, text.trimmingCharacters(in: .whitespaces).lowercased() == "auto" { return -1 }
        if case .ageLimit = key.kind {
            if text.trimmingCharacters(in: .whitespaces).lowercased() == "auto" { return -1 }
            // 0 (in any unit) means never; anything else is a duration within its bound.
            guard let value = Bounded(.duration, 0, Bounded.century).parse(text), key.kind.accepts(value) else {
                throw ConfigError.invalidValue(key: key.name, value: text, expected: key.kind.expected)
            }
            return value
        }
        guard let bounds = key.kind.bounds else {
            guard case .choice(let words) = key.kind, let index = words.firstIndex(of: text.lowercased()) else {
                throw ConfigError.invalidValue(key: key.name, value: text, expected: key.kind.expected)
            }
            return Double(index)
        }
        guard let value = bounds.parse(text) else {
            throw ConfigError.invalidValue(key: key.name, value: text, expected: key.kind.expected)
        }
        return value
    }

    /// Checks relations between keys that single-key ranges cannot.
    public func validate() throws {
        if sellThreshold >= buyThreshold {
            throw ConfigError.inconsistent("sell_threshold (\(sellThreshold)) must be below buy_threshold (\(buyThreshold))")
        }
        if evaluationWindow > logWindow {
            throw ConfigError.inconsistent("evaluation_window (\(evaluationWindow)) cannot exceed log_window (\(logWindow))")
        }
        if weightLogistic + weightXGBoost + weightLSTM <= 0 {
            throw ConfigError.inconsistent("at least one ensemble weight must be above 0")
        }
        if automation.tiers.isEmpty || !automation.tiers.allSatisfy((1...3).contains) {
            throw ConfigError.inconsistent("auto mode's tiers \(automation.tiers) must be some of 1, 2, 3")
        }
    }
}

/// "Did you mean" suggestions: the closest candidate within edit distance 2.
public enum Suggest {
    public static func closest(to word: String, in candidates: [String]) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= 2, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (`trian` → `train`).
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    value = min(value, table[i - 2][j - 2] + 1)
                }
                table[i][j] = value
            }
        }
        return table[a.count][b.count]
    }
}
