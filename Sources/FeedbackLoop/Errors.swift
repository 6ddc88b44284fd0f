import Foundation
import MarketData

/// Errors from the feedback loop. `description` says what failed; what to type about it is the shell's (`Advice`).
public enum LoopError: Error, Equatable, Sendable, CustomStringConvertible {
    case noData
    case noTrainedModel
    case unknownTier(String)
    case trainingInProgress
    case noPendingPrediction
    case invalidSignal(String)
    case unknownModel(String, suggestion: String?)
    /// The clock was asked to move by a duration that is not positive: it never goes back.
    case nonMonotonicClock(seconds: TimeInterval)
    /// Advancing by `seconds` from `offset` would take the clock beyond `Bounded.clockOffset`.
    case clockOutOfRange(offset: TimeInterval, seconds: TimeInterval)
    case cancelled
    /// A session was loaded while this tier trained in the background: its result belongs to the old state.
    case trainingSuperseded(tier: Int)
    /// A current model was trained on other data (symbol or bar interval) than is loaded; training `tier` covers
    /// every such model.
    case foreignData(trained: DataIdentity, loaded: DataIdentity, tier: Int, command: GuardedCommand)
    /// `training_pool all` stacks rows of one bar interval only; `other` has another.
    case poolIntervalsDiffer(asset: String, interval: TimeInterval, other: String, otherInterval: TimeInterval)
    /// No loaded asset has this name (`loaded`: the names that are).
    case unknownAsset(String, loaded: [String])

    public var description: String {
        switch self {
        case .noData:
            return "no market data loaded"
        case .noTrainedModel:
            return "no trained model yet"
        case .unknownTier(let text):
            return "unknown tier '\(text)' — expected tier1, tier2 or tier3"
        case .trainingInProgress:
            return "a training is already in progress"
        case .noPendingPrediction:
            return "no pending prediction to score"
        case .invalidSignal(let text):
            return "invalid signal '\(text)' — expected BUY, SELL or HOLD"
        case .unknownModel(let name, let suggestion):
            if let suggestion { return "unknown model '\(name)' — did you mean '\(suggestion)'?" }
            return "unknown model '\(name)' — expected logistic, xgboost or lstm"
        case .nonMonotonicClock:
            return "the loop's clock never goes back: it moves forward by a positive duration"
        case .clockOutOfRange(let offset, let seconds):
            return "advancing \(DurationText.format(seconds)) would put the loop's clock more than \(Bounded.clockOffset.upperText) from system time (it is \(DurationText.format(offset)) ahead)"
        case .cancelled:
            return "training cancelled — the previous models are kept"
        case .trainingSuperseded(let tier):
            return "tier\(tier)'s background training finished after another session was loaded, so its models were discarded"
        case .foreignData(let trained, let loaded, let tier, let command):
            return "the models were trained on \(trained.description); the loaded data is \(loaded.description)"
        case .poolIntervalsDiffer(let asset, let interval, let other, let otherInterval):
            return "training_pool all stacks assets of one bar interval: \(asset) has \(DurationText.format(interval)) bars, \(other) \(DurationText.format(otherInterval))"
        case .unknownAsset(let name, let loaded):
            let names = loaded.filter { !$0.isEmpty }
            return "no asset '\(name)' is loaded" + (names.isEmpty ? "" : " — loaded: \(names.joined(separator: ", "))")
        }
    }
}
