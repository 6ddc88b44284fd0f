import Foundation
import MarketData

/// How old one current model is on the loop's clock, and whether that is past `max_model_age`.
public struct ModelAge: Sendable, Equatable {
    public let model: ModelKind
    /// The tier of its last training: `max_model_age auto` doubles that tier's interval.
    public let tier: Int
    /// Time since its training.
    public let seconds: TimeInterval
    /// The age past which it is stale; nil when models never go stale (`max_model_age 0`).
    public let limit: TimeInterval?

    public init(model: ModelKind, tier: Int, seconds: TimeInterval, limit: TimeInterval?) {
        self.model = model
        self.tier = tier
        self.seconds = seconds
        self.limit = limit
    }

    public var stale: Bool { limit.map { seconds > $0 } ?? false }
}

/// What a model was trained on, or what is loaded: a symbol and a bar interval.
public struct DataIdentity: Sendable, Equatable {
    public let symbol: String
    /// The typical bar spacing in seconds (`PriceSeries.interval`); nil with fewer than two bars.
    public let interval: TimeInterval?

    public init(symbol: String, interval: TimeInterval?) {
        self.symbol = symbol
        self.interval = interval
    }

    /// Same symbol, and bar intervals within 10 % of each other when both are known (a fetch's median spacing may
    /// jitter; real interval changes are factors such as 1h → 1d).
    public func matches(_ other: DataIdentity) -> Bool {
        guard symbol == other.symbol else { return false }
        guard let mine = interval, let theirs = other.interval, mine > 0, theirs > 0 else { return true }
        return max(mine, theirs) / min(mine, theirs) <= 1.1
    }

    /// `DEMO 1h bars`, or `DEMO bars` without a known interval.
    public var description: String {
        "\(symbol) \(interval.map { DurationText.format($0) + " " } ?? "")bars"
    }
}

/// The commands the foreign-data guard refuses; each overrides it with `--force`.
public enum GuardedCommand: String, Sendable, Equatable {
    case predict, cycle
}

/// Something a prediction carries beside its signal. `description` says what is wrong with it; what to type about it
/// is the shell's (`Advice`).
public enum PredictionWarning: Sendable, Equatable, CustomStringConvertible {
    /// The model is older than `max_model_age`.
    case stale(ModelAge)
    /// `predict --force` on data other than the models were trained on.
    case forcedOnForeignData(trained: DataIdentity, loaded: DataIdentity, tier: Int)

    /// The model it is about, if one.
    public var model: ModelKind? {
        if case .stale(let age) = self { return age.model }
        return nil
    }

    public var description: String {
        switch self {
        case .stale(let age):
            let limit = age.limit.map { DurationText.format($0) } ?? "never"
            return "\(age.model.rawValue) is stale: trained \(DurationText.format(age.seconds)) ago, past max_model_age \(limit)"
        case .forcedOnForeignData(let trained, let loaded, let tier):
            return "forced: the models were trained on \(trained.description); the loaded data is \(loaded.description)"
        }
    }
}

extension LoopEngine {
    /// The age of each current model (ensemble order) at the loop's clock.
    public func modelAges() -> [ModelAge] {
        let now = clock.now
        return ModelKind.allCases.compactMap { kind in
            models[kind].map { slot in
                ModelAge(model: kind, tier: slot.record.tier, seconds: max(0, now - slot.record.time),
                         limit: config.maxAge(forTier: slot.record.tier))
            }
        }
    }

    /// The loaded series' identity; nil without data.
    public var loadedIdentity: DataIdentity? {
        series.map { DataIdentity(symbol: $0.symbol, interval: $0.interval) }
    }

    /// The first current model (ensemble order) trained on other data than is loaded, with what it was trained on,
    /// and the tier whose training covers every such model; nil when all match or are unknown (records from before
    /// format 3 carry no identity and are not checked).
    public func foreignData() -> (trained: DataIdentity, loaded: DataIdentity, tier: Int)? {
        guard let loaded = loadedIdentity else { return nil }
        var first: DataIdentity?
        var tier = 0
        for kind in ModelKind.allCases {
            guard let record = models[kind]?.record, let symbol = record.dataSymbol else { continue }
            let trained = DataIdentity(symbol: symbol, interval: record.dataInterval)
            guard !trained.matches(loaded) else { continue }
            if first == nil { first = trained }
            tier = max(tier, kind.tier)
        }
        return first.map { ($0, loaded, tier) }
    }

    /// Throws `LoopError.foreignData` when a current model was trained on another symbol or bar interval than the
    /// loaded series'; `command` names the one refused, so the error says how to override it.
    public func checkModelsMatchData(for command: GuardedCommand) throws {
        if let foreign = foreignData() {
            throw LoopError.foreignData(trained: foreign.trained, loaded: foreign.loaded, tier: foreign.tier,
                                        command: command)
        }
    }

    /// The warnings a prediction made now carries: stale models, and (when forced) foreign data.
    public func predictionWarnings() -> [PredictionWarning] {
        var warnings = modelAges().filter(\.stale).map { PredictionWarning.stale($0) }
        if let foreign = foreignData() {
            warnings.append(.forcedOnForeignData(trained: foreign.trained, loaded: foreign.loaded, tier: foreign.tier))
        }
        return warnings
    }
}
