import FeedbackLoop
import Foundation
import LoopApp
import MarketData
import SessionStore

/// What to type after an error, worded in one place: the layers below say what failed; the shell, which knows its
/// commands, says what to do about it. Matched on the error's type and case, never on its words.
enum Advice {
    static func line(for error: any Error) -> String? {
        switch error {
        case LoopError.noData:
            return "run 'fetch demo' (offline) or 'import FILE.csv' first"
        case LoopError.noTrainedModel:
            return "run 'train tier1' first"
        case LoopError.noPendingPrediction:
            return "run 'predict' first, or give one with --predicted BUY|SELL|HOLD"
        case LoopError.foreignData(_, _, let tier, let command):
            return "train on it first ('train tier\(tier)') or '\(command.rawValue) --force'"
        case ReplayError.noModelTrained:
            return "start it later (fewer --days) or fetch more history"
        case MarketDataError.fileNotFound:
            return "check the path (Tab completes it)"
        case SessionError.exists:
            return "use 'save NAME --force' to overwrite"
        case AutoModeError.tooManyChecks:
            return "advance less at a time, use a longer 'auto on --every', or 'auto off' first"
        case SessionProblem.unnamed:
            return "'save NAME' saves it"
        case SessionError.changedSinceLoaded:
            return "'save OTHER-NAME' keeps both; 'save --force' overwrites it"
        default:
            return nil
        }
    }
}
